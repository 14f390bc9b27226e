/**
 * Group commit: many callers awaiting durability share one sync.
 *
 * request() returns a promise that resolves once everything appended before
 * the call is durable. Requests made while a sync is scheduled join it; the
 * sync runs once the current turn of the event loop has finished (so every
 * appender that is ready in this turn gets in), and settles all of them
 * together: resolved if the sync succeeded, rejected with its error if not.
 * The log owning the GroupCommit poisons itself on a failed sync, so a later
 * request fails at once instead of pretending a retry could succeed.
 *
 * With `syncAsync` (an fsync off the JS thread), at most one sync is in
 * flight at a time: requests made meanwhile queue for the next one, which
 * starts (on a later turn) once the in-flight one has settled and covers
 * everything appended by then. Appends keep buffering while it runs.
 * Without it, `syncNow` runs on the JS thread (the synchronous group commit).
 */

const defer: (fn: () => void) => void =
  typeof setImmediate === 'function' ? (fn) => { setImmediate(fn); } : (fn) => { setTimeout(fn, 0); };

/**
 * The requests one sync will settle: they share one promise (a request
 * allocates nothing; with 64 appenders a promise, its two functions and a
 * record per request made the garbage collector's young-generation pauses
 * the longest turns of the loop).
 */
interface Batch { promise: Promise<void>; resolve(): void; reject(e: unknown): void }

function newBatch(): Batch {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<void>((res, rej) => { resolve = res; reject = rej; });
  return { promise, resolve, reject };
}

export class GroupCommit {
  /** The batch the next sync settles (undefined: no request waits for one). */
  #waiting: Batch | undefined;
  #scheduled = false;
  #syncs = 0;
  #requests = 0;
  /** Settles (never rejects) once the async sync in flight and its batch have settled; tells whether it failed. */
  #inFlight: Promise<{ failed: boolean; error?: unknown }> | undefined;

  /**
   * `syncNow` makes every append so far durable, or throws. `syncAsync`
   * (optional) does the same off the JS thread: it resolves once every
   * append made before its call is durable, or rejects.
   */
  constructor(private readonly syncNow: () => void, private readonly syncAsync?: () => Promise<void>) {}

  request(): Promise<void> {
    this.#requests++;
    const batch = this.#waiting ??= newBatch();
    this.schedule();
    return batch.promise;
  }

  private schedule(): void {
    if (this.#scheduled || this.#inFlight !== undefined) return;
    this.#scheduled = true;
    defer(() => this.run());
  }

  private run(): void {
    this.#scheduled = false;
    if (this.#inFlight !== undefined || this.#waiting === undefined) return;
    if (this.syncAsync === undefined) {
      this.runSync();
      return;
    }
    const batch = this.#waiting;
    this.#waiting = undefined;
    this.#syncs++;
    let p: Promise<void>;
    try {
      p = this.syncAsync();
    } catch (e) {
      p = Promise.reject(e);
    }
    this.#inFlight = p.then(
      () => this.finish(batch, { failed: false }),
      (error: unknown) => this.finish(batch, { failed: true, error }),
    );
  }

  /**
   * The async sync in flight completed: it is no longer in flight *before*
   * its waiters resume, so a caller that awaited syncAsync() and then closes
   * releases the lock at once (a reopen right after is not LOCKED). Appenders
   * that queue again from their continuations wait for the next sync, which
   * is scheduled for a later turn.
   */
  private finish(batch: Batch, outcome: { failed: boolean; error?: unknown }): { failed: boolean; error?: unknown } {
    this.#inFlight = undefined;
    settle(batch, outcome);
    if (this.#waiting !== undefined) this.schedule();
    return outcome;
  }

  /** Sync on the JS thread for every waiting request. */
  private runSync(): void {
    const batch = this.#waiting;
    this.#waiting = undefined;
    if (batch === undefined) return;
    this.#syncs++;
    let failure: unknown;
    let failed = false;
    try {
      this.syncNow();
    } catch (e) {
      failed = true;
      failure = e;
    }
    const inFlight = this.#inFlight;
    if (failed || inFlight === undefined) {
      settle(batch, { failed, error: failure });
      return;
    }
    // An async fsync is in flight (close() with one running): its failure would
    // put this sync's success in doubt too (Linux reports a writeback error to
    // only one of concurrent fsyncs), so settle with its outcome.
    void inFlight.then((o) => settle(batch, o));
  }

  /**
   * Run a pending sync now (synchronously, on the JS thread), if any request
   * waits. A log calls this first in close(), while it can still sync, so a
   * syncAsync() made just before close() resolves (its data is durable)
   * instead of failing with CLOSED. A batch whose async sync is in flight is
   * not touched: it settles when that sync completes (see inFlight); and
   * while one is in flight, the requests synced here settle only once it has
   * completed, rejected with its error if it failed.
   */
  flushPending(): void {
    this.runSync();
  }

  /**
   * While an async sync is in flight: a promise that settles (never
   * rejects) after it completed and its batch was settled. A log must not
   * close the handle being synced before then.
   */
  get inFlight(): Promise<unknown> | undefined {
    return this.#inFlight;
  }

  /** How many syncs ran and how many requests they served (for tuning and tests). */
  get stats(): { syncs: number; requests: number } {
    return { syncs: this.#syncs, requests: this.#requests };
  }
}

function settle(batch: Batch, outcome: { failed: boolean; error?: unknown }): void {
  if (outcome.failed) batch.reject(outcome.error);
  else batch.resolve();
}
