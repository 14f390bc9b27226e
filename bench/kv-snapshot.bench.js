// AppendLogSnapshot, every figure of its benchmark goal beside a baseline run
// in the same process (WALCORE_BENCH_RUNS runs each, alternating; medians):
//   1. apply of N puts (16 B keys, 100 B values, N distinct keys; default
//      1,000,000) in batches of 100, buffered (goal >= 2M puts/s) — baseline:
//      the same bytes written with one fs.writeSync per batch plus each
//      key -> value set into a plain Map (the least a durable fold does);
//   2. durable per batch ({ sync: true }, DURABLE puts) — baseline: a raw
//      write + fdatasync loop of the same bytes (goal >= 0.9x), the two run
//      a batch each in turn (fsync latency drifts between whole runs here);
//   3. reopen of the N-put store (goal < 1 s) — baseline: reading the file;
//   4. get of N random keys (goal >= 5M/s) — baseline: Map.get on a plain Map;
//   5. range over 1,000-key prefixes (every prefix once) — baseline: a
//      sorted key array sliced, each key looked up in a plain Map;
//   6. export + import of a ~100 MB fold (goal >= 300 MB/s of data file,
//      SHA-256 included) — baseline: the same file copied twice with
//      SHA-256 and fdatasync (what export + import must at least do);
//   7. RAM per entry beyond key and value bytes (goal <= 64 B) after reopen,
//      and after a range() built the key order — baseline: a plain
//      Map<string, Uint8Array> of the same entries.
// The load average is printed first: on a shared machine it moves every figure.
// WALCORE_BENCH_ONLY=<text> runs only the rows whose name contains it (and only
// the setup they need), e.g. 'sync: true', 'reopen', 'export'.
import * as fs from 'node:fs';
import * as os from 'node:os';
import { createHash } from 'node:crypto';
import { AppendLogSnapshot, WatchCursor } from 'walcore';
import { benchDir, compare as compareAll, median, record, report, runtime } from './lib.js';

const N = Number(process.env.WALCORE_BENCH_KV_N ?? 1_000_000);
const BATCH = 100;
const DURABLE = Number(process.env.WALCORE_BENCH_KV_DURABLE ?? 100_000);
const EXPORT_BYTES = Number(process.env.WALCORE_BENCH_KV_EXPORT_MB ?? 100) << 20;
const HEAVY_RUNS = Number(process.env.WALCORE_BENCH_RUNS ?? 3);
const ONLY = process.env.WALCORE_BENCH_ONLY;
const wanted = (name) => ONLY === undefined || name.includes(ONLY);
const compare = (spec) => (wanted(spec.name) ? compareAll(spec) : undefined);
const dir = benchDir('kv');
const key = (i) => `key-${String(i).padStart(12, '0')}`; // 16 bytes; keys i*1000 .. i*1000+999 share a 13-byte prefix
const value = new Uint8Array(100).fill(7);
const secondsSince = (t0) => (performance.now() - t0) / 1000;
console.log(`| ${runtime.padEnd(4)} | load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')} | ${os.cpus().length} cores |`);

const batches = [];
for (let b = 0; b < N / BATCH; b++) {
  const batch = [];
  for (let i = 0; i < BATCH; i++) batch.push({ type: 'put', key: key(b * BATCH + i), value });
  batches.push(batch);
}
const cursors = batches.map((_, b) => WatchCursor.fromRevision(b + 1));
// Bytes per batch on disk: 32 frame + 8 batch header + 8 cursor + 100 x (12 + 16 + 100).
const BATCH_BYTES = 32 + 8 + 8 + BATCH * (12 + 16 + 100);
let run = 0;

/** Apply `count` puts to a fresh store; times the applies (and, durable, their fsyncs). */
function applyAll(count, sync) {
  const path = `${dir}/a-${run++}.kv`;
  const { store } = AppendLogSnapshot.open(path, { compactThreshold: 1 << 30 });
  const t0 = performance.now();
  for (let b = 0; b < count / BATCH; b++) store.apply(batches[b], cursors[b], { sync });
  const seconds = secondsSince(t0);
  store.close();
  fs.rmSync(path);
  return { work: count, seconds };
}

/** The baseline: the same bytes, one write per batch (fdatasync each, durable), plus a Map.set per put unless durable. */
function rawAll(count, syncEach) {
  const path = `${dir}/raw-${run++}`;
  const fd = fs.openSync(path, 'w');
  const buf = new Uint8Array(BATCH_BYTES).fill(1);
  const map = new Map();
  const t0 = performance.now();
  let pos = 0;
  for (let b = 0; b < count / BATCH; b++) {
    fs.writeSync(fd, buf, 0, buf.length, pos);
    pos += buf.length;
    if (syncEach) fs.fdatasyncSync(fd);
    else for (const u of batches[b]) map.set(u.key, u.value);
  }
  const seconds = secondsSince(t0);
  fs.closeSync(fd);
  fs.rmSync(path);
  return { work: count, seconds };
}

compare({
  name: `apply ${N / 1e6}M puts (16 B keys, 100 B values), batches of ${BATCH}, buffered`, unit: 'puts/s', runs: HEAVY_RUNS,
  subject: () => applyAll(N, false), baseline: () => rawAll(N, false), baselineName: 'write per batch + Map.set',
});
// Durable: the two sides run in lockstep, a batch of each in turn (one file each), so both see the
// same disk: fsync latency on a shared machine drifts by several times between whole runs.
const DURABLE_ROW = `apply ${DURABLE / 1000}k puts, batches of ${BATCH}, { sync: true } each`;
if (wanted(DURABLE_ROW)) {
  const a = [];
  const b = [];
  const extra = [];
  for (let r = 0; r < HEAVY_RUNS; r++) {
    const path = `${dir}/d-${run++}.kv`;
    const rawPath = `${dir}/d-raw-${run++}`;
    const { store } = AppendLogSnapshot.open(path, { compactThreshold: 1 << 30 });
    const fd = fs.openSync(rawPath, 'w');
    const buf = new Uint8Array(BATCH_BYTES).fill(1);
    let ts = 0;
    let tb = 0;
    let pos = 0;
    const faults0 = process.resourceUsage?.().minorPageFault;
    for (let i = 0; i < DURABLE / BATCH; i++) {
      const t0 = performance.now();
      store.apply(batches[i], cursors[i], { sync: true });
      const t1 = performance.now();
      fs.writeSync(fd, buf, 0, buf.length, pos);
      pos += buf.length;
      fs.fdatasyncSync(fd);
      tb += performance.now() - t1;
      ts += t1 - t0;
    }
    const faults = process.resourceUsage?.().minorPageFault - faults0;
    store.close();
    fs.closeSync(fd);
    fs.rmSync(path);
    fs.rmSync(rawPath);
    a.push(DURABLE / (ts / 1000));
    b.push(DURABLE / (tb / 1000));
    extra.push(`${((ts - tb) * 1000 / (DURABLE / BATCH)).toFixed(0)} us/batch more (${(faults / (DURABLE / BATCH)).toFixed(1)} page faults/batch)`);
  }
  report(DURABLE_ROW, 'puts/s', a, b, 'write + fdatasync per batch, interleaved', HEAVY_RUNS);
  console.log(`|      | per run: ${extra.join('; ')} |`);
}

// The N-put store the read figures use.
const storePath = `${dir}/store.kv`;
const GET_ROW = `get of ${N / 1e6}M random keys (copies out)`;
const RANGE_ROW = `range over ${N / 1000} prefixes of 1,000 keys each`;
const RAM_ROW = 'RAM per entry beyond key + value bytes';
const readRows = wanted('reopen: replay') || wanted(GET_ROW) || wanted(RANGE_ROW) || wanted(RAM_ROW);
if (readRows) {
  const { store } = AppendLogSnapshot.open(storePath, { compactThreshold: 1 << 30 });
  for (let b = 0; b < batches.length; b++) store.apply(batches[b], cursors[b]);
  store.close();
}
const fileBytes = readRows ? fs.statSync(storePath).size : 0;
compare({
  name: `reopen: replay ${N / 1e6}M puts (${(fileBytes / 1e6).toFixed(0)} MB) into the fold`, unit: 'puts/s', runs: HEAVY_RUNS,
  subject: () => {
    const t0 = performance.now();
    const { store } = AppendLogSnapshot.open(storePath, { compactThreshold: 1 << 30 });
    const seconds = secondsSince(t0);
    store.close();
    console.log(`|      | reopen took ${seconds.toFixed(3)} s (goal < 1 s) |`);
    return { work: N, seconds };
  },
  baseline: () => { fs.readFileSync(storePath); return N; }, baselineName: 'fs.readFileSync of the file',
});

// Reads: one open store, and a plain Map of the same entries.
if (wanted(GET_ROW) || wanted(RANGE_ROW)) {
  const { store } = AppendLogSnapshot.open(storePath, { compactThreshold: 1 << 30 });
  const plain = new Map();
  for (const batch of batches) for (const u of batch) plain.set(u.key, u.value);
  const randomKeys = [];
  for (let i = 0; i < N; i++) randomKeys.push(key((i * 7919) % N));
  // Hash every lookup key once first (as keys a program decoded and keeps are): the first lookup of a fresh string pays its hashing, whichever map runs first.
  for (const k of randomKeys) plain.get(k);
  compare({
    name: GET_ROW, unit: 'gets/s',
    // Both sides use what they read (an unused Map.get is optimized away).
    subject: () => { let n = 0; for (const k of randomKeys) n += store.get(k).value.length; return n / 100; },
    baseline: () => { let n = 0; for (const k of randomKeys) n += plain.get(k).length; return n / 100; }, baselineName: 'Map.get, no copy',
  });
  const prefixes = [];
  for (let p = 0; p < N / 1000; p++) prefixes.push(key(p * 1000).slice(0, 13));
  const sortedKeys = [...plain.keys()].sort();
  compare({
    name: RANGE_ROW, unit: 'entries/s',
    subject: () => { let n = 0; for (const p of prefixes) n += store.range(p).length; return n; },
    baseline: () => {
      let n = 0;
      let bytes = 0;
      for (let p = 0; p < prefixes.length; p++) for (const k of sortedKeys.slice(p * 1000, p * 1000 + 1000)) { bytes += plain.get(k).length; n++; }
      return bytes > 0 ? n : 0;
    },
    baselineName: 'sorted array slice + Map.get',
  });
  store.close();
  plain.clear();
  randomKeys.length = 0;
  sortedKeys.length = 0;
}

// RAM per entry, after the reopen and after range() built the key order.
let gc = globalThis.gc;
if (!gc && globalThis.Bun) gc = () => globalThis.Bun.gc(true);
if (!gc) {
  try {
    const v8 = await import('node:v8');
    const vm = await import('node:vm');
    v8.setFlagsFromString('--expose-gc');
    gc = vm.runInNewContext('gc');
  } catch { gc = undefined; }
}
const used = () => {
  for (let i = 0; i < 3; i++) gc?.();
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
};
const DATA = N * (16 + 100);
if (wanted(RAM_ROW)) {
  const before = used();
  const opened = AppendLogSnapshot.open(storePath, { compactThreshold: 1 << 30 });
  const afterOpen = used();
  opened.store.range('key-000000000');
  const afterRange = used();
  opened.store.close();
  const m0 = used();
  const naive = new Map();
  for (const batch of batches) for (const u of batch) naive.set(key(Number(u.key.slice(4))), u.value.slice());
  const m1 = used();
  naive.clear();
  const perEntry = (bytes) => (bytes - DATA) / N;
  const row = { runtime, name: RAM_ROW, unit: 'B', walcore: perEntry(afterOpen - before), baseline: perEntry(m1 - m0), baselineName: 'Map<string, Uint8Array>', runs: 1 };
  row.ratio = row.walcore / row.baseline;
  // Only Node's memoryUsage() counts WebAssembly memory (in external) and the JS heap the same way; Deno's and
  // Bun's figures here come out negative or several times too large, so they are printed but marked, not quoted.
  const rough = !gc ? 'no gc(): rough' : runtime !== 'node' ? `${runtime}'s memoryUsage() does not count WebAssembly memory as Node's does: not comparable` : undefined;
  console.log(`| ${runtime.padEnd(4)} | ${row.name.padEnd(44)} | ${row.walcore.toFixed(1).padStart(8)} B (after a range: ${perEntry(afterRange - before).toFixed(1)} B) | ${row.baseline.toFixed(1)} B (${row.baselineName}) | ${rough ?? ''} |`);
  record(rough === undefined ? row : { ...row, rough });
}

// Export + import of a ~100 MB fold: distinct keys, 100 B values, as above.
if (wanted('export + import')) {
  const path = `${dir}/export-src.kv`;
  const entries = Math.round(EXPORT_BYTES / (12 + 16 + 100));
  const opened = AppendLogSnapshot.open(path, { compactThreshold: 1 << 30 });
  for (let b = 0; b * BATCH < entries; b++) opened.store.apply(batches[b % batches.length].map((u, i) => ({ type: 'put', key: key(b * BATCH + i), value: u.value })), WatchCursor.fromRevision(b + 1));
  opened.store.sync();
  let k = 0;
  const times = [];
  let size = 0;
  compare({
    name: `export + import of a ${(EXPORT_BYTES / 2 ** 20).toFixed(0)} MiB fold (SHA-256 included)`, unit: 'B/s', runs: HEAVY_RUNS,
    subject: () => {
      const art = `${dir}/art-${++k}`;
      const dest = `${dir}/imported-${k}.kv`;
      const t0 = performance.now();
      const m = opened.store.exportTo(art);
      const t1 = performance.now();
      const imported = AppendLogSnapshot.import(art, dest);
      const seconds = secondsSince(t0);
      times.push([(t1 - t0) / 1000, (performance.now() - t1) / 1000]);
      imported.store.close();
      size = m.files[0].size;
      fs.rmSync(art, { recursive: true });
      fs.rmSync(dest);
      return { work: size, seconds };
    },
    baseline: () => {
      const src = `${dir}/copy-src`;
      if (!fs.existsSync(src)) fs.copyFileSync(path, src);
      const t0 = performance.now();
      copyHashed(src, `${dir}/copy-1`);
      copyHashed(`${dir}/copy-1`, `${dir}/copy-2`);
      const seconds = secondsSince(t0);
      fs.rmSync(`${dir}/copy-1`);
      fs.rmSync(`${dir}/copy-2`);
      return { work: fs.statSync(src).size, seconds };
    },
    baselineName: '2 x (read + SHA-256 + write + fdatasync)',
  });
  console.log(`|      | export ${median(times.map((t) => t[0])).toFixed(3)} s + import ${median(times.map((t) => t[1])).toFixed(3)} s of a ${(size / 1e6).toFixed(0)} MB data file (${entries} entries) |`);
  opened.store.close();
}

/** Copy `from` to `to` in 1 MiB chunks, hashing what is copied, then fdatasync. */
function copyHashed(from, to) {
  const h = createHash('sha256');
  const fi = fs.openSync(from, 'r');
  const fo = fs.openSync(to, 'w');
  const buf = new Uint8Array(1 << 20);
  let pos = 0;
  for (let n; (n = fs.readSync(fi, buf, 0, buf.length, pos)) > 0; pos += n) {
    h.update(buf.subarray(0, n));
    fs.writeSync(fo, buf, 0, n, pos);
  }
  fs.fdatasyncSync(fo);
  h.digest('hex');
  fs.closeSync(fi);
  fs.closeSync(fo);
}
