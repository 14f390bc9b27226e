// format: a hostile tail after a damaged frame. Classifying the damage (torn
// tail or corruption, docs/FORMAT.md §5) examines every later byte position
// for a valid frame; crafted tails full of plausible frame headers (this
// file's magic, version and salt, lengths that fit, watermarks in (X, own
// offset], wrong CRCs) must not make that quadratic, and the verdict must not
// change: a genuine witness buried behind them is still CORRUPTED, a torn
// tail with genuine later frames whose marks are <= X is still cut.
//
// Measured open times ('truncate-partial', 2 shared cores): before this fix
// (Node 20, headers every 32 / every 28 bytes claiming the rest of the file),
// and after it (the slowest of the shapes below, Node / Deno / Bun):
//
//   tail      before: every 32 / every 28   after: node / deno / bun
//   256 KiB   0.54 s / 0.69 s               0.07 s / 0.05 s / 0.06 s
//   1 MiB     9.7 s  / 8.8 s                0.09 s / 0.05 s / 0.05 s
//   4 MiB     194 s  / -                    0.29 s / 0.20 s / 0.17 s
//
// Headers each running just past a 4 MiB scan chunk cost the old scan a
// chunk re-read and a 4 MiB CRC per header (256 KiB of them: > 90 s).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MemoryFileSystem, WalError, WalFsReader, WalFsWriter } from 'walcore';
import { Core } from 'walcore/internals';
import { dec, enc, rng, seedFor } from '../support/helpers.js';

const HDR = 32;
const CHUNK = 4 << 20; // FrameScanner's default chunk
const KiB = 1024;
const MiB = 1024 * KiB;
/** Seconds an open may take: the linear classification needs a tenth of this or less (above). */
const BUDGET = { [256 * KiB]: 1, [MiB]: 1.5, [4 * MiB]: 3 };

/** A WAL the writer made: events 1..n flushed and closed (ends with a sync marker). */
function writtenFile(n = 3) {
  const mem = new MemoryFileSystem();
  const w = WalFsWriter.open('/a.wal', { fs: mem });
  for (let i = 1; i <= n; i++) w.append({ sequence: i, payload: enc(`event ${i}`) });
  w.close();
  return mem.readFile('/a.wal');
}

const saltOf = (bytes) => new DataView(bytes.buffer, bytes.byteOffset).getUint32(8, true);

/** A plausible frame header at q in `b`: right magic, version, type and salt, a wrong CRC. */
function plausible(b, q, salt, len, mark) {
  const v = new DataView(b.buffer, b.byteOffset);
  v.setUint32(q, 0, true); // CRC
  v.setUint32(q + 4, len, true);
  b[q + 8] = 0xf7;
  b[q + 9] = 1;
  b[q + 10] = 1;
  b[q + 11] = 0;
  v.setUint32(q + 12, salt, true);
  v.setUint32(q + 16, 1000, true);
  v.setUint32(q + 20, 0, true);
  v.setUint32(q + 24, mark, true);
  v.setUint32(q + 28, 0, true);
}

/**
 * `prefix` (ends at X), 32 bytes of damage at X, then `size` crafted bytes and
 * `suffix`. Headers every `step` bytes from X + 32; each claims the rest of
 * the file (`len(q, end)` overrides), mark X + 1 + (q - X) % 64 <= q.
 */
function hostile(prefix, size, step, suffix = new Uint8Array(0), len = (q, end) => end - q - HDR) {
  const X = prefix.length;
  const total = X + HDR + size + suffix.length;
  const b = new Uint8Array(total);
  b.set(prefix);
  b.set(suffix, X + HDR + size);
  const salt = saltOf(prefix);
  for (let q = X + HDR; q + HDR <= X + HDR + size; q += step) plausible(b, q, salt, len(q, total), X + 1 + ((q - X) % 64));
  return { bytes: b, X };
}

/** Open `bytes` for writing with `repair`: { ms, events, size } or { ms, error }. */
function open(bytes, repair = 'truncate-partial') {
  const mem = new MemoryFileSystem();
  mem.writeFile('/h.wal', bytes);
  const t0 = performance.now();
  try {
    const w = WalFsWriter.open('/h.wal', { fs: mem, repair });
    const ms = performance.now() - t0;
    const size = mem.readFile('/h.wal').length; // after recovery, before close() adds a marker
    w.close();
    const r = WalFsReader.open('/h.wal', { fs: mem, strict: true });
    const events = [...r].map((e) => [e.sequence, dec(e.payload)]);
    r.close();
    return { ms, events, size };
  } catch (e) {
    if (!(e instanceof WalError)) throw e;
    return { ms: performance.now() - t0, error: e };
  }
}

const EVENTS3 = [[1, 'event 1'], [2, 'event 2'], [3, 'event 3']];
const TIMINGS = [];

function expectCut(r, X, what) {
  assert.not.ok(r.error, `${what}: ${r.error?.message}`);
  assert.equal(r.events, EVENTS3, what);
  // Cut at X; a writer whose file now ends with an event adds a sync marker.
  assert.ok(r.size === X || r.size === X + HDR, `${what}: cut at X = ${X}, size ${r.size}`);
}

function expectCorrupted(r, X, what) {
  assert.ok(r.error, `${what}: expected CORRUPTED, but it opened`);
  assert.is(r.error.code, 'CORRUPTED', `${what}: ${r.error.message}`);
  assert.is(r.error.offset, X, what);
}

function timed(what, size, bytesAndX, check) {
  const { bytes, X } = bytesAndX;
  const r = open(bytes);
  TIMINGS.push(`${what}: ${(r.ms / 1000).toFixed(3)} s`);
  check(r, X, what);
  assert.ok(r.ms < BUDGET[size] * 1000, `${what}: open took ${r.ms.toFixed(0)} ms, budget ${BUDGET[size]} s`);
}

for (const size of [256 * KiB, MiB, 4 * MiB]) {
  const label = `${size / KiB} KiB`;
  test(`${label} of headers every 32 bytes claiming the rest of the file: cut, in linear time`, () => {
    timed(`${label} every 32`, size, hostile(writtenFile(), size, 32), expectCut);
  });
  test(`${label} of headers every 28 bytes (overlapping): cut, in linear time`, () => {
    timed(`${label} every 28`, size, hostile(writtenFile(), size, 28), expectCut);
  });
  test(`${label} of headers every 32 bytes, each running just past a scan chunk: cut, in linear time`, () => {
    // Every header fits in the file but not in a chunk read from its own
    // offset: the old scan re-read a whole chunk per header.
    const pad = new Uint8Array(CHUNK + 64);
    timed(`${label} past the chunk`, size, hostile(writtenFile(), size, 32, pad, () => CHUNK + 64 - HDR), expectCut);
  });
}

test('every 2 bytes a plausible header (a salt chosen for it), lengths past the end: cut, in linear time', () => {
  // The densest tail there is: the salt 0x01F701F7 lets "f7 01" repeated be
  // a plausible header at every other byte (length 0x01F701F7 runs past the end).
  const core = new Core();
  const salt = 0x01f701f7;
  core.ensure(4096);
  let at = core.staging;
  at += core.x.encodeFileHeader(at, core.c.KIND_WAL_FILE, salt, 0, 0, 0);
  let mark = at - core.staging;
  for (let i = 1; i <= 3; i++) {
    const p = enc(`event ${i}`);
    core.u8.set(p, at + HDR);
    at += core.x.encodeFrame(at, p.length, core.c.TYPE_EVENT, salt, i, 0, mark);
  }
  const prefix = core.u8.slice(core.staging, at);
  const size = 4 * MiB;
  const b = new Uint8Array(prefix.length + HDR + size);
  b.set(prefix);
  for (let i = prefix.length + HDR; i < b.length; i += 2) { b[i] = 0xf7; b[i + 1] = 1; }
  timed('4096 KiB every 2 (chosen salt)', size, { bytes: b, X: prefix.length }, expectCut);
});

/**
 * A genuine file: events 1-3 flushed, events 4-6 flushed, closed. Returns the
 * bytes and the offsets of event 1, event 4 and the end of the durable data.
 */
function twoBatches() {
  const mem = new MemoryFileSystem();
  const w = WalFsWriter.open('/a.wal', { fs: mem });
  for (let i = 1; i <= 3; i++) w.append({ sequence: i, payload: enc(`event ${i}`) });
  w.flush();
  const e4 = mem.readFile('/a.wal').length - HDR; // the next batch overwrites the marker
  for (let i = 4; i <= 6; i++) w.append({ sequence: i, payload: enc(`event ${i}`) });
  w.close();
  return { bytes: mem.readFile('/a.wal'), e1: 64, e4 };
}

test('a genuine witness buried behind 4 MiB of crafted headers is still CORRUPTED', () => {
  const { bytes, e1, e4 } = twoBatches();
  // Damage event 1 (durable: event 4's mark says so), then put 4 MiB of
  // crafted headers between the first batch and the genuine second batch.
  const prefix = bytes.slice(0, e4);
  prefix[e1 + HDR] ^= 0xff;
  const second = bytes.slice(e4);
  const size = 4 * MiB;
  const r = open(hostile(prefix, size, 32, second).bytes);
  expectCorrupted(r, e1, 'witness behind crafted headers');
  assert.is(r.error.reason, 'crc-mismatch');
  assert.ok(r.ms < BUDGET[size] * 1000, `took ${r.ms.toFixed(0)} ms`);
  // Without the genuine second batch the same damage is a torn tail (events
  // 2-3 carry mark 64, not beyond it): the witness is what decides.
  const alone = open(hostile(prefix, size, 32).bytes);
  assert.not.ok(alone.error, alone.error?.message);
  assert.equal(alone.events, []);
});

test('a torn tail whose later genuine frames carry marks <= X is still cut, behind crafted headers', () => {
  const core = new Core();
  const file = writtenFile();
  const salt = saltOf(file);
  const X = file.length - HDR; // where the writer puts the next batch (over the marker)
  // Events 4-6 framed as the writer frames them after that flush (mark X), then event 4 torn.
  const frames = [];
  core.ensure(4096);
  for (let i = 4; i <= 6; i++) {
    const p = enc(`event ${i}`);
    core.u8.set(p, core.staging + HDR);
    const n = core.x.encodeFrame(core.staging, p.length, core.c.TYPE_EVENT, salt, i, 0, X);
    frames.push(core.u8.slice(core.staging, core.staging + n));
  }
  const later = new Uint8Array(frames[1].length + frames[2].length);
  later.set(frames[1]);
  later.set(frames[2], frames[1].length);
  const { bytes } = hostile(file.subarray(0, X), 256 * KiB, 32, later);
  bytes.set(frames[0].subarray(HDR / 2), X); // event 4's second half only: torn at X
  const r = open(bytes);
  expectCut(r, X, 'torn tail with genuine later frames');
});

test('one valid witness at a random offset and length among random valid frames is found; one CRC bit off, it is not', () => {
  // The range CRC (prefix CRCs + shift) must agree with the frame CRC at any
  // alignment and length.
  const r = rng(seedFor('hostile-tail witness'));
  const core = new Core();
  for (let round = 0; round < 20; round++) {
    const file = writtenFile();
    const salt = saltOf(file);
    const X = file.length;
    const b = new Uint8Array(X + HDR + 256 * KiB);
    b.set(file);
    let q = X + HDR + r.int(0, 100);
    const witnessAt = r.int(3, 12);
    let witness = -1;
    core.ensure(b.length);
    for (let i = 0; q + HDR + 4096 <= b.length && i < 16; i++) {
      const len = r.int(0, 4000);
      core.u8.set(r.bytes(len), core.staging + HDR);
      const mark = i === witnessAt ? r.int(X + 1, q) : r.int(64, X);
      const n = core.x.encodeFrame(core.staging, len, core.c.TYPE_EVENT, salt, 100 + i, 0, mark);
      b.set(core.u8.subarray(core.staging, core.staging + n), q);
      if (i === witnessAt) witness = q;
      q += n + r.int(0, 3000);
    }
    assert.ok(witness > 0);
    expectCorrupted(open(b), X, `round ${round}: witness at ${witness}`);
    b[witness + r.int(4, HDR - 1)] ^= 1 << r.int(0, 7);
    expectCut(open(b), X, `round ${round}: witness damaged`);
  }
});

test.after(() => console.log(`[timings] ${TIMINGS.join('; ')}`));

test.run();
