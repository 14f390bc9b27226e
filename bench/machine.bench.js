// Machine floors: what this machine itself allows, measured with no walcore
// code at all, so that a goal stated in absolute numbers can be checked
// against the hardware before it is chased. Each row is a raw platform loop;
// the README's performance section cites these rows where a goal is above
// them (e.g. a durable single-entry goal above the disk's own fdatasync rate,
// a get() goal above the rate of random memory reads).
//
// Rows (medians of RUNS runs, each a fresh measurement):
// - write + fdatasync of 1 KiB, appending to a growing file, and overwriting
//   a preallocated one (the floor of any durable per-record append);
// - first write to freshly grown WebAssembly memory, per 4 KiB page (the
//   floor of building anything new in RAM: a fold, a read buffer);
// - dependent random reads over 128 MiB (a pointer chase: the floor of a hash
//   lookup that misses the CPU caches);
// - Map.get over 1M string keys in random order (what a JS Map does here);
// - pread of 1 KiB at random offsets of a cached 256 MiB file (the floor of a
//   random read without mmap);
// - SHA-256 (node:crypto) and a 1 MiB memory copy (the floors of verified
//   export/import and of any copy into a batch).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { RUNS, benchDir, fmt, median, record, runtime } from './lib.js';

const dir = benchDir('machine');
let seed = 0x9e3779b9;
const rand = () => {
  seed ^= seed << 13; seed >>>= 0; seed ^= seed >>> 17; seed ^= seed << 5; seed >>>= 0;
  return seed;
};
const now = () => performance.now();

function row(name, unit, values, rough) {
  const v = median(values);
  const r = { runtime, name, unit, walcore: v, rough: rough(v), runs: values.length };
  console.log(`| ${runtime.padEnd(4)} | ${name.padEnd(44)} | ${fmt(v, unit).padStart(12)} | ${r.rough} |`);
  record(r);
}
const pct = (xs, q) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * q))];

// ---- durable 1 KiB writes: appending vs overwriting
function syncLoop(prealloc, n = 600) {
  const file = path.join(dir, `sync-${prealloc ? 'over' : 'append'}`);
  fs.rmSync(file, { force: true });
  const fd = fs.openSync(file, 'w+');
  if (prealloc) { fs.writeSync(fd, new Uint8Array(n * 1024 + 4096), 0, n * 1024 + 4096, 0); fs.fsyncSync(fd); }
  const rec = new Uint8Array(1024).fill(7);
  const lat = [];
  const t0 = now();
  for (let i = 0; i < n; i++) {
    const s = now();
    fs.writeSync(fd, rec, 0, 1024, i * 1024);
    fs.fdatasyncSync(fd);
    lat.push(now() - s);
  }
  const rate = n / ((now() - t0) / 1000);
  fs.closeSync(fd);
  return { rate, p99: pct(lat, 0.99) };
}
for (const prealloc of [false, true]) {
  const runs = Array.from({ length: RUNS }, () => syncLoop(prealloc));
  const p99 = median(runs.map((r) => r.p99));
  row(`write + fdatasync 1 KiB, ${prealloc ? 'overwriting' : 'appending'}`, 'ops/s', runs.map((r) => r.rate), () => `p99 ${p99.toFixed(2)} ms`);
}

// ---- first touch of fresh memory
{
  const pages = (64 << 20) >> 12;
  const rates = [];
  for (let r = 0; r < RUNS; r++) {
    const m = new WebAssembly.Memory({ initial: 1, maximum: 2048 });
    m.grow(1024); // +64 MiB
    const u = new Uint8Array(m.buffer);
    const t0 = now();
    for (let i = 65536; i < u.length; i += 4096) u[i] = 1;
    rates.push(pages / ((now() - t0) / 1000));
  }
  row('first write to fresh memory, per 4 KiB page', 'pages/s', rates, (v) => `${(1e6 / v).toFixed(1)} µs/page`);
}

// ---- dependent random reads (pointer chase over 128 MiB)
{
  const n = 32 << 20;
  const next = new Int32Array(n);
  for (let i = 0; i < n; i++) next[i] = i;
  for (let i = n - 1; i > 0; i--) { // Sattolo: one cycle through every slot
    const j = rand() % i;
    const t = next[i]; next[i] = next[j]; next[j] = t;
  }
  const steps = 2_000_000;
  const rates = [];
  let p = 0;
  for (let r = 0; r < RUNS; r++) {
    const t0 = now();
    for (let s = 0; s < steps; s++) p = next[p];
    rates.push(steps / ((now() - t0) / 1000));
  }
  if (p < 0) console.log(p);
  row('dependent random read over 128 MiB', 'reads/s', rates, (v) => `${(1e9 / v).toFixed(0)} ns/read`);
}

// ---- Map.get over 1M string keys
{
  const n = 1_000_000;
  const keys = Array.from({ length: n }, (_, i) => `key-${String(i).padStart(12, '0')}`);
  const map = new Map(keys.map((k, i) => [k, i]));
  const order = Int32Array.from({ length: n }, () => rand() % n);
  const rates = [];
  let sum = 0;
  for (let r = 0; r < RUNS; r++) {
    const t0 = now();
    for (let i = 0; i < n; i++) sum += map.get(keys[order[i]]);
    rates.push(n / ((now() - t0) / 1000));
  }
  if (sum < 0) console.log(sum);
  row('Map.get, 1M string keys, random order', 'ops/s', rates, (v) => `${(1e9 / v).toFixed(0)} ns/get`);
}

// ---- random 1 KiB pread from the page cache
{
  const file = path.join(dir, 'pread');
  const size = 256 << 20;
  const chunk = new Uint8Array(1 << 20).fill(3);
  const fd = fs.openSync(file, 'w+');
  for (let off = 0; off < size; off += chunk.length) fs.writeSync(fd, chunk, 0, chunk.length, off);
  const buf = new Uint8Array(1024);
  const n = 200_000;
  const rates = [];
  for (let r = 0; r < RUNS; r++) {
    const t0 = now();
    for (let i = 0; i < n; i++) fs.readSync(fd, buf, 0, 1024, (rand() % (size >> 10)) * 1024);
    rates.push(n / ((now() - t0) / 1000));
  }
  fs.closeSync(fd);
  row('pread 1 KiB, random, page cache (256 MiB)', 'ops/s', rates, (v) => `${(1e6 / v).toFixed(2)} µs/read`);
}

// ---- SHA-256 and memory copy
{
  const data = new Uint8Array(64 << 20).fill(5);
  const sha = [];
  const copy = [];
  const into = new Uint8Array(1 << 20);
  for (let r = 0; r < RUNS; r++) {
    let t0 = now();
    createHash('sha256').update(data).digest();
    sha.push(data.length / ((now() - t0) / 1000));
    t0 = now();
    for (let off = 0; off < data.length; off += into.length) into.set(data.subarray(off, off + into.length));
    copy.push(data.length / ((now() - t0) / 1000));
  }
  row('SHA-256 (node:crypto), 64 MiB', 'B/s', sha, (v) => `${(1e9 / v).toFixed(2)} ns/B`);
  row('memory copy, 1 MiB blocks (warm)', 'B/s', copy, (v) => `${(1e9 / v).toFixed(3)} ns/B`);
}
