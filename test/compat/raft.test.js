// compat: WalLog directories written by this release keep opening in later
// ones (docs/FORMAT.md §7, §11). Each test opens the committed golden
// directory test/vectors/raft-v1.hex (a sealed segment with its index
// footer, an active segment, a snapshot file, a truncate, hard states) with
// the public API, as a user would, on the real file system and in a
// MemoryFileSystem.
//
// When the format changes, NEW vectors are ADDED (raft-v2.hex, with its own
// tests here); the v1 vector stays, unchanged, and these tests keep opening
// it. Never regenerate or edit a v1 vector to make a test pass.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { WalLog } from 'walcore';
import { Core } from 'walcore/internals';
import { dec, enc } from '../support/helpers.js';
import { RAFT_EXPECTED, RAFT_OFFSETS, RAFT_SEG1, RAFT_SEG2, buildRaft } from '../vectors/raft.js';
import { PLACES, placeVector, walErrorOf } from './golden-files.js';

const V1 = 'raft-v1.hex';
buildRaft(new Core()); // fills RAFT_OFFSETS
const shown = (es) => es.map((e) => ({ index: e.index, term: e.term, type: e.type, payload: dec(e.payload) }));

for (const place of PLACES) {
  test(`v1 raft log (${place}): entries, terms, hard state and snapshot exact; the sealed segment is read from its footer`, () => {
    const { fs, dir } = placeVector(V1, place);
    const log = WalLog.open(dir, { fs });
    assert.equal(log.openReport, { segments: 2, footersRead: 1, footersDeferred: 0, truncatedBytes: 0, truncatedReason: undefined });
    assert.equal([log.snapshotIndex(), log.firstIndex(), log.lastIndex(), log.lastTerm()], [1, 2, 4, 2]);
    assert.equal([log.termAt(0), log.termAt(1), log.termAt(2), log.termAt(3), log.termAt(4), log.termAt(5)], [undefined, 1, 2, 2, 2, undefined]);
    assert.equal(shown(log.entries(2, 4)), RAFT_EXPECTED.entries);
    assert.equal(shown([log.entry(2), log.entry(3), log.entry(4)]), RAFT_EXPECTED.entries);
    assert.is(log.entry(1), undefined);
    assert.equal(log.hardState(), RAFT_EXPECTED.hardState);
    const s = log.snapshot();
    assert.equal({ index: s.index, term: s.term, data: dec(s.data) }, RAFT_EXPECTED.snapshot);
    const v = log.verify();
    assert.is(v.segments, 2);
    log.close();
  });

  test(`v1 raft log (${place}): appends continue at 5, a conflicting append truncates, and both survive a reopen`, () => {
    const { fs, dir } = placeVector(V1, place);
    let log = WalLog.open(dir, { fs });
    log.append([{ index: 4, term: 3, payload: enc('D') }, { index: 5, term: 3, payload: enc('e') }]);
    log.setHardState({ term: 3, vote: 2, commit: 3 });
    log.sync();
    log.close();
    log = WalLog.open(dir, { fs });
    assert.equal(shown(log.entries(2, 5)).map((e) => `${e.index}:${e.term}:${e.payload}`), ['2:2:B', '3:2:ccc', '4:3:D', '5:3:e']);
    assert.equal(log.hardState(), { term: 3, vote: 2, commit: 3 });
    log.close();
  });

  test(`v1 raft log (${place}): a flipped payload byte in the active segment is CORRUPTED at that file and frame`, () => {
    const { fs, dir, file } = placeVector(V1, place, (name, b) => { if (name === RAFT_SEG2) b[RAFT_OFFSETS.entry3 + 48] ^= 0x01; });
    const e = walErrorOf(() => WalLog.open(dir, { fs }).close());
    assert.is(e?.code, 'CORRUPTED', e?.message);
    assert.is(e.path, file(RAFT_SEG2));
    assert.is(e.offset, RAFT_OFFSETS.entry3);
  });

  test(`v1 raft log (${place}): a flipped payload byte in the sealed segment is CORRUPTED when read, at that file and frame`, () => {
    const { fs, dir, file } = placeVector(V1, place, (name, b) => { if (name === RAFT_SEG1) b[RAFT_OFFSETS.entry2 + 48] ^= 0x01; });
    const log = WalLog.open(dir, { fs, cacheEntries: 0 }); // the footer is read, not the frames
    for (const read of [() => log.entry(2), () => log.entries(2, 4), () => log.verify()]) {
      const e = walErrorOf(read);
      assert.is(e?.code, 'CORRUPTED', e?.message);
      assert.is(e.path, file(RAFT_SEG1));
      assert.is(e.offset, RAFT_OFFSETS.entry2);
    }
    assert.is(dec(log.entry(3).payload), 'ccc', 'the undamaged entries still read');
    log.close();
  });
}

test.run();
