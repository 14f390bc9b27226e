// WalFsWriter beside the raw file API doing the same I/O in the same process:
// buffered append, replay (100 B and 4 KiB events), flush per event, and
// group commit with 64 concurrent appenders.
import * as fs from 'node:fs';
import { WalFsReader, WalFsWriter } from 'walcore';
import { benchDir, compare, compareAsync } from './lib.js';

const dir = benchDir('wfw');
const N = Number(process.env.WALCORE_BENCH_EVENTS ?? 1_000_000);
const payload100 = new Uint8Array(100).map((_, i) => i);
const payload4k = new Uint8Array(4096).map((_, i) => i * 7);
const secondsSince = (t0) => (performance.now() - t0) / 1000;

/** Write `n` events with WalFsWriter (untimed helper); returns the path. */
function makeLog(name, n, payload) {
  const path = `${dir}/${name}.wal`;
  fs.rmSync(path, { force: true });
  const w = WalFsWriter.open(path);
  for (let i = 1; i <= n; i++) w.append({ sequence: i, payload });
  w.close();
  return path;
}

/** Raw baseline: read a file in 1 MiB chunks with fs.readSync, touching nothing. */
function rawRead(path) {
  const fd = fs.openSync(path, 'r');
  const buf = new Uint8Array(1 << 20);
  let total = 0;
  for (let n; (n = fs.readSync(fd, buf, 0, buf.length, total)) > 0;) total += n;
  fs.closeSync(fd);
  return total;
}

/**
 * Raw baseline for buffered append: what a hand-written batching loop does
 * with the same frames, timed the same way as WalFsWriter (open and close
 * untimed): copy each 132-byte frame into a 1 MiB batch (as many whole
 * frames as fit, as WalFsWriter's default bufferSize does) and
 * fs.writeSync the batch when the next frame would not fit. No framing, no
 * CRC: the difference is walcore's own work.
 */
function rawCopyWrite(path, frame, n) {
  const fd = fs.openSync(path, 'w');
  const batch = new Uint8Array(1 << 20);
  const size = frame.length;
  const t0 = performance.now();
  let used = 0;
  let pos = 0;
  for (let i = 0; i < n; i++) {
    if (used + size > batch.length) { fs.writeSync(fd, batch, 0, used, pos); pos += used; used = 0; }
    batch.set(frame, used);
    used += size;
  }
  if (used > 0) fs.writeSync(fd, batch, 0, used, pos);
  const seconds = secondsSince(t0);
  fs.closeSync(fd);
  return { work: n, seconds };
}

// 1. Buffered append, 1M x 100 B. Timed: the appends, which also write the
// buffer out in 1 MiB batches. Not timed: open, and close's fsync (the raw
// baseline does not sync either).
const ref = makeLog('ref', N, payload100);
const framed = fs.readFileSync(ref);
const frame100 = framed.slice(64, 64 + 132); // one framed event: 32-byte header + 100 B
compare({
  name: `append ${N / 1e6}M x 100 B, buffered`, unit: 'events/s',
  setup: () => fs.rmSync(`${dir}/a.wal`, { force: true }),
  subject: () => {
    const w = WalFsWriter.open(`${dir}/a.wal`);
    const t0 = performance.now();
    for (let i = 1; i <= N; i++) w.append({ sequence: i, payload: payload100 });
    const seconds = secondsSince(t0);
    w.close();
    return { work: N, seconds };
  },
  baseline: () => rawCopyWrite(`${dir}/raw.bin`, frame100, N),
  baselineName: 'copy into 1 MiB batch + writeSync',
});

// 2. Replay with full validation, each payload handed to the caller.
const replay = (path, copy) => () => {
  const r = WalFsReader.open(path, { copy });
  let bytes = 0;
  const n = r.forEach((seq, p) => { bytes += p.length; });
  r.close();
  return n;
};
const replayIter = (path) => () => {
  const r = WalFsReader.open(path);
  let n = 0;
  for (const e of r) n += e.payload.length > -1 ? 1 : 0;
  r.close();
  return n;
};
const rawEvents = (path, n) => () => { rawRead(path); return n; };
compare({ name: `replay ${N / 1e6}M x 100 B, forEach, copies`, unit: 'events/s', subject: replay(ref, true), baseline: rawEvents(ref, N), baselineName: 'fs.readSync 1 MiB' });
compare({ name: `replay ${N / 1e6}M x 100 B, forEach, views`, unit: 'events/s', subject: replay(ref, false), baseline: rawEvents(ref, N), baselineName: 'fs.readSync 1 MiB' });
compare({ name: `replay ${N / 1e6}M x 100 B, for..of iterator`, unit: 'events/s', subject: replayIter(ref), baseline: rawEvents(ref, N), baselineName: 'fs.readSync 1 MiB' });
const N4K = Math.max(1000, Math.floor(N / 20));
const ref4k = makeLog('ref4k', N4K, payload4k);
const size4k = fs.statSync(ref4k).size;
const asBytes = (fn) => () => { fn(); return size4k; };
compare({ name: `replay ${N4K / 1e3}k x 4 KiB, forEach, copies`, unit: 'B/s', subject: asBytes(replay(ref4k, true)), baseline: () => rawRead(ref4k), baselineName: 'fs.readSync 1 MiB' });
compare({ name: `replay ${N4K / 1e3}k x 4 KiB, forEach, views`, unit: 'B/s', subject: asBytes(replay(ref4k, false)), baseline: () => rawRead(ref4k), baselineName: 'fs.readSync 1 MiB' });

// 3. flush() after every event vs a raw write + fdatasync loop of the same frames.
const DURABLE = Number(process.env.WALCORE_BENCH_DURABLE ?? 2000);
compare({
  name: `flush per event (${DURABLE} x 100 B)`, unit: 'events/s',
  setup: () => fs.rmSync(`${dir}/f.wal`, { force: true }),
  subject: () => {
    const w = WalFsWriter.open(`${dir}/f.wal`);
    const t0 = performance.now();
    for (let i = 1; i <= DURABLE; i++) { w.append({ sequence: i, payload: payload100 }); w.flush(); }
    const seconds = secondsSince(t0);
    w.close();
    return { work: DURABLE, seconds };
  },
  baseline: () => {
    const fd = fs.openSync(`${dir}/raw-f.bin`, 'w');
    const frame = framed.subarray(64, 64 + 132);
    const t0 = performance.now();
    for (let i = 0; i < DURABLE; i++) { fs.writeSync(fd, frame, 0, frame.length, 64 + i * 132); fs.fdatasyncSync(fd); }
    const seconds = secondsSince(t0);
    fs.closeSync(fd);
    fs.rmSync(`${dir}/raw-f.bin`);
    return { work: DURABLE, seconds };
  },
  baselineName: 'write+fdatasync loop',
});

// 4. Group commit: 64 appenders, each appending and awaiting durability in a loop,
// beside the same writer with a single appender doing the same.
const appenders = (k, perAppender) => async () => {
  fs.rmSync(`${dir}/g.wal`, { force: true });
  const w = WalFsWriter.open(`${dir}/g.wal`);
  let seq = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: k }, async () => {
    for (let i = 0; i < perAppender; i++) {
      w.append({ sequence: ++seq, payload: payload100 });
      await w.flushAsync();
    }
  }));
  const seconds = secondsSince(t0);
  w.close();
  return { work: k * perAppender, seconds };
};
await compareAsync({ name: 'group commit, 64 appenders awaiting flushAsync', unit: 'events/s', subject: appenders(64, 100), baseline: appenders(1, 1000), baselineName: '1 appender' });
