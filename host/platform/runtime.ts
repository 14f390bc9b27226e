/**
 * Which JavaScript runtime this is. The one place that asks; everything that
 * differs per runtime (the default file system, payload-copy policy) asks here.
 */
export type RuntimeName = 'deno' | 'bun' | 'node';

/** 'deno', 'bun' or 'node' (Node and anything else with node:fs). */
export function detectRuntime(): RuntimeName {
  const g = globalThis as { Deno?: unknown; Bun?: unknown };
  if (g.Deno !== undefined) return 'deno';
  if (g.Bun !== undefined) return 'bun';
  return 'node';
}
