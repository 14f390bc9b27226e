/**
 * Read-only inspection of a WalLog directory for tools (the walcore CLI):
 * list segments and the snapshot without touching the directory (open
 * removes temp files and may create a segment; this does not), replay the
 * ops of every segment with the rules of FORMAT.md §11.6 (index continuity,
 * terms, truncates, snapshot marks), check every frame, every sealed
 * segment's index footer against its frames (as WalLog.verify does) and the
 * snapshot data, and stream the ops in file order with the entries'
 * payloads. Nothing is written and no lock is taken.
 */
import type { Core } from '../../core/core.js';
import { WalError, ioError } from '../../errors.js';
import type { FileHandle, FileSystem } from '../../fs/types.js';
import { join } from '../../platform/path.js';
import { quietly } from '../../lifecycle/lifecycle.js';
import { LogIndex, applyOp } from './log-index.js';
import type { HardState } from './types.js';
import {
  type OpSink, SNAPSHOT_NAME, parseSegmentName, readFooter, readSegmentHeader, readSnapshotData, scanSegment, segmentName, sizeOf,
} from './segments.js';

export interface RaftSegmentInspection {
  num: number;
  path: string;
  size: number;
  salt: number;
  base: number;
  baseTerm: number;
  frames: number;
  ops: number;
  sealed: boolean;
  /** Whether a sealed segment's index footer was found (and matched its frames). */
  footer: boolean;
}

export interface RaftProblem { path: string; offset: number; reason: string; message: string; torn: boolean }

export interface RaftInspection {
  segments: RaftSegmentInspection[];
  snapshot: { index: number; term: number; bytes: number } | undefined;
  firstIndex: number;
  lastIndex: number;
  lastTerm: number;
  entries: number;
  hardState: HardState;
  bytes: number;
  /** The first damage found (replay stops there); torn: a tail an open would cut. */
  problem: RaftProblem | undefined;
}

/** Segment numbers of the directory, ascending, and whether it holds the snapshot file. */
export function listRaftFiles(fs: FileSystem, dir: string): { nums: number[]; snapshot: boolean } {
  let names: string[];
  try { names = fs.list(dir); } catch (e) { throw ioError('list', dir, e); }
  const nums = names.map(parseSegmentName).filter((n): n is number => n !== undefined).sort((a, b) => a - b);
  return { nums, snapshot: names.includes(SNAPSHOT_NAME) };
}

function openRead(fs: FileSystem, path: string): FileHandle {
  try { return fs.open(path); } catch (e) { throw ioError('open', path, e); }
}


/**
 * Check the whole log. `each`, when given, receives every op in file order
 * (after its write is complete) with its segment; `progress(bytes)` after
 * each segment. Stops at the first damage (returned in `problem`).
 */
export function inspectRaft(core: Core, fs: FileSystem, dir: string,
  each?: (seg: RaftSegmentInspection, h: FileHandle, op: number, flags: number, offset: number, a: number, b: number, c: number) => void,
  progress?: (bytes: number) => void): RaftInspection {
  const c = core.c;
  const { nums, snapshot: hasSnap } = listRaftFiles(fs, dir);
  const out: RaftInspection = {
    segments: [], snapshot: undefined, firstIndex: 1, lastIndex: 0, lastTerm: 0, entries: 0,
    hardState: { term: 0, vote: null, commit: 0 }, bytes: 0, problem: undefined,
  };
  const fail = (path: string, offset: number, reason: string, message: string, torn = false): RaftInspection => {
    out.problem = { path, offset, reason, message, torn };
    return out;
  };
  const asProblem = (e: unknown, path: string): RaftInspection => {
    if (!(e instanceof WalError) || e.code === 'IO_ERROR') throw e;
    return fail(e.path ?? path, e.offset ?? 0, e.reason ?? e.code, e.message);
  };
  if (hasSnap) {
    const sp = join(dir, SNAPSHOT_NAME);
    const h = openRead(fs, sp);
    try {
      const s = readSnapshotData(core, h, sp);
      out.snapshot = { index: s.index, term: s.term, bytes: s.data.length };
      out.bytes += sizeOf(h, sp);
    } catch (e) {
      return asProblem(e, sp);
    } finally {
      quietly(() => h.close());
    }
  }
  const snapIndex = out.snapshot?.index ?? 0;
  for (let i = 0; i < nums.length; i++) {
    if (nums[i] !== nums[0]! + i) return fail(dir, 0, 'missing-segment', `${dir}: segment ${nums[0]! + i} is missing (a hole in the log)`);
  }
  const idx = new LogIndex();
  for (let i = 0; i < nums.length; i++) {
    const num = nums[i]!;
    const path = join(dir, segmentName(num));
    const active = i === nums.length - 1;
    const h = openRead(fs, path);
    try {
      let head;
      try { head = readSegmentHeader(core, h, path, num); } catch (e) { return asProblem(e, path); }
      const size = sizeOf(h, path);
      if (i === 0) {
        if (head.base > snapIndex) return fail(path, 0, 'sequence-order', `${path}: the oldest segment starts after index ${head.base}, but the snapshot covers only ${snapIndex} (a hole in the log)`);
        idx.reset(head.base, head.baseTerm);
      }
      const seg: RaftSegmentInspection = { num, path, size, salt: head.salt, base: head.base, baseTerm: head.baseTerm, frames: 0, ops: 0, sealed: !active, footer: false };
      out.segments.push(seg);
      out.bytes += size;
      const scanned: number[] = [];
      let broken: RaftProblem | undefined;
      const sink: OpSink = (op, flags, offset, a, b, cc) => {
        if (broken !== undefined) return;
        scanned.push(op + flags * 256, offset, a, b, cc);
        const err = applyOp(core, idx, op, a, b, cc, num, offset, snapIndex);
        if (op === c.RAFT_OP_HARD_STATE) out.hardState = { term: a, vote: flags & c.RAFT_HS_VOTE ? b : null, commit: cc };
        if (err !== undefined) { broken = { path, offset, reason: 'sequence-order', message: `${path}: ${err} (frame at offset ${offset})`, torn: false }; return; }
        each?.(seg, h, op, flags, offset, a, b, cc);
      };
      let scan;
      try { scan = scanSegment(core, h, path, head.salt, size, sink); } catch (e) { return asProblem(e, path); }
      progress?.(size);
      seg.frames = scan.scanner.frames;
      seg.ops = scanned.length / 5;
      if (broken !== undefined) { out.problem = broken; return out; }
      if (scan.scanner.failure !== undefined) {
        const f = scan.scanner.failure;
        const torn = active && scan.scanner.classify().torn;
        const what = torn ? 'torn tail (damage after the last completed sync)' : 'corruption inside data a completed sync had made durable';
        return fail(path, f.offset, f.reason, `${path}: ${what} at offset ${f.offset}: ${f.reason}`, torn);
      }
      if (scan.pendingStart >= 0) {
        if (active) return fail(path, scan.pendingStart, 'incomplete-write', `${path}: the newest write (offset ${scan.pendingStart}) lost its last frames: a torn tail an open cuts`, true);
        return fail(path, scan.pendingStart, 'decode-failure', `${path}: a sealed segment ends inside a write (offset ${scan.pendingStart})`);
      }
      if (!active) {
        const footer: number[] = [];
        try {
          seg.footer = readFooter(core, h, path, head.salt, size, (op, flags, offset, a, b, cc) => { footer.push(op + flags * 256, offset, a, b, cc); });
        } catch (e) { return asProblem(e, path); }
        if (seg.footer && (footer.length !== scanned.length || footer.some((v, j) => v !== scanned[j]))) {
          return fail(path, 0, 'decode-failure', `${path}: the index footer does not match the segment's frames`);
        }
      }
    } finally {
      quietly(() => h.close());
    }
  }
  if (idx.snapIndex > snapIndex) return fail(dir, 0, 'sequence-order', `${dir}: the log was compacted to index ${idx.snapIndex} but the snapshot file covers only ${snapIndex}`);
  if (snapIndex > idx.snapIndex) idx.compact(snapIndex, out.snapshot!.term);
  out.firstIndex = idx.snapIndex + 1;
  out.lastIndex = idx.lastIndex;
  out.lastTerm = idx.lastTerm;
  out.entries = idx.count;
  return out;
}

/** Read the entry frame at `offset` of a segment with its own core; returns its payload (a copy) and type. */
export function readRaftEntry(core: Core, h: FileHandle, path: string, salt: number, offset: number): { index: number; term: number; type: number; payload: Uint8Array } {
  const c = core.c;
  const readAt = (len: number): number => {
    core.ensure(len);
    try { return h.read(core.u8.subarray(core.staging, core.staging + len), offset); } catch (e) { throw ioError('read', path, e); }
  };
  let got = readAt(4096);
  let total = got;
  if (got >= c.FRAME_HEADER_SIZE) {
    total = Math.min(c.FRAME_HEADER_SIZE + core.dv.getUint32(core.staging + c.F_LEN, true), c.FRAME_HEADER_SIZE + c.MAX_FRAME_PAYLOAD);
    if (total > got) got = readAt(total);
  }
  const st = core.x.scanFrames(core.staging, Math.min(got, total), offset, salt, c.MAX_FRAME_PAYLOAD, 0, 0, 0, 0, 1);
  if (st < 0) throw new WalError('CORRUPTED', `${path}: entry at offset ${offset}: ${core.failure(st)}`, { path, offset, reason: core.failure(st) });
  if (core.x.decodeRaftFrame(core.staging) !== c.OK || core.out('raftType') !== c.TYPE_RAFT_ENTRY) {
    throw new WalError('CORRUPTED', `${path}: the frame at offset ${offset} is not an entry`, { path, offset, reason: 'decode-failure' });
  }
  const body = core.out('raftBody');
  return { index: core.out('raftA'), term: core.out('raftB'), type: core.out('raftFlags'), payload: core.u8.slice(core.staging + body, core.staging + body + core.out('raftBodyLen')) };
}

