// compat: SegmentedWal directories written by this release keep opening in
// later ones (docs/FORMAT.md §7). Each test opens the committed golden
// directory test/vectors/segmented-v1.hex (two sealed segments, one of them
// encrypted under the documented test key, and an active one) with the public
// API, as a user would, on the real file system and in a MemoryFileSystem.
//
// When the format changes, NEW vectors are ADDED (segmented-v2.hex, with its
// own tests here); the v1 vector stays, unchanged, and these tests keep
// opening it. Never regenerate or edit a v1 vector to make a test pass.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { KeyRing, SegmentedWal } from 'walcore';
import { CRC32C, dec, enc } from '../support/helpers.js';
import { readVector } from '../vectors/vectors.js';
import { SEG_RECORDS, SEG_TEST_KEY, SEG_TEST_KEY_ID } from '../vectors/segmented.js';
import { PLACES, placeVector, walErrorOf } from './golden-files.js';

const V1 = 'segmented-v1.hex';
const testKey = () => new KeyRing({ id: SEG_TEST_KEY_ID, key: SEG_TEST_KEY });
const u32 = (b, at) => new DataView(b.buffer, b.byteOffset).getUint32(at, true);
const ALL = SEG_RECORDS.map((r) => ({ ...r, payload: r.payload }));
const asNumbers = (r) => ({ ...r, tenantId: Number(r.tenantId), databaseId: Number(r.databaseId) });
const shown = (records) => records.map((r) => ({ ...r, payload: dec(r.payload) }));

/** Record frames of the committed files: [{ file, at, lsn, bodyAt, bodyLen, encrypted }]. */
const FRAMES = readVector(V1).flatMap(({ name, bytes }) => {
  const out = [];
  for (let p = 64; p < bytes.length; p += 32 + u32(bytes, p + 4)) {
    if (bytes[p + 10] !== 2) continue; // a sync marker
    const encrypted = u32(bytes, p + 56) === 1;
    const bodyAt = p + (encrypted ? 76 : 64);
    out.push({ file: name, at: p, lsn: u32(bytes, p + 16), bodyAt, bodyLen: p + 32 + u32(bytes, p + 4) - bodyAt - (encrypted ? 16 : 0), encrypted });
  }
  return out;
});

// The golden directory mixes plain and encrypted segments (encryption was
// switched on after segment 1): with a ring, reading its plain segments takes
// allowPlaintext (a plaintext segment is refused as a possible downgrade).
function open(p, options = {}) {
  const allow = options.encryptionRing ? { allowPlaintext: true } : {};
  return SegmentedWal.open({ dir: p.dir, fs: p.fs, ...allow, ...options });
}

test('the golden directory holds the records the tests expect, one frame each', () => {
  assert.equal(FRAMES.map((f) => f.lsn), [1, 2, 3, 4, 5, 6, 7]);
  assert.equal(FRAMES.map((f) => f.bodyLen), SEG_RECORDS.map((r) => enc(r.payload).length));
});

for (const place of PLACES) {
  test(`v1 segments (${place}): open with the test key replays every record, LSNs, ids and payloads exact`, () => {
    const p = placeVector(V1, place);
    const wal = open(p, { ids: 'bigint', encryptionRing: testKey() });
    assert.equal(wal.openReport, { truncatedBytes: 0, truncatedReason: undefined, createdSegments: 0 });
    assert.is(wal.firstRetainedLsn, 1);
    assert.is(wal.nextLsn, 8);
    assert.equal(shown(wal.replay()), ALL);
    assert.equal(shown(wal.replayFrom(4)), ALL.slice(3));
    wal.close();
  });

  test(`v1 segments (${place}): the segment list reads as written: two sealed, one encrypted, one active`, () => {
    const p = placeVector(V1, place);
    const wal = open(p);
    assert.equal(wal.listSegments().map((s) => [s.path, s.firstLsn, s.lastLsn, s.sizeBytes, s.sealed, s.encrypted]), [
      [p.file('wal-00000000000000000001.seg'), 1, 3, 275, true, false],
      [p.file('wal-00000000000000000004.seg'), 4, 5, 270, true, true],
      [p.file('wal-00000000000000000006.seg'), 6, 7, 246, false, false],
    ]);
    wal.close();
  });

  test(`v1 segments (${place}): ids up to 2^53 read as numbers; above it the error names { ids: 'bigint' }`, () => {
    const p = placeVector(V1, place);
    const wal = open(p, { encryptionRing: testKey() });
    const first3 = [];
    for (const r of wal.records()) { first3.push(r); if (first3.length === 3) break; } // lazily: segment 1 only
    assert.equal(shown(first3), ALL.slice(0, 3).map(asNumbers));
    assert.equal(shown(wal.replayFrom(6)), ALL.slice(5).map(asNumbers));
    const e = walErrorOf(() => wal.replay());
    assert.is(e?.code, 'SEQUENCE_OUT_OF_RANGE', e?.message);
    assert.match(e.message, /ids: 'bigint'/);
    wal.close();
  });

  test(`v1 segments (${place}): without the key the plain segments replay and the encrypted one is UNKNOWN_KEY`, () => {
    const p = placeVector(V1, place);
    const wal = open(p, { ids: 'bigint' });
    assert.equal(shown(wal.replayFrom(6)), ALL.slice(5));
    const e = walErrorOf(() => wal.replay());
    assert.is(e?.code, 'UNKNOWN_KEY', e?.message);
    assert.is(e.path, p.file('wal-00000000000000000004.seg'));
    assert.is(e.offset, 64);
    wal.close();
  });

  test(`v1 segments (${place}): with a ring, the plain segments are refused unless allowPlaintext`, () => {
    const p = placeVector(V1, place);
    const wal = open(p, { ids: 'bigint', encryptionRing: testKey(), allowPlaintext: false });
    const e = walErrorOf(() => wal.replay());
    assert.is(e?.code, 'DECRYPT_FAILED', e?.message);
    assert.is(e.path, p.file('wal-00000000000000000001.seg'));
    assert.match(e.message, /allowPlaintext/);
    assert.equal(shown(wal.replayFromLimit(4, 2).records), ALL.slice(3, 5), 'the encrypted segment still replays');
    wal.close();
  });

  test(`v1 segments (${place}): a wrong key under the same id is DECRYPT_FAILED, never wrong plaintext`, () => {
    const p = placeVector(V1, place);
    const wal = open(p, { ids: 'bigint', encryptionRing: new KeyRing({ id: SEG_TEST_KEY_ID, key: new Uint8Array(32).fill(7) }) });
    const e = walErrorOf(() => wal.replay());
    assert.is(e?.code, 'DECRYPT_FAILED', e?.message);
    assert.is(e.offset, 64);
    wal.close();
  });

  test(`v1 segments (${place}): appends continue at LSN 8 and everything replays after reopening`, () => {
    const p = placeVector(V1, place);
    let wal = open(p, { ids: 'bigint' }); // no ring given: the plain active segment is kept
    assert.is(wal.append(1, 5, 2, 6, enc('eight')), 8);
    wal.close();
    wal = open(p, { ids: 'bigint', encryptionRing: testKey() }); // a ring given: the plain active segment is rolled
    assert.is(wal.append(1, 2n ** 64n - 1n, 0, 0, enc('nine, encrypted')), 9);
    wal.sync();
    assert.equal(wal.listSegments().map((s) => [s.firstLsn, s.lastLsn, s.encrypted]), [[1, 3, false], [4, 5, true], [6, 8, false], [9, 9, true]]);
    wal.close();
    wal = open(p, { ids: 'bigint', encryptionRing: testKey() });
    assert.equal(shown(wal.replay()), [...ALL,
      { lsn: 8, recordType: 1, tenantId: 5n, vshardId: 2, databaseId: 6n, payload: 'eight' },
      { lsn: 9, recordType: 1, tenantId: 2n ** 64n - 1n, vshardId: 0, databaseId: 0n, payload: 'nine, encrypted' }]);
    wal.close();
  });

  test(`v1 segments (${place}): a flipped payload byte in a sealed segment is CORRUPTED at that record on replay`, () => {
    for (const f of FRAMES.filter((x) => x.bodyLen > 0 && x.file !== 'wal-00000000000000000006.seg')) {
      const p = placeVector(V1, place, (name, b) => { if (name === f.file) b[f.bodyAt] ^= 0x01; });
      const wal = open(p, { ids: 'bigint', encryptionRing: testKey() }); // sealed segments are checked when replayed
      const e = walErrorOf(() => wal.replay());
      assert.is(e?.code, 'CORRUPTED', `LSN ${f.lsn}: ${e?.message}`);
      assert.is(e.reason, 'crc-mismatch', `LSN ${f.lsn}: the CRC covers ciphertext, so it fails before decryption`);
      assert.equal([e.path, e.offset], [p.file(f.file), f.at]);
      wal.close();
    }
  });

  test(`v1 segments (${place}): a flipped payload byte in the active segment is CORRUPTED on open (a later frame witnesses it)`, () => {
    for (const f of FRAMES.filter((x) => x.file === 'wal-00000000000000000006.seg')) {
      const p = placeVector(V1, place, (name, b) => { if (name === f.file) b[f.bodyAt + f.bodyLen - 1] ^= 0x80; });
      const e = walErrorOf(() => open(p).close());
      assert.is(e?.code, 'CORRUPTED', `LSN ${f.lsn}: ${e?.message}`);
      assert.is(e.reason, 'crc-mismatch');
      assert.equal([e.path, e.offset], [p.file(f.file), f.at]);
    }
  });

  test(`v1 segments (${place}): ciphertext changed with its CRC recomputed fails the GCM tag: DECRYPT_FAILED`, () => {
    const f = FRAMES.find((x) => x.encrypted && x.bodyLen > 0);
    const p = placeVector(V1, place, (name, b) => {
      if (name !== f.file) return;
      b[f.bodyAt] ^= 0x01;
      new DataView(b.buffer).setUint32(f.at, CRC32C.buf(b.subarray(f.at + 4, f.at + 32 + u32(b, f.at + 4))) >>> 0, true);
    });
    const wal = open(p, { ids: 'bigint', encryptionRing: testKey() });
    const e = walErrorOf(() => wal.replay());
    assert.is(e?.code, 'DECRYPT_FAILED', e?.message);
    assert.equal([e.path, e.offset], [p.file(f.file), f.at]);
    wal.close();
  });
}

test.run();
