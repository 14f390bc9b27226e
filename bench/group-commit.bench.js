// Group commit (WalFsWriter.syncAsync): 64 concurrent appenders, each
// appending one 100 B event and awaiting its durability in a loop, beside
// (1) the same writer with a single awaiting appender, (2) a raw loop that
// writes the same frames and fdatasyncs every 100 records, and the event
// loop's delay (p99) while the 64 appenders run: the fsync should not stall
// the JS thread.
import * as fs from 'node:fs';
import * as perfHooks from 'node:perf_hooks';
import { WalFsWriter } from 'walcore';
import { RUNS, benchDir, compareAsync, median, runtime } from './lib.js';

const dir = benchDir('gc');
const K = 64;
const PER = Number(process.env.WALCORE_BENCH_GC_PER ?? 50); // events per appender
const SINGLE = Number(process.env.WALCORE_BENCH_GC_SINGLE ?? 500);
const payload = new Uint8Array(100).map((_, i) => i);
const secondsSince = (t0) => (performance.now() - t0) / 1000;

/** k appenders, each appending `per` events and awaiting syncAsync() after each. */
const appenders = (k, per, onStart, onEnd) => async () => {
  fs.rmSync(`${dir}/g.wal`, { force: true });
  const w = WalFsWriter.open(`${dir}/g.wal`);
  let seq = 0;
  onStart?.();
  const t0 = performance.now();
  await Promise.all(Array.from({ length: k }, async () => {
    for (let i = 0; i < per; i++) {
      w.append({ sequence: ++seq, payload });
      await w.syncAsync();
    }
  }));
  const seconds = secondsSince(t0);
  onEnd?.();
  w.close();
  return { work: k * per, seconds };
};

// The frames WalFsWriter writes for these events (header 64 B, frames 132 B each).
const ref = `${dir}/ref.wal`;
{
  const w = WalFsWriter.open(ref);
  for (let i = 1; i <= 100; i++) w.append({ sequence: i, payload });
  w.close();
}
const frame = fs.readFileSync(ref).subarray(64, 64 + 132);

/** Raw baseline: write each frame (fs.writeSync), fdatasync every 100 records. */
const rawEvery100 = (n) => async () => {
  const path = `${dir}/raw.bin`;
  const fd = fs.openSync(path, 'w');
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    fs.writeSync(fd, frame, 0, frame.length, 64 + i * 132);
    if (i % 100 === 99) fs.fdatasyncSync(fd);
  }
  fs.fdatasyncSync(fd);
  const seconds = secondsSince(t0);
  fs.closeSync(fd);
  fs.rmSync(path);
  return { work: n, seconds };
};

await compareAsync({ name: `group commit, ${K} appenders awaiting syncAsync`, unit: 'events/s', subject: appenders(K, PER), baseline: appenders(1, SINGLE), baselineName: '1 appender' });
await compareAsync({ name: `group commit, ${K} appenders vs raw fsync/100`, unit: 'events/s', subject: appenders(K, PER), baseline: rawEvery100(K * PER), baselineName: 'write+fdatasync/100' });

// Event-loop delay while the 64 appenders run: perf_hooks.monitorEventLoopDelay
// where the runtime has it, else a 1 ms setInterval probe measuring lateness.
function delayMonitor() {
  try {
    const h = perfHooks.monitorEventLoopDelay({ resolution: 1 });
    return { how: 'monitorEventLoopDelay', start: () => h.enable(), stop: () => { h.disable(); const r = { p99: h.percentile(99) / 1e6, max: h.max / 1e6 }; h.reset(); return r; } };
  } catch {
    let late = [];
    let timer;
    let last = 0;
    return {
      how: 'setInterval probe',
      start: () => { late = []; last = performance.now(); timer = setInterval(() => { const now = performance.now(); late.push(Math.max(0, now - last - 1)); last = now; }, 1); },
      stop: () => { clearInterval(timer); const s = late.sort((a, b) => a - b); return { p99: s[Math.min(s.length - 1, Math.floor(s.length * 0.99))] ?? 0, max: s[s.length - 1] ?? 0 }; },
    };
  }
}
const mon = delayMonitor();
const p99s = [];
const maxes = [];
for (let i = 0; i < RUNS; i++) {
  let r;
  await appenders(K, PER, mon.start, () => { r = mon.stop(); })();
  p99s.push(r.p99);
  maxes.push(r.max);
}
console.log(`| ${runtime.padEnd(4)} | ${`event-loop delay, ${K} appenders (${mon.how})`.padEnd(44)} | p99 ${median(p99s).toFixed(2)} ms | max ${median(maxes).toFixed(2)} ms | - |`);
const out = process.env.WALCORE_BENCH_OUT;
if (out) fs.appendFileSync(out, JSON.stringify({ runtime, name: `event-loop delay p99, ${K} appenders`, unit: 'ms', walcore: median(p99s), max: median(maxes), how: mon.how, runs: RUNS }) + '\n');
