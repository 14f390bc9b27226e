// RingLog format: the hex test vectors of docs/FORMAT.md §10 (rebuilt by
// the core, CRCs checked with the independent crc-32 oracle), the worked
// example, and byte surgery on the header, the state record and the slots.
// Test names say the case.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { MemoryFileSystem, RingLog, WalError } from 'walcore';
import { Core } from 'walcore/internals';
import { CRC32C, enc, dec, fromHex, hex } from '../support/helpers.js';

const PATH = '/d/ring';
const DATA = 4096;
const STATE = 2048;
const STATE_COPY = 2560;

function memfs() {
  const fs = new MemoryFileSystem();
  fs.mkdir('/d');
  fs.syncDir('/');
  return fs;
}

const crc = (bytes) => CRC32C.buf(bytes) >>> 0;
const putU32 = (b, at, v) => new DataView(b.buffer, b.byteOffset).setUint32(at, v >>> 0, true);
const getU32 = (b, at) => new DataView(b.buffer, b.byteOffset).getUint32(at, true);

/** A cleanly closed ring holding records 1..n (payload "r<i>"), every record synced as appended. */
function ring({ capacity = 4, slotSize = 64, n = 3 } = {}) {
  const fs = memfs();
  const log = RingLog.open(PATH, { capacity, slotSize, fs });
  for (let i = 1; i <= n; i++) { log.append(enc(`r${i}`)); log.sync(); }
  log.close();
  return { fs, bytes: fs.readFile(PATH), slot: (i) => DATA + i * slotSize, slotSize };
}

/** Forget the clean close: as after a crash, recovery must work from the slots alone. */
function dirty(bytes) {
  bytes.fill(0, STATE, STATE + 32);
  bytes.fill(0, STATE_COPY, STATE_COPY + 32);
  return bytes;
}

/** Re-seal a slot's CRC after editing it (to make intact-but-impossible content). */
function reseal(bytes, at, slotSize) {
  putU32(bytes, at, crc(bytes.subarray(at + 4, at + slotSize)));
}

function openError(fs, code, reason) {
  try {
    RingLog.open(PATH, { fs }).close();
  } catch (e) {
    if (!(e instanceof WalError)) throw e;
    assert.is(e.code, code, e.message);
    if (reason !== undefined) assert.is(e.reason, reason, e.message);
    assert.is(e.path, PATH);
    return e;
  }
  assert.unreachable(`expected ${code}`);
}

// ---- test vectors

const doc = readFileSync(new URL('../../docs/FORMAT.md', import.meta.url), 'utf8');
const vectors = Object.fromEntries([...doc.matchAll(/<!-- vector: (\S+) -->\s*```text\n([\s\S]*?)```/g)].map((m) => [m[1], fromHex(m[2])]));

test('FORMAT.md §R7 vectors: the core builds exactly these bytes, and their CRCs check', () => {
  assert.equal(Object.keys(vectors).sort(), ['ring-header', 'slot-evidence', 'slot-plain', 'state-clean']);
  const core = new Core();
  const x = core.x;
  const at = core.staging;
  const built = (len) => core.u8.slice(at, at + len);
  core.u8.fill(0xee, at, at + 64);
  core.u8.set(enc('hi'), at + 40);
  assert.is(x.encodeSlot(at, 64, 2, 0, 0x01020304, 1, 0, 0, 0, 0), 64);
  assert.is(hex(built(64)), hex(vectors['slot-plain']));
  core.u8.fill(0xee, at, at + 64);
  core.u8.set(enc('ring'), at + 40);
  core.u8.set([0xaa, 0xbb], at + 44);
  assert.is(x.encodeSlot(at, 64, 4, 2, 0x01020304, 5, 0, 3, 4, -5), 64);
  assert.is(hex(built(64)), hex(vectors['slot-evidence']));
  x.encodeRingState(at, 0x01020304, 1, 3, 0, 7, 0);
  assert.is(hex(built(32)), hex(vectors['state-clean']));
  x.encodeFileHeader(at, 3, 0x01020304, 4, 64, 0);
  assert.is(hex(built(64)), hex(vectors['ring-header']));
  for (const name of ['slot-plain', 'slot-evidence', 'state-clean']) {
    const v = vectors[name];
    assert.is(getU32(v, 0), crc(v.subarray(4)), `${name}: CRC over every byte after the CRC field`);
  }
  const h = vectors['ring-header'];
  assert.is(getU32(h, 60), crc(h.subarray(0, 60)));
  // The core accepts the vectors it did not build.
  core.u8.set(vectors['slot-evidence'], at);
  assert.is(x.ringCheckSlot(at, 64, 0, 4, 0x01020304), 0);
  assert.is(x.ringCheckSlot(at, 64, 1, 4, 0x01020304), -8, 'seq 5 does not belong in slot 1');
  assert.is(x.ringCheckSlot(at, 64, 0, 4, 0x01020305), -7, 'another salt');
});

test('FORMAT.md §R6 worked example: 7 lost, 8 kept: window is 5..6, 3 and 8 discarded', () => {
  const fs = memfs();
  let log = RingLog.open(PATH, { capacity: 4, slotSize: 64, fs });
  for (let i = 1; i <= 6; i++) log.append(enc(`r${i}`));
  log.sync();
  log.append(enc('r7'));
  log.append(enc('r8'));
  log.replayAll(); // hand the buffered slots to the "OS"
  fs.crash({ mode: 'keep' });
  const bytes = fs.readFile(PATH);
  const salt = getU32(bytes, 8);
  // Put record 3 back in slot 2: the page cache never wrote record 7.
  const core = new Core();
  core.u8.set(enc('r3'), core.staging + 40);
  core.x.encodeSlot(core.staging, 64, 2, 0, salt, 3, 0, 0, 0, 0);
  bytes.set(core.u8.subarray(core.staging, core.staging + 64), DATA + 2 * 64);
  fs.writeFile(PATH, bytes);
  log = RingLog.open(PATH, { fs });
  assert.equal(log.replayRecords().map((r) => r.sequence), [5, 6]);
  assert.equal(log.openReport.discarded.map((r) => [r.sequence, dec(r.payload)]), [[3, 'r3'], [8, 'r8']]);
  assert.ok(log.openReport.tookOlderRun);
  assert.is(log.append(enc('new7')), 7);
  log.close();
});

// ---- header surgery

// One mapping for every log (host/codec/file-header.ts): a damaged file
// header is BAD_HEADER, never CORRUPTED (headers are written once, before
// the file gets its name, so no crash can tear one); a future format
// version is UNSUPPORTED_VERSION; HEADER_MISMATCH is only a geometry other
// than the one requested.
test('HeaderCrcDamageIsBadHeader', () => {
  const { fs, bytes } = ring();
  bytes[20] ^= 1;
  fs.writeFile(PATH, bytes);
  const e = openError(fs, 'BAD_HEADER', 'header-crc');
  assert.is(e.offset, 0);
});

test('WrongMagicIsBadHeader', () => {
  const { fs, bytes } = ring();
  bytes[0] = 0x58;
  fs.writeFile(PATH, bytes);
  openError(fs, 'BAD_HEADER', 'bad-magic');
});

test('FutureFormatVersionIsUnsupportedVersion', () => {
  const { fs, bytes } = ring();
  bytes[4] = 2;
  putU32(bytes, 60, crc(bytes.subarray(0, 60)));
  const e = (fs.writeFile(PATH, bytes), openError(fs, 'UNSUPPORTED_VERSION', 'unsupported-version'));
  assert.match(e.message, /version 2/);
});

test('ImpossibleGeometryWithValidCrcIsBadHeader', () => {
  const { fs, bytes } = ring();
  bytes.fill(0, 16, 24); // capacity 0
  putU32(bytes, 60, crc(bytes.subarray(0, 60)));
  fs.writeFile(PATH, bytes);
  openError(fs, 'BAD_HEADER');
});

test('TruncatedRingFileIsCorrupted', () => {
  const { fs, bytes } = ring();
  fs.writeFile(PATH, bytes.subarray(0, bytes.length - 1));
  const e = openError(fs, 'CORRUPTED', 'incomplete-payload');
  assert.is(e.offset, bytes.length - 1);
});

test('ExtendedRingFileIsCorrupted', () => {
  const { fs, bytes } = ring();
  const longer = new Uint8Array(bytes.length + 64);
  longer.set(bytes);
  fs.writeFile(PATH, longer);
  openError(fs, 'CORRUPTED', 'length-over-bound');
});

// ---- state record surgery

test('DamagedStateRecordOnlyCostsTheStrictCheck', () => {
  const { fs, bytes } = ring();
  assert.equal(bytes.subarray(STATE_COPY, STATE_COPY + 32), bytes.subarray(STATE, STATE + 32), 'two identical copies');
  bytes[STATE + 20] ^= 0xff;
  fs.writeFile(PATH, bytes);
  let log = RingLog.open(PATH, { fs });
  assert.is(log.openReport.clean, true, 'the second copy stands in for a damaged first one');
  log.close();
  const b = fs.readFile(PATH);
  b[STATE + 20] ^= 0xff;
  b[STATE_COPY + 20] ^= 0xff;
  fs.writeFile(PATH, b);
  log = RingLog.open(PATH, { fs });
  assert.is(log.openReport.clean, false);
  assert.equal(log.replayAll().map(dec), ['r1', 'r2', 'r3']);
  log.close();
});

test('StateCopiesThatDisagree: the higher next wins, and a tie goes to the copy that is not clean', () => {
  let { fs, bytes } = ring(); // both copies: clean, records 1..3 (next 4)
  bytes[STATE + 12] = 0; // copy 1 not clean, same window: as if open had rewritten only it
  reseal(bytes, STATE, 32);
  fs.writeFile(PATH, bytes);
  let log = RingLog.open(PATH, { fs });
  assert.is(log.openReport.clean, false, 'a tie goes to "not clean"');
  assert.equal(log.replayAll().map(dec), ['r1', 'r2', 'r3']);
  log.close();
  ({ fs, bytes } = ring());
  bytes[STATE_COPY + 12] = 0;
  bytes[STATE_COPY + 24] = 2; // copy 2: an older state (next 2)
  reseal(bytes, STATE_COPY, 32);
  fs.writeFile(PATH, bytes);
  log = RingLog.open(PATH, { fs });
  assert.is(log.openReport.clean, true, 'the copy with the higher next is the newer');
  log.close();
});

test('ImpossibleStateRecordWithValidCrcIsCorrupted', () => {
  const { fs, bytes } = ring();
  bytes[STATE + 16] = 9; // first 9 > next 4
  reseal(bytes, STATE, 32);
  fs.writeFile(PATH, bytes);
  openError(fs, 'CORRUPTED', 'sequence-order');
});

// ---- slot surgery on a cleanly closed ring: any difference is corruption

test('BitFlipInSyncedSlotOfCleanRingIsCorrupted', () => {
  const { fs, bytes, slot } = ring();
  bytes[slot(1) + 41] ^= 0x10;
  fs.writeFile(PATH, bytes);
  const e = openError(fs, 'CORRUPTED', 'crc-mismatch');
  assert.is(e.offset, slot(1));
});

test('BitFlipInSlotPaddingOfCleanRingIsCorrupted', () => {
  const { fs, bytes, slot } = ring();
  bytes[slot(0) + 63] = 1;
  fs.writeFile(PATH, bytes);
  openError(fs, 'CORRUPTED', 'crc-mismatch');
});

test('ZeroedSlotInsideWindowOfCleanRingIsCorrupted', () => {
  const { fs, bytes, slot } = ring();
  bytes.fill(0, slot(2), slot(3));
  fs.writeFile(PATH, bytes);
  const e = openError(fs, 'CORRUPTED', 'bad-magic');
  assert.match(e.message, /record 3\) is empty/);
});

test('SlotFromRecycledFileFailsValidation', () => {
  const a = ring();
  const b = ring(); // same geometry and records, another salt
  assert.not.equal(getU32(a.bytes, 8), getU32(b.bytes, 8));
  a.bytes.set(b.bytes.subarray(b.slot(1), b.slot(2)), a.slot(1));
  a.fs.writeFile(PATH, a.bytes);
  openError(a.fs, 'CORRUPTED', 'salt-mismatch');
  // After a crash (no clean record) the foreign slot is junk: it never joins the window.
  a.fs.writeFile(PATH, dirty(a.bytes));
  const log = RingLog.open(PATH, { fs: a.fs });
  assert.equal(log.replayRecords().map((r) => r.sequence), [3]);
  assert.is(log.openReport.junkSlots, 1);
  log.close();
});

test('ValidRecordBeyondTheCleanWindowIsCorrupted', () => {
  const { fs, bytes, slot } = ring({ capacity: 4, n: 2 });
  const core = new Core();
  core.x.encodeSlot(core.staging, 64, 0, 0, getU32(bytes, 8), 3, 0, 2, 0, 0);
  bytes.set(core.u8.subarray(core.staging, core.staging + 64), slot(2));
  fs.writeFile(PATH, bytes);
  const e = openError(fs, 'CORRUPTED', 'sequence-order');
  assert.is(e.offset, slot(2));
});

// ---- intact but impossible slots: corruption even after a crash

test('SlotCopiedToAnotherIndexIsCorruptedEvenAfterCrash', () => {
  const { fs, bytes, slot } = ring();
  bytes.copyWithin(slot(1), slot(0), slot(1));
  fs.writeFile(PATH, dirty(bytes));
  const e = openError(fs, 'CORRUPTED', 'sequence-order');
  assert.is(e.offset, slot(1));
});

test('MarkNotBelowSequenceIsCorrupted', () => {
  const { fs, bytes, slot, slotSize } = ring();
  bytes[slot(1) + 24] = 2; // record 2 claims 2 was durable before it was written
  reseal(bytes, slot(1), slotSize);
  fs.writeFile(PATH, dirty(bytes));
  openError(fs, 'CORRUPTED', 'bad-watermark');
});

test('LengthBeyondSlotWithValidCrcIsCorrupted', () => {
  const { fs, bytes, slot, slotSize } = ring();
  putU32(bytes, slot(0) + 4, 25);
  reseal(bytes, slot(0), slotSize);
  fs.writeFile(PATH, dirty(bytes));
  openError(fs, 'CORRUPTED', 'length-over-bound');
});

test('UnknownFailureClassWithValidCrcIsCorrupted', () => {
  const { fs, bytes, slot, slotSize } = ring();
  bytes[slot(0) + 10] = 9;
  reseal(bytes, slot(0), slotSize);
  fs.writeFile(PATH, dirty(bytes));
  openError(fs, 'CORRUPTED', 'bad-type');
});

// ---- after a crash: torn slots are cut, never returned, never silently dropped

test('TornNewestSlotAfterCrashIsCut', () => {
  const { fs, bytes, slot } = ring({ capacity: 8, n: 5 });
  bytes.fill(0x5a, slot(4) + 32, slot(4) + 64); // half of record 5 rewritten
  fs.writeFile(PATH, dirty(bytes));
  const log = RingLog.open(PATH, { fs });
  assert.equal(log.replayAll().map(dec), ['r1', 'r2', 'r3', 'r4']);
  assert.is(log.nextSequence, 5);
  assert.is(log.openReport.junkSlots, 1);
  log.close();
});

test('TornOldestSlotAfterCrashShrinksTheWindowFromTheFront', () => {
  const { fs, bytes, slot } = ring({ capacity: 4, n: 6 }); // slots hold 5 6 3 4
  bytes[slot(2) + 50] ^= 1; // record 3, as if an unsynced 7 had been torn into it
  fs.writeFile(PATH, dirty(bytes));
  const log = RingLog.open(PATH, { fs });
  assert.equal(log.replayAll().map(dec), ['r4', 'r5', 'r6']);
  assert.is(log.openReport.discarded.length, 0);
  log.close();
});

test('HoleInSyncedDataAfterCrashKeepsTheNewestRunAndReportsTheRest', () => {
  const { fs, bytes, slot } = ring({ capacity: 8, n: 6 });
  bytes.fill(0, slot(2), slot(3)); // record 3 gone
  fs.writeFile(PATH, dirty(bytes));
  const log = RingLog.open(PATH, { fs });
  assert.equal(log.replayAll().map(dec), ['r4', 'r5', 'r6']);
  assert.equal(log.openReport.discarded.map((r) => dec(r.payload)), ['r1', 'r2'], 'nothing leaves silently');
  assert.is(log.openReport.tookOlderRun, false);
  log.close();
  // The set-aside records were zeroed durably: they are gone for good.
  fs.crash({ mode: 'random', seed: 7 });
  const again = RingLog.open(PATH, { fs });
  assert.equal(again.replayAll().map(dec), ['r4', 'r5', 'r6']);
  assert.is(again.openReport.discarded.length, 0);
  again.close();
});

// ---- scanner plumbing: runs joined across read chunks, the wrap, and a full descriptor region

test('RunsSpanningReadChunksAndTheWrapAreJoined', () => {
  const fs = memfs();
  let log = RingLog.open(PATH, { capacity: 10000, slotSize: 1024, fs }); // 4096 slots per read chunk
  for (let i = 1; i <= 12345; i++) log.append(enc(`c${i}`));
  log.close();
  log = RingLog.open(PATH, { fs });
  assert.ok(log.openReport.clean, 'one run of 10000 records, read in 3 chunks and joined across the wrap');
  assert.is(log.firstSequence, 2346);
  log.close();
  fs.writeFile(PATH, dirty(fs.readFile(PATH)));
  log = RingLog.open(PATH, { fs });
  assert.is(log.length, 10000, 'the same after a crash');
  assert.equal(dec(log.replayAll().at(-1)), 'c12345');
  log.close();
});

test('ThousandsOfRunsOverflowTheDescriptorRegionAndAreAllAccountedFor', () => {
  const { fs, slot } = ring({ capacity: 20000, slotSize: 64, n: 0 });
  let log = RingLog.open(PATH, { fs });
  for (let i = 1; i <= 20000; i++) log.append(enc(`${i}`));
  log.close();
  const b = fs.readFile(PATH);
  for (let i = 0; i < 10000; i += 2) b[slot(i) + 50] ^= 1; // every other slot of the first half torn
  fs.writeFile(PATH, dirty(b));
  log = RingLog.open(PATH, { fs });
  assert.is(log.firstSequence, 10000);
  assert.is(log.nextSequence, 20001);
  assert.is(log.openReport.junkSlots, 5000);
  assert.is(log.openReport.discarded.length, 4999, 'every record cut off behind the damage is reported');
  assert.equal(log.openReport.discarded.slice(0, 2).map((r) => dec(r.payload)), ['2', '4']);
  log.append(enc('next')); // erases the 5000 junk slots and the 4999 set aside
  log.close();
  log = RingLog.open(PATH, { fs });
  assert.ok(log.openReport.clean);
  assert.is(log.openReport.junkSlots, 0);
  assert.is(log.length, 10002);
  log.close();
});

test.run();
