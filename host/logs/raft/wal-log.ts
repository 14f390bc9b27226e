/**
 * WalLog: durable Raft log storage (the RaftLog contract, ./types.ts) in a
 * directory of segment files of frames (docs/FORMAT.md §11; user's guide
 * docs/wal-log.md).
 *
 * - RAM holds an index (LogIndex: segment, offset, term per live entry, 16
 *   bytes each), never payloads: entry() reads its frame from disk and checks
 *   its CRC (a small cache keeps recent reads).
 * - append()/truncate() write their frames with one pwrite (a pending hard
 *   state rides in the same write as a control frame); sync() is one
 *   fdatasync of the active segment. A conflicting append writes a truncate
 *   frame and the new entries in the same pwrite, so a crash sees both or
 *   neither (recovery cuts at the first torn frame).
 * - A segment that reached segmentTargetSize is sealed before the next write:
 *   its index footer (every op of the segment) and a locator frame are
 *   written and synced; open reads the footers of sealed segments and scans
 *   only the newest. verify() scans everything.
 * - applySnapshot() syncs, publishes the snapshot file crash-safely, writes
 *   and syncs a snapshot mark, then deletes whole segments below it, oldest
 *   first, each removal made durable before the next (a suffix, never a hole).
 */
import { FrameFile, recoverTail } from '../../codec/frame-file.js';
import { Core } from '../../core/core.js';
import { WalError, ioError } from '../../errors.js';
import { logFileSystem } from '../../fs/default.js';
import type { FileLock, FileSystem } from '../../fs/types.js';
import { ensureDir, publishFile, removeTempFiles } from '../../lifecycle/atomic-file.js';
import { Lifecycle, type LogState, openLocked, quietly } from '../../lifecycle/lifecycle.js';
import { checkOptions, disposeSymbol, intOption, pathArg } from '../../lifecycle/options.js';
import { join } from '../../platform/path.js';
import { randomU32 } from '../../platform/random.js';
import { checkEntries, checkHardState, checkNat, checkRange, checkSnapshot, checkTruncate, planAppend } from './checks.js';
import { LogIndex, applyOp } from './log-index.js';
import { OP_F64S, OpList } from './op-list.js';
import {
  createSegment,
  type OpSink, SNAPSHOT_NAME, type SegmentMeta, isOwnName, parseSegmentName, readFooter, readSegmentHeader,
  readSnapshotData, readSnapshotHeader, scanSegment, segmentName, sizeOf, snapshotFileBytes,
} from './segments.js';
import type { HardState, LogEntry, RaftLog, Snapshot, VerifyReport, WalLogOpenReport, WalLogOptions } from './types.js';

export type { HardState, LogEntry, RaftLog, Snapshot, VerifyReport, WalLogOpenReport, WalLogOptions } from './types.js';

const OPTION_KEYS = ['fs', 'segmentTargetSize', 'cacheEntries'] as const;
/** Bytes read at once for entry(): one read for entries up to this size. */
const READ_GUESS = 4096;
/** Buffered frames are written out once they reach this many bytes (and at every sync, roll and read of them). */
const FLUSH_AT = 1 << 20;
/** Bytes read at once by entries(): a range of frames is read with one pread and checked in the core. */
const RANGE_CHUNK = 1 << 20;
/** Ops per segment before it rolls (its footer stays well below a frame's 64 MiB). */
const MAX_OPS = 1 << 20;
const MAX_SEGMENT = 2 ** 32 - 1;
const NO_HS: HardState = { term: 0, vote: null, commit: 0 };

export class WalLog implements RaftLog {
  /** The log's directory. */
  readonly path: string;
  /** What open() found and repaired. */
  readonly openReport: WalLogOpenReport;
  readonly #fs: FileSystem;
  readonly #core: Core;
  readonly #lock: FileLock;
  readonly #life: Lifecycle;
  readonly #target: number;
  readonly #cacheMax: number;
  readonly #cache = new Map<number, LogEntry>();
  readonly #idx: LogIndex;
  readonly #ops: OpList;
  readonly #segs: SegmentMeta[];
  #file: FrameFile;
  #hs: HardState;
  #hsPending = false;
  /** Frames staged by append/truncate and not yet written: they go to the active segment at #file.end. */
  #pend = new Uint8Array(1 << 16);
  #pendLen = 0;
  /** Index of the snapshot file (0: none); snapshotIndex() may be above it after compact(). */
  #snapFileIndex: number;

  private constructor(path: string, fs: FileSystem, core: Core, lock: FileLock, life: Lifecycle, file: FrameFile, segs: SegmentMeta[],
    idx: LogIndex, ops: OpList, hs: HardState, target: number, cacheMax: number, report: WalLogOpenReport, snapFileIndex: number) {
    this.path = path;
    this.#fs = fs;
    this.#core = core;
    this.#lock = lock;
    this.#life = life;
    this.#file = file;
    this.#segs = segs;
    this.#idx = idx;
    this.#ops = ops;
    this.#hs = hs;
    this.#target = target;
    this.#cacheMax = cacheMax;
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
    const fs = logFileSystem(options.fs);
    ensureDir(fs, path);
    const core = new Core();
    return openLocked(fs, path, (lock, acquired) => {
      let names: string[];
      try { names = fs.list(path); } catch (e) { throw ioError('list', path, e); }
      removeTempFiles(fs, path, isOwnName, names);
      const nums = names.map(parseSegmentName).filter((n): n is number => n !== undefined).sort((a, b) => a - b);
      let snapFile = { index: 0, term: 0 };
      if (names.includes(SNAPSHOT_NAME)) {
        const sp = join(path, SNAPSHOT_NAME);
        const h = fs.open(sp);
        try { snapFile = readSnapshotHeader(core, h, sp); } finally { h.close(); }
      }
      if (nums.length === 0) {
        createSegment(core, fs, path, 1, 0, 0, NO_HS);
        fs.syncDir(path);
        nums.push(1);
      }
      nums.forEach((n, i) => {
        if (n !== nums[0]! + i) throw new WalError('CORRUPTED', `${path}: segment ${nums[0]! + i} is missing (a hole in the log)`, { path });
      });
      const idx = new LogIndex();
      const ops = new OpList();
      let hs: HardState = NO_HS;
      const segs: SegmentMeta[] = [];
      let footersRead = 0;
      /** Largest index a snapshot mark (from applySnapshot) / any mark (also compact) names; the base of the oldest segment. */
      let fileMark = 0;
      let anyMark = 0;
      let oldestBase = 0;
      /** Entries below the oldest segment's base that replay needs covered (a truncate reaching below it). */
      let needCovered = 0;
      let cur = 0;
      let curPath = '';
      let active = false;
      const sink: OpSink = (op, flags, offset, a, b, c) => {
        if (op === core.c.RAFT_OP_SNAPSHOT) {
          anyMark = Math.max(anyMark, a);
          if ((flags & core.c.RAFT_SNAP_COMPACT) === 0) fileMark = Math.max(fileMark, a);
        } else if (op === core.c.RAFT_OP_TRUNCATE && a <= idx.snapIndex) needCovered = Math.max(needCovered, a - 1);
        // What lies below the oldest segment must be covered by the snapshot file or a compaction mark: checked after replay.
        const err = applyOp(core, idx, op, a, b, c, cur, offset, Infinity);
        if (op === core.c.RAFT_OP_HARD_STATE) hs = { term: a, vote: flags & core.c.RAFT_HS_VOTE ? b : null, commit: c };
        if (err !== undefined) throw new WalError('CORRUPTED', `${curPath}: ${err} (frame at offset ${offset})`, { path: curPath, offset, reason: 'sequence-order' });
        if (active) ops.push(op, flags, offset, a, b, c);
      };
      for (let i = 0; i < nums.length; i++) {
        cur = nums[i]!;
        curPath = join(path, segmentName(cur));
        active = i === nums.length - 1;
        const h = acquired.add(fs.open(curPath, active ? { write: true } : {}), (x) => x.close());
        const head = readSegmentHeader(core, h, curPath, cur);
        if (i === 0) {
          oldestBase = head.base;
          idx.snapIndex = head.base;
          idx.snapTerm = head.baseTerm;
        }
        const size = sizeOf(h, curPath);
        segs.push({ num: cur, path: curPath, salt: head.salt, base: head.base, baseTerm: head.baseTerm, h });
        if (!active) {
          if (readFooter(core, h, curPath, head.salt, size, sink)) { footersRead++; continue; }
          const { scanner, pendingStart } = scanSegment(core, h, curPath, head.salt, size, sink);
          if (scanner.failure !== undefined) throw scanner.error(false);
          if (pendingStart >= 0) throw new WalError('CORRUPTED', `${curPath}: a sealed segment ends inside a write (offset ${pendingStart})`, { path: curPath, offset: pendingStart, reason: 'decode-failure' });
          continue;
        }
        const { scanner, pendingStart } = scanSegment(core, h, curPath, head.salt, size, sink);
        const tail = recoverTail(core, h, curPath, scanner, size, 'truncate-partial');
        if (pendingStart >= 0) {
          // The newest write lost its last frames: it was never synced whole, so it goes as a whole.
          try { h.truncate(pendingStart); } catch (e) { throw ioError('truncate', curPath, e); }
          tail.truncatedBytes = size - pendingStart;
          tail.truncatedReason ??= 'incomplete-write';
          tail.end = tail.fileSize = pendingStart;
          tail.endsWithFrame = true;
        }
        if (fileMark > snapFile.index) {
          throw new WalError('CORRUPTED', `${path}: the log was compacted to snapshot index ${fileMark} but the snapshot file covers only ${snapFile.index}`, { path });
        }
        const covered = Math.max(snapFile.index, anyMark);
        if (Math.max(oldestBase, needCovered) > covered) {
          const p0 = join(path, segmentName(nums[0]!));
          throw new WalError('CORRUPTED', `${p0}: the oldest segment starts after index ${Math.max(oldestBase, needCovered)}, but the snapshot and compaction marks cover only ${covered} (a hole in the log)`, { path: p0, offset: 0 });
        }
        // A crash between publishing the snapshot file and writing its mark: the
        // file wins (the log was synced before it was published); the mark is
        // written now, so later ops replay against the compacted log.
        const markMissing = snapFile.index > idx.snapIndex;
        if (snapFile.index > 0) idx.compact(snapFile.index, snapFile.term);
        const life = new Lifecycle('Raft log', path, () => log.sync());
        const file = new FrameFile(core, h, curPath, head.salt, tail.end, tail.fileSize, life);
        if (markMissing) {
          core.ensure(64);
          const n = core.x.encodeRaftControl(core.staging, core.c.TYPE_RAFT_SNAPSHOT, head.salt, snapFile.index, snapFile.term, idx.lastIndex, 0, 0, file.durableEnd);
          ops.push(core.c.RAFT_OP_SNAPSHOT, 0, file.end, snapFile.index, snapFile.term, idx.lastIndex);
          file.write(core.u8.subarray(core.staging, core.staging + n));
        }
        file.settle(tail.endsWithFrame || markMissing, 0, tail.knownDurable);
        idx.trim();
        const report: WalLogOpenReport = { segments: nums.length, footersRead, truncatedBytes: tail.truncatedBytes, truncatedReason: tail.truncatedReason };
        const log: WalLog = new WalLog(path, fs, core, lock, life, file, segs, idx, ops, hs, target, cacheMax, report, snapFile.index);
        return log;
      }
      throw new Error('unreachable');
    });
  }

  /** 'open', 'closed' or 'poisoned' (after a failed fsync or a failed step that left the files unknown). */
  get state(): LogState { return this.#life.state; }
  /** Group-commit statistics: syncs run and syncAsync() calls they served. */
  get groupCommitStats(): { syncs: number; requests: number } { return this.#life.groupCommitStats; }
  /** Bytes of RAM the entry index holds (16 per entry of capacity). */
  get indexBytes(): number { return this.#idx.bytes; }
  /** Number of segment files. */
  get segmentCount(): number { return this.#segs.length; }

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
    const hit = this.#cache.get(index);
    if (hit !== undefined) return { index, term: hit.term, payload: hit.payload.slice(), type: hit.type };
    const out: LogEntry[] = [];
    this.readRange(index, index, out);
    const e = out[0]!;
    if (this.#cacheMax > 0) {
      if (this.#cache.size >= this.#cacheMax) this.#cache.delete(this.#cache.keys().next().value!);
      this.#cache.set(index, { ...e, payload: e.payload.slice() });
    }
    return e;
  }

  /** Entries from..to inclusive, read from disk. COMPACTED if from <= snapshotIndex(); RangeError if to > lastIndex(). */
  entries(from: number, to: number): LogEntry[] {
    this.#life.live();
    const [f, t] = checkRange('entries', this, from, to);
    if (f <= this.#idx.snapIndex) throw new WalError('COMPACTED', `${this.path}: entries: index ${f} is at or below the snapshot index ${this.#idx.snapIndex}`, { path: this.path });
    const out: LogEntry[] = [];
    if (f <= t) this.readRange(f, t, out);
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
    const plan = planAppend('append', this, list);
    if (plan.start === list.length) return;
    const c = this.#core.c;
    let bytes = this.#hsPending ? 64 : 0;
    if (plan.truncateFrom !== undefined) bytes += 64;
    for (let i = plan.start; i < list.length; i++) bytes += c.FRAME_HEADER_SIZE + c.RAFT_ENTRY_HEADER_SIZE + list[i]!.payload.length;
    if (bytes > MAX_SEGMENT - (64 << 20)) throw new RangeError(`append: a batch of ${bytes} bytes is too large; split it`);
    this.maybeRoll(bytes, list.length - plan.start + 2);
    this.#core.ensure(bytes);
    // One write: [hard state] [truncate] entries; every frame but the last carries RAFT_FLAG_MORE.
    let buf = this.stageHardState(0, true);
    if (plan.truncateFrom !== undefined) buf = this.stageControl(buf, c.TYPE_RAFT_TRUNCATE, c.RAFT_OP_TRUNCATE, plan.truncateFrom, 0, 0, 0, true);
    for (let i = plan.start; i < list.length; i++) buf = this.stageEntry(buf, list[i]!, i < list.length - 1);
    this.writeStaged(buf, plan.truncateFrom !== undefined);
  }

  /** Remove every entry with index >= from (a truncate frame; durable at the next sync()). */
  truncate(from: number): void {
    this.#life.live();
    const f = checkTruncate('truncate', this, from);
    if (f === this.#idx.lastIndex + 1) return;
    const c = this.#core.c;
    this.maybeRoll(128, 2);
    this.#core.ensure(128);
    const buf = this.stageControl(this.stageHardState(0, true), c.TYPE_RAFT_TRUNCATE, c.RAFT_OP_TRUNCATE, f, 0, 0, 0, false);
    this.writeStaged(buf, true);
  }

  /** The hard state last set or recovered. */
  hardState(): HardState { return { ...this.#hs }; }

  /** Set the hard state; it is written with the next append, truncate or sync() and durable after the next sync(). */
  setHardState(state: HardState): void {
    this.#life.live();
    this.#hs = checkHardState('setHardState', state, this.#hs);
    this.#hsPending = true;
  }

  /**
   * Make every preceding append, truncate and setHardState durable: write a
   * pending hard state, fdatasync the active segment (sealed segments were
   * synced when sealed), then write an advisory sync marker. A failed fsync
   * poisons the log.
   */
  sync(): void {
    this.#life.live();
    if (this.#hsPending) {
      this.#core.ensure(64);
      this.writeStaged(this.stageHardState(0, false), false);
    }
    this.flush();
    if (this.#file.sync()) this.#file.writeMarker(0);
  }

  /** Group commit: resolves once everything before the call is durable; concurrent callers share one fsync. */
  syncAsync(): Promise<void> { return this.#life.syncAsync(); }

  /** The current snapshot read from its file (CRC checked), or undefined. */
  snapshot(): Snapshot | undefined {
    this.#life.live();
    if (this.#snapFileIndex === 0) return undefined;
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
    this.#core.ensure(64);
    const idx = this.#idx;
    // The mark records the outcome (the last index after it), so replay never needs terms below it.
    const after = s.index <= idx.lastIndex && idx.termAt(s.index) === s.term ? idx.lastIndex : s.index;
    try {
      this.writeStaged(this.stageControl(0, c.TYPE_RAFT_SNAPSHOT, c.RAFT_OP_SNAPSHOT, s.index, s.term, after, 0, false), true);
      this.flush();
    } catch (e) {
      throw this.#life.poison(e, 'writing the snapshot mark failed after the snapshot file was published');
    }
    if (this.#file.sync()) this.#file.writeMarker(0);
    if (this.#idx.count === 0 && this.#ops.count > 2) this.roll();
    this.reclaim();
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
    this.#core.ensure(64);
    try {
      this.writeStaged(this.stageControl(0, c.TYPE_RAFT_SNAPSHOT, c.RAFT_OP_SNAPSHOT, u, idx.termAt(u)!, idx.lastIndex, c.RAFT_SNAP_COMPACT, false), true);
      this.flush();
    } catch (e) {
      if (e instanceof WalError && e.code === 'POISONED') throw e;
      throw this.#life.poison(e, 'writing the compaction mark failed');
    }
    if (this.#file.sync()) this.#file.writeMarker(0);
    if (this.#idx.count === 0 && this.#ops.count > 2) {
      // The log keeps no entry: seal so the old active segment can go too. The
      // new segment repeats the mark (it justifies deleting every older one).
      this.roll();
      this.writeStaged(this.stageControl(0, c.TYPE_RAFT_SNAPSHOT, c.RAFT_OP_SNAPSHOT, u, idx.snapTerm, u, c.RAFT_SNAP_COMPACT, false), false);
      this.sync();
    }
    this.reclaim();
  }

  /**
   * Check every frame of every segment (CRCs, rules of FORMAT.md §11), that
   * each sealed segment's footer lists exactly its ops, and the snapshot
   * file's data. Throws CORRUPTED at the first damage; returns counts.
   */
  verify(): VerifyReport {
    this.#life.live();
    this.flush();
    const core = this.#core;
    const report: VerifyReport = { segments: 0, frames: 0, bytes: 0 };
    for (let i = 0; i < this.#segs.length; i++) {
      const seg = this.#segs[i]!;
      const h = this.handle(seg);
      const last = i === this.#segs.length - 1;
      const size = last ? this.#file.end : sizeOf(h, seg.path);
      const scanned = new OpList();
      const { scanner: scan, pendingStart } = scanSegment(core, h, seg.path, seg.salt, size, last ? () => {} : (op, flags, offset, a, b, c) => { scanned.push(op, flags, offset, a, b, c); });
      if (scan.failure !== undefined) throw scan.error(false);
      if (pendingStart >= 0) throw new WalError('CORRUPTED', `${seg.path}: ends inside a write (offset ${pendingStart})`, { path: seg.path, offset: pendingStart, reason: 'decode-failure' });
      if (!last) {
        const footer = new OpList();
        if (readFooter(core, h, seg.path, seg.salt, size, (op, flags, offset, a, b, c) => { footer.push(op, flags, offset, a, b, c); })) {
          const n = footer.count * OP_F64S;
          if (footer.count !== scanned.count || footer.data.subarray(0, n).some((v, j) => v !== scanned.data[j])) {
            throw new WalError('CORRUPTED', `${seg.path}: the index footer does not match the segment's frames`, { path: seg.path, reason: 'decode-failure' });
          }
        }
      }
      report.segments++;
      report.frames += scan.frames;
      report.bytes += size;
    }
    if (this.#snapFileIndex > 0) report.bytes += this.snapshot()!.data.length;
    return report;
  }

  /** Sync, make the sync marker durable, release the files and the lock. Idempotent; a poisoned log only releases. */
  close(): void {
    this.#life.close(() => {
      this.sync();
      this.#file.finish();
    }, () => {
      for (const s of this.#segs) if (s.h !== undefined) quietly(() => s.h!.close());
      this.#file.close();
      this.#lock.release();
    });
  }

  [disposeSymbol](): void { this.close(); }

  // ---- writing

  /** Encode an entry frame at staging offset `buf`; records its op. Returns the new offset. */
  private stageEntry(buf: number, e: LogEntry, more: boolean): number {
    const core = this.#core;
    const c = core.c;
    const at = core.staging + buf;
    core.u8.set(e.payload, at + c.FRAME_HEADER_SIZE + c.RAFT_ENTRY_HEADER_SIZE);
    const n = core.x.encodeRaftEntry(at, e.payload.length, this.#file.salt, e.index, e.term, e.type ?? 0, more ? 1 : 0, this.#file.durableEnd);
    this.#ops.push(c.RAFT_OP_ENTRY, e.type ?? 0, this.#file.end + this.#pendLen + buf, e.index, e.term, 0);
    return buf + n;
  }

  private stageControl(buf: number, type: number, op: number, a: number, b: number, cc: number, flags: number, more: boolean): number {
    const core = this.#core;
    const n = core.x.encodeRaftControl(core.staging + buf, type, this.#file.salt, a, b, cc, flags, more ? 1 : 0, this.#file.durableEnd);
    this.#ops.push(op, flags, this.#file.end + this.#pendLen + buf, a, b, cc);
    return buf + n;
  }

  /** Stage the hard state if it changed since it was last written (`more`: frames of the same write follow). */
  private stageHardState(buf: number, more: boolean): number {
    if (!this.#hsPending) return buf;
    const c = this.#core.c;
    const hs = this.#hs;
    return this.stageControl(buf, c.TYPE_RAFT_HARD_STATE, c.RAFT_OP_HARD_STATE, hs.term, hs.vote ?? 0, hs.commit, hs.vote === null ? 0 : c.RAFT_HS_VOTE, more);
  }

  /**
   * Take staging [0, buf) as one write, then apply the staged ops to the
   * index. The bytes join the write buffer (written out with one pwrite at
   * the next sync, roll, read of them, or once FLUSH_AT bytes are buffered);
   * a write larger than the buffer goes out at once. On a failure nothing is
   * applied (a failure writing out earlier buffered writes poisons: they
   * were already applied).
   */
  private writeStaged(buf: number, clearCache: boolean): void {
    const core = this.#core;
    const ops = this.#ops;
    let first = ops.count;
    // count the ops staged since the last write: they were pushed after the previous count
    for (let off = this.#file.end + this.#pendLen; first > 0 && ops.data[(first - 1) * OP_F64S + 1]! >= off; first--) { /* back to the first staged op */ }
    const bytes = core.u8.subarray(core.staging, core.staging + buf);
    if (this.#pendLen > 0 && this.#pendLen + buf > FLUSH_AT) {
      // Ops offsets of this write assumed the buffered bytes precede it: they do, once written.
      this.flush();
    }
    if (this.#pendLen === 0 && buf > FLUSH_AT) {
      try {
        this.#file.write(bytes);
      } catch (e) {
        ops.count = first;
        throw e;
      }
    } else {
      if (this.#pendLen + buf > this.#pend.length) {
        const grown = new Uint8Array(Math.max(this.#pend.length * 2, this.#pendLen + buf));
        grown.set(this.#pend.subarray(0, this.#pendLen));
        this.#pend = grown;
      }
      this.#pend.set(bytes, this.#pendLen);
      this.#pendLen += buf;
    }
    this.#hsPending = false;
    if (clearCache) this.#cache.clear();
    const d = ops.data;
    const num = this.#segs[this.#segs.length - 1]!.num;
    for (let i = first; i < ops.count; i++) {
      const j = i * OP_F64S;
      const op = d[j]! % 256;
      const err = applyOp(core, this.#idx, op, d[j + 2]!, d[j + 3]!, d[j + 4]!, num, d[j + 1]!, this.#idx.snapIndex);
      if (err !== undefined) throw this.#life.poison(new Error(err), 'internal error applying a written op');
    }
  }

  /** Write the buffered frames to the active segment (one pwrite). A failure poisons: their ops are already applied. */
  private flush(): void {
    if (this.#pendLen === 0) return;
    const n = this.#pendLen;
    try {
      this.#file.write(this.#pend.subarray(0, n));
    } catch (e) {
      this.#pendLen = 0;
      if (e instanceof WalError && e.code === 'POISONED') throw e;
      throw this.#life.poison(e, 'writing buffered entries failed after they were appended', this.#file.path);
    }
    this.#pendLen = 0;
    if (this.#pend.length > 4 * FLUSH_AT) this.#pend = new Uint8Array(1 << 16);
  }

  /** Seal the active segment first when `bytes` more would pass the target size. */
  private maybeRoll(bytes: number, ops: number): void {
    if (this.#ops.count <= 1) return; // only the hard state it was created with
    if (this.#file.end + this.#pendLen + bytes > this.#target || this.#ops.count + ops > MAX_OPS) this.roll();
  }

  /**
   * Seal the active segment (index footer + locator, fdatasync) and create
   * the next one (header with the current last index and term, and the
   * current hard state) by the atomic recipe. A failure before the new
   * segment's rename is IO_ERROR (the log keeps writing the old segment);
   * after it, the log is poisoned.
   */
  private roll(): void {
    this.flush();
    const core = this.#core;
    const c = core.c;
    const file = this.#file;
    const ops = this.#ops;
    const n = ops.count;
    const len = n * c.RAFT_OP_SIZE;
    const locAt = c.FRAME_HEADER_SIZE + len;
    const total = locAt + c.FRAME_HEADER_SIZE + c.RAFT_CONTROL_SIZE;
    let src = total;
    core.ensure(src + 8 + n * OP_F64S * 8);
    while ((core.staging + src) % 8 !== 0) src++;
    new Float64Array(core.u8.buffer, core.staging + src, n * OP_F64S).set(ops.data.subarray(0, n * OP_F64S));
    if (core.x.encodeRaftOps(core.staging + src, n, core.staging + c.FRAME_HEADER_SIZE) !== c.OK) throw new Error('walcore: bad op in the footer');
    const footerAt = file.end;
    core.x.encodeFrame(core.staging, len, c.TYPE_RAFT_FOOTER, file.salt, 0, 0, file.durableEnd);
    core.x.encodeRaftControl(core.staging + locAt, c.TYPE_RAFT_LOCATOR, file.salt, footerAt, n, 0, 0, 0, file.durableEnd);
    file.write(core.u8.subarray(core.staging, core.staging + total));
    file.seal();
    const old = this.#segs[this.#segs.length - 1]!;
    const num = old.num + 1;
    const segPath = join(this.path, segmentName(num));
    const created = createSegment(core, this.#fs, this.path, num, this.#idx.lastIndex, this.#idx.lastTerm, this.#hs);
    try { this.#fs.syncDir(this.path); } catch (e) { throw this.#life.poison(e, 'directory fsync after creating a segment failed'); }
    let h;
    try { h = this.#fs.open(segPath, { write: true }); } catch (e) { throw this.#life.poison(e, 'opening a new segment failed', segPath); }
    this.#segs.push({ num, path: segPath, salt: created.salt, base: this.#idx.lastIndex, baseTerm: this.#idx.lastTerm, h });
    this.#file = new FrameFile(core, h, segPath, created.salt, created.size, created.size, this.#life);
    ops.reset();
    const hs = this.#hs;
    ops.push(c.RAFT_OP_HARD_STATE, hs.vote === null ? 0 : c.RAFT_HS_VOTE, c.FILE_HEADER_SIZE, hs.term, hs.vote ?? 0, hs.commit);
    this.#hsPending = false;
  }

  /** Delete segments whose entries all lie at or below the snapshot, oldest first, each removal durable before the next. */
  private reclaim(): void {
    const segs = this.#segs;
    while (segs.length > 1 && segs[1]!.base <= this.#idx.snapIndex) {
      const s = segs[0]!;
      if (s.h !== undefined) quietly(() => s.h!.close());
      s.h = undefined;
      try { this.#fs.remove(s.path); } catch (e) { throw ioError('remove', s.path, e); }
      segs.shift();
      try { this.#fs.syncDir(this.path); } catch (e) { throw this.#life.poison(e, 'directory fsync after deleting a segment failed'); }
    }
  }

  // ---- reading

  private handle(seg: SegmentMeta) {
    return (seg.h ??= this.#fs.open(seg.path));
  }

  /** Write out the buffer if `off` in segment `seg` lies in it (the frame is not in the file yet). */
  private flushFor(seg: SegmentMeta, off: number): void {
    if (this.#pendLen > 0 && off >= this.#file.end && seg === this.#segs[this.#segs.length - 1]) this.flush();
  }

  /**
   * Entries f..t (live, f <= t) into `out`: per segment, a range of frames is
   * read with one pread (up to RANGE_CHUNK bytes) and checked by the core
   * (scanFrames: CRCs and framing); each live entry's frame is picked by its
   * indexed offset and decoded. A frame too large for a chunk, or damage,
   * falls back to read() for that entry (which reports CORRUPTED precisely).
   */
  private readRange(f: number, t: number, out: LogEntry[]): void {
    const idx = this.#idx;
    const core = this.#core;
    const c = core.c;
    const first = this.#segs[0]!.num;
    let i = f;
    while (i <= t) {
      const num = idx.seg(i);
      const seg = this.#segs[num - first]!;
      const start = idx.off(i);
      // the last index of this range in this segment bounds the read
      let j = i;
      const hi = Math.min(t, i + 4096);
      while (j < hi && idx.seg(j + 1) === num && idx.off(j + 1) - start < RANGE_CHUNK) j++;
      const active = seg === this.#segs[this.#segs.length - 1];
      this.flushFor(seg, idx.off(j));
      const h = this.handle(seg);
      const end = active ? this.#file.end : Infinity;
      const len = Math.min(RANGE_CHUNK, end - start, idx.off(j) - start + READ_GUESS);
      core.ensure(len);
      let got: number;
      try { got = h.read(core.u8.subarray(core.staging, core.staging + len), start); } catch (e) { throw ioError('read', seg.path, e); }
      const before = i;
      const dv = core.dv; // after ensure(): memory may have grown
      // The payloads of this chunk are copied out once: entries get disjoint views of the copy.
      const copy = j > i ? core.u8.slice(core.staging, core.staging + got) : undefined;
      const HDR = c.FRAME_HEADER_SIZE;
      const SUB = c.RAFT_ENTRY_HEADER_SIZE;
      let pos = 0;
      scan: while (pos < got && i <= t && idx.seg(i) === num) {
        const st = core.x.scanFrames(core.staging + pos, got - pos, start + pos, seg.salt, c.MAX_FRAME_PAYLOAD, c.SCAN_EMIT, 0, 0, 0, c.DESC_CAPACITY);
        const count = core.out('outCount');
        for (let k = 0; k < count; k++) {
          if (i > t || idx.seg(i) !== num) break scan;
          const d = core.desc + k * c.DESC_SIZE;
          const rel = pos + dv.getUint32(d + c.D_OFFSET, true);
          const want = idx.off(i) - start;
          if (rel < want) continue; // a control frame or a truncated entry
          if (rel > want) break scan; // the indexed offset is not a frame start: read() reports it
          // The core checked the CRC and framing; the §11.3 rules of an entry (as decodeRaftFrame) are checked here
          // from the descriptor and the sub-header, so a frame costs no extra call into the core.
          const typeFlags = dv.getUint32(d + c.D_TYPE, true);
          const len = dv.getUint32(d + c.D_LEN, true);
          const fp = core.staging + rel;
          const term = dv.getUint32(fp + HDR, true) + dv.getUint32(fp + HDR + 4, true) * 2 ** 32;
          if ((typeFlags & 0xff) !== c.TYPE_RAFT_ENTRY || (typeFlags >>> 8) > c.RAFT_FLAG_MORE || len < SUB ||
            dv.getUint32(d + c.D_SEQ_LO, true) + dv.getUint32(d + c.D_SEQ_LO + 4, true) * 2 ** 32 !== i || term !== idx.termAt(i) ||
            (dv.getUint32(fp + HDR + 8, true) >>> 8) !== 0 || dv.getUint32(fp + HDR + 12, true) !== 0) break scan;
          const body = rel + HDR + SUB;
          const payload = copy !== undefined ? copy.subarray(body, body + len - SUB) : core.u8.slice(core.staging + body, core.staging + body + len - SUB);
          out.push({ index: i, term, payload, type: core.u8[fp + HDR + 8]! });
          i++;
        }
        if (st !== c.MORE) break;
        pos += core.out('outEnd');
      }
      if (i === before && i <= t) out.push(this.read(i++)); // no progress: a large frame or damage
    }
  }

  private read(index: number): LogEntry {
    const hit = this.#cache.get(index);
    if (hit !== undefined) return { index, term: hit.term, payload: hit.payload.slice(), type: hit.type };
    const idx = this.#idx;
    const seg = this.#segs[idx.seg(index) - this.#segs[0]!.num]!;
    const off = idx.off(index);
    this.flushFor(seg, off);
    const core = this.#core;
    const c = core.c;
    const h = this.handle(seg);
    const readAt = (len: number): number => {
      core.ensure(len);
      try { return h.read(core.u8.subarray(core.staging, core.staging + len), off); } catch (e) { throw ioError('read', seg.path, e); }
    };
    let got = readAt(READ_GUESS);
    let total = got;
    if (got >= c.FRAME_HEADER_SIZE) {
      const len = core.dv.getUint32(core.staging + c.F_LEN, true);
      total = Math.min(c.FRAME_HEADER_SIZE + len, c.FRAME_HEADER_SIZE + c.MAX_FRAME_PAYLOAD);
      if (total > got) got = readAt(total);
    }
    const st = core.x.scanFrames(core.staging, Math.min(got, total), off, seg.salt, c.MAX_FRAME_PAYLOAD, 0, 0, 0, 0, 1);
    if (st < 0) {
      const reason = core.failure(st);
      throw new WalError('CORRUPTED', `${seg.path}: entry ${index} at offset ${off}: ${reason}`, { path: seg.path, offset: off, reason });
    }
    if (core.x.decodeRaftFrame(core.staging) !== c.OK || core.out('raftType') !== c.TYPE_RAFT_ENTRY || core.out('raftA') !== index || core.out('raftB') !== idx.termAt(index)) {
      throw new WalError('CORRUPTED', `${seg.path}: the frame at offset ${off} is not entry ${index}`, { path: seg.path, offset: off, reason: 'decode-failure' });
    }
    const body = core.out('raftBody');
    const payload = core.u8.slice(core.staging + body, core.staging + body + core.out('raftBodyLen'));
    const e: LogEntry = { index, term: core.out('raftB'), payload, type: core.out('raftFlags') };
    if (this.#cacheMax > 0) {
      if (this.#cache.size >= this.#cacheMax) this.#cache.delete(this.#cache.keys().next().value!);
      this.#cache.set(index, { ...e, payload: payload.slice() });
    }
    return e;
  }
}
