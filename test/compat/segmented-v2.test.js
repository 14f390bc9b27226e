// compat: SegmentedWal directories in segment format 2 (sealed blocks,
// docs/FORMAT.md §S9) keep opening in later releases. Each test opens the
// committed golden directory test/vectors/segmented-v2.hex (a sealed and an
// active segment, every record encrypted in blocks under the documented test
// key) with the public API, on the real file system and in a MemoryFileSystem.
// Never regenerate or edit this vector to make a test pass: a later format
// adds its own vector.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { KeyRing, SegmentedWal } from 'walcore';
import { CRC32C, dec, enc } from '../support/helpers.js';
import { readVector } from '../vectors/vectors.js';
import { SEG_TEST_KEY, SEG_TEST_KEY_ID } from '../vectors/segmented.js';
import { SEG2_RECORDS } from '../vectors/segmented-v2.js';
import { PLACES, placeVector, walErrorOf } from './golden-files.js';

const V2 = 'segmented-v2.hex';
const testKey = () => new KeyRing({ id: SEG_TEST_KEY_ID, key: SEG_TEST_KEY });
const u32 = (b, at) => new DataView(b.buffer, b.byteOffset).getUint32(at, true);
const shown = (records) => records.map((r) => ({ ...r, payload: dec(r.payload) }));
const ALL = SEG2_RECORDS; // payloads as strings, ids as bigints: compare with shown() of a bigint replay

/** Block frames of the committed files: [{ file, at, len, last, count }]. */
const BLOCKS = readVector(V2).flatMap(({ name, bytes }) => {
  const out = [];
  for (let p = 64; p < bytes.length; p += 32 + u32(bytes, p + 4)) {
    if (bytes[p + 10] === 3) out.push({ file: name, at: p, len: u32(bytes, p + 4), last: u32(bytes, p + 16), count: u32(bytes, p + 32) });
  }
  return out;
});

test('the golden directory holds three blocks of 3, 1 and 2 records', () => {
  assert.equal(BLOCKS.map((b) => [b.count, b.last]), [[3, 3], [1, 4], [2, 6]]);
});

for (const place of PLACES) {
  test(`v2 segments (${place}): open with the test key replays every record, LSNs, ids and payloads exact`, () => {
    const p = placeVector(V2, place);
    const wal = SegmentedWal.open({ dir: p.dir, fs: p.fs, ids: 'bigint', encryptionRing: testKey() });
    assert.equal(wal.openReport, { truncatedBytes: 0, truncatedReason: undefined, createdSegments: 0 });
    assert.is(wal.nextLsn, 7);
    assert.equal(shown(wal.replay()), ALL);
    assert.equal(shown(wal.replayFrom(2)), ALL.slice(1), 'from inside a block');
    assert.equal(wal.listSegments().map((s) => [s.firstLsn, s.lastLsn, s.sealed, s.encrypted]), [[1, 4, true, true], [5, 6, false, true]]);
    wal.close();
  });

  test(`v2 segments (${place}): without the key recovery works and replay is UNKNOWN_KEY`, () => {
    const p = placeVector(V2, place);
    const wal = SegmentedWal.open({ dir: p.dir, fs: p.fs });
    assert.is(wal.nextLsn, 7);
    assert.is(walErrorOf(() => wal.replay())?.code, 'UNKNOWN_KEY');
    wal.close();
  });

  test(`v2 segments (${place}): appends continue at LSN 7 in the active segment and everything replays after reopening`, () => {
    const p = placeVector(V2, place);
    let wal = SegmentedWal.open({ dir: p.dir, fs: p.fs, ids: 'bigint', encryptionRing: testKey() });
    assert.is(wal.append(1, 2, 3, 4, enc('seven')), 7);
    wal.close();
    wal = SegmentedWal.open({ dir: p.dir, fs: p.fs, ids: 'bigint', encryptionRing: testKey() });
    assert.equal(wal.listSegments().length, 2, 'same key: the active segment is kept');
    assert.equal(shown(wal.replay()), [...ALL, { lsn: 7, recordType: 1, tenantId: 2n, vshardId: 3, databaseId: 4n, payload: 'seven' }]);
    wal.close();
  });

  test(`v2 segments (${place}): a changed byte of a sealed block with its CRC recomputed is DECRYPT_FAILED at that block`, () => {
    const b0 = BLOCKS[1];
    const p = placeVector(V2, place, (name, b) => {
      if (name !== b0.file) return;
      b[b0.at + 48] ^= 0x01;
      new DataView(b.buffer).setUint32(b0.at, CRC32C.buf(b.subarray(b0.at + 4, b0.at + 32 + b0.len)) >>> 0, true);
    });
    const wal = SegmentedWal.open({ dir: p.dir, fs: p.fs, ids: 'bigint', encryptionRing: testKey() });
    const got = [];
    const e = walErrorOf(() => { for (const r of wal.records()) got.push(r.lsn); });
    assert.equal([e?.code, e?.path, e?.offset], ['DECRYPT_FAILED', p.file(b0.file), b0.at]);
    assert.equal(got, [1, 2, 3], 'the block before it is handed out');
    wal.close();
  });

  test(`v2 segments (${place}): a damaged last block is CORRUPTED while the sync marker after it witnesses it`, () => {
    const b0 = BLOCKS[2];
    const p = placeVector(V2, place, (name, b) => { if (name === b0.file) b[b0.at + 40 + (b0.len >> 1)] ^= 0x10; });
    const e = walErrorOf(() => SegmentedWal.open({ dir: p.dir, fs: p.fs, encryptionRing: testKey() }).close());
    assert.equal([e?.code, e?.reason, e?.offset], ['CORRUPTED', 'crc-mismatch', b0.at]);
  });

  test(`v2 segments (${place}): a torn last block (no marker after it) is cut on open, the whole block`, () => {
    const b0 = BLOCKS[2];
    const p = placeVector(V2, place, (name, b) => {
      if (name !== b0.file) return;
      b.fill(0, b0.at + 32 + b0.len); // the marker never reached the disk
      b[b0.at + 40 + (b0.len >> 1)] ^= 0x10; // and the block was torn
    });
    const wal = SegmentedWal.open({ dir: p.dir, fs: p.fs, ids: 'bigint', encryptionRing: testKey() });
    assert.is(wal.openReport.truncatedReason, 'crc-mismatch');
    assert.is(wal.nextLsn, 5, 'the whole block (LSNs 5-6) is cut: its watermark cites nothing after it');
    assert.equal(shown(wal.replay()), ALL.slice(0, 4));
    wal.close();
  });
}

test.run();
