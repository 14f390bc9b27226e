// core: the WebAssembly exports themselves. CRC-32C against the RFC 3720
// vectors and the independent crc-32/crc32c oracle; frame encode and the
// scanner on frames of every boundary size; headers; the ABI's guards. The
// last tests run a few of these checks against the unoptimised debug build
// (build/walcore.debug.wasm) too, which nothing else loads.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { crc32c } from 'walcore';
import { Core, HOST_FORMAT_VERSION } from 'walcore/internals';
import { CRC32C, rng, seedFor } from '../support/helpers.js';

const core = new Core();
const c = core.c;
const oracle = (bytes) => CRC32C.buf(bytes) >>> 0;

test('crc32c matches the RFC 3720 vectors', () => {
  assert.is(crc32c(new Uint8Array(32)), 0x8a9136aa);
  assert.is(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
  const inc = Uint8Array.from({ length: 32 }, (_, i) => i);
  assert.is(crc32c(inc), 0x46dd794e);
  const dec = Uint8Array.from({ length: 32 }, (_, i) => 31 - i);
  assert.is(crc32c(dec), 0x113fdb5c);
  assert.is(crc32c(new TextEncoder().encode('123456789')), 0xe3069283);
  assert.is(crc32c(new Uint8Array(0)), 0);
});

test('crc32c matches the oracle on random inputs of every length 0..300 and large ones', () => {
  const r = rng(seedFor('crc oracle'));
  for (let n = 0; n <= 300; n++) {
    const b = r.bytes(n);
    assert.is(crc32c(b), oracle(b), `length ${n}`);
  }
  for (const n of [4095, 4096, 65537, (1 << 20) + 13, 3 << 20]) {
    const b = r.bytes(n);
    assert.is(crc32c(b), oracle(b), `length ${n}`);
  }
});

test('crc32c continues across calls and rejects bad arguments', () => {
  const r = rng(7);
  const a = r.bytes(1000);
  const b = r.bytes(777);
  const all = new Uint8Array(1777);
  all.set(a);
  all.set(b, 1000);
  assert.is(crc32c(b, crc32c(a)), crc32c(all));
  assert.throws(() => crc32c('abc'), (e) => e instanceof TypeError);
  assert.throws(() => crc32c(new Uint8Array(1), -1), (e) => e instanceof RangeError);
});

test('the core reports the format version this host speaks and its constants', () => {
  assert.is(c.FORMAT_VERSION, HOST_FORMAT_VERSION);
  assert.is(c.FRAME_HEADER_SIZE, 32);
  assert.is(c.FILE_HEADER_SIZE, 64);
  assert.is(c.MAX_FRAME_PAYLOAD, 64 << 20);
});

/** Frame `payloads` back to back in staging via encodeFrame; returns total length. */
function frameAll(payloads, salt, firstSeq = 1, mark = 0) {
  let total = 0;
  for (const p of payloads) total += c.FRAME_HEADER_SIZE + p.length;
  core.ensure(total);
  let at = core.staging;
  payloads.forEach((p, i) => {
    core.u8.set(p, at + c.FRAME_HEADER_SIZE);
    at += core.x.encodeFrame(at, p.length, c.TYPE_EVENT, salt, firstSeq + i, 0, mark);
  });
  return total;
}

test('encodeFrame puts the CRC over header and payload where FORMAT.md says', () => {
  const p = new Uint8Array([1, 2, 3, 4, 5]);
  const n = frameAll([p], 0xdeadbeef, 42, 64);
  assert.is(n, 37);
  const bytes = core.u8.slice(core.staging, core.staging + n);
  const dv = new DataView(bytes.buffer);
  assert.is(dv.getUint32(4, true), 5);
  assert.is(bytes[8], 0xf7);
  assert.is(bytes[9], 1);
  assert.is(bytes[10], c.TYPE_EVENT);
  assert.is(dv.getUint32(12, true), 0xdeadbeef);
  assert.is(Number(dv.getBigUint64(16, true)), 42);
  assert.is(Number(dv.getBigUint64(24, true)), 64);
  assert.is(dv.getUint32(0, true), oracle(bytes.subarray(4)));
});

test('scan accepts frames of every payload size 0..260 and reports count, end, last sequence', () => {
  const r = rng(seedFor('scan sizes'));
  const payloads = Array.from({ length: 261 }, (_, n) => r.bytes(n));
  const total = frameAll(payloads, 99, 1);
  const st = core.x.scanFrames(core.staging, total, 64, 99, c.MAX_FRAME_PAYLOAD, c.SCAN_SEQ_STRICT | c.SCAN_MARK, 0, 0, 0, 0xffffffff);
  assert.is(st, c.OK);
  assert.is(core.out('outCount'), 261);
  assert.is(core.out('outEnd'), total);
  assert.is(core.out('outSeqLo'), 261);
});

test('scan of a buffer cut at every offset reports the incomplete frame at the right place', () => {
  const payloads = [new Uint8Array(3), new Uint8Array(40), new Uint8Array(0), new Uint8Array(17)];
  const total = frameAll(payloads, 5, 1);
  const starts = [0];
  for (const p of payloads) starts.push(starts.at(-1) + 32 + p.length);
  for (let cut = 0; cut <= total; cut++) {
    const st = core.x.scanFrames(core.staging, cut, 64, 5, c.MAX_FRAME_PAYLOAD, c.SCAN_SEQ_STRICT, 0, 0, 0, 0xffffffff);
    const whole = starts.filter((s) => s <= cut).length - 1; // frames fully inside
    const end = starts[whole];
    assert.is(core.out('outCount'), whole, `cut ${cut}`);
    assert.is(core.out('outEnd'), end, `cut ${cut}`);
    if (cut === end) assert.is(st, c.OK, `cut ${cut}`);
    else assert.is(core.failure(st), cut - end < 32 ? 'incomplete-header' : 'incomplete-payload', `cut ${cut}`);
  }
});

test('scan names each kind of damage', () => {
  const cases = [
    ['bad-magic', (b) => { b[8] ^= 1; }],
    ['unsupported-version', (b) => { b[9] = 2; }],
    ['bad-type', (b) => { b[10] = 0; }],
    ['salt-mismatch', (b) => { b[12] ^= 0x80; }],
    ['length-over-bound', (b) => { new DataView(b.buffer, b.byteOffset).setUint32(4, (64 << 20) + 1, true); }],
    ['crc-mismatch', (b) => { b[40] ^= 0x10; }],
    ['crc-mismatch', (b) => { b[0] ^= 1; }],
    ['crc-mismatch', (b) => { b[20] ^= 1; }],
  ];
  for (const [reason, damage] of cases) {
    const total = frameAll([new Uint8Array(20).fill(7), new Uint8Array(8)], 77, 1);
    damage(core.u8.subarray(core.staging, core.staging + total));
    const st = core.x.scanFrames(core.staging, total, 64, 77, c.MAX_FRAME_PAYLOAD, 0, 0, 0, 0, 0xffffffff);
    assert.is(core.failure(st), reason);
    assert.is(core.out('outEnd'), 0);
    assert.is(core.out('outCount'), 0);
  }
});

test('scan enforces sequence order, LSN contiguity and watermark order', () => {
  let total = frameAll([new Uint8Array(1), new Uint8Array(1)], 1, 10);
  assert.is(core.failure(core.x.scanFrames(core.staging, total, 64, 1, c.MAX_FRAME_PAYLOAD, c.SCAN_SEQ_STRICT, 10, 0, 0, 99)), 'sequence-order');
  assert.is(core.x.scanFrames(core.staging, total, 64, 1, c.MAX_FRAME_PAYLOAD, c.SCAN_SEQ_NEXT, 9, 0, 0, 99), c.OK);
  assert.is(core.failure(core.x.scanFrames(core.staging, total, 64, 1, c.MAX_FRAME_PAYLOAD, c.SCAN_SEQ_NEXT, 8, 0, 0, 99)), 'sequence-order');
  // A watermark beyond the frame's own offset is impossible.
  total = frameAll([new Uint8Array(1)], 1, 1, 65);
  assert.is(core.failure(core.x.scanFrames(core.staging, total, 64, 1, c.MAX_FRAME_PAYLOAD, c.SCAN_MARK, 0, 0, 0, 99)), 'bad-watermark');
  assert.is(core.x.scanFrames(core.staging, total, 65, 1, c.MAX_FRAME_PAYLOAD, c.SCAN_MARK, 0, 0, 0, 99), c.OK);
  // Watermarks never go backwards.
  assert.is(core.failure(core.x.scanFrames(core.staging, total, 100, 1, c.MAX_FRAME_PAYLOAD, c.SCAN_MARK, 0, 0, 70, 99)), 'bad-watermark');
});

test('u64 sequences survive the ABI in halves', () => {
  core.ensure(64);
  core.x.encodeFrame(core.staging, 0, c.TYPE_EVENT, 3, 0xffffffff, 0xffffffff, 0);
  assert.is(core.x.scanFrames(core.staging, 32, 64, 3, 0, c.SCAN_SEQ_STRICT | c.SCAN_EMIT, 0xfffffffe, 0xffffffff, 0, 10), c.OK);
  assert.is(core.out('outSeqLo'), 0xffffffff);
  assert.is(core.out('outSeqHi'), 0xffffffff);
  assert.is(core.dv.getUint32(core.desc + c.D_SEQ_HI, true), 0xffffffff);
  // ...and the maximum cannot be followed.
  assert.is(core.failure(core.x.scanFrames(core.staging, 32, 64, 3, 0, c.SCAN_SEQ_STRICT, 0xffffffff, 0xffffffff, 0, 10)), 'sequence-order');
});

test('encodeBatch frames many records in one call, identical to one call each', () => {
  const r = rng(3);
  const payloads = Array.from({ length: 50 }, (_, i) => r.bytes(i * 3));
  const one = frameAll(payloads, 11, 1, 64);
  const single = core.u8.slice(core.staging, core.staging + one);
  core.u8.fill(0, core.staging, core.staging + one);
  let at = core.staging;
  payloads.forEach((p, i) => {
    const d = core.desc + i * c.DESC_SIZE;
    core.dv.setUint32(d + c.D_LEN, p.length, true);
    core.dv.setUint32(d + c.D_SEQ_LO, i + 1, true);
    core.dv.setUint32(d + c.D_SEQ_HI, 0, true);
    core.dv.setUint32(d + c.D_TYPE, c.TYPE_EVENT, true);
    core.u8.set(p, at + 32);
    at += 32 + p.length;
  });
  assert.is(Number(core.x.encodeBatch(core.staging, payloads.length, 11, 64)), one);
  assert.equal(core.u8.slice(core.staging, core.staging + one), single);
  assert.is(Number(core.x.encodeBatch(core.staging, c.DESC_CAPACITY + 1, 11, 64)), -21);
});

test('scan with descriptors stops at maxCount and resumes', () => {
  const payloads = Array.from({ length: 10 }, (_, i) => new Uint8Array(i + 1).fill(i));
  const total = frameAll(payloads, 8, 1);
  let pos = 0;
  let prev = 0;
  const seen = [];
  for (;;) {
    const st = core.x.scanFrames(core.staging + pos, total - pos, 64 + pos, 8, c.MAX_FRAME_PAYLOAD, c.SCAN_EMIT | c.SCAN_SEQ_STRICT, prev, 0, 0, 3);
    const n = core.out('outCount');
    for (let i = 0; i < n; i++) {
      const d = core.desc + i * c.DESC_SIZE;
      const off = pos + core.dv.getUint32(d + c.D_OFFSET, true);
      seen.push([core.dv.getUint32(d + c.D_SEQ_LO, true), core.dv.getUint32(d + c.D_LEN, true), core.u8[core.staging + off + 32]]);
    }
    pos += core.out('outEnd');
    prev = core.out('outSeqLo');
    if (st === c.OK) break;
    assert.is(st, c.MORE);
  }
  assert.equal(seen, payloads.map((p, i) => [i + 1, i + 1, i]));
});

test('findWitness finds valid frames after damage and their largest watermark', () => {
  const payloads = [new Uint8Array(10), new Uint8Array(10), new Uint8Array(10)];
  let total = 0;
  core.ensure(200);
  let at = core.staging;
  payloads.forEach((p, i) => {
    core.u8.set(p, at + 32);
    at += core.x.encodeFrame(at, p.length, c.TYPE_EVENT, 21, i + 1, 0, [0, 64, 106][i]);
    total = at - core.staging;
  });
  core.u8[core.staging + 5] ^= 0xff; // damage the first frame's length
  // NaN after/base: no filter, no early stop: the largest watermark of any valid frame.
  const w = core.x.findWitness(core.staging + 1, total - 1, 21, c.MAX_FRAME_PAYLOAD, NaN, NaN);
  assert.is(w, 106);
  assert.is(core.out('outCount'), 2);
  assert.is(core.x.findWitness(core.staging + 1, 40, 21, c.MAX_FRAME_PAYLOAD, NaN, NaN), -1);
  // Damage at offset 64: only a frame whose mark is above 64 (and not past its own offset) decides.
  assert.is(core.x.findWitness(core.staging + 1, total - 1, 21, c.MAX_FRAME_PAYLOAD, 64, 1 << 20), 106);
  assert.is(core.x.findWitness(core.staging + 1, total - 1, 21, c.MAX_FRAME_PAYLOAD, 106, 1 << 20), -1);
  // A mark past the frame's own offset cannot be a witness (base 0: every frame sits below its mark).
  assert.is(core.x.findWitness(core.staging + 1, total - 1, 21, c.MAX_FRAME_PAYLOAD, 64, 0), -1);
  // Another file's frames (other salt) are not witnesses.
  assert.is(core.x.findWitness(core.staging + 1, total - 1, 22, c.MAX_FRAME_PAYLOAD, NaN, NaN), -1);
});

test('file headers round-trip and every defect is named', () => {
  core.ensure(64);
  core.x.encodeFileHeader(core.staging, c.KIND_WAL_FILE, 0xabcdef01, 7, 2 ** 40, 0);
  const good = core.u8.slice(core.staging, core.staging + 64);
  assert.is(core.x.decodeFileHeader(core.staging, 64, c.KIND_WAL_FILE), 0);
  assert.is(core.out('hdrSalt'), 0xabcdef01);
  assert.is(core.out('hdrP0'), 7);
  assert.is(core.out('hdrP1'), 2 ** 40);
  const check = (mutate, reason, kind = c.KIND_WAL_FILE, len = 64) => {
    const b = good.slice();
    mutate(b);
    core.u8.set(b, core.staging);
    assert.is(core.failure(core.x.decodeFileHeader(core.staging, len, kind)), reason);
  };
  check(() => {}, 'incomplete-header', c.KIND_WAL_FILE, 63);
  check((b) => { b[0] ^= 1; }, 'bad-magic');
  check((b) => { b[4] = 9; }, 'unsupported-version');
  check((b) => { b[20] ^= 1; }, 'header-crc');
  check(() => {}, 'wrong-kind', c.KIND_RING);
});

// ---- the debug build: same ABI, same bytes, before the optimiser touched it

const debugModule = new WebAssembly.Module(readFileSync(new URL('../../build/walcore.debug.wasm', import.meta.url)));
const debug = new WebAssembly.Instance(debugModule, {}).exports;
const dbgU8 = () => new Uint8Array(debug.memory.buffer);
const dbgGlobal = (name) => Number(debug[name].value);
/** CRC-32C of `bytes` computed by the debug core. */
function debugCrc(bytes) {
  assert.is(debug.ensureStaging(Math.max(bytes.length, 1)), 0);
  const at = debug.stagingPtr();
  dbgU8().set(bytes, at);
  return debug.crc32cUpdate(0, at, bytes.length) >>> 0;
}

test('debug build: exports the same ABI as the release build the bundle embeds', () => {
  const names = (m) => WebAssembly.Module.exports(m).map((e) => `${e.name}:${e.kind}`).sort();
  const release = new WebAssembly.Module(readFileSync(new URL('../../build/walcore.wasm', import.meta.url)));
  assert.equal(names(debugModule), names(release));
  assert.equal(WebAssembly.Module.imports(debugModule), WebAssembly.Module.imports(release));
  assert.is(dbgGlobal('FORMAT_VERSION'), HOST_FORMAT_VERSION);
});

test('debug build: crc32c matches the RFC 3720 vectors and the oracle', () => {
  assert.is(debugCrc(new Uint8Array(32)), 0x8a9136aa);
  assert.is(debugCrc(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
  assert.is(debugCrc(Uint8Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e);
  assert.is(debugCrc(Uint8Array.from({ length: 32 }, (_, i) => 31 - i)), 0x113fdb5c);
  assert.is(debugCrc(new TextEncoder().encode('123456789')), 0xe3069283);
  assert.is(debugCrc(new Uint8Array(0)), 0);
  const r = rng(seedFor('debug crc oracle'));
  for (const n of [1, 7, 8, 15, 16, 63, 64, 65, 1000, 4097]) {
    const b = r.bytes(n);
    assert.is(debugCrc(b), oracle(b), `length ${n}`);
  }
});

test('debug build: frames it encodes are byte-identical to the release build and scan back', () => {
  const r = rng(seedFor('debug frames'));
  const payloads = Array.from({ length: 40 }, (_, i) => r.bytes(i * 5));
  const total = frameAll(payloads, 0x5eed, 1, 64); // release build, in core's staging
  const released = core.u8.slice(core.staging, core.staging + total);
  assert.is(debug.ensureStaging(total), 0);
  const S = debug.stagingPtr();
  let at = S;
  for (const [i, p] of payloads.entries()) {
    dbgU8().set(p, at + 32);
    at += debug.encodeFrame(at, p.length, c.TYPE_EVENT, 0x5eed, i + 1, 0, 64);
  }
  assert.is(at - S, total);
  assert.equal(dbgU8().slice(S, at), released);
  const flags = c.SCAN_SEQ_STRICT | c.SCAN_MARK;
  assert.is(debug.scanFrames(S, total, 64, 0x5eed, c.MAX_FRAME_PAYLOAD, flags, 0, 0, 0, 0xffffffff), c.OK);
  assert.is(dbgGlobal('outCount') >>> 0, 40);
  assert.is(dbgGlobal('outEnd') >>> 0, total);
  assert.is(dbgGlobal('outSeqLo') >>> 0, 40);
  dbgU8()[S + total - 1] ^= 1; // damage the last frame: the scan stops before it, as in the release build
  const st = debug.scanFrames(S, total, 64, 0x5eed, c.MAX_FRAME_PAYLOAD, flags, 0, 0, 0, 0xffffffff);
  assert.is(core.failure(st), 'crc-mismatch');
  assert.is(dbgGlobal('outCount') >>> 0, 39);
});

test.run();
