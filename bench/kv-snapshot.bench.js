// AppendLogSnapshot: apply of N puts (16 B keys, 100 B values) in batches of
// 100, buffered and durable per batch ({ sync: true }), each beside a raw
// write (+ fdatasync per batch) loop of the same bytes; reopen (replay) time
// beside a raw read of the file; get/s beside a plain Map. Scaled to run in
// well under a minute per runtime (WALCORE_BENCH_RUNS runs, default 5).
import * as fs from 'node:fs';
import { AppendLogSnapshot, WatchCursor } from 'walcore';
import { benchDir, compare } from './lib.js';

const N = 50_000;
const BATCH = 100;
const DURABLE_BATCHES = 100; // 10k puts, one fdatasync each batch
const dir = benchDir('kv');
const key = (i) => `key-${String(i).padStart(12, '0')}`; // 16 bytes
const value = new Uint8Array(100).fill(7);
const batches = (n) => {
  const out = [];
  for (let b = 0; b < n / BATCH; b++) {
    const batch = [];
    for (let i = 0; i < BATCH; i++) batch.push({ type: 'put', key: key(b * BATCH + i), value });
    out.push(batch);
  }
  return out;
};
const all = batches(N);
// Bytes per batch on disk: 32 frame + 8 batch header + 8 cursor + 100 x (12 + 16 + 100).
const BATCH_BYTES = 32 + 8 + 8 + BATCH * (12 + 16 + 100);
let run = 0;

function applyAll(count, sync) {
  const path = `${dir}/a-${run++}.kv`;
  const { store } = AppendLogSnapshot.open(path, { compactThreshold: 1 << 30 });
  const t0 = performance.now();
  for (let b = 0; b < count / BATCH; b++) store.apply(all[b], WatchCursor.fromRevision(b + 1), { sync });
  if (!sync) store.sync();
  const seconds = (performance.now() - t0) / 1000;
  store.close();
  fs.rmSync(path);
  return { work: count, seconds };
}

function rawAll(count, syncEach) {
  const path = `${dir}/raw-${run++}`;
  const fd = fs.openSync(path, 'w');
  const buf = new Uint8Array(BATCH_BYTES).fill(1);
  const t0 = performance.now();
  let pos = 0;
  for (let b = 0; b < count / BATCH; b++) {
    fs.writeSync(fd, buf, 0, buf.length, pos);
    pos += buf.length;
    if (syncEach) fs.fdatasyncSync(fd);
  }
  if (!syncEach) fs.fdatasyncSync(fd);
  const seconds = (performance.now() - t0) / 1000;
  fs.closeSync(fd);
  fs.rmSync(path);
  return { work: count, seconds };
}

compare({
  name: `apply ${N / 1000}k puts (16 B keys, 100 B values), batches of ${BATCH}, buffered`, unit: 'puts/s',
  subject: () => applyAll(N, false), baseline: () => rawAll(N, false), baselineName: 'raw write loop, same bytes',
});
compare({
  name: `apply ${DURABLE_BATCHES * BATCH / 1000}k puts, batches of ${BATCH}, { sync: true } per batch`, unit: 'puts/s',
  subject: () => applyAll(DURABLE_BATCHES * BATCH, true), baseline: () => rawAll(DURABLE_BATCHES * BATCH, true), baselineName: 'raw write+fdatasync per batch',
});

// Reopen: replay a file of N puts (2000 batches) into the fold.
const reopenPath = `${dir}/reopen.kv`;
{
  const { store } = AppendLogSnapshot.open(reopenPath, { compactThreshold: 1 << 30 });
  for (let b = 0; b < all.length; b++) store.apply(all[b], WatchCursor.fromRevision(b + 1));
  store.close();
}
compare({
  name: `reopen: replay ${N / 1000}k puts into the fold`, unit: 'puts/s',
  subject: () => {
    const t0 = performance.now();
    const { store } = AppendLogSnapshot.open(reopenPath, { compactThreshold: 1 << 30 });
    const seconds = (performance.now() - t0) / 1000;
    store.close();
    return { work: N, seconds };
  },
  baseline: () => { fs.readFileSync(reopenPath); return N; }, baselineName: 'fs.readFileSync of the file',
});

const { store } = AppendLogSnapshot.open(reopenPath);
const map = new Map();
for (const e of store) map.set(e.key, e);
const keys = [];
for (let i = 0; i < 50_000; i++) keys.push(key((i * 7919) % N));
compare({
  name: 'get of 50k random keys (copies out)', unit: 'gets/s',
  subject: () => { for (const k of keys) store.get(k); return keys.length; },
  baseline: () => { for (const k of keys) map.get(k).value.slice(); return keys.length; }, baselineName: 'Map.get + copy',
});
store.close();
