/**
 * EtcdFollower: keeps an AppendLogSnapshot equal to the keys under a prefix
 * of a real etcd (docs/kv-snapshot.md "Following etcd"). No runtime
 * dependency: it takes the caller's client, duck-typed on the npm `etcd3`
 * client (watch builder + getAll range builder).
 *
 * - Resumes from the store's cursor: the 8-byte big-endian etcd revision of
 *   the last applied event; the watch starts at cursor + 1.
 * - Each watch response is applied as ONE atomic batch whose cursor is the
 *   mod revision of its LAST EVENT (never the response header's revision:
 *   while catching up the header is the store's current revision, ahead of
 *   the events the response carries). etcd never splits one revision's
 *   events over two responses, so a batch always ends on a whole revision.
 * - Version bytes = the key's mod revision, 8 bytes big-endian.
 * - After any disconnect or cancel the watch itself is cancelled and
 *   re-created from the store's cursor (the etcd3 client's own resume
 *   restarts from the last header revision and can skip events).
 * - Compaction (the watch is cancelled: "compacted" / `Watcher canceled: `):
 *   a consistent range (every key under the prefix at one revision R, read
 *   in pages pinned to R) is folded in one batch (puts for present keys,
 *   deletes for keys the store has that etcd no longer has) with cursor R,
 *   then the watch resumes at R + 1. An empty store starts the same way.
 */
import type { AppendLogSnapshot } from './append-log-snapshot.js';
import type { KvUpdate } from './types.js';
import { WatchCursor } from './watch-cursor.js';

/** The part of an etcd3 KeyValue the follower reads. */
export interface EtcdKeyValueLike {
  key: Uint8Array;
  value: Uint8Array;
  mod_revision: string | number;
}
/** The part of an etcd3 IWatchResponse the follower reads. */
export interface EtcdWatchResponseLike {
  header?: { revision?: string | number };
  events: { type: string; kv: EtcdKeyValueLike }[];
}
/** An etcd3 Watcher (an EventEmitter). */
export interface EtcdWatcherLike {
  on(event: 'data', fn: (res: EtcdWatchResponseLike) => void): unknown;
  on(event: 'disconnected' | 'error', fn: (err: unknown) => void): unknown;
  on(event: 'end', fn: () => void): unknown;
  cancel(): Promise<void>;
}
/** An etcd3 WatchBuilder. */
export interface EtcdWatchBuilderLike {
  prefix(prefix: string): EtcdWatchBuilderLike;
  startRevision(revision: string): EtcdWatchBuilderLike;
  create(): Promise<EtcdWatcherLike>;
}
/** An etcd3 MultiRangeBuilder. */
export interface EtcdRangeBuilderLike {
  /** Called with `{ start: string, end: Uint8Array }` (etcd3 types the bytes as a Node Buffer, hence `any`). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  inRange(r: any): EtcdRangeBuilderLike;
  revision(rev: string): EtcdRangeBuilderLike;
  limit(n: number): EtcdRangeBuilderLike;
  sort(target: 'Key', order: 'Ascend'): EtcdRangeBuilderLike;
  exec(): Promise<{ header: { revision: string | number }; kvs: EtcdKeyValueLike[]; more: boolean }>;
}
/** The client: `new Etcd3(...)` from the npm `etcd3` package fits. */
export interface EtcdClientLike {
  watch(): EtcdWatchBuilderLike;
  getAll(): EtcdRangeBuilderLike;
}

export interface EtcdFollowerOptions {
  /** Follow the keys starting with this prefix ('' = every key). */
  prefix: string;
  /** fdatasync every batch (apply(..., { sync })). Default true. */
  sync?: boolean;
  /** Keys per page of a resync range read (all pages at one revision). Default 1000. */
  pageSize?: number;
  /** First retry delay after a failure, doubled up to maxRetryMs. Default 100 / 5000 ms. */
  retryMs?: number;
  maxRetryMs?: number;
  /** Called before each batch is applied (awaited: it may throttle). */
  beforeApply?: (info: EtcdApplyInfo) => void | Promise<void>;
  /** Called after each batch is applied. */
  onApply?: (info: EtcdApplyInfo) => void;
  /** Called on every disconnect, cancel or failed step (the follower retries by itself). */
  onError?: (err: unknown, what: 'disconnected' | 'canceled' | 'compacted' | 'resync' | 'watch' | 'apply') => void;
}

export interface EtcdApplyInfo {
  /** 'watch' for a watch response, 'resync' for a rebuild from a consistent range. */
  kind: 'watch' | 'resync';
  /** The batch's cursor revision. */
  revision: bigint;
  /** Updates in the batch. */
  updates: number;
}

export interface EtcdFollowerStats {
  batches: number;
  events: number;
  resyncs: number;
  watchesCreated: number;
  disconnects: number;
}

const DEC = new TextDecoder('utf-8', { fatal: true });
const ENC = new TextEncoder();

const revisionBytes = (rev: bigint) => WatchCursor.fromRevision(rev).bytes;
const isCompaction = (err: unknown) => {
  const msg = String((err as { message?: unknown })?.message ?? err);
  return /compact/i.test(msg) || /Watcher canceled:\s*$/.test(msg);
};

/** The exclusive end of the etcd key range of `prefix` (etcd's prefix rule; '' = every key). */
function prefixEnd(prefix: string): Uint8Array {
  const b = ENC.encode(prefix);
  for (let i = b.length - 1; i >= 0; i--) {
    if (b[i]! < 0xff) {
      const end = b.slice(0, i + 1);
      end[i]!++;
      return end;
    }
  }
  return new Uint8Array([0]);
}

/**
 * Follow `prefix` of the etcd that `client` talks to into `store`. Returns at
 * once; the follower runs until close(). `store` must be used by nobody else.
 */
export class EtcdFollower {
  readonly #client: EtcdClientLike;
  readonly #store: AppendLogSnapshot;
  readonly #prefix: string;
  readonly #sync: boolean;
  readonly #pageSize: number;
  readonly #retryMs: number;
  readonly #maxRetryMs: number;
  readonly #opts: EtcdFollowerOptions;
  #gen = 0;
  #watcher: EtcdWatcherLike | undefined;
  #queue: { gen: number; res: EtcdWatchResponseLike }[] = [];
  #pumping: Promise<void> | undefined;
  #restarting = false;
  #needResync = false;
  #closed = false;
  #backoff: number;
  #wake: (() => void) | undefined;
  readonly stats: EtcdFollowerStats = { batches: 0, events: 0, resyncs: 0, watchesCreated: 0, disconnects: 0 };

  private constructor(client: EtcdClientLike, store: AppendLogSnapshot, opts: EtcdFollowerOptions) {
    if (typeof opts?.prefix !== 'string') throw new TypeError('EtcdFollower: options.prefix must be a string');
    this.#client = client;
    this.#store = store;
    this.#prefix = opts.prefix;
    this.#sync = opts.sync ?? true;
    this.#pageSize = opts.pageSize ?? 1000;
    this.#retryMs = opts.retryMs ?? 100;
    this.#maxRetryMs = opts.maxRetryMs ?? 5000;
    this.#backoff = this.#retryMs;
    this.#opts = opts;
  }

  /** Start following. */
  static start(client: EtcdClientLike, store: AppendLogSnapshot, options: EtcdFollowerOptions): EtcdFollower {
    const f = new EtcdFollower(client, store, options);
    void f.#restart('start', false);
    return f;
  }

  /** The store's cursor as an etcd revision (0n before anything was applied). */
  get revision(): bigint {
    const c = this.#store.cursor();
    return c.isNone ? 0n : c.toRevision();
  }

  /** Stop: cancel the watch and wait for the batch in progress. The store stays open (the caller closes it). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#gen++;
    this.#queue = [];
    this.#wake?.();
    const w = this.#watcher;
    this.#watcher = undefined;
    if (w) await w.cancel().catch(() => {});
    await this.#pumping;
  }

  #error(err: unknown, what: Parameters<NonNullable<EtcdFollowerOptions['onError']>>[1]) {
    try {
      this.#opts.onError?.(err, what);
    } catch { /* the callback's own failure must not stop the follower */ }
  }

  /** Drop the current watch (and its queued responses) and build a new one from the store's cursor. */
  async #restart(why: string, withDelay: boolean, resync = false, oldIsDead = false): Promise<void> {
    this.#gen++;
    this.#queue = [];
    if (resync || this.#store.cursor().isNone) this.#needResync = true;
    const old = this.#watcher;
    this.#watcher = undefined;
    // A watch etcd cancelled is gone from the client already; cancelling it again would send a
    // cancel request with its watch id, which etcd may have handed to the next watch by then.
    if (old && !oldIsDead) void old.cancel().catch(() => {});
    if (this.#restarting) return; // the running loop sees the new generation
    this.#restarting = true;
    try {
      let delay = withDelay;
      for (;;) {
        if (this.#closed) return;
        await this.#pumping; // the batch in progress lands (or is dropped) first
        if (delay) await this.#sleep(this.#backoff), (this.#backoff = Math.min(this.#backoff * 2, this.#maxRetryMs));
        delay = true;
        if (this.#closed) return;
        const myGen = this.#gen;
        try {
          if (this.#needResync) {
            await this.#resync();
            this.#needResync = false;
          }
          if (this.#closed || myGen !== this.#gen) continue;
          await this.#watch(myGen);
          if (myGen === this.#gen) return;
        } catch (e) {
          this.#error(e, this.#needResync ? 'resync' : 'watch');
          if (isCompaction(e)) this.#needResync = true;
        }
      }
    } finally {
      this.#restarting = false;
      void why;
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => { this.#wake = undefined; resolve(); }, ms);
      this.#wake = () => { clearTimeout(t); this.#wake = undefined; resolve(); };
    });
  }

  async #watch(gen: number): Promise<void> {
    const start = this.revision + 1n;
    const watcher = await this.#client.watch().prefix(this.#prefix).startRevision(start.toString()).create();
    this.stats.watchesCreated++;
    if (gen !== this.#gen || this.#closed) {
      void watcher.cancel().catch(() => {});
      return;
    }
    this.#watcher = watcher;
    watcher.on('data', (res) => {
      if (gen !== this.#gen) return;
      this.#queue.push({ gen, res });
      this.#pump();
    });
    watcher.on('disconnected', (err) => {
      if (gen !== this.#gen) return;
      this.stats.disconnects++;
      this.#error(err, 'disconnected');
      void this.#restart('disconnected', true);
    });
    watcher.on('error', (err) => {
      if (gen !== this.#gen) return;
      const compacted = isCompaction(err);
      this.#error(err, compacted ? 'compacted' : 'canceled');
      void this.#restart(compacted ? 'compacted' : 'canceled', !compacted, compacted, true);
    });
    watcher.on('end', () => {
      if (gen !== this.#gen || this.#closed) return;
      void this.#restart('end', true, false, true);
    });
  }

  #pump(): void {
    if (this.#pumping) return;
    let done!: () => void;
    this.#pumping = new Promise<void>((resolve) => { done = resolve; });
    void (async () => {
      try {
        while (this.#queue.length > 0) {
          const { gen, res } = this.#queue.shift()!;
          if (gen !== this.#gen) continue;
          const base = this.revision;
          const batch: KvUpdate[] = [];
          let last = 0n;
          try {
          for (const ev of res.events ?? []) {
            const rev = BigInt(ev.kv.mod_revision);
            if (rev <= base) continue; // already applied (defensive: a new watch starts after the cursor)
            const key = DEC.decode(ev.kv.key);
            const version = revisionBytes(rev);
            if (ev.type === 'Delete' || ev.type === 'DELETE') batch.push({ type: 'delete', key, version });
            else batch.push({ type: 'put', key, value: new Uint8Array(ev.kv.value ?? new Uint8Array(0)), version });
            last = rev;
          }
          } catch (e) {
            // a key that is not UTF-8: nothing of this response is applied; retried from the cursor
            this.#error(e, 'apply');
            void this.#restart('decode', true);
            continue;
          }
          if (batch.length === 0) continue; // progress notification or nothing new: the header revision is never a cursor
          const info: EtcdApplyInfo = { kind: 'watch', revision: last, updates: batch.length };
          if (this.#opts.beforeApply) await this.#opts.beforeApply(info);
          if (gen !== this.#gen) continue; // the watch was dropped meanwhile: its successor starts from the cursor
          try {
            this.#store.apply(batch, WatchCursor.fromRevision(last), { sync: this.#sync });
          } catch (e) {
            this.#error(e, 'apply');
            void this.#restart('apply', true);
            continue;
          }
          this.#backoff = this.#retryMs;
          this.stats.batches++;
          this.stats.events += batch.length;
          this.#opts.onApply?.(info);
        }
      } finally {
        // (the loop may finish synchronously: #pumping is set before it starts, cleared here)
        this.#pumping = undefined;
        done();
      }
    })();
  }

  /** Rebuild the fold from a consistent range read (every page at one revision R); cursor = R. */
  async #resync(): Promise<void> {
    const end = prefixEnd(this.#prefix);
    const live = new Map<string, EtcdKeyValueLike>();
    let revision: string | undefined;
    let start: string = this.#prefix;
    for (;;) {
      let q = this.#client.getAll().inRange({ start, end }).sort('Key', 'Ascend').limit(this.#pageSize);
      if (revision !== undefined) q = q.revision(revision);
      const res = await q.exec();
      if (revision === undefined) revision = String(res.header.revision);
      for (const kv of res.kvs) live.set(DEC.decode(kv.key), kv);
      if (!res.more || res.kvs.length === 0) break;
      start = `${DEC.decode(res.kvs[res.kvs.length - 1]!.key)}\u0000`;
    }
    const rev = BigInt(revision);
    const batch: KvUpdate[] = [];
    for (const e of this.#store.records(this.#prefix)) if (!live.has(e.key)) batch.push({ type: 'delete', key: e.key });
    for (const [key, kv] of live) {
      const version = revisionBytes(BigInt(kv.mod_revision));
      const had = this.#store.get(key);
      if (had && equalBytes(had.version, version) && equalBytes(had.value, kv.value)) continue;
      batch.push({ type: 'put', key, value: new Uint8Array(kv.value), version });
    }
    const info: EtcdApplyInfo = { kind: 'resync', revision: rev, updates: batch.length };
    if (this.#opts.beforeApply) await this.#opts.beforeApply(info);
    if (this.#closed) return;
    // The range revision is at least the cursor (etcd's revision never goes back), so the cursor advances or stays.
    if (rev > this.revision || this.#store.cursor().isNone) {
      this.#store.apply(batch, WatchCursor.fromRevision(rev), { sync: this.#sync });
    } else if (batch.length > 0) {
      throw new Error(`EtcdFollower: etcd is at revision ${rev}, behind the store's ${this.revision}, and differs from it (a different cluster or restored data?)`);
    }
    this.stats.resyncs++;
    this.stats.batches++;
    this.stats.events += batch.length;
    this.#opts.onApply?.(info);
  }
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
