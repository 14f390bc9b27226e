// Benchmark helpers shared by bench/*.bench.js. A benchmark runs its
// workload and its baseline in the same process, alternating, several times,
// and reports medians and the ratio. Never used by tests.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import process from 'node:process';
import { detectRuntime } from 'walcore';

export const runtime = detectRuntime();
export const RUNS = Number(process.env.WALCORE_BENCH_RUNS ?? 5);

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** A fresh directory for benchmark files (removed at exit). */
export function benchDir(label) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `walcore-bench-${label}-${runtime}-`));
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A rate as printed in the tables: GB/s for bytes, else M/k units. */
export const fmt = (rate, unit) => {
  if (unit === 'B/s') return `${(rate / 1e9).toFixed(2)} GB/s`;
  if (rate >= 1e6) return `${(rate / 1e6).toFixed(2)} M${unit}`;
  if (rate >= 1e3) return `${(rate / 1e3).toFixed(1)} k${unit}`;
  return `${rate.toFixed(0)} ${unit}`;
};

/**
 * A workload returns the work it did (operations or bytes), timed from its
 * start to its return, or { work, seconds } when it times only part of
 * itself (e.g. to leave an untimed open or final fsync out).
 */
function rate(fn, t0, result) {
  if (typeof result === 'number') return result / ((performance.now() - t0) / 1000);
  return result.work / result.seconds;
}

/**
 * Run `subject` and `baseline` alternately RUNS times. Each returns the
 * amount of work it did (see rate()); its rate is work / seconds.
 * `setup` (optional) runs untimed before each call. Prints one row and
 * returns { walcore, baseline, ratio } as median rates.
 */
export function compare({ name, unit = 'ops/s', subject, baseline, baselineName = 'baseline', setup, runs = RUNS }) {
  const a = [];
  const b = [];
  for (let i = 0; i < runs; i++) {
    for (const [fn, into] of [[subject, a], [baseline, b]]) {
      if (!fn) continue;
      setup?.();
      const t0 = performance.now();
      into.push(rate(fn, t0, fn()));
    }
  }
  return report(name, unit, a, b, baselineName, runs);
}

/** The async form of compare(), for workloads that await (group commit). */
export async function compareAsync({ name, unit = 'ops/s', subject, baseline, baselineName = 'baseline', setup, runs = RUNS }) {
  const a = [];
  const b = [];
  for (let i = 0; i < runs; i++) {
    for (const [fn, into] of [[subject, a], [baseline, b]]) {
      if (!fn) continue;
      await setup?.();
      const t0 = performance.now();
      into.push(rate(fn, t0, await fn()));
    }
  }
  return report(name, unit, a, b, baselineName, runs);
}

/** Print one row of medians and their ratio, and record it for bench/run.mjs (rates a, b: one per run). */
export function report(name, unit, a, b, baselineName, runs) {
  const s = median(a);
  const base = b.length ? median(b) : NaN;
  const ratio = s / base;
  const row = { runtime, name, unit, walcore: s, baseline: base, baselineName, ratio, runs };
  const baseCol = b.length ? `${fmt(base, unit).padStart(12)} (${baselineName})` : '-'.padStart(12);
  console.log(`| ${runtime.padEnd(4)} | ${name.padEnd(44)} | ${fmt(s, unit).padStart(12)} | ${baseCol} | ${b.length ? `${ratio.toFixed(2)}x` : '-'} |`);
  record(row);
  return row;
}

/** Record a row for bench/run.mjs (bench/results/latest.jsonl), tagged with its bench file. */
export function record(row) {
  const file = process.env.WALCORE_BENCH_OUT;
  if (file) fs.appendFileSync(file, JSON.stringify({ file: process.env.WALCORE_BENCH_FILE, ...row }) + '\n');
}
