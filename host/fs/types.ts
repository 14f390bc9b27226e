/**
 * The portable file layer. Every log does all of its I/O through these two
 * interfaces, so the same log code runs on Node, Deno, Bun and the in-memory
 * crash simulator. All calls are synchronous: they are the real system calls
 * (pread, pwrite, fdatasync, ...) on every runtime, and a synchronous call
 * makes "what is durable when this returns" easy to state. The one
 * exception is the optional FileHandle.syncAsync(), the group commit's
 * fdatasync off the JS thread.
 *
 * Failure contract shared by every method: a failure throws an Error whose
 * `code` is the platform's errno name (ENOENT, EEXIST, EIO, ENOSPC, ...).
 * Logs wrap these as WalError('IO_ERROR') with the original as `cause`.
 */

/** How to open a file. Unknown keys are rejected by the adapters. */
export interface OpenFlags {
  /** Open for writing as well as reading. Default false (read-only). */
  write?: boolean;
  /** Create the file if it does not exist. Requires write. */
  create?: boolean;
  /** With create: fail with EEXIST if the file already exists. */
  exclusive?: boolean;
}

export interface FileStat {
  size: number;
  isDirectory: boolean;
}

/** An open file. Positions are byte offsets; no call moves a file pointer. */
export interface FileHandle {
  /** The path it was opened with. */
  readonly path: string;
  /**
   * Read up to `buf.length` bytes at `position` into `buf`. Returns the count
   * read: fewer than asked only at end of file (a short read is never an
   * error; 0 means `position` is at or past the end).
   */
  read(buf: Uint8Array, position: number): number;
  /**
   * Write all of `buf` at `position` (pwrite), extending the file if needed
   * (a gap reads as zeros). Either every byte is handed to the OS or it
   * throws; after a throw, any prefix of `buf` may have been written.
   * Written bytes are not durable until sync() returns.
   */
  write(buf: Uint8Array, position: number): void;
  /** Set the file's size; shrinking discards the tail, growing adds zeros. Not durable until sync(). */
  truncate(size: number): void;
  /** Current size in bytes, including writes not yet synced. */
  size(): number;
  /**
   * Make every write and truncate so far durable (fdatasync: data and the
   * size, not timestamps). If it throws, the state of unsynced data is
   * unknown (the kernel may have dropped it): callers must treat the file
   * as poisoned and never retry a failed sync as if it could succeed.
   */
  sync(): void;
  /**
   * Optional: sync() off the JS thread (fdatasync in the runtime's thread
   * pool). Resolves when every write and truncate made before the call is
   * durable; writes made after the call may or may not be covered (callers
   * must assume not). A rejection leaves unsynced data in an unknown state,
   * exactly like a sync() that throws: treat the file as poisoned. Calls
   * may overlap a sync() or another syncAsync(). close() while one is
   * pending makes the handle unusable at once but releases the descriptor
   * only once the sync completes (its promise still settles), so the
   * descriptor is never closed or reused under an fdatasync in flight.
   * A FileSystem without it is synchronous only; logs then fall back to sync().
   */
  syncAsync?(): Promise<void>;
  /**
   * Release the handle. Idempotent. Does not sync (see syncAsync() for a
   * sync in flight). With `abandonSync`, a syncAsync() in flight does not
   * keep the descriptor: it is released now, and that sync's promise may
   * then reject (EBADF) or, if the descriptor number is reused meanwhile,
   * sync another file; only for a handle whose syncs are advisory (the
   * logs' write-behind). An implementation with nothing to release later
   * may ignore it.
   */
  close(abandonSync?: boolean): void;
  /**
   * Optional: true when close(true) really releases the descriptor at once
   * with a syncAsync() in flight. The logs write behind (docs/wal-log.md)
   * only on such handles: a descriptor kept until its sync settles, which a
   * synchronous program sees only at its next event-loop turn, keeps a
   * deleted segment's cached pages too. Deno's node:fs keeps it (its
   * resource table), so Deno's adapter says false.
   */
  readonly abandonsSync?: boolean;
}

/** An exclusive lock on a log, held until released or the process dies. */
export interface FileLock {
  /** The lock itself: for the real file systems, the real path of the lock file (symlinks resolved). */
  readonly path: string;
  /** Release the lock. Idempotent. */
  release(): void;
}

export interface FileSystem {
  /** A short name for messages and tests: 'node', 'deno', 'bun', 'memory', 'opfs'. */
  readonly name: string;
  /** Open a file (see OpenFlags). Throws ENOENT when it does not exist and create is not set. */
  open(path: string, flags?: OpenFlags): FileHandle;
  /** Size and type, or undefined when nothing exists at `path`. */
  stat(path: string): FileStat | undefined;
  /**
   * Atomically replace `to` with `from` (rename(2)). The new name is not
   * durable until syncDir() of the directory returns.
   */
  rename(from: string, to: string): void;
  /** Delete a file. Throws ENOENT if absent. Not durable until syncDir(). */
  remove(path: string): void;
  /** Names (not paths) of the entries in a directory, sorted. Throws ENOENT if absent. */
  list(dir: string): string[];
  /** Create a directory and any missing parents; no error if it exists. Not durable until syncDir() of each parent. */
  mkdir(path: string): void;
  /**
   * Make the directory's entries durable (fsync on the directory): files
   * created, renamed or removed in it survive a crash once this returns.
   * On platforms that cannot sync a directory (Windows) this is a no-op,
   * documented in README.md "Durability per platform".
   */
  syncDir(path: string): void;
  /**
   * Take the exclusive writer lock for the log at `path`: the log's own
   * path, a file (which need not exist yet) or a directory. The lock
   * belongs to the log, not to the name: every name that reaches the same
   * file or directory (a symlink, `dir/.`, a trailing slash, relative or
   * absolute) finds the same lock. A file with several hard links cannot be
   * covered by one lock and is refused with LOCKED. Throws WalError('LOCKED')
   * when another writer, in this process or another, holds it. A lock whose
   * holder is provably dead is taken over (lock-file.ts says when).
   */
  lock(path: string): FileLock;
}
