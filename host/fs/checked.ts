/**
 * A checked, path-carrying view of a FileSystem, so a log needs no
 * try/catch of its own around each file call. Contract:
 *
 * - Every method does what the wrapped FileSystem / FileHandle method does
 *   and returns the same result. syncAsync() exists exactly when the wrapped
 *   handle has it; its rejection is checked like sync()'s (op 'sync').
 * - A failure that is a WalError (e.g. LOCKED from lock()) or a TypeError /
 *   RangeError (misuse, e.g. unknown open flags) is rethrown unchanged.
 * - Any other failure becomes WalError('IO_ERROR') whose `path` is the file
 *   or directory concerned, `errno` the platform code (EIO, ENOSPC, ...),
 *   `op` the operation ('open', 'read', 'write', 'truncate', 'size', 'sync',
 *   'close', 'stat', 'rename', 'remove', 'list', 'mkdir', 'syncDir',
 *   'lock'), `cause` the original error, and for read, write and truncate
 *   `offset` the position (truncate: the size asked for).
 *
 * No allocation on the success path: the handle is a class holding the path
 * and the inner handle, and each method is one try/catch around one call.
 */
import { WalError } from '../errors.js';
import type { FileHandle, FileLock, FileStat, FileSystem, OpenFlags } from './types.js';

export type CheckedOp = 'open' | 'read' | 'write' | 'truncate' | 'size' | 'sync' | 'close' | 'stat' | 'rename' | 'remove'
  | 'list' | 'mkdir' | 'syncDir' | 'lock';

/** The IO_ERROR a checked call throws: a WalError that also names the operation. */
export interface CheckedIoError extends WalError {
  readonly op: CheckedOp;
}

/** A FileHandle whose failures are WalErrors (see the file comment). */
export interface CheckedFile extends FileHandle {
  /** The unchecked handle underneath. */
  readonly raw: FileHandle;
}

/** A FileSystem whose failures are WalErrors and whose open() returns a CheckedFile. */
export interface CheckedFileSystem extends FileSystem {
  /** The unchecked file system underneath. */
  readonly raw: FileSystem;
  open(path: string, flags?: OpenFlags): CheckedFile;
}

/** The error a checked call throws for `cause` (see the file comment). */
export function checkedError(op: CheckedOp, path: string, cause: unknown, offset?: number, to?: string): unknown {
  if (cause instanceof WalError || cause instanceof TypeError || cause instanceof RangeError) return cause;
  const errno = (cause as { code?: unknown } | null)?.code;
  const at = offset === undefined ? '' : ` at offset ${offset}`;
  const e = new WalError('IO_ERROR', `${op} failed for ${path}${to === undefined ? '' : ` -> ${to}`}${at}${typeof errno === 'string' ? `: ${errno}` : ''}`, { path, offset, cause });
  Object.defineProperty(e, 'op', { value: op, enumerable: true });
  return e;
}

class CheckedHandle implements CheckedFile {
  /** Present when the raw handle has it; its failures are IO_ERROR with op 'sync'. */
  readonly syncAsync?: () => Promise<void>;
  constructor(readonly raw: FileHandle, readonly path: string) {
    if (typeof raw.syncAsync === 'function') {
      this.syncAsync = () => {
        let p: Promise<void>;
        try { p = raw.syncAsync!(); } catch (e) { return Promise.reject(checkedError('sync', path, e)); }
        return p.then(undefined, (e: unknown) => { throw checkedError('sync', path, e); });
      };
    }
  }
  read(buf: Uint8Array, position: number): number {
    try { return this.raw.read(buf, position); } catch (e) { throw checkedError('read', this.path, e, position); }
  }
  write(buf: Uint8Array, position: number): void {
    try { this.raw.write(buf, position); } catch (e) { throw checkedError('write', this.path, e, position); }
  }
  truncate(size: number): void {
    try { this.raw.truncate(size); } catch (e) { throw checkedError('truncate', this.path, e, size); }
  }
  size(): number {
    try { return this.raw.size(); } catch (e) { throw checkedError('size', this.path, e); }
  }
  sync(): void {
    try { this.raw.sync(); } catch (e) { throw checkedError('sync', this.path, e); }
  }
  get abandonsSync(): boolean | undefined {
    return this.raw.abandonsSync;
  }
  close(abandonSync?: boolean): void {
    try { this.raw.close(abandonSync); } catch (e) { throw checkedError('close', this.path, e); }
  }
}

class Checked implements CheckedFileSystem {
  constructor(readonly raw: FileSystem) {}
  get name(): string {
    return this.raw.name;
  }
  open(path: string, flags?: OpenFlags): CheckedFile {
    let h: FileHandle;
    try { h = this.raw.open(path, flags); } catch (e) { throw checkedError('open', path, e); }
    return new CheckedHandle(h, path);
  }
  stat(path: string): FileStat | undefined {
    try { return this.raw.stat(path); } catch (e) { throw checkedError('stat', path, e); }
  }
  rename(from: string, to: string): void {
    try { this.raw.rename(from, to); } catch (e) { throw checkedError('rename', from, e, undefined, to); }
  }
  remove(path: string): void {
    try { this.raw.remove(path); } catch (e) { throw checkedError('remove', path, e); }
  }
  list(dir: string): string[] {
    try { return this.raw.list(dir); } catch (e) { throw checkedError('list', dir, e); }
  }
  mkdir(path: string): void {
    try { this.raw.mkdir(path); } catch (e) { throw checkedError('mkdir', path, e); }
  }
  syncDir(path: string): void {
    try { this.raw.syncDir(path); } catch (e) { throw checkedError('syncDir', path, e); }
  }
  lock(path: string): FileLock {
    try { return this.raw.lock(path); } catch (e) { throw checkedError('lock', path, e); }
  }
}

/** The checked view of `fs` (a checked file system is returned as is). */
export function checkedFs(fs: FileSystem): CheckedFileSystem {
  return fs instanceof Checked ? fs : new Checked(fs);
}
