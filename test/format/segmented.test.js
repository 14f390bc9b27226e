// SegmentedWal on-disk format: the hex test vectors of docs/FORMAT.md §9
// (encoded by the core, checked against the independent CRC-32C oracle,
// decoded by the WAL), and byte surgery on sealed and active segments.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as nodefs from 'node:fs';
import { createCipheriv } from 'node:crypto';
import { KeyRing, MemoryFileSystem, SegmentedWal, WalError } from 'walcore';
import { Core } from 'walcore/internals';
import { CRC32C, dec, enc, fromHex, hex } from '../support/helpers.js';
import { appendOne, checkReplay, fieldsFor, payloadFor } from '../support/fixtures/segmented-util.js';

// ---- docs/FORMAT.md §S7 test vectors
const V = {
  H1: '776c63720100020044332211000000000100000000000000000000000000000000000000000000000000000000000000000000000000000000000000e8433fbb',
  H2: '776c637201000200d4c3b2a10000000005000000010000000100000000000000070000000000000000000000000000000000000000000000000000007bcfe664',
  R1: 'b349a29822000000f7010200443322110100000000000000400000000000000002000000040000000300000000000000050000000000000000000000000000006869',
  R2: '43486df042000000f7010200d4c3b2a10500000001000000400000000000000001000000ffffffffffffffffffffffff000000000000000001000000070000000102030405060708090000007976de3d9a832157de895e124b10dd5ba9b6da1068c4',
};
const KEY7 = new Uint8Array(32).fill(7);

test('vectors: the core encodes exactly the documented bytes', () => {
  const core = new Core();
  const x = core.x;
  const S = core.staging;
  const at = (n) => hex(core.u8.subarray(S, S + n));
  assert.is(x.encodeSegmentHeader(S, 0x11223344, 1, 0, 0, 0), 64);
  assert.is(at(64), V.H1);
  assert.is(x.encodeSegmentHeader(S, 0xa1b2c3d4, 5, 1, 1, 7), 64);
  assert.is(at(64), V.H2);
  assert.ok(x.encodeSegmentHeader(S, 1, 1, 0, 0, 7) < 0, 'a plain segment cannot name a key');
  core.u8.set(enc('hi'), S + 64);
  assert.is(x.encodeRecord(S, 2, 2, 3, 0, 4, 5, 0, 0x11223344, 1, 0, 64), 66);
  assert.is(at(66), V.R1);
  const n = x.encodeEncryptedHeaders(S, 6 + 16, 1, 0xffffffff, 0xffffffff, 0xffffffff, 0, 0, 7, 0x04030201, 0x08070605, 9, 0xa1b2c3d4, 5, 1, 64);
  assert.is(n, 98);
  const body = S + x.encryptedBodyOffset();
  const c = createCipheriv('aes-256-gcm', KEY7, core.u8.slice(S + 64, S + 76));
  c.setAAD(core.u8.slice(S + 8, body)); // AAD: frame bytes 8..76
  core.u8.set(c.update(enc('secret')), body);
  c.final();
  core.u8.set(c.getAuthTag(), body + 6);
  x.sealRecord(S);
  assert.is(at(98), V.R2);
});

test('vectors: CRCs agree with the independent CRC-32C oracle', () => {
  for (const h of [V.H1, V.H2]) {
    const b = fromHex(h);
    assert.is(CRC32C.buf(b.subarray(0, 60)) >>> 0, new DataView(b.buffer).getUint32(60, true));
  }
  for (const r of [V.R1, V.R2]) {
    const b = fromHex(r);
    assert.is(CRC32C.buf(b.subarray(4)) >>> 0, new DataView(b.buffer).getUint32(0, true));
  }
});

test('vectors: segments built from the documented bytes replay as the documented records', () => {
  const fs = new MemoryFileSystem();
  fs.mkdir('/v1');
  fs.writeFile('/v1/wal-00000000000000000001.seg', fromHex(V.H1 + V.R1));
  let wal = SegmentedWal.open({ dir: '/v1', fs });
  const [r] = wal.replay();
  assert.equal({ ...r, payload: dec(r.payload) }, { lsn: 1, recordType: 2, tenantId: 3, vshardId: 4, databaseId: 5, payload: 'hi' });
  assert.is(wal.nextLsn, 2);
  wal.close();
  fs.mkdir('/v2');
  fs.writeFile(`/v2/wal-${String(2 ** 32 + 5).padStart(20, '0')}.seg`, fromHex(V.H2 + V.R2));
  // LSN 2^32+5 is a safe integer: LSNs are numbers.
  wal = SegmentedWal.open({ dir: '/v2', fs, ids: 'bigint', encryptionRing: new KeyRing({ id: 7, key: KEY7 }) });
  const [e] = wal.replay();
  assert.equal({ ...e, payload: dec(e.payload) }, { lsn: 2 ** 32 + 5, recordType: 1, tenantId: 2n ** 64n - 1n, vshardId: 0xffffffff, databaseId: 0n, payload: 'secret' });
  assert.is(wal.nextLsn, 2 ** 32 + 6);
  wal.close();
});

test('vectors: the format document carries the same bytes', () => {
  const url = new URL('../../docs/FORMAT.md', import.meta.url);
  assert.ok(nodefs.existsSync(url), 'docs/FORMAT.md exists');
  const text = nodefs.readFileSync(url, 'utf8');
  const blocks = [...text.matchAll(/```[a-z]*\n([\s\S]*?)```/g)].map((m) => m[1].replace(/\s+/g, '').toLowerCase());
  for (const [name, v] of Object.entries(V)) assert.ok(blocks.includes(v), `vector ${name} is a code block of the document`);
});

// ---- byte surgery

/** A WAL with several sealed segments, closed; returns the fs, oracle and segment list. */
function build(n = 30, opts = {}) {
  const fs = new MemoryFileSystem();
  const wal = SegmentedWal.open({ dir: '/w', fs, segmentTargetSize: 300, ...opts });
  const oracle = new Map();
  for (let i = 0; i < n; i++) {
    const lsn = wal.nextLsn;
    oracle.set(lsn, { ...fieldsFor(lsn), payload: payloadFor(lsn) });
    appendOne(wal, lsn);
  }
  wal.sync();
  const segs = wal.listSegments();
  wal.close();
  return { fs, oracle, segs };
}
const errOf = (fn) => { try { fn(); } catch (e) { return e; } return undefined; };
const u32 = (b, at) => new DataView(b.buffer, b.byteOffset).getUint32(at, true);
function frameStarts(b) {
  const out = [];
  for (let p = 64; p + 32 <= b.length; p += 32 + u32(b, p + 4)) out.push(p);
  return out;
}
function surgery(fs, path, fn) {
  const b = fs.readFile(path);
  const out = fn(b) ?? b;
  fs.writeFile(path, out);
}
function expectCorrupted(e, path, offset, reason) {
  assert.ok(e instanceof WalError, `expected a WalError, got ${e}`);
  assert.is(e.code, 'CORRUPTED', e.message);
  if (path !== undefined) assert.is(e.path, path);
  if (offset !== undefined) assert.is(e.offset, offset);
  if (reason !== undefined) assert.is(e.reason, reason);
}

test('ChecksumMismatchInSealedSegmentIsCorrupted', () => {
  const { fs, segs } = build();
  const path = segs[1].path;
  let at;
  surgery(fs, path, (b) => { at = frameStarts(b)[1]; b[at + 40] ^= 1; });
  const wal = SegmentedWal.open({ dir: '/w', fs });
  expectCorrupted(errOf(() => wal.replay()), path, at, 'crc-mismatch');
  assert.is(wal.replayFrom(segs[2].firstLsn).length > 0, true, 'later segments are still readable');
  wal.close();
});

test('DamageAtTheEndOfASealedSegmentIsCorruptedNotATornTail', () => {
  const { fs, segs } = build();
  const path = segs[0].path;
  let last;
  surgery(fs, path, (b) => { last = frameStarts(b).at(-1); b[b.length - 1] ^= 0xff; });
  const wal = SegmentedWal.open({ dir: '/w', fs });
  expectCorrupted(errOf(() => wal.replay()), path, last, 'crc-mismatch');
  wal.close();
});

test('TruncatedSealedSegmentIsCorrupted', () => {
  const { fs, segs } = build();
  const path = segs[1].path;
  let last;
  surgery(fs, path, (b) => { last = frameStarts(b).at(-1); return b.slice(0, b.length - 5); });
  const wal = SegmentedWal.open({ dir: '/w', fs });
  expectCorrupted(errOf(() => wal.replay()), path, last, 'incomplete-payload');
  wal.close();
});

test('SealedSegmentMissingItsLastRecordAtAFrameBoundaryIsCorrupted', () => {
  const { fs, segs } = build();
  const path = segs[1].path;
  surgery(fs, path, (b) => b.slice(0, frameStarts(b).at(-1)));
  const wal = SegmentedWal.open({ dir: '/w', fs });
  const e = errOf(() => wal.replay());
  expectCorrupted(e, path);
  assert.match(e.message, /records are missing/);
  wal.close();
});

test('DeletedMiddleSegmentIsAHoleAndCorrupted', () => {
  const { fs, segs } = build();
  fs.remove(segs[2].path);
  const wal = SegmentedWal.open({ dir: '/w', fs });
  expectCorrupted(errOf(() => wal.replay()), segs[1].path);
  wal.close();
});

function expectBadHeader(e, path, reason) {
  assert.ok(e instanceof WalError, `expected a WalError, got ${e}`);
  assert.is(e.code, 'BAD_HEADER', e.message);
  assert.is(e.path, path);
  assert.is(e.offset, 0);
  if (reason !== undefined) assert.is(e.reason, reason);
}

// Issue 14.7: one header-fault mapping for every log (FORMAT.md §2): a damaged
// segment header is BAD_HEADER, as for every walcore file (it was CORRUPTED).
test('DamagedSegmentHeaderIsBadHeaderOnOpen', () => {
  const { fs, segs } = build();
  surgery(fs, segs[1].path, (b) => { b[20] ^= 1; });
  expectBadHeader(errOf(() => SegmentedWal.open({ dir: '/w', fs })), segs[1].path, 'header-crc');
});

test('HeaderFirstLsnThatDisagreesWithTheNameIsBadHeader', () => {
  const { fs, segs } = build();
  fs.writeFile('/w/wal-00000000000000000999.seg', fs.readFile(segs[1].path));
  fs.remove(segs[1].path);
  const e = errOf(() => SegmentedWal.open({ dir: '/w', fs }));
  expectBadHeader(e, '/w/wal-00000000000000000999.seg');
  assert.match(e.message, /header says first LSN \d+, the name says 999/);
});

test('AnotherKindOfWalcoreFileNamedLikeASegmentIsBadHeader', () => {
  const { fs, segs } = build();
  surgery(fs, segs[1].path, (b) => { b[6] = 3; }); // kind: ring (the CRC then fails first)
  expectBadHeader(errOf(() => SegmentedWal.open({ dir: '/w', fs })), segs[1].path);
});

test('UnsupportedVersionInASegmentHeaderIsUnsupportedVersion', () => {
  const { fs, segs } = build();
  surgery(fs, segs[0].path, (b) => { b[4] = 9; });
  const e = errOf(() => SegmentedWal.open({ dir: '/w', fs }));
  assert.is(e?.code, 'UNSUPPORTED_VERSION');
});

test('FramesCopiedFromAnotherSegmentFailTheSaltCheck', () => {
  const { fs, segs } = build();
  const a = fs.readFile(segs[0].path);
  surgery(fs, segs[1].path, (b) => { const s = frameStarts(b)[0]; b.set(a.subarray(64, 64 + (frameStarts(b)[1] - s)), s); });
  const wal = SegmentedWal.open({ dir: '/w', fs });
  const e = errOf(() => wal.replay());
  expectCorrupted(e, segs[1].path, 64);
  assert.ok(['salt-mismatch', 'crc-mismatch', 'incomplete-payload', 'length-over-bound'].includes(e.reason), e.reason);
  wal.close();
});

test('ValidCrcButAnUnknownRecordFlagIsCorrupted', () => {
  const { fs, segs } = build();
  const active = segs.at(-1).path;
  let at;
  surgery(fs, active, (b) => {
    at = frameStarts(b)[0];
    b[at + 32 + 24] = 2; // sub-header flags
    new DataView(b.buffer).setUint32(at, CRC32C.buf(b.subarray(at + 4, at + 32 + u32(b, at + 4))) >>> 0, true);
  });
  expectCorrupted(errOf(() => SegmentedWal.open({ dir: '/w', fs })), active, at, 'decode-failure');
});

test('TornTailAfterTheLastSyncInTheActiveSegmentIsCut', () => {
  const { fs, oracle, segs } = build();
  const active = segs.at(-1).path;
  const size = fs.readFile(active).length;
  surgery(fs, active, (b) => { const t = new Uint8Array(b.length + 50); t.set(b); t.fill(0xf7, b.length); return t; });
  const wal = SegmentedWal.open({ dir: '/w', fs });
  assert.is(wal.openReport.truncatedBytes, 50, 'the garbage after the durable sync marker is cut');
  assert.is(fs.readFile(active).length >= size, true);
  checkReplay(wal.replay(), oracle, 'after torn tail');
  assert.is(wal.nextLsn, 31);
  wal.close();
});

test('BitFlipInASyncedRecordWitnessedByALaterRecordIsCorruptedOnOpen', () => {
  const fs = new MemoryFileSystem();
  const wal = SegmentedWal.open({ dir: '/w', fs, segmentTargetSize: 1 << 20 });
  for (let i = 1; i <= 5; i++) { appendOne(wal, i); wal.sync(); }
  const path = wal.listSegments()[0].path;
  wal.close();
  let at;
  surgery(fs, path, (b) => { at = frameStarts(b)[2]; b[at + 70] ^= 0x40; });
  expectCorrupted(errOf(() => SegmentedWal.open({ dir: '/w', fs })), path, at, 'crc-mismatch');
});

test('BitFlipInTheLastSyncedRecordWitnessedByTheDurableSyncMarkerIsCorrupted', () => {
  const fs = new MemoryFileSystem();
  const wal = SegmentedWal.open({ dir: '/w', fs, segmentTargetSize: 1 << 20 });
  for (let i = 1; i <= 3; i++) appendOne(wal, i);
  const path = wal.listSegments()[0].path;
  wal.close(); // the marker after the last record is made durable
  let at;
  surgery(fs, path, (b) => { const f = frameStarts(b); at = f.at(-2); b[at + 40] ^= 1; });
  expectCorrupted(errOf(() => SegmentedWal.open({ dir: '/w', fs })), path, at, 'crc-mismatch');
});

test('StaleTempFilesAreRemovedAndUnknownFilesIgnoredOnOpen', () => {
  const { fs, oracle } = build();
  fs.writeFile('/w/wal-00000000000000000099.seg.tmp-deadbeef', enc('half a segment'));
  fs.writeFile('/w/README', enc('not a segment'));
  const wal = SegmentedWal.open({ dir: '/w', fs });
  assert.not.ok(fs.list('/w').some((n) => n.includes('.tmp-')));
  assert.ok(fs.list('/w').includes('README'));
  checkReplay(wal.replay(), oracle, 'with stray files');
  wal.close();
});

test('names: fixed width, sorted by first LSN, carrying the first LSN', () => {
  const { fs, segs } = build(60);
  const names = fs.list('/w').filter((n) => n.endsWith('.seg'));
  assert.equal(names, [...names].sort());
  for (const s of segs) assert.ok(s.path.endsWith(`wal-${String(s.firstLsn).padStart(20, '0')}.seg`));
  assert.ok(names.every((n) => n.length === 28));
});

test.run();
