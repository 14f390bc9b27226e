// compat: RingLog files written by this release keep opening in later ones
// (docs/FORMAT.md §7, §R8). Each test opens the committed golden ring
// test/vectors/ring-v1.hex (capacity 4, slotSize 64, wrapped, record 5 with
// failure evidence, closed cleanly) with the public API, as a user would, on
// the real file system and in a MemoryFileSystem.
//
// When the format changes, NEW vectors are ADDED (ring-v2.hex, with its own
// tests here); the v1 vector stays, unchanged, and these tests keep opening
// it. Never regenerate or edit a v1 vector to make a test pass.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RingLog } from 'walcore';
import { dec, enc } from '../support/helpers.js';
import { RING_CAPACITY, RING_FILE, RING_LIVE, RING_SLOT_SIZE, slotOffset } from '../vectors/ring.js';
import { PLACES, placeVector, walErrorOf } from './golden-files.js';

const V1 = 'ring-v1.hex';
const LIVE = RING_LIVE.map((r) => ({
  sequence: r.sequence,
  payload: r.payload,
  evidence: r.evidence && { failureClass: r.evidence.failureClass, code: r.evidence.code, digest: r.evidence.digest },
}));
const shown = (records) => records.map((r) => ({ ...r, payload: dec(r.payload), evidence: r.evidence && { ...r.evidence, digest: r.evidence.digest && Array.from(r.evidence.digest) } }));
const loseState = (b) => { b.fill(0, 2048, 2080); b.fill(0, 2560, 2592); }; // as after a crash: no clean record

for (const place of PLACES) {
  test(`v1 ring (${place}): opens clean and replays the live window 3..6 with its failure evidence exact`, () => {
    const { fs, file } = placeVector(V1, place);
    const log = RingLog.open(file(RING_FILE), { fs });
    assert.equal(log.openReport, { created: false, clean: true, discarded: [], tookOlderRun: false, junkSlots: 0, replacedEmptyFile: false });
    assert.equal([log.capacity, log.slotSize, log.firstSequence, log.nextSequence, log.length, log.durableSequence], [4, 64, 3, 7, 4, 6]);
    assert.equal(shown(log.replayRecords()), LIVE);
    assert.equal(log.replayAll().map(dec), ['r3', 'r4', 'r5', 'r6']);
    log.close();
  });

  test(`v1 ring (${place}): opening with its own geometry works; another geometry is HEADER_MISMATCH`, () => {
    const { fs, file } = placeVector(V1, place);
    RingLog.open(file(RING_FILE), { fs, capacity: RING_CAPACITY, slotSize: RING_SLOT_SIZE }).close();
    const e = walErrorOf(() => RingLog.open(file(RING_FILE), { fs, capacity: 8 }).close());
    assert.is(e?.code, 'HEADER_MISMATCH', e?.message);
  });

  test(`v1 ring (${place}): appends continue at 7, overwrite the oldest, and survive a reopen`, () => {
    const { fs, file } = placeVector(V1, place);
    let log = RingLog.open(file(RING_FILE), { fs });
    assert.is(log.append(enc('r7')), 7);
    assert.is(log.appendWithFailure(enc('r8'), { failureClass: 'timeout', code: 110 }), 8);
    log.close();
    log = RingLog.open(file(RING_FILE), { fs });
    assert.ok(log.openReport.clean);
    assert.equal(shown(log.replayRecords()), [...LIVE.slice(2),
      { sequence: 7, payload: 'r7', evidence: undefined },
      { sequence: 8, payload: 'r8', evidence: { failureClass: 'timeout', code: 110, digest: undefined } }]);
    log.close();
  });

  test(`v1 ring (${place}): without its state record (as after a crash) the slots alone give the same window`, () => {
    const { fs, file } = placeVector(V1, place, (_, b) => loseState(b));
    const log = RingLog.open(file(RING_FILE), { fs });
    assert.equal(log.openReport, { created: false, clean: false, discarded: [], tookOlderRun: false, junkSlots: 0, replacedEmptyFile: false });
    assert.equal(shown(log.replayRecords()), LIVE);
    assert.is(log.nextSequence, 7);
    log.close();
  });

  test(`v1 ring (${place}): a flipped payload or digest byte in any live slot of the clean ring is CORRUPTED at that slot`, () => {
    const cases = RING_LIVE.map((r) => [r.sequence, 40]);
    cases.push([5, 42]); // the first digest byte of record 5 (payload "r5" is 2 bytes)
    for (const [sequence, byte] of cases) {
      const at = slotOffset(sequence);
      const { fs, file } = placeVector(V1, place, (_, b) => { b[at + byte] ^= 0x01; });
      const e = walErrorOf(() => RingLog.open(file(RING_FILE), { fs }).close());
      assert.is(e?.code, 'CORRUPTED', `record ${sequence} byte ${byte}: ${e?.message}`);
      assert.is(e.reason, 'crc-mismatch');
      assert.is(e.offset, at);
      assert.is(e.path, file(RING_FILE));
    }
  });

  test(`v1 ring (${place}): after a crash a flipped byte in the oldest slot is junk, cut from the front of the window`, () => {
    const at = slotOffset(3);
    const { fs, file } = placeVector(V1, place, (_, b) => { loseState(b); b[at + 40] ^= 0x01; });
    const log = RingLog.open(file(RING_FILE), { fs });
    assert.equal(shown(log.replayRecords()), LIVE.slice(1));
    assert.is(log.openReport.junkSlots, 1);
    log.close();
  });
}

test.run();
