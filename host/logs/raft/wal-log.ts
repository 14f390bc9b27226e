/**
 * WalLog: durable Raft log storage (the RaftLog contract, ./types.ts) in a
 * directory of segment files of frames (docs/FORMAT.md §11; user's guide
 * docs/wal-log.md).
 *
 * - RAM holds an index (LogIndex: segment, offset, term per live entry, 12
 *   bytes each), never payloads: entry() reads its frame from disk and checks
 *   its CRC (a small cache keeps recent reads). Read path: ./reader.ts.
 * - append()/truncate() write their frames with one pwrite (a pending hard
 *   state rides in the same write as a control frame); sync() is one
 *   fdatasync of the active segment. A conflicting append writes a truncate
 *   frame and the new entries in the same pwrite, so a crash sees both or
 *   neither (recovery cuts at the first torn frame). Write path: ./writer.ts.
 * - A segment that reached segmentTargetSize is sealed before the next write:
 *   its index footer (every op of the segment) and a locator frame are
 *   written and synced; open reads the footers of sealed segments and scans
 *   only the newest (./recovery.ts). verify() scans everything.
 * - applySnapshot() syncs, publishes the snapshot file crash-safely, writes
 *   and syncs a snapshot mark, then deletes whole segments below it, oldest
 *   first, each removal made durable before the next (a suffix, never a hole).
 */
import { Core } from '../../core/core.js';
import { WalError } from '../../errors.js';
import { logFileSystem } from '../../fs/default.js';
import type { FileLock, FileSystem } from '../../fs/types.js';
import { ensureDir, publishFile } from '../../lifecycle/atomic-file.js';
import { Lifecycle, type LogState, openLocked, quietly } from '../../lifecycle/lifecycle.js';
import { boolOption, checkOptions, disposeSymbol, intOption, pathArg } from '../../lifecycle/options.js';
import { join } from '../../platform/path.js';
import { randomU32 } from '../../platform/random.js';
import { checkEntries, checkHardState, checkNat, checkRange, checkSnapshot, checkTruncate, planAppend } from './checks.js';
import type { LogIndex } from './log-index.js';
import { RaftReader } from './reader.js';
import { recover } from './recovery.js';
import { SNAPSHOT_NAME, readSnapshotData, snapshotFileBytes } from './segments.js';
import type { HardState, LogEntry, RaftLog, Snapshot, VerifyReport, WalLogOpenReport, WalLogOptions } from './types.js';
import { RaftWriter } from './writer.js';

export type { HardState, LogEntry, RaftLog, Snapshot, VerifyReport, WalLogOpenReport, WalLogOptions } from './types.js';

const OPTION_KEYS = ['fs', 'segmentTargetSize', 'cacheEntries', 'preallocate'] as const;
/** planAppend()'s answer for entries that start right after the last one. */
const AT_END = { truncateFrom: undefined, start: 0 } as const;
const MAX_SEGMENT = 2 ** 32 - 1;

export class WalLog implements RaftLog {
  /** The log's directory. */
  readonly path: string;
  /** What open() found and repaired. */
  readonly openReport: WalLogOpenReport;
  readonly #fs: FileSystem;
  readonly #core: Core;
  readonly #lock: FileLock;
  readonly #life: Lifecycle;
  readonly #idx: LogIndex;
  readonly #w: RaftWriter;
  readonly #r: RaftReader;
  /** Index of the snapshot file (0: none); snapshotIndex() may be above it after compact(). */
  #snapFileIndex: number;

  private constructor(path: string, fs: FileSystem, core: Core, lock: FileLock, life: Lifecycle, w: RaftWriter, r: RaftReader,
    report: WalLogOpenReport, snapFileIndex: number) {
    this.path = path;
    this.#fs = fs;
    this.#core = core;
    this.#lock = lock;
    this.#life = life;
    this.#w = w;
    this.#r = r;
    this.#idx = w.idx;
    this.openReport = report;
    this.#snapFileIndex = snapFileIndex;
  }

  /**
   * Open (creating if missing) the Raft log in directory `path`. Takes the
   * writer lock (LOCKED if another writer holds it), removes temp files of
   * interrupted creations, reads the footers of sealed segments, scans the
   * newest segment (a torn tail is cut: openReport), applies the snapshot
   * file. CORRUPTED (with file and offset) when data a completed sync made
   * durable is damaged.
   */
  static open(path: string, options: WalLogOptions = {}): WalLog {
    const where = 'WalLog.open';
    pathArg(where, path);
    checkOptions(where, options, OPTION_KEYS);
    const target = intOption(where, 'segmentTargetSize', options.segmentTargetSize, 64 << 20, 4096, 1 << 30);
    const cacheMax = intOption(where, 'cacheEntries', options.cacheEntries, 256, 0, 1 << 20);
    const preallocate = boolOption(where, 'preallocate', options.preallocate, false);
    const fs = logFileSystem(options.fs);
    ensureDir(fs, path);
    const core = new Core();
    return openLocked(fs, path, (lock, acquired) => {
      let log: WalLog | undefined;
      const rec = recover(core, fs, path, acquired, (h) => new Lifecycle('Raft log', path, () => log!.sync(),
        h.syncAsync === undefined ? undefined : () => log!.#w.syncOffThread()));
      let r: RaftReader | undefined;
      const w = new RaftWriter(core, fs, path, rec.life, rec.idx, rec.ops, rec.segs, rec.file, rec.hs, target, () => r!.clear(), preallocate);
      r = new RaftReader(core, fs, rec.idx, w, cacheMax);
      rec.lazy.before = () => w.flush(); // a lazy segment's footer is read into core staging, where buffered frames wait
      log = new WalLog(path, fs, core, lock, rec.life, w, r, rec.report, rec.snapFileIndex);
      return log;
    });
  }

  /** 'open', 'closed' or 'poisoned' (after a failed fsync or a failed step that left the files unknown). */
  get state(): LogState { return this.#life.state; }
  /** Group-commit statistics: syncs run and syncAsync() calls they served. */
  get groupCommitStats(): { syncs: number; requests: number } { return this.#life.groupCommitStats; }
  /** Bytes of RAM the entry index's arrays hold (12 per entry of capacity; 16 in a 4096-entry chunk holding a term >= 2^32). */
  get indexBytes(): number { return this.#idx.bytes; }
  /** Number of segment files. */
  get segmentCount(): number { return this.#w.segs.length; }

  /** Index of the last entry (snapshotIndex() when the log holds none). */
  lastIndex(): number { return this.#idx.lastIndex; }
  /** Term of the last entry (the snapshot's term when the log holds none). */
  lastTerm(): number { return this.#idx.lastTerm; }
  /** snapshotIndex() + 1. */
  firstIndex(): number { return this.#idx.snapIndex + 1; }
  /** The index the log is compacted to (0 without a snapshot). */
  snapshotIndex(): number { return this.#idx.snapIndex; }

  /** Term of entry `index`; the snapshot's term at snapshotIndex(); undefined below it or past the end. */
  termAt(index: number): number | undefined {
    checkNat('termAt', 'index', index);
    return this.#idx.termAt(index);
  }

  /** Entry `index` read from disk (CRC checked; CORRUPTED if damaged), or undefined when the log does not hold it. */
  entry(index: number): LogEntry | undefined {
    this.#life.live();
    checkNat('entry', 'index', index);
    if (index <= this.#idx.snapIndex || index > this.#idx.lastIndex) return undefined;
    return this.#r.entry(index);
  }

  /** Entries from..to inclusive, read from disk. COMPACTED if from <= snapshotIndex(); RangeError if to > lastIndex(). */
  entries(from: number, to: number): LogEntry[] {
    this.#life.live();
    const [f, t] = checkRange('entries', this, from, to);
    if (f <= this.#idx.snapIndex) throw new WalError('COMPACTED', `${this.path}: entries: index ${f} is at or below the snapshot index ${this.#idx.snapIndex}`, { path: this.path });
    const out: LogEntry[] = [];
    if (f <= t) this.#r.readRange(f, t, out);
    return out;
  }

  /**
   * Append with Raft semantics (types.ts): matching entries are skipped, a
   * conflicting suffix is truncated. One pwrite (with the pending hard state
   * and the truncation); durable at the next sync(). If this throws, the log
   * is unchanged (or POISONED).
   */
  append(entries: readonly LogEntry[]): void {
    this.#life.live();
    const list = checkEntries('append', entries);
    // The common case, entries right after the last one with no lower term, needs no plan (nothing to skip or truncate).
    const first = list[0];
    const idx = this.#idx;
    const plan = first !== undefined && first.index === idx.lastIndex + 1 && first.term >= idx.lastTerm ? AT_END : planAppend('append', this, list);
    if (plan.start === list.length) return;
    const c = this.#core.c;
    let bytes = this.#w.hsPending ? 64 : 0;
    if (plan.truncateFrom !== undefined) bytes += 64;
    for (let i = plan.start; i < list.length; i++) bytes += c.FRAME_HEADER_SIZE + c.RAFT_ENTRY_HEADER_SIZE + list[i]!.payload.length;
    if (bytes > MAX_SEGMENT - (64 << 20)) throw new RangeError(`append: a batch of ${bytes} bytes is too large; split it`);
    this.#w.maybeRoll(bytes, list.length - plan.start + 2);
    // One write: [hard state] [truncate] entries; every frame but the last carries RAFT_FLAG_MORE.
    let buf = this.#w.stageHardState(this.#w.start(bytes), true);
    if (plan.truncateFrom !== undefined) buf = this.#w.stageControl(buf, c.TYPE_RAFT_TRUNCATE, c.RAFT_OP_TRUNCATE, plan.truncateFrom, 0, 0, 0, true);
    for (let i = plan.start; i < list.length; i++) buf = this.#w.stageEntry(buf, list[i]!, i < list.length - 1);
    this.#w.writeStaged(buf, plan.truncateFrom !== undefined);
  }

  /** Remove every entry with index >= from (a truncate frame; durable at the next sync()). */
  truncate(from: number): void {
    this.#life.live();
    const f = checkTruncate('truncate', this, from);
    if (f === this.#idx.lastIndex + 1) return;
    const c = this.#core.c;
    this.#w.maybeRoll(128, 2);
    const buf = this.#w.stageControl(this.#w.stageHardState(this.#w.start(128), true), c.TYPE_RAFT_TRUNCATE, c.RAFT_OP_TRUNCATE, f, 0, 0, 0, false);
    this.#w.writeStaged(buf, true);
  }

  /** The hard state last set or recovered. */
  hardState(): HardState { return { ...this.#w.hs }; }

  /** Set the hard state; it is written with the next append, truncate or sync() and durable after the next sync(). */
  setHardState(state: HardState): void {
    this.#life.live();
    this.#w.hs = checkHardState('setHardState', state, this.#w.hs);
    this.#w.hsPending = true;
  }

  /**
   * Make every preceding append, truncate and setHardState durable: write a
   * pending hard state, fdatasync the active segment (sealed segments were
   * synced when sealed), then write an advisory sync marker. A failed fsync
   * poisons the log.
   */
  sync(): void {
    this.#life.live();
    this.#w.sync();
  }

  /**
   * Group commit: resolves once everything before the call is durable;
   * concurrent callers share one fsync, run off the JS thread where the file
   * system can (FileHandle.syncAsync; appends keep buffering meanwhile).
   */
  syncAsync(): Promise<void> { return this.#life.syncAsync(); }

  /** The current snapshot read from its file (CRC checked), or undefined. */
  snapshot(): Snapshot | undefined {
    this.#life.live();
    if (this.#snapFileIndex === 0) return undefined;
    this.#w.flush(); // reading uses core staging, where buffered frames wait
    const p = join(this.path, SNAPSHOT_NAME);
    const h = this.#fs.open(p);
    try {
      return readSnapshotData(this.#core, h, p);
    } finally {
      h.close();
    }
  }

  /**
   * Install a newer snapshot: sync; write the snapshot file by the atomic
   * recipe (temp, fsync, rename, directory fsync); write and sync a snapshot
   * mark; compact the index; then delete segments whose entries all lie at
   * or below it, oldest first, each removal made durable before the next.
   * If the log keeps no entry, the active segment is sealed first so it can
   * go too. Durable when it returns.
   */
  applySnapshot(snapshot: Snapshot): void {
    this.#life.live();
    const s = checkSnapshot('applySnapshot', snapshot, this.#idx.snapIndex);
    this.sync();
    const p = join(this.path, SNAPSHOT_NAME);
    const bytes = snapshotFileBytes(this.#core, randomU32(), s.index, s.term, s.data);
    publishFile(this.#fs, p, (h) => h.write(bytes, 0));
    try { this.#fs.syncDir(this.path); } catch (e) { throw this.#life.poison(e, 'directory fsync after publishing a snapshot failed'); }
    this.#snapFileIndex = s.index;
    const c = this.#core.c;
    const idx = this.#idx;
    // The mark records the outcome (the last index after it), so replay never needs terms below it.
    const after = s.index <= idx.lastIndex && idx.termAt(s.index) === s.term ? idx.lastIndex : s.index;
    try {
      this.#w.writeStaged(this.#w.stageControl(this.#w.start(64), c.TYPE_RAFT_SNAPSHOT, c.RAFT_OP_SNAPSHOT, s.index, s.term, after, 0, false), true);
      this.#w.flush();
    } catch (e) {
      throw this.#life.poison(e, 'writing the snapshot mark failed after the snapshot file was published');
    }
    if (this.#w.file.sync()) this.#w.file.writeMarker(0);
    if (this.#idx.count === 0 && this.#w.ops.count > 2) this.#w.roll();
    this.#w.reclaim();
  }

  /**
   * Reclaim the log's prefix without snapshot data: entries up to and
   * including `upTo` are dropped (snapshotIndex() becomes upTo, termAt(upTo)
   * keeps its term; snapshot() still returns the last installed snapshot,
   * whose index may now be below snapshotIndex()). The application chooses
   * the index (typically one its state machine has applied and saved by
   * itself). upTo <= snapshotIndex() does nothing; upTo > lastIndex() is a
   * RangeError. Crash-safe like applySnapshot: sync; write and sync a
   * compaction mark (a snapshot mark with RAFT_SNAP_COMPACT); then delete
   * whole segments below it, oldest first. Durable when it returns.
   */
  compact(upTo: number): void {
    this.#life.live();
    const u = checkNat('compact', 'upTo', upTo);
    const idx = this.#idx;
    if (u <= idx.snapIndex) return;
    if (u > idx.lastIndex) throw new RangeError(`compact: upTo ${u} is beyond lastIndex() = ${idx.lastIndex}`);
    this.sync();
    const c = this.#core.c;
    const term = idx.termAt(u)!; // before staging: it may read a lazy segment's footer into core staging
    try {
      this.#w.writeStaged(this.#w.stageControl(this.#w.start(64), c.TYPE_RAFT_SNAPSHOT, c.RAFT_OP_SNAPSHOT, u, term, idx.lastIndex, c.RAFT_SNAP_COMPACT, false), true);
      this.#w.flush();
    } catch (e) {
      if (e instanceof WalError && e.code === 'POISONED') throw e;
      throw this.#life.poison(e, 'writing the compaction mark failed');
    }
    if (this.#w.file.sync()) this.#w.file.writeMarker(0);
    if (this.#idx.count === 0 && this.#w.ops.count > 2) {
      // The log keeps no entry: seal so the old active segment can go too. The
      // new segment repeats the mark (it justifies deleting every older one).
      this.#w.roll();
      this.#w.writeStaged(this.#w.stageControl(this.#w.start(64), c.TYPE_RAFT_SNAPSHOT, c.RAFT_OP_SNAPSHOT, u, idx.snapTerm, u, c.RAFT_SNAP_COMPACT, false), false);
      this.sync();
    }
    this.#w.reclaim();
  }

  /**
   * Check every frame of every segment (CRCs, rules of FORMAT.md §11), that
   * each sealed segment's footer lists exactly its ops, and the snapshot
   * file's data. Throws CORRUPTED at the first damage; returns counts.
   */
  verify(): VerifyReport {
    this.#life.live();
    const report = this.#r.verify();
    if (this.#snapFileIndex > 0) report.bytes += this.snapshot()!.data.length;
    return report;
  }

  /** Sync, make the sync marker durable, release the files and the lock. Idempotent; a poisoned log only releases. */
  close(): void {
    this.#life.close(() => {
      this.sync();
      this.#w.file.finish();
    }, () => {
      for (const s of this.#w.segs) if (s.h !== undefined) quietly(() => s.h!.close());
      this.#w.file.close();
      this.#lock.release();
    });
  }

  [disposeSymbol](): void { this.close(); }
}
