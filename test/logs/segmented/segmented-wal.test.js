// SegmentedWal: the API on the real file system of each runtime and on the
// simulator. Tiny segments, so rollover happens constantly.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as nodefs from 'node:fs';
import { MemoryFileSystem, SegmentedWal, WalError } from 'walcore';
import { enc, rng, seedFor, tempDir } from '../../support/helpers.js';
import { appendOne, checkReplay, equalBytes, fieldsFor, payloadFor } from '../../support/fixtures/segmented-util.js';

const code = (fn) => {
  try { fn(); } catch (e) { return e instanceof WalError ? e.code : e.constructor.name; }
  return 'none';
};

function fill(wal, n, oracle, gen = 0) {
  for (let i = 0; i < n; i++) {
    const hint = wal.nextLsn;
    const lsn = appendOne(wal, hint, gen);
    assert.is(lsn, hint);
    oracle.set(lsn, { ...fieldsFor(hint), payload: payloadFor(hint, gen) });
  }
}

test('open creates the directory and first segment; append returns contiguous LSNs; reopen resumes (real fs)', () => {
  const dir = `${tempDir('seg')}/a/wal`;
  let wal = SegmentedWal.open({ dir, segmentTargetSize: 256 });
  assert.is(wal.nextLsn, 1);
  assert.is(wal.activeSegmentFirstLsn, 1);
  assert.is(wal.walDir, dir);
  // The writer lock lives inside the directory (.walcore.lock, host/fs/lock-file.ts); the rest is segments.
  assert.equal(nodefs.readdirSync(dir).sort(), ['.walcore.lock', 'wal-00000000000000000001.seg']);
  const oracle = new Map();
  fill(wal, 50, oracle);
  wal.sync();
  const segs = wal.listSegments();
  assert.ok(segs.length > 5, `rollover happened (${segs.length} segments)`);
  assert.ok(segs.slice(0, -1).every((s) => s.sealed) && !segs.at(-1).sealed);
  for (let i = 1; i < segs.length; i++) assert.is(segs[i].firstLsn, segs[i - 1].lastLsn + 1);
  for (const s of segs) assert.is(s.sizeBytes, nodefs.statSync(s.path).size);
  assert.is(wal.totalSizeBytes(), segs.reduce((a, s) => a + s.sizeBytes, 0));
  assert.equal(checkReplay(wal.replay(), oracle, 'live'), [1, 50]);
  wal.close();
  wal.close(); // idempotent
  assert.is(code(() => wal.append(1, 1, 1, 1, enc('x'))), 'CLOSED');
  wal = SegmentedWal.open(dir, { segmentTargetSize: 256 });
  assert.is(wal.nextLsn, 51);
  assert.is(wal.activeSegmentFirstLsn, segs.at(-1).firstLsn);
  fill(wal, 10, oracle);
  assert.equal(checkReplay(wal.replay(), oracle, 'reopened'), [1, 60]);
  wal.close();
});

test('a second writer is refused with LOCKED', () => {
  const dir = `${tempDir('seg')}/wal`;
  const wal = SegmentedWal.open({ dir });
  assert.is(code(() => SegmentedWal.open({ dir })), 'LOCKED');
  wal.close();
  SegmentedWal.open({ dir }).close();
});

test('replayFrom, replayFromLimit and the lazy iterator agree', () => {
  const fs = new MemoryFileSystem();
  const wal = SegmentedWal.open({ dir: '/w', fs, segmentTargetSize: 200 });
  const oracle = new Map();
  fill(wal, 120, oracle);
  const all = wal.replay();
  assert.is(all.length, 120);
  for (const from of [0, 1, 2, 37, 119, 120, 121, 500]) {
    const got = wal.replayFrom(from);
    assert.equal(got.map((r) => r.lsn), all.filter((r) => r.lsn >= from).map((r) => r.lsn), `from ${from}`);
  }
  let page = wal.replayFromLimit(10, 25);
  assert.is(page.records.length, 25);
  assert.is(page.records[0].lsn, 10);
  assert.ok(page.hasMore);
  page = wal.replayFromLimit(100, 21);
  assert.is(page.records.length, 21);
  assert.not.ok(page.hasMore);
  page = wal.replayFromLimit(100, 50);
  assert.is(page.records.length, 21);
  assert.not.ok(page.hasMore);
  assert.equal(wal.replayFromLimit(5, 0), { records: [], hasMore: true });
  const lazy = [];
  for (const r of wal.records(50)) { lazy.push(r.lsn); if (lazy.length === 5) break; }
  assert.equal(lazy, [50, 51, 52, 53, 54]);
  assert.equal([...wal].map((r) => r.lsn), all.map((r) => r.lsn));
  wal.close();
});

test('replay sees buffered records, and an iterator started earlier stops at its snapshot while appends continue', () => {
  const fs = new MemoryFileSystem();
  const wal = SegmentedWal.open({ dir: '/w', fs, segmentTargetSize: 300 });
  const oracle = new Map();
  fill(wal, 10, oracle);
  assert.is(wal.replay().length, 10, 'unsynced, buffered records are replayed');
  const it = wal.records(1);
  assert.is(it.next().value.lsn, 1);
  fill(wal, 30, oracle); // rolls several times while the iterator is paused
  const rest = [...it];
  assert.is(rest.length, 9);
  assert.is(rest.at(-1).lsn, 10);
  checkReplay(wal.replay(), oracle, 'after');
  wal.close();
});

test('records() iterates like a generator: starts at the first next(), done after the end, a throw or return(); many records through batches', () => {
  const wal = SegmentedWal.open({ dir: '/w', fs: new MemoryFileSystem(), segmentTargetSize: 4096 });
  const oracle = new Map();
  fill(wal, 3, oracle);
  const it = wal.records();
  fill(wal, 2, oracle); // appended before the first next(): inside the snapshot
  const first = it.next();
  assert.is(first.done, false);
  assert.is(first.value.lsn, 1);
  const rest = [...it];
  assert.is(rest.length, 4);
  assert.equal(it.next(), { value: undefined, done: true });
  // return() (a for-of break) ends it; the next replay still works.
  let seen = 0;
  for (const r of wal.records()) { seen = r.lsn; if (r.lsn === 2) break; }
  assert.is(seen, 2);
  const ended = wal.records(3);
  assert.is(ended.next().value.lsn, 3);
  assert.equal(ended.return(), { value: undefined, done: true });
  assert.is(ended.next().done, true);
  // Bad options throw at the first next(), then the iterator is done.
  const bad = wal.records(1, { durableOnly: 'yes' });
  assert.is(code(() => bad.next()), 'TypeError');
  assert.is(bad.next().done, true);
  // Thousands of records across segments and scan batches, in order.
  fill(wal, 6000, oracle);
  let n = 0;
  for (const r of wal.records(10)) { assert.is(r.lsn, 10 + n); n++; }
  assert.is(n, wal.nextLsn - 10);
  checkReplay([...wal.records()], oracle, 'records()');
  wal.close();
});

test('truncateBefore deletes only sealed segments wholly below the checkpoint, oldest first; replay below the floor is LSN_NOT_RETAINED', () => {
  const fs = new MemoryFileSystem();
  const wal = SegmentedWal.open({ dir: '/w', fs, segmentTargetSize: 250 });
  const oracle = new Map();
  fill(wal, 60, oracle);
  const before = wal.listSegments();
  const cp = 30;
  const doomed = before.filter((s) => s.sealed && s.lastLsn < cp);
  const res = wal.truncateBefore(cp);
  assert.equal(res, { segmentsDeleted: doomed.length, bytesReclaimed: doomed.reduce((a, s) => a + s.sizeBytes, 0) });
  const after = wal.listSegments();
  assert.is(after[0].firstLsn, before[doomed.length].firstLsn);
  assert.ok(after[0].firstLsn <= cp, 'the segment holding the checkpoint is kept');
  for (const s of doomed) assert.is(fs.stat(s.path), undefined);
  assert.is(wal.firstRetainedLsn, after[0].firstLsn);
  const e = (() => { try { wal.replayFrom(after[0].firstLsn - 1); } catch (x) { return x; } })();
  assert.ok(e instanceof WalError && e.code === 'LSN_NOT_RETAINED', 'replay below the floor fails');
  assert.is(code(() => wal.replayFromLimit(1, 10)), 'LSN_NOT_RETAINED');
  assert.is(code(() => [...wal.records(2)]), 'LSN_NOT_RETAINED');
  assert.is(wal.replay()[0].lsn, after[0].firstLsn, 'replay() starts at the floor without error');
  assert.is(wal.replayFrom(cp)[0].lsn, cp);
  // Never the active segment, however high the checkpoint.
  const res2 = wal.truncateBefore(10_000);
  assert.is(wal.listSegments().length, 1);
  assert.ok(res2.segmentsDeleted > 0);
  assert.is(wal.listSegments()[0].sealed, false);
  assert.equal(wal.truncateBefore(10_000), { segmentsDeleted: 0, bytesReclaimed: 0 });
  checkReplay(wal.replay(), oracle, 'suffix');
  wal.close();
  const again = SegmentedWal.open({ dir: '/w', fs, segmentTargetSize: 250 });
  assert.is(again.nextLsn, 61);
  assert.is(again.firstRetainedLsn, wal.activeSegmentFirstLsn);
  again.close();
});

test('a rolled-but-empty last segment never re-issues an LSN', () => {
  const fs = new MemoryFileSystem();
  let wal = SegmentedWal.open({ dir: '/w', fs });
  const oracle = new Map();
  fill(wal, 5, oracle);
  assert.ok(wal.roll());
  assert.not.ok(wal.roll(), 'rolling an empty segment does nothing');
  assert.is(wal.activeSegmentFirstLsn, 6);
  wal.close();
  wal = SegmentedWal.open({ dir: '/w', fs });
  assert.is(wal.nextLsn, 6);
  assert.is(wal.truncateBefore(6).segmentsDeleted, 1);
  wal.close();
  // Only the empty segment remains: its header alone says where LSNs resume.
  wal = SegmentedWal.open({ dir: '/w', fs });
  assert.is(wal.nextLsn, 6);
  assert.equal(wal.replay(), []);
  assert.is(appendOne(wal, 6), 6);
  wal.close();
});

test('u32/u64 fields are lossless over their full range; out of range is a RangeError', () => {
  const fs = new MemoryFileSystem();
  const big = SegmentedWal.open({ dir: '/b', fs, ids: 'bigint' });
  const cases = [
    [0, 0n, 0, 0n],
    [0xffffffff, 0xffffffffn, 0xffffffff, 0xffffffffn],
    [0xffffffffn, 2n ** 64n - 1n, 0xffffffffn, 2n ** 64n - 1n],
    [1, 2n ** 53n, 2, 2n ** 32n],
    [7, Number.MAX_SAFE_INTEGER, 8, 2n ** 63n],
  ];
  for (const [rt, t, v, d] of cases) big.append(rt, t, v, d, enc('x'));
  big.close();
  const re = SegmentedWal.open({ dir: '/b', fs, ids: 'bigint' });
  const got = re.replay().map((r) => [r.recordType, r.tenantId, r.vshardId, r.databaseId]);
  assert.equal(got, cases.map(([rt, t, v, d]) => [Number(rt), BigInt(t), Number(v), BigInt(d)]));
  for (const bad of [-1, 2 ** 32, 1.5, 2n ** 32n, -1n]) {
    assert.is(code(() => re.append(bad, 0, 0, 0, enc('x'))), 'RangeError', `recordType ${bad}`);
    assert.is(code(() => re.append(0, 0, bad, 0, enc('x'))), 'RangeError', `vshardId ${bad}`);
  }
  for (const bad of [-1, 2n ** 64n, -1n, 0.5, 2 ** 53]) {
    assert.is(code(() => re.append(0, bad, 0, 0, enc('x'))), 'RangeError', `tenantId ${bad}`);
    assert.is(code(() => re.append(0, 0, 0, bad, enc('x'))), 'RangeError', `databaseId ${bad}`);
  }
  assert.is(code(() => re.append('1', 0, 0, 0, enc('x'))), 'TypeError');
  assert.is(code(() => re.append(0, 0, 0, 0, 'text')), 'TypeError');
  assert.is(re.nextLsn, 6, 'rejected appends assigned no LSN');
  re.close();
  // Number mode: ids up to 2^53-1 come back as numbers; larger ones are refused up front.
  const num = SegmentedWal.open({ dir: '/n', fs });
  num.append(0xffffffff, Number.MAX_SAFE_INTEGER, 0, 2n ** 53n - 1n, enc('x'));
  assert.is(code(() => num.append(0, 2n ** 53n, 0, 0, enc('x'))), 'RangeError');
  const [r] = num.replay();
  assert.is(r.tenantId, Number.MAX_SAFE_INTEGER);
  assert.is(r.databaseId, Number.MAX_SAFE_INTEGER);
  num.close();
  // A log holding ids beyond 2^53 read in number mode: a clear error, never a rounded id.
  const mixed = SegmentedWal.open({ dir: '/b', fs });
  assert.is(code(() => mixed.replay()), 'SEQUENCE_OUT_OF_RANGE');
  mixed.close();
});

test('appendBatch: contiguous LSNs, one segment, all-or-nothing validation', () => {
  const fs = new MemoryFileSystem();
  const wal = SegmentedWal.open({ dir: '/w', fs, segmentTargetSize: 400 });
  const oracle = new Map();
  fill(wal, 3, oracle);
  const batch = [];
  for (let i = 0; i < 20; i++) {
    const lsn = 4 + i;
    batch.push({ ...fieldsFor(lsn), payload: payloadFor(lsn) });
    oracle.set(lsn, { ...fieldsFor(lsn), payload: payloadFor(lsn) });
  }
  assert.is(wal.appendBatch(batch), 4);
  assert.is(wal.nextLsn, 24);
  assert.is(code(() => wal.appendBatch([{ ...fieldsFor(1), payload: enc('ok') }, { ...fieldsFor(1), vshardId: -1, payload: enc('bad') }])), 'RangeError');
  assert.is(code(() => wal.appendBatch([])), 'RangeError');
  assert.is(wal.nextLsn, 24);
  assert.is(wal.appendBatch([{ ...fieldsFor(24), payload: payloadFor(24) }]), 24);
  oracle.set(24, { ...fieldsFor(24), payload: payloadFor(24) });
  const segs = wal.listSegments();
  assert.ok(segs.some((s) => s.firstLsn <= 4 && s.lastLsn >= 23), 'the batch did not straddle segments');
  checkReplay(wal.replay(), oracle, 'batch');
  wal.close();
});

test('syncAsync: group commit shares fsyncs and resolves once durable', async () => {
  const fs = new MemoryFileSystem();
  const wal = SegmentedWal.open({ dir: '/w', fs, segmentTargetSize: 1000 });
  const lsns = await Promise.all(Array.from({ length: 20 }, async (_, i) => {
    const lsn = appendOne(wal, i + 1);
    await wal.syncAsync();
    assert.ok(wal.durableLsn >= lsn);
    return lsn;
  }));
  assert.equal(lsns, Array.from({ length: 20 }, (_, i) => i + 1));
  assert.ok(wal.groupCommitStats.syncs < 20, `${wal.groupCommitStats.syncs} syncs for 20 requests`);
  assert.is(fs.hasUnsynced(wal.listSegments().at(-1).path), true, 'only the advisory sync marker is unsynced');
  wal.close();
  assert.is(fs.hasUnsynced('/w/wal-00000000000000000001.seg'), false, 'close makes everything durable');
});

test('options are checked: unknown keys, bad sizes, bad ids mode', () => {
  const fs = new MemoryFileSystem();
  assert.is(code(() => SegmentedWal.open({ dir: '/w', fs, segmentSize: 5 })), 'TypeError');
  assert.is(code(() => SegmentedWal.open({ dir: '/w', fs, segmentTargetSize: 0 })), 'RangeError');
  assert.is(code(() => SegmentedWal.open({ dir: '/w', fs, bufferSize: -1 })), 'RangeError');
  assert.is(code(() => SegmentedWal.open({ dir: '/w', fs, ids: 'string' })), 'RangeError');
  assert.is(code(() => SegmentedWal.open({ fs })), 'TypeError');
  assert.is(code(() => SegmentedWal.open({ dir: '/w', fs, encryptionRing: {} })), 'TypeError');
  fs.writeFile('/file', enc('x'));
  assert.is(code(() => SegmentedWal.open({ dir: '/file', fs })), 'BAD_HEADER');
});

test('bufferSize 0 writes every append; records larger than the buffer still work', () => {
  const seed = seedFor('segmented buffer sizes');
  const r = rng(seed);
  for (const bufferSize of [0, 64, 1000, 1 << 20]) {
    const fs = new MemoryFileSystem();
    const wal = SegmentedWal.open({ dir: '/w', fs, bufferSize, segmentTargetSize: 3000 });
    const oracle = new Map();
    for (let i = 0; i < 40; i++) {
      const size = r.int(0, 2500);
      const lsn = appendOne(wal, wal.nextLsn, 0, size);
      oracle.set(lsn, { ...fieldsFor(lsn), payload: payloadFor(lsn, 0, size) });
      if (bufferSize === 0) assert.is(wal.listSegments().at(-1).sizeBytes, fs.readFile(wal.listSegments().at(-1).path).length);
    }
    checkReplay(wal.replay(), oracle, `bufferSize ${bufferSize}`);
    wal.close();
    const again = SegmentedWal.open({ dir: '/w', fs });
    checkReplay(again.replay(), oracle, `reopened, bufferSize ${bufferSize}`);
    assert.is(again.replay().length, 40);
    again.close();
  }
});

test('a replayed payload belongs to the caller: writing it changes neither its neighbours nor the log', () => {
  const fs = new MemoryFileSystem();
  const wal = SegmentedWal.open({ dir: '/w', fs });
  wal.append(1, 1, 1, 1, enc('abc'));
  wal.append(1, 1, 1, 1, enc('def'));
  const [a, b] = wal.replay();
  a.payload.fill(0);
  assert.ok(equalBytes(b.payload, enc('def')));
  assert.is(a.payload.length, 3);
  const [a2] = wal.replay();
  assert.ok(equalBytes(a2.payload, enc('abc')));
  assert.ok(equalBytes(a.payload.slice(), new Uint8Array(3)));
  wal.close();
});

test('the lazy iterator streams: it reads at most a chunk ahead of what was consumed', () => {
  const mem = new MemoryFileSystem();
  let read = 0;
  const fs = {
    name: 'counting',
    open: (path, flags) => {
      const h = mem.open(path, flags);
      return { path: h.path, read: (b, p) => { const n = h.read(b, p); read += n; return n; }, write: (b, p) => h.write(b, p),
        truncate: (n) => h.truncate(n), size: () => h.size(), sync: () => h.sync(), close: () => h.close() };
    },
    stat: (p) => mem.stat(p), rename: (a, b) => mem.rename(a, b), remove: (p) => mem.remove(p), list: (d) => mem.list(d),
    mkdir: (p) => mem.mkdir(p), syncDir: (p) => mem.syncDir(p), lock: (p) => mem.lock(p),
  };
  const wal = SegmentedWal.open({ dir: '/w', fs, segmentTargetSize: 8 << 20 });
  const body = new Uint8Array(1000);
  for (let i = 0; i < 40_000; i++) wal.append(1, 1, 1, 1, body);
  wal.sync();
  const total = wal.totalSizeBytes();
  assert.ok(total > 40e6 && wal.listSegments().length >= 5);
  read = 0;
  const it = wal.records();
  let consumed = 0;
  for (let i = 0; i < 25_000; i++) { it.next(); consumed += 1064; }
  assert.ok(read <= consumed + (4 << 20) + 2 * 64, `read ${read} bytes after consuming ${consumed}`);
  assert.ok(read < total * 0.7, 'the iterator did not read the whole log up front');
  let rest = 0;
  for (const r of it) rest += r.payload.length === 1000 ? 1 : 0;
  assert.is(rest, 15_000);
  wal.close();
});

test.run();
