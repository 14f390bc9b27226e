// SegmentedWal defects and the consolidation's API: u64 boundaries (2^31,
// 2^32, 2^53), descriptors of abandoned iterators, replay that skips or stops
// without decoding, durable-only replay, record and option checks.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as nodefs from 'node:fs';
import { KeyRing, MemoryFileSystem, SegmentedWal, WalError } from 'walcore';
import { Core } from 'walcore/internals';
import { tempDir } from '../../support/helpers.js';

const errOf = (fn) => { try { fn(); } catch (e) { return e; } return undefined; };
const bytes = (n, b = 1) => new Uint8Array(n).fill(b);
const name = (lsn) => `wal-${String(lsn).padStart(20, '0')}.seg`;

/** A segment header made by the core, as its 64 bytes (first LSN as a safe number). */
function segmentHeader(firstLsn, enc = 0, keyId = 0) {
  const core = new Core();
  const st = core.x.encodeSegmentHeader(core.staging, 0x5eed0042, firstLsn % 2 ** 32, Math.floor(firstLsn / 2 ** 32), enc, keyId);
  assert.is(st, 64);
  return core.u8.slice(core.staging, core.staging + 64);
}

/** A MemoryFileSystem holding /w with one empty plain segment starting at `firstLsn`. */
function walStartingAt(firstLsn) {
  const fs = new MemoryFileSystem();
  fs.mkdir('/w');
  fs.writeFile(`/w/${name(firstLsn)}`, segmentHeader(firstLsn));
  return fs;
}

/** A FileSystem wrapper counting handles open right now. */
function counting(inner) {
  const count = { open: 0 };
  const fs = new Proxy(inner, {
    get(t, k) {
      if (k === 'open') {
        return (path, flags) => {
          const h = t.open(path, flags);
          count.open++;
          let closed = false;
          return new Proxy(h, {
            get(hh, kk) {
              if (kk === 'close') return () => { if (!closed) { closed = true; count.open--; } return hh.close(); };
              const v = hh[kk];
              return typeof v === 'function' ? v.bind(hh) : v;
            },
          });
        };
      }
      const v = t[k];
      return typeof v === 'function' ? v.bind(t) : v;
    },
  });
  return { fs, count };
}

// ---- 2^31 signedness (fc95247 made the core reader apply signedness; these prove it)

// Before fc95247 this open failed with "CORRUPTED: header says first LSN
// -2147483648, the name says 2147483648": segFirstLo was read as an i32.
test('a segment whose first LSN is 2^31 opens, appends and replays (and reopens after a roll)', () => {
  const first = 2 ** 31;
  const fs = walStartingAt(first);
  let wal = SegmentedWal.open({ dir: '/w', fs, segmentTargetSize: 200 });
  assert.is(wal.nextLsn, first);
  for (let i = 0; i < 6; i++) assert.is(wal.append(1, 2 ** 31 + i, 0x80000000, 2 ** 32 - 1, bytes(i + 1, i)), first + i);
  wal.close();
  wal = SegmentedWal.open({ dir: '/w', fs });
  assert.ok(wal.listSegments().length > 1, 'rolled into segments named above 2^31');
  const recs = wal.replay();
  assert.equal(recs.map((r) => r.lsn), [0, 1, 2, 3, 4, 5].map((i) => first + i));
  assert.equal(recs.map((r) => [r.tenantId, r.vshardId, r.databaseId, r.payload.length]), [0, 1, 2, 3, 4, 5].map((i) => [2 ** 31 + i, 0x80000000, 2 ** 32 - 1, i + 1]));
  wal.close();
});

for (const boundary of [2 ** 31, 2 ** 32]) {
  test(`appends cross LSN ${boundary} within a segment and across a roll; replay and reopen across it`, () => {
    const fs = walStartingAt(boundary - 3);
    let wal = SegmentedWal.open({ dir: '/w', fs, segmentTargetSize: 64 + 3 * 80 });
    for (let i = 0; i < 8; i++) wal.append(7, i, 0, i, bytes(10, i));
    wal.sync();
    assert.ok(wal.listSegments().some((s) => s.firstLsn > boundary - 3), 'a roll happened');
    assert.equal(wal.replayFrom(boundary - 1).map((r) => r.lsn), [boundary - 1, boundary, boundary + 1, boundary + 2, boundary + 3, boundary + 4]);
    wal.close();
    wal = SegmentedWal.open({ dir: '/w', fs });
    assert.is(wal.nextLsn, boundary + 5);
    assert.equal(wal.replay().map((r) => r.payload[0]), [0, 1, 2, 3, 4, 5, 6, 7]);
    assert.equal(wal.replayFromLimit(boundary, 2), { records: wal.replayFrom(boundary).slice(0, 2), hasMore: true });
    wal.close();
  });
}

for (const id of [0x80000000, 0xffffffff]) {
  // Before fc95247 the segment's key id came back negative, never matched the ring: every reopen rolled.
  test(`reopening with key id ${id} does not roll a new segment`, () => {
    const fs = new MemoryFileSystem();
    const ring = new KeyRing({ id, key: bytes(32, 3) });
    let wal = SegmentedWal.open({ dir: '/w', fs, encryptionRing: ring });
    wal.append(1, 1, 1, 1, bytes(5));
    wal.close();
    for (let i = 0; i < 3; i++) {
      wal = SegmentedWal.open({ dir: '/w', fs, encryptionRing: ring });
      assert.is(wal.listSegments().length, 1, `reopen ${i}`);
      wal.append(1, 1, 1, 1, bytes(5));
      wal.close();
    }
    wal = SegmentedWal.open({ dir: '/w', fs, encryptionRing: ring });
    assert.is(wal.replay().length, 4);
    wal.close();
  });
}

// ---- 14.5: ids beyond 2^53 as numbers
test('a number tenantId/databaseId >= 2^53 is a RangeError naming the u64 option (and its old name ids)', () => {
  const wal = SegmentedWal.open({ dir: '/w', fs: new MemoryFileSystem() });
  for (const call of [() => wal.append(1, 2 ** 53, 0, 0, bytes(1)), () => wal.append(1, 0, 0, 2 ** 60, bytes(1)),
    () => wal.appendBatch([{ recordType: 1, tenantId: 2 ** 53 + 2, vshardId: 0, databaseId: 0, payload: bytes(1) }])]) {
    const e = errOf(call);
    assert.instance(e, RangeError);
    assert.match(e.message, /u64: 'bigint'/);
    assert.match(e.message, /ids: 'bigint'/);
  }
  assert.instance(errOf(() => wal.append(1, 2n ** 53n, 0, 0, bytes(1))), RangeError, 'a bigint above 2^53-1 in number mode too');
  assert.is(wal.nextLsn, 1);
  wal.close();
});

// ---- 14.8: records reject unknown fields like options objects do
test('appendBatch rejects a record with an unknown field (TypeError) and appends nothing', () => {
  const wal = SegmentedWal.open({ dir: '/w', fs: new MemoryFileSystem() });
  const good = { recordType: 1, tenantId: 1, vshardId: 1, databaseId: 1, payload: bytes(2) };
  const e = errOf(() => wal.appendBatch([good, { ...good, tenantID: 5 }]));
  assert.instance(e, TypeError);
  assert.match(e.message, /records\[1\].*unknown field 'tenantID'/);
  assert.is(wal.nextLsn, 1);
  assert.is(wal.appendBatch([good, good]), 1);
  wal.close();
});

// ---- 6: skipped records are not decoded; a limit is not read past
test('replayFrom skips records with ids above 2^53 without decoding them; replayFromLimit does not read past its limit', () => {
  const fs = new MemoryFileSystem();
  let wal = SegmentedWal.open({ dir: '/w', fs, u64: 'bigint' });
  for (let i = 1; i <= 4; i++) wal.append(1, 2n ** 60n + BigInt(i), 0, 0, bytes(3, i));
  for (let i = 5; i <= 6; i++) wal.append(1, BigInt(i), 0, BigInt(i), bytes(3, i));
  wal.roll();
  wal.append(1, 2n ** 62n, 0, 0, bytes(3, 7));
  wal.close();
  wal = SegmentedWal.open({ dir: '/w', fs }); // number mode
  assert.equal(wal.replayFromLimit(5, 2).records.map((r) => [r.lsn, r.tenantId, r.databaseId]), [[5, 5, 5], [6, 6, 6]]);
  assert.is(wal.replayFromLimit(5, 2).hasMore, true);
  assert.equal(wal.replayFromLimit(5, 0), { records: [], hasMore: true });
  assert.equal(wal.replayFromLimit(8, 0), { records: [], hasMore: false });
  const e = errOf(() => wal.replayFrom(5));
  assert.is(e?.code, 'SEQUENCE_OUT_OF_RANGE', 'record 7 is decoded: it is asked for');
  const it = wal.records(5);
  assert.equal([it.next().value.lsn, it.next().value.lsn], [5, 6]);
  wal.close();
});

// ---- 8: durable-only replay
test('replay with { durableOnly: true } stops at durableLsn; the default also reads written and buffered records', () => {
  for (const bufferSize of [0, 1 << 20]) {
    const wal = SegmentedWal.open({ dir: '/w', fs: new MemoryFileSystem(), bufferSize, segmentTargetSize: 300 });
    for (let i = 0; i < 6; i++) wal.append(1, i, 0, 0, bytes(20, i));
    wal.sync();
    for (let i = 6; i < 9; i++) wal.append(1, i, 0, 0, bytes(20, i));
    assert.is(wal.durableLsn, 6);
    const d = { durableOnly: true };
    assert.equal(wal.replay(d).map((r) => r.lsn), [1, 2, 3, 4, 5, 6], `bufferSize ${bufferSize}`);
    assert.equal([...wal.records(4, d)].map((r) => r.lsn), [4, 5, 6]);
    assert.equal(wal.replayFrom(6, d).map((r) => r.lsn), [6]);
    assert.equal(wal.replayFromLimit(5, 5, d).hasMore, false);
    assert.equal(wal.replayFromLimit(5, 2, d).hasMore, false);
    assert.equal(wal.replayFromLimit(5, 1, d).hasMore, true);
    assert.is(wal.replay().length, 9);
    assert.is(wal.replay(d).length, 6, 'a default replay (which writes the buffer) does not make records durable');
    wal.sync();
    assert.is(wal.replay(d).length, 9);
    assert.instance(errOf(() => wal.replay({ durable: true })), TypeError);
    assert.instance(errOf(() => wal.replay({ durableOnly: 1 })), TypeError);
    wal.close();
  }
});

// ---- 8.11: abandoned iterators
test('1000 abandoned records() iterators hold no file descriptor (MemoryFileSystem, counted)', () => {
  const { fs, count } = counting(new MemoryFileSystem());
  const wal = SegmentedWal.open({ dir: '/w', fs, segmentTargetSize: 200 });
  for (let i = 0; i < 20; i++) wal.append(1, i, 0, 0, bytes(30, i));
  const base = count.open;
  assert.is(base, 1, 'the active segment');
  const its = [];
  for (let i = 0; i < 1000; i++) {
    const it = wal.records();
    assert.is(it.next().value.lsn, 1);
    its.push(it);
  }
  assert.is(count.open, base, 'no descriptor held by a suspended iterator');
  assert.is(its[0].next().value.lsn, 2, 'a suspended iterator still goes on');
  wal.close();
  assert.is(count.open, 0, 'close() leaves nothing open');
});

const fdCount = () => nodefs.readdirSync('/proc/self/fd').length;
test('abandoned records() iterators hold no file descriptor (real file system)', () => {
  if (!nodefs.existsSync('/proc/self/fd')) return;
  const dir = `${tempDir('seg-fd')}/wal`;
  const wal = SegmentedWal.open({ dir, segmentTargetSize: 200 });
  for (let i = 0; i < 20; i++) wal.append(1, i, 0, 0, bytes(30, i));
  wal.sync();
  const before = fdCount();
  const its = [];
  for (let i = 0; i < 200; i++) { const it = wal.records(); it.next(); its.push(it); }
  assert.ok(fdCount() <= before + 2, `${fdCount() - before} descriptors more after 200 abandoned iterators`);
  wal.close();
});

// ---- the consolidation's API
test('path is the directory (walDir kept); u64 with ids as a deprecated alias; a failed open releases the lock', () => {
  const fs = new MemoryFileSystem();
  let wal = SegmentedWal.open({ dir: '/w/', fs, u64: 'bigint' });
  assert.is(wal.path, '/w');
  assert.is(wal.walDir, '/w');
  wal.append(1, 2n ** 60n, 0, 0, bytes(1));
  wal.close();
  wal = SegmentedWal.open({ dir: '/w', fs, ids: 'bigint' });
  assert.is(wal.replay()[0].tenantId, 2n ** 60n);
  wal.close();
  assert.instance(errOf(() => SegmentedWal.open({ dir: '/w', fs, u64: 'bigint', ids: 'number' })), TypeError);
  assert.instance(errOf(() => SegmentedWal.open({ dir: '/w', fs, u64: 'big' })), RangeError);
  assert.instance(errOf(() => SegmentedWal.open({ dir: '/w', fs, allowPlaintext: 'yes' })), TypeError);
  fs.writeFile('/w/wal-00000000000000000009.seg', new Uint8Array(10)); // not a segment header
  const e = errOf(() => SegmentedWal.open({ dir: '/w', fs }));
  assert.is(e?.code, 'BAD_HEADER');
  fs.remove('/w/wal-00000000000000000009.seg');
  wal = SegmentedWal.open({ dir: '/w', fs }); // the lock was released by the failed open
  wal.close();
});

test('KeyRing hands out no key buffer; destroy() zeroises its copies and later use is a TypeError', () => {
  const key = bytes(32, 9);
  const ring = new KeyRing({ id: 1, key });
  assert.is(ring._key, undefined, 'no _key method');
  assert.equal(Object.keys(ring), []);
  const fs = new MemoryFileSystem();
  const wal = SegmentedWal.open({ dir: '/w', fs, encryptionRing: ring });
  wal.append(1, 1, 1, 1, bytes(4));
  wal.sync();
  ring.destroy();
  assert.is(ring.destroyed, true);
  assert.equal(key, bytes(32, 9), "the caller's buffer is the caller's");
  assert.instance(errOf(() => wal.append(1, 1, 1, 1, bytes(4))), TypeError);
  assert.instance(errOf(() => wal.replay()), TypeError);
  wal.close();
});

test('issue 14.4: a wrong option type is TypeError, an out-of-range value RangeError', () => {
  const fs = new MemoryFileSystem();
  for (const [opts, cls] of [
    [{ segmentTargetSize: 'big' }, TypeError], [{ segmentTargetSize: 0 }, RangeError], [{ segmentTargetSize: 1.5 }, RangeError],
    [{ bufferSize: 'big' }, TypeError], [{ bufferSize: -1 }, RangeError], [{ u64: 7 }, TypeError],
  ]) {
    const e = errOf(() => SegmentedWal.open({ dir: '/w', fs, ...opts }));
    assert.instance(e, cls, JSON.stringify(opts));
  }
});

test.run();
