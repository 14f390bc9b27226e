/**
 * How replay hands out payloads the caller owns, chosen per batch from
 * measurements (bench/wal-fs-writer.bench.js, Node 20 / Bun 1.4):
 * - V8 (Node, Deno) spends ~300 ns on every new ArrayBuffer whatever its
 *   size, so small payloads are copied once per batch (one slice) and handed
 *   out as views into that copy: 15.5 M/s vs 2.9 M/s per-payload slices at
 *   100 B. From ~1 KiB on, the per-payload copy is cheaper than making
 *   fresh pages for a big batch copy (4 KiB: 3.6 vs 1.6 GiB/s).
 * - JavaScriptCore (Bun) allocates small buffers cheaply and big ones
 *   slowly, so a slice per payload wins at every size (100 B: 34 vs 10 M/s).
 */
import { detectRuntime } from './fs/runtime.js';

const SLICE_ALWAYS = detectRuntime() === 'bun';
const SLICE_FROM_AVERAGE = 1024;

/** Whether a batch of `count` payloads spanning `bytes` should be copied one slice per payload. */
export function slicePerPayload(bytes: number, count: number): boolean {
  return SLICE_ALWAYS || bytes >= count * SLICE_FROM_AVERAGE;
}
