/**
 * How replay hands out payloads the caller owns, chosen per batch from
 * measurements (Node 20.20, Deno 2.9.5, Bun 1.4.5, 4 MiB of payloads):
 * - V8 (Node, Deno) spends ~300 ns on every new ArrayBuffer whatever its
 *   size, so payloads are copied once per batch (one slice) and handed out
 *   as views into that copy: 15.5 vs 2.9 M/s at 100 B, and still ahead up to
 *   3 KiB (1 KiB: 7.9 vs 1.6 GB/s; 3 KiB: 3.8 vs 3.0 GB/s). From 4 KiB the
 *   two are about even (Node 2.9 vs 3.9, Deno 4.3 vs 3.8 GB/s), and a slice
 *   per payload keeps one kept payload from holding a whole batch alive.
 * - JavaScriptCore (Bun) allocates small buffers cheaply and big ones
 *   slowly, so a slice per payload wins at every size (100 B: 34 vs 10 M/s).
 */
import { detectRuntime } from '../platform/runtime.js';

const SLICE_ALWAYS = detectRuntime() === 'bun';
const SLICE_FROM_AVERAGE = 4096;

/** Whether a batch of `count` payloads spanning `bytes` should be copied one slice per payload. */
export function slicePerPayload(bytes: number, count: number): boolean {
  return SLICE_ALWAYS || bytes >= count * SLICE_FROM_AVERAGE;
}
