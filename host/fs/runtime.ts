/**
 * One adapter per runtime, picked automatically. They share PosixFileSystem
 * (see posix.ts for why); each names itself so errors and tests say which
 * runtime's file layer was in use.
 */
import { PosixFileSystem } from './posix.js';
import type { FileSystem } from './types.js';

export class NodeFileSystem extends PosixFileSystem {
  override readonly name: string = 'node';
}
export class DenoFileSystem extends PosixFileSystem {
  override readonly name: string = 'deno';
}
export class BunFileSystem extends PosixFileSystem {
  override readonly name: string = 'bun';
}

/** 'deno', 'bun' or 'node' (Node and anything else with node:fs). */
export function detectRuntime(): 'deno' | 'bun' | 'node' {
  const g = globalThis as { Deno?: unknown; Bun?: unknown };
  if (g.Deno !== undefined) return 'deno';
  if (g.Bun !== undefined) return 'bun';
  return 'node';
}

let fallback: FileSystem | undefined;
/** The real file system of the current runtime. */
export function defaultFileSystem(): FileSystem {
  if (fallback) return fallback;
  const rt = detectRuntime();
  fallback = rt === 'deno' ? new DenoFileSystem() : rt === 'bun' ? new BunFileSystem() : new NodeFileSystem();
  return fallback;
}
