/**
 * The default file system, chosen at the entry point: the package entry for
 * Node, Deno and Bun (host/index.ts) registers the posix one; a browser entry
 * registers its own. Logs ask here and never import an adapter, so a log
 * module loads in any environment.
 */
import { type CheckedFileSystem, checkedFs } from './checked.js';
import type { FileSystem } from './types.js';

let factory: (() => FileSystem) | undefined;
let instance: FileSystem | undefined;

/** Set how the default file system is made (the entry point calls this once). */
export function registerDefaultFileSystem(make: () => FileSystem): void {
  factory = make;
  instance = undefined;
}

/** The registered default file system (made on first use). */
export function defaultFileSystem(): FileSystem {
  if (instance !== undefined) return instance;
  if (factory === undefined) throw new TypeError('walcore: no default file system is registered here; pass { fs } explicitly');
  return (instance = factory());
}

/**
 * The file system a log does its I/O through: `given` (or the default),
 * wrapped by checkedFs() so every platform error becomes IO_ERROR with path,
 * errno and operation in one place, and every handle carries its path.
 * Wrapping a view that is already checked is a no-op.
 */
export function logFileSystem(given: FileSystem | undefined): CheckedFileSystem {
  return checkedFs(given ?? defaultFileSystem());
}

