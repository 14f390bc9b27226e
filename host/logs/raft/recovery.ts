/**
 * WalLog.open()'s recovery (docs/FORMAT.md §11): list the directory, remove
 * temp files of interrupted creations, read the snapshot file's header, read
 * the index footers of sealed segments (scanning a sealed segment only when
 * its footer is missing), scan the newest segment and cut a torn tail, check
 * that what lies below the oldest segment is covered by the snapshot file or
 * a compaction mark, and write a missing snapshot mark. Returns the pieces a
 * WalLog is made of.
 */
import { FrameFile, recoverTail } from '../../codec/frame-file.js';
import type { Core } from '../../core/core.js';
import { WalError, ioError } from '../../errors.js';
import type { FileHandle, FileSystem } from '../../fs/types.js';
import type { Acquired, Lifecycle } from '../../lifecycle/lifecycle.js';
import { removeTempFiles } from '../../lifecycle/atomic-file.js';
import { join } from '../../platform/path.js';
import { LogIndex, applyOp } from './log-index.js';
import { CHUNK_OPS, OP_F64S, OpList } from './op-list.js';
import {
  createSegment, type OpSink, readLocator, SNAPSHOT_NAME, type SegmentMeta, isOwnName, parseSegmentName, readFooter, readSegmentHeader,
  readSnapshotHeader, scanSegment, segmentName, sizeOf,
} from './segments.js';
import type { HardState, WalLogOpenReport } from './types.js';

export const NO_HS: HardState = { term: 0, vote: null, commit: 0 };

/** What recovery found: the state a WalLog starts from. */
export interface Recovered {
  life: Lifecycle;
  file: FrameFile;
  segs: SegmentMeta[];
  idx: LogIndex;
  ops: OpList;
  hs: HardState;
  report: WalLogOpenReport;
  snapFileIndex: number;
  lazy: LazySegments;
}

/**
 * Sealed segments whose locator says they hold only entries and hard states
 * (RAFT_LOC_ENTRIES): open does not read their footers; the index knows
 * their range (base + 1 .. the next segment's base) and fills a segment's
 * slots from its footer on first touch (LogIndex.loader). `before` runs
 * first: the log writes out its buffered frames, which wait in core staging
 * where the footer is read.
 */
export class LazySegments {
  /**
   * Segments not read yet, oldest first: number, entry range lo..hi and hi's
   * term (what the footer must hold), and upTo: the last of them still live
   * (a later segment that rewrote entries from some index on owns them).
   */
  readonly list: Array<{ num: number; lo: number; hi: number; term: number; upTo: number }> = [];
  before: () => void = () => {};

  constructor(readonly core: Core, readonly fs: FileSystem, readonly idx: LogIndex, readonly segs: SegmentMeta[]) {
    idx.loader = (index) => this.load(index);
  }

  /** Register sealed segment `num` holding entries lo..hi (hi of `term`): older ones give up what it rewrote. */
  add(num: number, lo: number, hi: number, term: number): void {
    const list = this.list;
    while (list.length > 0 && list[list.length - 1]!.upTo >= lo) {
      const last = list[list.length - 1]!;
      last.upTo = lo - 1;
      if (last.upTo >= last.lo) break;
      list.pop();
    }
    list.push({ num, lo, hi, term, upTo: hi });
  }

  /** Read the footer of the lazy segment holding entry `index` into the index. */
  load(index: number): void {
    const list = this.list;
    let lo = 0;
    let hi = list.length - 1;
    while (lo <= hi) {
      const m = (lo + hi) >> 1;
      if (list[m]!.upTo < index) lo = m + 1;
      else if (list[m]!.lo > index) hi = m - 1;
      else { this.read(m); return; }
    }
  }

  private read(k: number): void {
    this.before();
    const { num, lo, hi, term, upTo } = this.list[k]!;
    const segs = this.segs;
    const seg = segs[num - segs[0]!.num];
    if (seg === undefined || seg.num !== num) { this.list.splice(k, 1); return; } // deleted: below the snapshot
    const core = this.core;
    const h = (seg.h ??= this.fs.open(seg.path));
    const idx = this.idx;
    const ENTRY = core.c.RAFT_OP_ENTRY;
    const bad = (what: string, offset?: number): WalError =>
      new WalError('CORRUPTED', `${seg.path}: ${what}`, { path: seg.path, offset, reason: 'sequence-order' });
    let next = lo;
    let prev = seg.baseTerm;
    const ok = readFooter(core, h, seg.path, seg.salt, sizeOf(h, seg.path), () => {}, (f, count) => {
      for (let i = 0; i < count * OP_F64S; i += OP_F64S) {
        if ((f[i]! & 255) !== ENTRY) continue;
        const a = f[i + 2]!;
        const b = f[i + 3]!;
        if (a !== next || b < prev) throw bad(`footer entry ${a} (term ${b}) breaks the sequence its locator and headers promise (entry ${next})`, f[i + 1]!);
        if (a <= upTo) idx.fill(a, b, num, f[i + 1]!);
        prev = b;
        next++;
      }
    });
    if (!ok) throw bad('the index footer its locator named is gone');
    if (next !== hi + 1 || prev !== term) throw bad(`the index footer holds entries ${lo}..${next - 1} ending in term ${prev}, the locator and headers say ${lo}..${hi} ending in term ${term}`);
    this.list.splice(k, 1);
  }
}

/**
 * Recover the log in directory `path` (the caller holds the writer lock and
 * created the directory). `makeLife` builds the lifecycle once the active
 * segment's handle is known (its syncAsync decides the group commit's mode).
 * Handles opened are registered with `acquired` (released if open fails).
 */
export function recover(core: Core, fs: FileSystem, path: string, acquired: Acquired, makeLife: (active: FileHandle) => Lifecycle): Recovered {
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
  const segs: SegmentMeta[] = [];
  const idx = new LogIndex();
  const lazy = new LazySegments(core, fs, idx, segs);
  const ops = new OpList();
  let hs: HardState = NO_HS;
  let footersRead = 0;
  let footersDeferred = 0;
  /** Largest index a snapshot mark (from applySnapshot) / any mark (also compact) names; the base of the oldest segment. */
  let fileMark = 0;
  let anyMark = 0;
  let oldestBase = 0;
  /** Entries below the oldest segment's base that replay needs covered (a truncate reaching below it). */
  let needCovered = 0;
  let cur = 0;
  let curPath = '';
  let active = false;
  const ENTRY = core.c.RAFT_OP_ENTRY;
  /** Apply one op (in file order) to the index. */
  const sink: OpSink = (op, flags, offset, a, b, c) => {
    if (op === ENTRY) {
      // the common case, straight into the index
      const err = idx.push(a, b, cur, offset);
      if (err !== undefined) throw new WalError('CORRUPTED', `${curPath}: ${err} (frame at offset ${offset})`, { path: curPath, offset, reason: 'sequence-order' });
      return;
    }
    if (op === core.c.RAFT_OP_SNAPSHOT) {
      anyMark = Math.max(anyMark, a);
      if ((flags & core.c.RAFT_SNAP_COMPACT) === 0) fileMark = Math.max(fileMark, a);
    } else if (op === core.c.RAFT_OP_TRUNCATE && a <= idx.snapIndex) needCovered = Math.max(needCovered, a - 1);
    // What lies below the oldest segment must be covered by the snapshot file or a compaction mark: checked after replay.
    const err = applyOp(core, idx, op, a, b, c, cur, offset, Infinity);
    if (op === core.c.RAFT_OP_HARD_STATE) hs = { term: a, vote: flags & core.c.RAFT_HS_VOTE ? b : null, commit: c };
    if (err !== undefined) throw new WalError('CORRUPTED', `${curPath}: ${err} (frame at offset ${offset})`, { path: curPath, offset, reason: 'sequence-order' });
  };
  /** Ops of a footer or a scan: entries straight into the index, other ops through the sink. */
  const bulk = (f: Float64Array, count: number): void => {
    const bad = idx.replayOps(f, count, cur, ENTRY, sink);
    if (bad !== undefined) throw new WalError('CORRUPTED', `${curPath}: ${bad.err} (frame at offset ${bad.offset})`, { path: curPath, offset: bad.offset, reason: 'sequence-order' });
  };
  /** A scanned segment's ops in the core's layout, a chunk at a time, for bulk(). */
  const unpacked = new Float64Array(CHUNK_OPS * OP_F64S);
  /** Collects a scanned segment's ops: they are applied after the scan (applying one may read a lazy footer into core staging, where the scan reads). */
  const collect = (into: OpList): OpSink => (op, flags, offset, a, b, c) => into.push(op, flags, offset, a, b, c);
  // Open every segment and read its header (and a sealed one's locator).
  const sizes: number[] = [];
  const locators: Array<{ ops: number; entries: number | undefined } | undefined> = [];
  for (let i = 0; i < nums.length; i++) {
    const num = nums[i]!;
    const p = join(path, segmentName(num));
    const last = i === nums.length - 1;
    const h = acquired.add(fs.open(p, last ? { write: true } : {}), (x) => x.close());
    const head = readSegmentHeader(core, h, p, num);
    const size = sizeOf(h, p);
    sizes.push(size);
    segs.push({ num, path: p, salt: head.salt, base: head.base, baseTerm: head.baseTerm, h });
    locators.push(last ? undefined : readLocator(core, h, p, head.salt, size));
  }
  idx.reset(segs[0]!.base, segs[0]!.baseTerm);
  oldestBase = segs[0]!.base;
  for (let i = 0; i < nums.length; i++) {
    const seg = segs[i]!;
    const h = seg.h!;
    const head = seg;
    cur = seg.num;
    curPath = seg.path;
    active = i === nums.length - 1;
    const size = sizes[i]!;
    if (!active) {
      const loc = locators[i];
      const next = segs[i + 1]!;
      // Entries and hard states only: the range is base + 1 .. the next segment's base; the footer is read on first touch.
      if (loc?.entries !== undefined && idx.lastIndex === head.base && next.base - head.base === loc.entries) {
        const err = idx.addLazy(head.base + 1, next.base, next.baseTerm);
        if (err !== undefined) throw new WalError('CORRUPTED', `${curPath}: ${err} (from the locator and the next segment's header)`, { path: curPath, reason: 'sequence-order' });
        footersDeferred++;
        if (loc.entries > 0) lazy.add(seg.num, head.base + 1, next.base, next.baseTerm);
        continue;
      }
      // The footer's ops are copied out of core staging before they are applied (applying one may read a lazy footer there).
      if (readFooter(core, h, curPath, head.salt, size, sink, (f, count) => bulk(f.slice(0, count * OP_F64S), count))) { footersRead++; continue; }
      const scanned = new OpList();
      const { scanner, pendingStart } = scanSegment(core, h, curPath, head.salt, size, collect(scanned));
      if (scanner.failure !== undefined) throw scanner.error(false);
      if (pendingStart >= 0) throw new WalError('CORRUPTED', `${curPath}: a sealed segment ends inside a write (offset ${pendingStart})`, { path: curPath, offset: pendingStart, reason: 'decode-failure' });
      scanned.unpack(0, unpacked, (count) => bulk(unpacked, count));
      continue;
    }
    const { scanner, pendingStart } = scanSegment(core, h, curPath, head.salt, size, collect(ops));
    ops.unpack(0, unpacked, (count) => bulk(unpacked, count));
    // A newest write that lost its last frames was never synced whole, so it goes as a whole.
    const tail = recoverTail(core, h, curPath, scanner, size, 'truncate-partial',
      pendingStart >= 0 ? { start: pendingStart, reason: 'incomplete-write' } : undefined);
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
    const life = makeLife(h);
    const file = new FrameFile(core, h, curPath, head.salt, tail.end, tail.fileSize, life, fs);
    if (markMissing) {
      core.ensure(64);
      const n = core.x.encodeRaftControl(core.staging, core.c.TYPE_RAFT_SNAPSHOT, head.salt, snapFile.index, snapFile.term, idx.lastIndex, 0, 0, file.durableEnd);
      ops.push(core.c.RAFT_OP_SNAPSHOT, 0, file.end, snapFile.index, snapFile.term, idx.lastIndex);
      file.write(core.u8.subarray(core.staging, core.staging + n));
    }
    file.settle(tail.endsWithFrame || markMissing, 0, tail.knownDurable);
    const report: WalLogOpenReport = { segments: nums.length, footersRead, footersDeferred, truncatedBytes: tail.truncatedBytes, truncatedReason: tail.truncatedReason };
    return { life, file, segs, idx, ops, hs, report, snapFileIndex: snapFile.index, lazy };
  }
  throw new Error('unreachable');
}
