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
import { OpList } from './op-list.js';
import {
  createSegment, footerOpCount, type OpSink, SNAPSHOT_NAME, type SegmentMeta, isOwnName, parseSegmentName, readFooter, readSegmentHeader,
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
  const ENTRY = core.c.RAFT_OP_ENTRY;
  const sink: OpSink = (op, flags, offset, a, b, c) => {
    if (op === ENTRY) {
      // the common case, straight into the index
      const err = idx.push(a, b, cur, offset);
      if (err !== undefined) throw new WalError('CORRUPTED', `${curPath}: ${err} (frame at offset ${offset})`, { path: curPath, offset, reason: 'sequence-order' });
      if (active) ops.push(op, flags, offset, a, b, c);
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
    if (active) ops.push(op, flags, offset, a, b, c);
  };
  /** A sealed segment's footer: entries straight into the index, other ops through the sink. */
  const bulk = (f: Float64Array, count: number): void => {
    const bad = idx.replayOps(f, count, cur, ENTRY, sink);
    if (bad !== undefined) throw new WalError('CORRUPTED', `${curPath}: ${bad.err} (frame at offset ${bad.offset})`, { path: curPath, offset: bad.offset, reason: 'sequence-order' });
  };
  // Open every segment and read its header (and a sealed one's locator): the index is sized once, before replay.
  const sizes: number[] = [];
  let sealedOps = 0;
  let sealedBytes = 0;
  for (let i = 0; i < nums.length; i++) {
    const num = nums[i]!;
    const p = join(path, segmentName(num));
    const last = i === nums.length - 1;
    const h = acquired.add(fs.open(p, last ? { write: true } : {}), (x) => x.close());
    const head = readSegmentHeader(core, h, p, num);
    const size = sizeOf(h, p);
    sizes.push(size);
    segs.push({ num, path: p, salt: head.salt, base: head.base, baseTerm: head.baseTerm, h });
    const ops = last ? undefined : footerOpCount(core, h, p, head.salt, size);
    if (ops !== undefined) { sealedOps += ops; sealedBytes += size; }
  }
  // The active segment's entries are estimated from the sealed segments' bytes per op.
  idx.reserve(sealedOps + (sealedOps > 0 ? Math.ceil(sizes[sizes.length - 1]! / (sealedBytes / sealedOps)) : 0));
  oldestBase = idx.snapIndex = segs[0]!.base;
  idx.snapTerm = segs[0]!.baseTerm;
  for (let i = 0; i < nums.length; i++) {
    const seg = segs[i]!;
    const h = seg.h!;
    const head = seg;
    cur = seg.num;
    curPath = seg.path;
    active = i === nums.length - 1;
    const size = sizes[i]!;
    if (!active) {
      if (readFooter(core, h, curPath, head.salt, size, sink, bulk)) { footersRead++; continue; }
      const { scanner, pendingStart } = scanSegment(core, h, curPath, head.salt, size, sink);
      if (scanner.failure !== undefined) throw scanner.error(false);
      if (pendingStart >= 0) throw new WalError('CORRUPTED', `${curPath}: a sealed segment ends inside a write (offset ${pendingStart})`, { path: curPath, offset: pendingStart, reason: 'decode-failure' });
      continue;
    }
    const { scanner, pendingStart } = scanSegment(core, h, curPath, head.salt, size, sink);
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
    return { life, file, segs, idx, ops, hs, report, snapFileIndex: snapFile.index };
  }
  throw new Error('unreachable');
}
