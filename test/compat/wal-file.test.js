// compat: single-file WALs written by this release keep opening in later ones
// (docs/FORMAT.md §7). Each test opens the committed golden file
// test/vectors/wal-file-v1.hex with the public API, as a user would, on the
// real file system and in a MemoryFileSystem.
//
// When the format changes, NEW vectors are ADDED (wal-file-v2.hex, with its
// own tests here); the v1 vector stays, unchanged, and these tests keep
// opening it. Never regenerate or edit a v1 vector to make a test pass.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { WalFsReader, WalFsWriter } from 'walcore';
import { dec, enc } from '../support/helpers.js';
import { GOLDEN_OFFSETS } from '../vectors/golden.js';
import { PLACES, placeVector, walErrorOf } from './golden-files.js';

const V1 = 'wal-file-v1.hex';
const FILE = 'golden.wal';
const EVENTS = [[1, 'hello'], [2, 'world!'], [3, '!']];
const EVENT_OFFSETS = GOLDEN_OFFSETS.slice(0, 3);

function readAll(file, fs) {
  const r = WalFsReader.open(file, { fs, strict: true });
  try {
    return [...r].map((e) => [e.sequence, dec(e.payload), e.offset]);
  } finally {
    r.close();
  }
}

for (const place of PLACES) {
  test(`v1 single-file WAL (${place}): a reader replays every event, sequences and payloads exact`, () => {
    const { fs, file } = placeVector(V1, place);
    assert.equal(readAll(file(FILE), fs), EVENTS.map(([s, p], i) => [s, p, EVENT_OFFSETS[i]]));
  });

  test(`v1 single-file WAL (${place}): a reader in bigint mode gives the same sequences as bigints`, () => {
    const { fs, file } = placeVector(V1, place);
    const r = WalFsReader.open(file(FILE), { fs, strict: true, sequences: 'bigint' });
    assert.equal([...r].map((e) => e.sequence), [1n, 2n, 3n]);
    r.close();
  });

  test(`v1 single-file WAL (${place}): a writer opens it strictly, nothing repaired, and appends after event 3`, () => {
    const { fs, file } = placeVector(V1, place);
    const w = WalFsWriter.open(file(FILE), { fs, repair: 'strict' });
    assert.is(w.currentSequence, 3);
    assert.is(w.openReport.truncatedBytes, 0);
    w.append({ sequence: 4, payload: enc('four') });
    w.flush();
    w.close();
    const events = readAll(file(FILE), fs);
    assert.equal(events.map(([s, p]) => [s, p]), [...EVENTS, [4, 'four']]);
    assert.is(events[3][2], GOLDEN_OFFSETS[3], 'event 4 goes over the sync marker at 172, as §4 says');
  });

  test(`v1 single-file WAL (${place}): a flipped payload byte in any event is CORRUPTED at that event, for reader and writer`, () => {
    // Every event is witnessed by a later frame (the sync marker at 172 has mark 172), so none is a torn tail.
    for (const [i, at] of EVENT_OFFSETS.entries()) {
      const { fs, file } = placeVector(V1, place, (_, b) => { b[at + 32] ^= 0x01; });
      const read = walErrorOf(() => readAll(file(FILE), fs));
      assert.is(read?.code, 'CORRUPTED', `event ${i + 1}: ${read?.message}`);
      assert.is(read.reason, 'crc-mismatch');
      assert.is(read.offset, at);
      for (const repair of ['strict', 'truncate-partial']) {
        const e = walErrorOf(() => WalFsWriter.open(file(FILE), { fs, repair }).close());
        assert.is(e?.code, 'CORRUPTED', `event ${i + 1}, ${repair}: ${e?.message}`);
        assert.is(e.offset, at);
      }
    }
  });

  test(`v1 single-file WAL (${place}): a flipped byte in the final sync marker is a TORN_TAIL and no event is lost`, () => {
    const marker = GOLDEN_OFFSETS[3];
    const { fs, file } = placeVector(V1, place, (_, b) => { b[marker + 24] ^= 0x01; });
    const e = walErrorOf(() => WalFsWriter.open(file(FILE), { fs, repair: 'strict' }).close());
    assert.is(e?.code, 'TORN_TAIL', e?.message);
    assert.is(e.offset, marker);
    const w = WalFsWriter.open(file(FILE), { fs, repair: 'truncate-partial' });
    assert.is(w.openReport.truncatedBytes, 32);
    w.close();
    assert.equal(readAll(file(FILE), fs).map(([s, p]) => [s, p]), EVENTS);
  });
}

test.run();
