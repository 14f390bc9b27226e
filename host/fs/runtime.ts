/**
 * One adapter per runtime. They share PosixFileSystem (see posix.ts for why);
 * each names itself so errors and tests say which runtime's file layer was in
 * use. The entry point registers posixFileSystemForRuntime() as the default.
 */
import { detectRuntime } from '../platform/runtime.js';
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

/** The real file system of the current runtime. */
export function posixFileSystemForRuntime(): FileSystem {
  const rt = detectRuntime();
  return rt === 'deno' ? new DenoFileSystem() : rt === 'bun' ? new BunFileSystem() : new NodeFileSystem();
}
