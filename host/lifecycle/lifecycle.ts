/**
 * The lifecycle every log shares, written once so a fix reaches every log:
 *
 * - state: 'open', 'closed' or 'poisoned'. live() throws CLOSED or POISONED
 *   (with the poisoning cause) for any call after close or a fatal failure.
 * - fsyncOrPoison(): a failed fsync poisons. On Linux a failed fsync marks
 *   the dirty pages clean, so the data may be gone while reads still show
 *   it, and a later fsync (even through a new descriptor) succeeds: nothing
 *   written since the last successful sync may be trusted. The log's
 *   rollback (e.g. truncate to the durable end, then fsync) runs first, best
 *   effort, so a reopen does not adopt bytes that never reached the disk.
 * - fsyncOrPoisonAsync(): the same for an fsync off the JS thread.
 * - syncAsync(): group commit; concurrent callers share one sync. Given a
 *   `syncAsync` function the sync runs off the JS thread, one in flight at
 *   a time per log (requests made meanwhile wait for the next one).
 * - close(): settles pending async syncs (they resolve: close syncs their
 *   data), runs the log's final sync, then releases everything, whatever
 *   failed; idempotent. A poisoned log only releases. close() is
 *   synchronous: with an async fsync in flight it still runs its own final
 *   sync at once, the in-flight batch settles with its own fsync's result
 *   (requests close synced settle once it completes too, rejected POISONED
 *   if it failed: a concurrent fsync's success proves nothing then, and the
 *   failure rolls the file back to the durable end before it), and the release (handle and lock) waits until that fsync has completed
 *   (and a failure's rollback has run), so no descriptor is closed under a
 *   pool thread and no other writer opens the file before the rollback.
 * - openLocked(): the lock-and-open prologue: take the writer lock (a lock
 *   error that is not a WalError becomes IO_ERROR), run the open, and on any
 *   failure release everything it acquired, lock included.
 */
import { WalError, ioError } from '../errors.js';
import type { FileLock, FileSystem } from '../fs/types.js';
import { disposeSymbol } from './options.js';
import { GroupCommit } from './group-commit.js';

export type LogState = 'open' | 'closed' | 'poisoned';

export class Lifecycle {
  #state: LogState = 'open';
  #poison: unknown;
  readonly #group: GroupCommit;

  /**
   * `noun` names the log in messages ('writer', 'WAL', 'ring'); `path` is
   * its file or directory; `syncNow` makes everything appended durable;
   * `syncAsync` (optional) does it off the JS thread for the group commit.
   */
  constructor(readonly noun: string, readonly path: string, syncNow: () => void, syncAsync?: () => Promise<void>) {
    this.#group = new GroupCommit(syncNow, syncAsync);
  }

  get state(): LogState {
    return this.#state;
  }

  /** Throw CLOSED or POISONED unless the log is open. */
  live(): void {
    if (this.#state === 'open') return;
    if (this.#state === 'closed') throw new WalError('CLOSED', `${this.path}: ${this.noun} is closed`, { path: this.path });
    throw new WalError('POISONED', `${this.path}: ${this.noun} is poisoned by an earlier failure; reopen it to recover`, { path: this.path, cause: this.#poison });
  }

  /** Poison the log; returns the POISONED error to throw. */
  poison(cause: unknown, what: string, path = this.path): WalError {
    if (this.#state === 'open') {
      this.#state = 'poisoned';
      this.#poison = cause;
    }
    return new WalError('POISONED', `${path}: ${what}; the ${this.noun} is poisoned, reopen it to recover`, { path, cause });
  }

  /**
   * Run `sync`; if it throws, run `rollback` (best effort: its own failure
   * is ignored, the log is poisoned either way) and throw POISONED.
   */
  fsyncOrPoison(sync: () => void, what: string, rollback?: () => void, path = this.path): void {
    try {
      sync();
    } catch (e) {
      if (rollback !== undefined) {
        try { rollback(); } catch { /* poisoned either way */ }
      }
      throw this.poison(e, what, path);
    }
  }

  /**
   * fsyncOrPoison() for an fsync off the JS thread: await `sync`; if it
   * rejects, run `rollback` (best effort) and throw POISONED.
   */
  async fsyncOrPoisonAsync(sync: () => Promise<void>, what: string, rollback?: () => void, path = this.path): Promise<void> {
    try {
      await sync();
    } catch (e) {
      if (rollback !== undefined) {
        try { rollback(); } catch { /* poisoned either way */ }
      }
      throw this.poison(e, what, path);
    }
  }

  /** Group commit: resolves once everything appended before the call is durable. */
  syncAsync(): Promise<void> {
    try {
      this.live();
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#group.request();
  }

  /** Syncs run and async requests served (for tuning and tests). */
  get groupCommitStats(): { syncs: number; requests: number } {
    return this.#group.stats;
  }

  /**
   * Close: settle pending async syncs, then `finish` (the final sync; only
   * when open), then `release` (always, even when finish threw; it must not
   * throw). Idempotent: a second close does nothing. With an async fsync
   * in flight, `release` runs once it has completed (see the file comment).
   */
  close(finish: () => void, release: () => void): void {
    if (this.#state === 'closed') return;
    try {
      if (this.#state === 'open') {
        this.#group.flushPending();
        if (this.#state === 'open') finish();
      }
    } finally {
      this.#state = 'closed';
      const inFlight = this.#group.inFlight;
      if (inFlight === undefined) release();
      else void inFlight.then(() => { try { release(); } catch { /* release must not throw */ } });
    }
  }
}

/** Things an open acquired, released in reverse order if the open fails. */
export class Acquired {
  readonly #undo: Array<() => void> = [];
  /** Register `release` (best effort: its errors are ignored). Returns `value`. */
  add<T>(value: T, release: (v: T) => void): T {
    this.#undo.push(() => release(value));
    return value;
  }
  /** Release everything registered, newest first. */
  releaseAll(): void {
    for (const undo of this.#undo.splice(0).reverse()) {
      try { undo(); } catch { /* reporting the first error */ }
    }
  }
  /** Forget everything registered: the open succeeded and the log owns it all now. */
  keep(): void {
    this.#undo.length = 0;
  }
}

/**
 * The lock-and-open prologue every log uses: take the writer lock for
 * `lockPath`, then run `open`. A lock failure is LOCKED or IO_ERROR. If
 * `open` throws, everything registered on `acquired` (handles...) and the
 * lock are released before the error propagates, so a failed open leaves
 * nothing behind.
 */
export function openLocked<T>(fs: FileSystem, lockPath: string, open: (lock: FileLock, acquired: Acquired) => T): T {
  let lock: FileLock;
  try {
    lock = fs.lock(lockPath);
  } catch (e) {
    throw ioError('lock', lockPath, e);
  }
  const acquired = new Acquired();
  acquired.add(lock, (l) => l.release());
  try {
    const log = open(lock, acquired);
    acquired.keep();
    return log;
  } catch (e) {
    acquired.releaseAll();
    throw e;
  }
}

/** Close a handle or lock, ignoring errors (on paths that already report a failure, or have nothing to lose). */
export function quietly(release: () => void): void {
  try { release(); } catch { /* nothing more to report */ }
}

export { disposeSymbol };
