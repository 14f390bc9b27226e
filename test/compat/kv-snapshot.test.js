// compat: AppendLogSnapshot files written by this release keep opening in
// later ones (docs/FORMAT.md §7, §12). Each test opens the committed golden
// file test/vectors/kv-snapshot-v1.hex (three synced batches, the third a
// group of two frames, then a sync marker) with the public API, as a user
// would, on the real file system and in a MemoryFileSystem, intact or after
// byte surgery that follows the rules of §5 and §12.5-§12.6.
//
// When the format changes, NEW vectors are ADDED (kv-snapshot-v2.hex, with
// its own tests here); the v1 vector stays, unchanged, and these tests keep
// opening it. Never regenerate or edit a v1 vector to make a test pass.
import { test } from 'uvu';
import { truncateSync } from 'node:fs';
import * as assert from 'uvu/assert';
import { AppendLogSnapshot, WatchCursor } from 'walcore';
import { CRC32C, dec, enc, hex } from '../support/helpers.js';
import { KV_CURSOR, KV_FILE, KV_FRAME_OFFSETS, KV_LIVE, KV_MARKER, KV_SIZE } from '../vectors/kv-snapshot.js';
import { PLACES, placeVector, walErrorOf } from './golden-files.js';

const V1 = 'kv-snapshot-v1.hex';
const live = (n) => KV_LIVE.slice(0, n);
const shown = (entries) => entries.map((e) => [e.key, dec(e.value), hex(e.version)]);
const want = (rows) => rows.map(([k, v, ver]) => [k, v, hex(ver)]);
const rev = (n) => WatchCursor.fromRevision(n);
const u32 = (b, at) => new DataView(b.buffer, b.byteOffset).getUint32(at, true);
/** Recompute the CRC of the frame at `at` (after editing its bytes, so the frame is intact but wrong). */
const reseal = (b, at) => new DataView(b.buffer, b.byteOffset).setUint32(at, CRC32C.buf(b.subarray(at + 4, at + 32 + u32(b, at + 4))) >>> 0, true);
const BATCH_STARTS = KV_FRAME_OFFSETS.map((f) => f[0]);
const ALL_FRAMES = KV_FRAME_OFFSETS.flat();
/** The fold after batch 1, after batch 2 (keys in UTF-8 order). */
const AFTER = {
  1: [['app/a', 'apple', rev(1).bytes], ['app/b', '', rev(1).bytes]],
  2: [['app/a', 'apple', rev(1).bytes], ['ключ', 'значение', KV_LIVE[2][2]]],
};

function open(fs, file, repair = 'truncate-partial') {
  return AppendLogSnapshot.open(file, { fs, repair });
}

for (const place of PLACES) {
  test(`v1 kv (${place}): opens strictly, nothing repaired, the fold and cursor exact (versionstamp included)`, () => {
    const { fs, file } = placeVector(V1, place);
    const { cursor, store } = open(fs, file(KV_FILE), 'strict');
    assert.is(cursor.toHex(), rev(KV_CURSOR).toHex());
    assert.equal(store.openReport, { truncatedBytes: 0, truncatedReason: undefined, batches: 3, compacted: false });
    assert.equal(shown(store.range('')), want(KV_LIVE));
    assert.equal(shown(store.range('app/')), want(live(2)));
    assert.is(store.get('app/b'), undefined, 'deleted by batch 2');
    assert.is(store.fileSize, KV_SIZE);
    store.close();
  });

  test(`v1 kv (${place}): applies continue over the sync marker and survive a reopen`, () => {
    const { fs, file } = placeVector(V1, place);
    let { store } = open(fs, file(KV_FILE), 'strict');
    store.apply([{ type: 'put', key: 'app/d', value: enc('date'), version: rev(4).bytes }], rev(4), { sync: true });
    assert.is(store.fileSize, KV_MARKER + 32 + 8 + 8 + 12 + 5 + 8 + 4 + 32, 'batch 4 went over the marker at 434, a new marker after it');
    store.close();
    const reopened = open(fs, file(KV_FILE), 'strict');
    store = reopened.store;
    assert.is(reopened.cursor.toHex(), rev(4).toHex());
    assert.equal(shown(store.range('app/')), [...want(live(2)), ['app/d', 'date', hex(rev(4).bytes)]]);
    store.close();
  });

  test(`v1 kv (${place}): a flipped header byte is BAD_HEADER (header-crc), never repaired`, () => {
    for (const at of [12, 16, 40]) {
      const { fs, file } = placeVector(V1, place, (_, b) => { b[at] ^= 0x01; });
      for (const repair of ['strict', 'truncate-partial']) {
        const e = walErrorOf(() => open(fs, file(KV_FILE), repair).store.close());
        assert.is(e?.code, 'BAD_HEADER', `byte ${at}, ${repair}: ${e?.message}`);
        assert.is(e.offset, 0);
      }
    }
  });

  test(`v1 kv (${place}): a flipped byte in any frame (header or payload) is CORRUPTED at that frame in every mode`, () => {
    // Each batch is witnessed by a later frame (the next batch's watermark, the marker's for batch 3).
    for (const at of ALL_FRAMES) {
      for (const byte of [24, 33, 40 + 5]) {
        const { fs, file } = placeVector(V1, place, (_, b) => { b[at + byte] ^= 0x01; });
        for (const repair of ['strict', 'truncate-partial']) {
          const e = walErrorOf(() => open(fs, file(KV_FILE), repair).store.close());
          assert.is(e?.code, 'CORRUPTED', `frame @${at} byte ${byte}, ${repair}: ${e?.message}`);
          assert.is(e.offset, at);
          assert.is(e.path, file(KV_FILE));
        }
      }
    }
  });

  test(`v1 kv (${place}): an intact frame with a non-zero reserved byte is CORRUPTED (decode-failure)`, () => {
    for (const at of ALL_FRAMES) {
      const { fs, file } = placeVector(V1, place, (_, b) => { b[at + 32 + 6] = 1; reseal(b, at); });
      const e = walErrorOf(() => open(fs, file(KV_FILE)).store.close());
      assert.is(e?.code, 'CORRUPTED', `frame @${at}: ${e?.message}`);
      assert.is(e.reason, 'decode-failure');
      assert.is(e.offset, at);
    }
  });

  test(`v1 kv (${place}): a KV_FLAG_MORE frame that carries a cursor is CORRUPTED (decode-failure)`, () => {
    const [first] = KV_FRAME_OFFSETS[0];
    const { fs, file } = placeVector(V1, place, (_, b) => { b[first + 11] = 1; reseal(b, first); });
    const e = walErrorOf(() => open(fs, file(KV_FILE)).store.close());
    assert.is(e?.code, 'CORRUPTED', e?.message);
    assert.is(e.reason, 'decode-failure');
    assert.is(e.offset, first);
  });

  test(`v1 kv (${place}): a flipped byte in the final sync marker is a TORN_TAIL; cut, no batch lost`, () => {
    const { fs, file } = placeVector(V1, place, (_, b) => { b[KV_MARKER + 24] ^= 0x01; });
    const e = walErrorOf(() => open(fs, file(KV_FILE), 'strict').store.close());
    assert.is(e?.code, 'TORN_TAIL', e?.message);
    assert.is(e.offset, KV_MARKER);
    const { cursor, store } = open(fs, file(KV_FILE));
    assert.is(store.openReport.truncatedBytes, 32);
    assert.is(cursor.toHex(), rev(KV_CURSOR).toHex());
    assert.equal(shown(store.range('')), want(KV_LIVE));
    store.close();
  });

  test(`v1 kv (${place}): a cut inside any batch tears it: the whole batch is cut (with its first frame), the cursor is the batch before`, () => {
    // Cut points: inside each batch's first frame, and inside batch 3's second frame (its first frame intact).
    const cuts = [[BATCH_STARTS[0] + 40, 0], [BATCH_STARTS[1] + 20, 1], [BATCH_STARTS[2] + 50, 2], [KV_FRAME_OFFSETS[2][1] + 33, 2], [KV_MARKER + 5, 3]];
    for (const [cut, batches] of cuts) {
      const { fs, file } = placeVector(V1, place);
      const path = file(KV_FILE);
      truncateTo(fs, path, cut);
      const strict = walErrorOf(() => open(fs, path, 'strict').store.close());
      assert.is(strict?.code, 'TORN_TAIL', `cut at ${cut}: ${strict?.message}`);
      const { cursor, store } = open(fs, path);
      const keep = batches < 3 ? BATCH_STARTS[batches] : KV_MARKER;
      assert.is(store.openReport.truncatedBytes, cut - keep, `cut at ${cut}`);
      assert.is(store.openReport.batches, batches);
      assert.is(cursor.toHex(), batches === 0 ? '' : rev(batches).toHex(), `cut at ${cut}`);
      assert.equal(shown(store.range('')), batches === 3 ? want(KV_LIVE) : want(AFTER[batches] ?? []), `cut at ${cut}`);
      store.close();
    }
  });
}

/** Cut the placed file to `size` bytes (in the MemoryFileSystem durably, as a crash would leave it). */
function truncateTo(fs, path, size) {
  if (fs === undefined) return truncateSync(path, size);
  const h = fs.open(path, { write: true });
  h.truncate(size);
  h.sync();
  h.close();
}

test.run();
