/**
 * AppendLogSnapshot: a SnapshotStore on one append-only CRC-framed file
 * (docs/FORMAT.md §12, docs/kv-snapshot.md). The whole fold lives in RAM
 * (kv-index.ts: a hash table and record arena in WebAssembly memory); the file
 * is its durable history.
 *
 * - open() takes the writer lock, creates the file crash-safely or replays
 *   it (store-open.ts), recovers the tail on the shared path (recoverTail:
 *   a torn tail is cut, a batch whose last frame is missing is cut as a
 *   whole, damage to synced data is CORRUPTED), settles it (FrameFile.settle:
 *   nothing left unsynced, fsyncgate-safe) and compacts if the file exceeds
 *   the live data by more than compactThreshold.
 * - apply(batch, cursor) writes the batch and its cursor as one frame (or a
 *   group of frames flagged KV_FLAG_MORE but the last), in one write, then
 *   updates the fold. A failed write is rolled back and nothing is applied.
 *   Durable only after sync()/syncAsync() or { sync: true }; syncAsync()'s
 *   fdatasync runs off the JS thread (FrameFile.syncAsync, group commit).
 * - Compaction writes the fold to a temp file, fsyncs, renames it over the
 *   log and fsyncs the directory (host/lifecycle/atomic-file.ts): a crash at
 *   any point leaves the old file or the new one, each complete.
 */
import { FrameFile, recoverTail } from '../../codec/frame-file.js';
import { Core } from '../../core/core.js';
import { WalError } from '../../errors.js';
import type { FileHandle, FileLock, FileSystem } from '../../fs/types.js';
import { publishFile } from '../../lifecycle/atomic-file.js';
import { type Acquired, Lifecycle, type LogState, openLocked, quietly } from '../../lifecycle/lifecycle.js';
import { boolOption, checkOptions, disposeSymbol, pathArg } from '../../lifecycle/options.js';
import { dirname } from '../../platform/path.js';
import { randomU32 } from '../../platform/random.js';
import { exportFold, importArtifact } from './artifact.js';
import { checkKey, encodeBatch, prefixArg } from './kv-encode.js';
import type { KvIndex } from './kv-index.js';
import { writeFold } from './kv-file.js';
import { type LoadedFile, type Settings, loadStoreFile, openStoreFile, settings } from './store-open.js';
import type {
  AppendLogSnapshotOptions, ExportManifest, KvApplyOptions, KvEntry, KvOpenReport, KvUpdate, OpenedSnapshot, SnapshotStore,
} from './types.js';
import { WatchCursor } from './watch-cursor.js';

export class AppendLogSnapshot implements SnapshotStore {
  readonly path: string;
  /** What open() found and did. */
  readonly openReport: KvOpenReport;
  readonly #core: Core;
  readonly #fs: FileSystem;
  readonly #lock: FileLock;
  readonly #life: Lifecycle;
  readonly #fold: KvIndex;
  readonly #settings: Settings;
  #file!: FrameFile;
  #cursor: WatchCursor;
  #durableCursor: WatchCursor;
  /** Sequence of the last frame written. */
  #seq: number;
  #generation: number;
  #compactions = 0;
  /** An async fsync is in flight on the current file: compaction waits (it would swap the file under it). */
  #syncing = false;

  private constructor(path: string, core: Core, fs: FileSystem, lock: FileLock, fold: KvIndex, s: Settings,
    cursor: WatchCursor, seq: number, generation: number, report: KvOpenReport) {
    this.path = path;
    this.#core = core;
    this.#fs = fs;
    this.#lock = lock;
    this.#fold = fold;
    this.#settings = s;
    this.#cursor = this.#durableCursor = cursor;
    this.#seq = seq;
    this.#generation = generation;
    this.openReport = report;
    this.#life = new Lifecycle('snapshot store', path, () => this.sync(), () => this.syncOffThread());
  }

  /**
   * Open (creating if missing) the store at `path`, replaying the log into
   * the in-RAM fold. Returns the resume cursor beside the store.
   */
  static open(path: string, options: AppendLogSnapshotOptions = {}): OpenedSnapshot<AppendLogSnapshot> {
    const where = 'AppendLogSnapshot.open';
    pathArg(where, path);
    const s = settings(where, options);
    const store = openLocked(s.fs, path, (lock, acquired) => AppendLogSnapshot.openHeld(path, s, lock, acquired));
    return { cursor: store.cursor(), store };
  }

  /** open() with the default options. */
  static load(path: string): OpenedSnapshot<AppendLogSnapshot> {
    return AppendLogSnapshot.open(path);
  }

  /**
   * Import an artifact written by exportTo() as a new store at `destPath`
   * (a file path that must not exist). Everything is verified in a staged
   * copy (manifest schema, backend, generation, every file's size and
   * SHA-256, no undeclared files, symlinks or paths outside data/), which is
   * loaded and whose cursor must equal the manifest's, before one atomic
   * rename publishes it. A bad artifact is BAD_ARTIFACT and leaves nothing.
   */
  static import(artifactDir: string, destPath: string, options: AppendLogSnapshotOptions = {}): OpenedSnapshot<AppendLogSnapshot> {
    const where = 'AppendLogSnapshot.import';
    pathArg(where, artifactDir);
    pathArg(where, destPath);
    const s = settings(where, options);
    const store = openLocked(s.fs, destPath, (lock, acquired) => {
      const core = new Core();
      return AppendLogSnapshot.fromLoaded(destPath, s, lock, core, importArtifact(core, s.fs, artifactDir, destPath, acquired));
    });
    return { cursor: store.cursor(), store };
  }

  private static openHeld(path: string, s: Settings, lock: FileLock, acquired: Acquired): AppendLogSnapshot {
    const core = new Core();
    const { h, created } = openStoreFile(core, s.fs, path, acquired);
    return AppendLogSnapshot.fromLoaded(path, s, lock, core, loadStoreFile(core, h, path, created));
  }

  /** Cut the tail as recovery rules say, settle the file, compact if over the threshold. */
  private static fromLoaded(path: string, s: Settings, lock: FileLock, core: Core, f: LoadedFile): AppendLogSnapshot {
    const r = f.replayed;
    // A batch whose last frame is missing was written in one write after the last sync (never acknowledged): cut whole.
    const unfinished = r.pendingStart >= 0 ? { start: r.pendingStart, reason: 'incomplete-payload' } : undefined;
    const tail = recoverTail(core, f.h, path, r.scanner, f.size, s.repair, unfinished);
    const report: KvOpenReport = { truncatedBytes: tail.truncatedBytes, truncatedReason: tail.truncatedReason, batches: r.batches, compacted: false };
    const store = new AppendLogSnapshot(path, core, s.fs, lock, f.fold, s, WatchCursor.from(r.cursor), r.seq, f.generation, report);
    const file = new FrameFile(core, f.h, path, f.salt, tail.end, tail.fileSize, store.#life);
    // The shared open path: rewrite what may be only in the page cache, fsync, marker, fsync (fsyncgate-safe).
    file.settle(tail.endsWithFrame && !f.created, 0, tail.knownDurable);
    store.#file = file;
    if (store.overThreshold()) {
      store.compact();
      report.compacted = true;
    }
    return store;
  }

  /** Whether the store is open, closed, or poisoned by an earlier failure. */
  get state(): LogState {
    return this.#life.state;
  }

  get groupCommitStats(): { syncs: number; requests: number } {
    return this.#life.groupCommitStats;
  }

  /** Live entries. */
  get size(): number {
    this.#life.live();
    return this.#fold.size;
  }

  /** Bytes in the log file. */
  get fileSize(): number {
    return this.#file.size;
  }

  /** Encoded size of the live entries (what a compaction keeps, frame overhead aside). */
  get liveBytes(): number {
    return this.#fold.liveBytes;
  }

  /** Compactions run since open (including one open ran). */
  get compactions(): number {
    return this.#compactions;
  }

  /** The cursor a crash now would keep at least (the last batch a completed sync covered). */
  get durableCursor(): WatchCursor {
    return this.#durableCursor;
  }

  /**
   * Atomically fold `batch` (puts and deletes, applied in order) into the
   * store and advance the resume cursor to `cursor`. After any crash either
   * the whole batch and its cursor are visible or none of it. Not durable
   * until sync()/syncAsync() unless `{ sync: true }`. The cursor must
   * advance past cursor() (RangeError) unless the store was opened with
   * `cursorMustAdvance: false`. If this throws, nothing was applied (except
   * POISONED from a compaction after the write: reopen).
   */
  apply(batch: readonly KvUpdate[], cursor: WatchCursor, options?: KvApplyOptions): void {
    const where = 'apply';
    this.#life.live();
    if (!(cursor instanceof WatchCursor)) throw new TypeError(`${where}: cursor must be a WatchCursor (WatchCursor.from(bytes), WatchCursor.fromRevision(n), WatchCursor.none)`);
    let sync = false;
    if (options !== undefined) {
      checkOptions(where, options, ['sync']);
      sync = boolOption(where, 'sync', options.sync, false);
    }
    if (this.#settings.cursorMustAdvance && WatchCursor.compare(cursor, this.#cursor) <= 0) {
      throw new RangeError(`${where}: cursor ${cursor.toHex() || 'none'} does not advance past the current cursor ${this.#cursor.toHex() || 'none'} (open with cursorMustAdvance: false to allow it)`);
    }
    const core = this.#core;
    const file = this.#file;
    const fold = this.#fold;
    const r = encodeBatch(core, where, batch, WatchCursor.bytesOf(cursor), { salt: file.salt, seq: this.#seq + 1, mark: file.durableEnd });
    file.write(core.u8.subarray(core.staging, core.staging + r.bytes));
    this.#seq += r.frames;
    try {
      fold.foldFrames(core.u8, core.staging, r.bytes); // the staged frames, folded by the index's core in one call
    } catch (e) {
      throw this.#life.poison(e, 'the batch was written but could not be folded into the in-RAM index (out of memory); reopen');
    }
    this.#cursor = cursor;
    if (sync) this.sync();
    if (!this.#syncing && this.overThreshold()) this.compact();
  }

  private overThreshold(): boolean {
    const garbage = this.#file.end - this.#core.c.FILE_HEADER_SIZE - this.#fold.liveBytes;
    return garbage > this.#settings.compactThreshold;
  }

  /** The live entry for `key` (a copy), or undefined. */
  get(key: string): KvEntry | undefined {
    this.#life.live();
    if (typeof key !== 'string') checkKey(this.#core, 'get', key);
    const e = this.#fold.entry(key);
    if (e === undefined) checkKey(this.#core, 'get', key); // only a miss can be an invalid key (apply refuses them)
    return e;
  }

  /** Every live entry whose key starts with `prefix`, ascending by the UTF-8 bytes of the key. */
  range(prefix: string): KvEntry[] {
    const out: KvEntry[] = [];
    this.forEachInRange(prefix, (e) => { out.push(e); });
    return out;
  }

  /**
   * range() streamed: `fn` once per entry, in order, without collecting the
   * matches; return false from `fn` to stop. The key set is the one at the
   * call (entries deleted by an apply() inside `fn` are skipped).
   */
  forEachInRange(prefix: string, fn: (entry: KvEntry) => boolean | void): void {
    this.#life.live();
    prefixArg('forEachInRange', prefix);
    if (typeof fn !== 'function') throw new TypeError('forEachInRange: fn must be a function');
    for (const e of this.entriesOf(prefix)) if (fn(e) === false) return;
  }

  /**
   * range() as a lazy iterator. Its key set is taken when iteration starts
   * (the first next()), not at this call: keys created by an apply() after
   * that are not yielded, deleted ones are skipped, replaced ones current.
   */
  records(prefix = ''): IterableIterator<KvEntry> {
    this.#life.live();
    prefixArg('records', prefix);
    return this.entriesOf(prefix);
  }

  [Symbol.iterator](): IterableIterator<KvEntry> {
    return this.records('');
  }

  private *entriesOf(prefix: string): Generator<KvEntry> {
    const it = this.#fold.entries(prefix);
    for (;;) {
      this.#life.live(); // before the index is read: a closed store's index is gone
      const r = it.next();
      if (r.done === true) return;
      yield r.value;
    }
  }

  /** The cursor of the last applied batch (WatchCursor.none before any). */
  cursor(): WatchCursor {
    this.#life.live();
    return this.#cursor;
  }

  /** Make every applied batch durable (fdatasync, then a sync marker). A failed fsync poisons. */
  sync(): void {
    this.#life.live();
    const cursor = this.#cursor;
    if (!this.#file.sync()) return;
    this.#durableCursor = cursor;
    this.#file.writeMarker(0);
  }

  /** Group commit: resolves once every batch applied before the call is durable; the fsync runs off the JS thread. */
  syncAsync(): Promise<void> {
    return this.#life.syncAsync();
  }

  private async syncOffThread(): Promise<void> {
    this.#life.live();
    const file = this.#file;
    const cursor = this.#cursor;
    const end = file.end;
    this.#syncing = true;
    let synced: boolean;
    try {
      synced = await file.syncAsync();
    } finally {
      this.#syncing = false;
    }
    if (!synced) return;
    if (this.#file === file && file.durableEnd >= end) this.#durableCursor = cursor;
    if (this.#life.state === 'open' && this.#file === file && file.end === end && file.durableEnd === end) file.writeMarker(0);
  }

  /**
   * Rewrite the live fold as a fresh file (temp file, fsync, rename over the
   * log, fsync the directory). Everything applied becomes durable. A
   * failure before the rename leaves the old file in use (IO_ERROR); after
   * it, the store is poisoned (reopen finds the old file or the new one).
   */
  compact(): void {
    this.#life.live();
    if (this.#syncing) throw new WalError('IO_ERROR', `${this.path}: compact() while an async fsync is in flight; await syncAsync() first`, { path: this.path });
    const core = this.#core;
    const fs = this.#fs;
    const path = this.path;
    const salt = randomU32();
    const generation = this.#generation + 1;
    let written = { end: 0, size: 0, seq: 0 };
    publishFile(fs, path, (h) => {
      written = writeFold(core, this.#fold, WatchCursor.bytesOf(this.#cursor), salt, generation, (bytes, at) => h.write(bytes, at));
    });
    // Renamed: from here the old handle's file is gone from the directory.
    const old = this.#file;
    let h: FileHandle;
    try {
      fs.syncDir(dirname(path));
      h = fs.open(path, { write: true });
    } catch (e) {
      throw this.#life.poison(e, 'compaction renamed the new file but syncing the directory or reopening failed');
    }
    old.close();
    this.#file = new FrameFile(core, h, path, salt, written.end, written.size, this.#life);
    this.#seq = written.seq;
    this.#generation = generation;
    this.#durableCursor = this.#cursor;
    this.#compactions++;
  }

  /**
   * Export the fold as an artifact directory `destDir` (must not exist):
   * data/kv.snapshot (the fold as a fresh file) and MANIFEST.json (schema
   * version, backend identity, format generation, cursor, creation time,
   * size and SHA-256 of every file), assembled in a temp directory beside
   * it, synced, then renamed into place; the manifest is written last.
   */
  exportTo(destDir: string): ExportManifest {
    this.#life.live();
    pathArg('exportTo', destDir);
    return exportFold(this.#core, this.#fs, destDir, this.#fold, this.#cursor);
  }

  /**
   * Sync, make the tail clean and durable, release the file and the lock.
   * Idempotent; a poisoned store only releases.
   */
  close(): void {
    this.#life.close(() => {
      this.sync();
      this.#file.finish();
    }, () => {
      quietly(() => this.#file.close());
      this.#lock.release();
      this.#fold.dispose(); // the index's WebAssembly memory goes with its instance
    });
  }

  [disposeSymbol](): void {
    this.close();
  }
}
