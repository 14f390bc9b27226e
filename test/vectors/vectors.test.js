// vectors: the golden files of test/vectors/ are what the generator builds
// now (so any change to the bytes the core writes is noticed, and vectors
// change only on purpose: `node scripts/make-vectors.mjs`), docs/FORMAT.md §8
// quotes each exactly, and the container syntax reads back what it wrote.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { Core } from 'walcore/internals';
import { CRC32C } from '../support/helpers.js';
import { formatVector, parseVector } from './container.js';
import { VECTORS, readVector, vectorText } from './vectors.js';
import { GOLDEN_OFFSETS } from './golden.js';
import { SEGMENTS, segmentName } from './segmented.js';
import { RING_CAPACITY, RING_FILE, RING_SLOT_SIZE } from './ring.js';
import { RAFT_SEG1, RAFT_SEG2, RAFT_SNAP } from './raft.js';
import { KV_FILE, KV_FRAME_OFFSETS, KV_MARKER, KV_SIZE } from './kv-snapshot.js';

const NAMES = ['wal-file-v1.hex', 'segmented-v1.hex', 'segmented-v2.hex', 'ring-v1.hex', 'raft-v1.hex', 'kv-snapshot-v1.hex'];
const doc = readFileSync(new URL('../../docs/FORMAT.md', import.meta.url), 'utf8');
const quoted = Object.fromEntries([...doc.matchAll(/<!-- vector-file: (\S+) -->\n```text\n([\s\S]*?)```/g)].map((m) => [m[1], m[2]]));
const crc = (b) => CRC32C.buf(b) >>> 0;
const u32 = (b, at) => new DataView(b.buffer, b.byteOffset).getUint32(at, true);

test('every log kind has a v1 vector, and the generator knows exactly these', () => {
  assert.equal(Object.keys(VECTORS).sort(), [...NAMES].sort());
});

for (const name of NAMES) {
  test(`${name}: the committed file is exactly what the generator builds now`, () => {
    assert.fixture(vectorText(name), VECTORS[name](new Core()));
  });
  test(`${name}: docs/FORMAT.md §8 quotes the committed file exactly`, () => {
    assert.ok(quoted[name] !== undefined, `no <!-- vector-file: ${name} --> block in FORMAT.md`);
    assert.fixture(quoted[name], vectorText(name));
  });
  test(`${name}: building twice gives the same text (fixed salts and nonces)`, () => {
    assert.is(VECTORS[name](new Core()), VECTORS[name](new Core()));
  });
}

test('the vectors hold the documented files and sizes', () => {
  const wal = readVector('wal-file-v1.hex');
  assert.equal(wal.map((f) => [f.name, f.bytes.length]), [['golden.wal', GOLDEN_OFFSETS.at(-1)]]);
  const seg = readVector('segmented-v1.hex');
  assert.equal(seg.map((f) => f.name), SEGMENTS.map((s) => segmentName(s.first)));
  assert.equal(seg.map((f) => f.bytes.length), [275, 270, 246]);
  assert.equal(readVector('raft-v1.hex').map((f) => f.name), [RAFT_SEG1, RAFT_SEG2, RAFT_SNAP]);
  const ring = readVector('ring-v1.hex');
  assert.equal(ring.map((f) => [f.name, f.bytes.length]), [[RING_FILE, 4096 + RING_CAPACITY * RING_SLOT_SIZE]]);
  assert.equal(readVector('kv-snapshot-v1.hex').map((f) => [f.name, f.bytes.length]), [[KV_FILE, KV_SIZE]]);
});

test('every CRC in the vectors agrees with the independent CRC-32C oracle', () => {
  const headers = [...readVector('wal-file-v1.hex'), ...readVector('segmented-v1.hex'), ...readVector('segmented-v2.hex'), ...readVector('ring-v1.hex')];
  for (const { name, bytes } of headers) assert.is(u32(bytes, 60), crc(bytes.subarray(0, 60)), `${name} header`);
  for (const { name, bytes } of readVector('raft-v1.hex')) assert.is(u32(bytes, 60), crc(bytes.subarray(0, 60)), `${name} header`);
  const raftFrames = readVector('raft-v1.hex').map(({ name, bytes }) => {
    let frames = 0;
    for (let p = 64; p < bytes.length; p += 32 + u32(bytes, p + 4), frames++) {
      assert.is(u32(bytes, p), crc(bytes.subarray(p + 4, p + 32 + u32(bytes, p + 4))), `${name} frame @${p}`);
    }
    return frames;
  });
  assert.equal(raftFrames, [8, 6, 1], 'frames of the two segments (with footer, locator and sync marker) and the snapshot file');
  for (const { name, bytes } of [...readVector('wal-file-v1.hex'), ...readVector('segmented-v1.hex'), ...readVector('segmented-v2.hex')]) {
    let frames = 0;
    for (let p = 64; p < bytes.length; p += 32 + u32(bytes, p + 4), frames++) {
      assert.is(u32(bytes, p), crc(bytes.subarray(p + 4, p + 32 + u32(bytes, p + 4))), `${name} frame @${p}`);
    }
    assert.ok(frames >= 2, name);
  }
  const [{ bytes: kv }] = readVector('kv-snapshot-v1.hex');
  assert.is(u32(kv, 60), crc(kv.subarray(0, 60)), 'kv header');
  const kvFrames = [];
  for (let p = 64; p < kv.length; p += 32 + u32(kv, p + 4)) {
    assert.is(u32(kv, p), crc(kv.subarray(p + 4, p + 32 + u32(kv, p + 4))), `kv frame @${p}`);
    kvFrames.push(p);
  }
  assert.equal(kvFrames, [...KV_FRAME_OFFSETS.flat(), KV_MARKER], 'kv frame offsets as documented');
  const [{ bytes: ring }] = readVector('ring-v1.hex');
  for (const at of [2048, 2560]) assert.is(u32(ring, at), crc(ring.subarray(at + 4, at + 32)), `state @${at}`);
  for (let i = 0; i < RING_CAPACITY; i++) {
    const at = 4096 + i * RING_SLOT_SIZE;
    assert.is(u32(ring, at), crc(ring.subarray(at + 4, at + RING_SLOT_SIZE)), `slot ${i}`);
  }
});

test('container: format then parse gives back the files, zero runs included', () => {
  const big = new Uint8Array(200);
  big[0] = 1;
  big[199] = 0xff; // zeros 1..198: lines 1..11 are all zero, line 12 holds the 0xff
  const files = [{ name: 'a', bytes: big }, { name: 'b.seg', bytes: new Uint8Array([0xab]) }, { name: 'empty', bytes: new Uint8Array(0) }];
  const text = formatVector(['title'], files);
  assert.ok(text.includes('# zeros: 176\n'), text);
  assert.equal(parseVector(text).map((f) => [f.name, Array.from(f.bytes)]), files.map((f) => [f.name, Array.from(f.bytes)]));
});

test('container: comments and blank lines are ignored; malformed input is refused', () => {
  assert.equal(parseVector('# hi\n\n# file: x\n# note\n01 02\n\n# zeros: 2\nff\n').map((f) => Array.from(f.bytes)), [[1, 2, 0, 0, 0xff]]);
  assert.throws(() => parseVector('01 02\n'), /before the first/);
  assert.throws(() => parseVector('# file: x\n0g\n'), /not hex/);
  assert.throws(() => parseVector('# file: x\n123\n'), /not hex/);
  assert.throws(() => parseVector('# file: x\n# file: x\n'), /twice/);
});

test.run();
