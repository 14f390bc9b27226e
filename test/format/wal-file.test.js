// format: the committed golden file (test/vectors/wal-file-v1.hex, the test
// vector in docs/FORMAT.md) and byte surgery on it, one named case each.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MemoryFileSystem, WalError, WalFsReader, WalFsWriter } from 'walcore';
import { Core } from 'walcore/internals';
import { dec, enc } from '../support/helpers.js';
import { GOLDEN_OFFSETS, GOLDEN_SALT, buildGolden } from '../vectors/golden.js';
import { readVector } from '../vectors/vectors.js';

// test/vectors/vectors.test.js checks that docs/FORMAT.md §8 quotes this file.
const [{ bytes: golden }] = readVector('wal-file-v1.hex');
const [E1, E2, E3, MARK, END] = GOLDEN_OFFSETS;

/** Open `bytes` as a WAL with `repair`; returns { events } or { error }. */
function openBytes(bytes, repair = 'strict') {
  const mem = new MemoryFileSystem();
  mem.writeFile('/g.wal', bytes);
  try {
    const w = WalFsWriter.open('/g.wal', { fs: mem, repair });
    const seq = w.currentSequence;
    w.close();
    const r = WalFsReader.open('/g.wal', { fs: mem, strict: true });
    const events = [...r].map((e) => [e.sequence, dec(e.payload)]);
    r.close();
    return { events, seq, bytes: mem.readFile('/g.wal') };
  } catch (e) {
    if (!(e instanceof WalError)) throw e;
    return { error: e };
  }
}
const mutate = (fn) => { const b = golden.slice(); fn(b, new DataView(b.buffer)); return b; };
const expectError = (result, code, reason, offset) => {
  assert.ok(result.error, `expected ${code}, but it opened`);
  assert.is(result.error.code, code, result.error.message);
  if (reason !== undefined) assert.is(result.error.reason, reason, result.error.message);
  if (offset !== undefined) assert.is(result.error.offset, offset, result.error.message);
};
const ALL = [[1, 'hello'], [2, 'world!'], [3, '!']];

test('GoldenFileIsWhatTheCoreWrites', () => {
  assert.equal(buildGolden(new Core()), golden);
  assert.is(golden.length, END);
});

test('GoldenFileOpensAndReplays', () => {
  const r = openBytes(golden);
  assert.equal(r.events, ALL);
  assert.is(r.seq, 3);
});

test('WriterLaysOutFramesExactlyAsDocumented', () => {
  const mem = new MemoryFileSystem();
  const w = WalFsWriter.open('/w.wal', { fs: mem });
  w.append({ sequence: 1, payload: enc('hello') });
  w.append({ sequence: 2, payload: enc('world!') });
  w.flush();
  w.append({ sequence: 3, payload: enc('!') });
  w.flush();
  const bytes = mem.readFile('/w.wal');
  w.close();
  // Same bytes as the golden file once its salt is this file's salt.
  const salt = new DataView(bytes.buffer).getUint32(8, true);
  const core = new Core();
  const expected = buildGolden(core).slice();
  const rebuilt = (() => {
    const c = core.c;
    let at = core.staging;
    at += core.x.encodeFileHeader(at, c.KIND_WAL_FILE, salt, 0, 0, 0);
    for (const [seq, text, mark] of [[1, 'hello', 64], [2, 'world!', 64], [3, '!', 139], [null, '', 172]]) {
      const p = enc(text);
      core.u8.set(p, at + 32);
      at += core.x.encodeFrame(at, p.length, seq === null ? c.TYPE_SYNC_MARK : c.TYPE_EVENT, salt, seq ?? 0, 0, mark);
    }
    return core.u8.slice(core.staging, at);
  })();
  assert.is(expected.length, rebuilt.length);
  assert.equal(bytes, rebuilt);
});

test('FlippedPayloadBitInFirstEventIsCorruptionInBothModes', () => {
  const b = mutate((x) => { x[E1 + 32] ^= 0x01; });
  expectError(openBytes(b), 'CORRUPTED', 'crc-mismatch', E1);
  expectError(openBytes(b, 'truncate-partial'), 'CORRUPTED', 'crc-mismatch', E1);
});

test('FlippedBitInLastEventIsCorruptionBecauseTheSyncMarkerWitnessesIt', () => {
  const b = mutate((x) => { x[E3 + 32] ^= 0x80; });
  expectError(openBytes(b, 'truncate-partial'), 'CORRUPTED', 'crc-mismatch', E3);
});

test('FlippedBitInLastEventWithoutMarkerIsATornTail', () => {
  const b = mutate((x) => { x[E3 + 32] ^= 0x80; }).slice(0, MARK);
  expectError(openBytes(b), 'TORN_TAIL', 'crc-mismatch', E3);
  const r = openBytes(b, 'truncate-partial');
  assert.equal(r.events, ALL.slice(0, 2));
});

test('DamagedSyncMarkerIsATornTailAndCutWithoutLosingEvents', () => {
  const b = mutate((x) => { x[MARK + 24] ^= 1; });
  expectError(openBytes(b), 'TORN_TAIL', 'crc-mismatch', MARK);
  const r = openBytes(b, 'truncate-partial');
  assert.equal(r.events, ALL);
});

test('TruncationAtEveryOffsetIsATornTailNeverCorruption', () => {
  for (let cut = 64; cut < END; cut++) {
    const b = golden.slice(0, cut);
    const boundary = GOLDEN_OFFSETS.includes(cut);
    const strict = openBytes(b);
    if (boundary) assert.not.ok(strict.error, `cut ${cut}: clean cut must open strictly`);
    else {
      expectError(strict, 'TORN_TAIL', undefined);
      assert.ok(['incomplete-header', 'incomplete-payload'].includes(strict.error.reason), `cut ${cut}: ${strict.error.reason}`);
    }
    const repaired = openBytes(b, 'truncate-partial');
    assert.not.ok(repaired.error, `cut ${cut}: ${repaired.error?.message}`);
    const whole = GOLDEN_OFFSETS.filter((o) => o + 0 <= cut).length - 1;
    assert.equal(repaired.events, ALL.slice(0, Math.min(whole, 3)), `cut ${cut}`);
  }
});

test('TruncationInsideTheHeaderIsABadHeader', () => {
  for (const cut of [1, 10, 63]) expectError(openBytes(golden.slice(0, cut)), 'BAD_HEADER', 'incomplete-header');
});

test('ZeroedMiddleEventIsCorruption', () => {
  const b = mutate((x) => { x.fill(0, E2, E3); });
  expectError(openBytes(b, 'truncate-partial'), 'CORRUPTED', 'bad-magic', E2);
});

test('InflatedLengthIsCorruptionWhenALaterFrameWitnessesIt', () => {
  expectError(openBytes(mutate((x, v) => { v.setUint32(E2 + 4, 1000, true); }), 'truncate-partial'), 'CORRUPTED', 'incomplete-payload', E2);
  expectError(openBytes(mutate((x, v) => { v.setUint32(E2 + 4, 0xffffffff, true); }), 'truncate-partial'), 'CORRUPTED', 'length-over-bound', E2);
  expectError(openBytes(mutate((x, v) => { v.setUint32(E2 + 4, 7, true); }), 'truncate-partial'), 'CORRUPTED', 'crc-mismatch', E2);
});

test('InflatedLengthInTheLastFrameIsATornTail', () => {
  const b = mutate((x, v) => { v.setUint32(MARK + 4, 4096, true); });
  expectError(openBytes(b), 'TORN_TAIL', 'incomplete-payload', MARK);
  assert.equal(openBytes(b, 'truncate-partial').events, ALL);
});

test('GarbageAfterTheLastFrameIsATornTail', () => {
  const b = new Uint8Array(END + 100).fill(0xab);
  b.set(golden);
  expectError(openBytes(b), 'TORN_TAIL', 'bad-magic', END);
  const r = openBytes(b, 'truncate-partial');
  assert.equal(r.events, ALL);
  assert.is(r.bytes.length, END);
});

test('FrameFromAnotherFileAtTheTailIsRejectedBySalt', () => {
  const other = mutate((x, v) => { v.setUint32(8, GOLDEN_SALT + 1, true); });
  const core = new Core();
  const stale = golden.slice(E1, E2);
  new DataView(stale.buffer).setUint32(12, GOLDEN_SALT + 1, true);
  const b = new Uint8Array(END + stale.length);
  b.set(golden);
  b.set(stale, END);
  expectError(openBytes(b), 'TORN_TAIL', 'salt-mismatch', END);
  assert.equal(openBytes(b, 'truncate-partial').events, ALL);
  // The whole file under another salt: every frame fails the salt check; the header is valid.
  expectError(openBytes(other), 'BAD_HEADER', 'header-crc');
  assert.ok(core);
});

test('FrameVersionFromTheFutureIsNamed', () => {
  expectError(openBytes(mutate((x) => { x[E1 + 9] = 2; }), 'truncate-partial'), 'CORRUPTED', 'unsupported-version', E1);
  expectError(openBytes(mutate((x) => { x[MARK + 9] = 2; })), 'TORN_TAIL', 'unsupported-version', MARK);
});

test('FileHeaderDefectsAreBadHeaderOrUnsupportedVersion', () => {
  expectError(openBytes(mutate((x) => { x[0] = 0x57; })), 'BAD_HEADER', 'bad-magic', 0);
  expectError(openBytes(mutate((x) => { x[4] = 2; })), 'UNSUPPORTED_VERSION', 'unsupported-version', 0);
  expectError(openBytes(mutate((x) => { x[30] ^= 1; })), 'BAD_HEADER', 'header-crc', 0);
});

test('ValidFrameWithSequenceGoingBackIsCorruption', () => {
  // Re-encode event 3 with sequence 1 and a correct CRC: intact bytes, impossible order.
  const core = new Core();
  const c = core.c;
  const b = golden.slice();
  core.u8.set(enc('!'), core.staging + 32);
  core.x.encodeFrame(core.staging, 1, c.TYPE_EVENT, GOLDEN_SALT, 1, 0, 139);
  b.set(core.u8.subarray(core.staging, core.staging + 33), E3);
  expectError(openBytes(b, 'truncate-partial'), 'CORRUPTED', 'sequence-order', E3);
});

test('WatermarkBeyondItsOwnOffsetIsCorruption', () => {
  const core = new Core();
  const c = core.c;
  const b = golden.slice();
  core.u8.set(enc('!'), core.staging + 32);
  core.x.encodeFrame(core.staging, 1, c.TYPE_EVENT, GOLDEN_SALT, 3, 0, 5000);
  b.set(core.u8.subarray(core.staging, core.staging + 33), E3);
  expectError(openBytes(b, 'truncate-partial'), 'CORRUPTED', 'bad-watermark', E3);
});

test('TruncatePartialCutsAndSyncsSoTheNextOpenIsClean', () => {
  const mem = new MemoryFileSystem();
  const b = new Uint8Array(END + 40).fill(0xcd);
  b.set(golden);
  mem.writeFile('/t.wal', b);
  const w = WalFsWriter.open('/t.wal', { fs: mem, repair: 'truncate-partial' });
  assert.is(w.openReport.truncatedBytes, 40);
  assert.is(w.openReport.truncatedReason, 'bad-magic');
  w.append({ sequence: 4, payload: enc('four') });
  w.flush();
  mem.crash({ seed: 3, mode: 'drop' });
  const r = WalFsReader.open('/t.wal', { fs: mem, strict: true });
  assert.equal([...r].map((e) => e.sequence), [1, 2, 3, 4]);
});

test.run();
