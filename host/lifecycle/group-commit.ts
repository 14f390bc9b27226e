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
 */

const defer: (fn: () => void) => void =
  typeof setImmediate === 'function' ? (fn) => { setImmediate(fn); } : (fn) => { setTimeout(fn, 0); };

interface Waiter { resolve(): void; reject(e: unknown): void }

export class GroupCommit {
  #waiters: Waiter[] = [];
  #scheduled = false;
  #syncs = 0;
  #requests = 0;

  /** `syncNow` makes every append so far durable, or throws. */
  constructor(private readonly syncNow: () => void) {}

  request(): Promise<void> {
    this.#requests++;
    return new Promise<void>((resolve, reject) => {
      this.#waiters.push({ resolve, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        defer(() => this.run());
      }
    });
  }

  private run(): void {
    this.#scheduled = false;
    const batch = this.#waiters;
    this.#waiters = [];
    if (batch.length === 0) return;
    this.#syncs++;
    let failure: unknown;
    let failed = false;
    try {
      this.syncNow();
    } catch (e) {
      failed = true;
      failure = e;
    }
    for (const w of batch) failed ? w.reject(failure) : w.resolve();
  }

  /**
   * Run a pending sync now, if any request waits. A log calls this first in
   * close(), while it can still sync, so a flushAsync() made just before
   * close() resolves (its data is durable) instead of failing with CLOSED.
   */
  flushPending(): void {
    if (this.#waiters.length > 0) this.run();
  }

  /** How many syncs ran and how many requests they served (for tuning and tests). */
  get stats(): { syncs: number; requests: number } {
    return { syncs: this.#syncs, requests: this.#requests };
  }
}
