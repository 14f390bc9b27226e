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
  /**
   * Deno's node:fs keeps a descriptor with an async op in flight until the
   * op settles, whatever closeSync() asked (measured: write-behind
   * descriptors stayed open until the next event-loop turn, and the bench's
   * SegmentedWal 64 MiB row fell from 0.71x to 0.40x of WalFsWriter as
   * deleted segments' pages stayed cached). So no write-behind on Deno.
   */
  protected override readonly abandonsSync: boolean = false;
}
export class BunFileSystem extends PosixFileSystem {
  override readonly name: string = 'bun';
}

/** The real file system of the current runtime. */
export function posixFileSystemForRuntime(): FileSystem {
  const rt = detectRuntime();
  return rt === 'deno' ? new DenoFileSystem() : rt === 'bun' ? new BunFileSystem() : new NodeFileSystem();
}
