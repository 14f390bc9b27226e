/**
 * WalLog files (docs/FORMAT.md §11): segment names and headers, the ops a
 * segment holds (read from its index footer when sealed, else by scanning
 * its frames), and the snapshot file. The bytes are encoded and checked by
 * the core (assembly/raft.ts); this module moves them between the core and
 * the file system.
 */
import { FrameScanner } from '../../codec/frame-scanner.js';
import { readFileHeader } from '../../codec/file-header.js';
import type { Core } from '../../core/core.js';
import { WalError, ioError } from '../../errors.js';
import type { FileHandle, FileSystem } from '../../fs/types.js';
import { publishFile } from '../../lifecycle/atomic-file.js';
import { join } from '../../platform/path.js';
import { randomU32 } from '../../platform/random.js';
import type { HardState } from './types.js';

/** Segment names: `raft-` + the segment number as 20 digits + `.seg` (they sort by number). */
const NAME = /^raft-(\d{20})\.seg$/;
export const SNAPSHOT_NAME = 'snapshot.snap';

export function segmentName(num: number): string {
  return `raft-${String(num).padStart(20, '0')}.seg`;
}

export function parseSegmentName(name: string): number | undefined {
  const m = NAME.exec(name);
  if (m === null) return undefined;
  const n = Number(m[1]);
  return Number.isSafeInteger(n) && n >= 1 && n < 2 ** 32 ? n : undefined;
}

export function isOwnName(name: string): boolean {
  return NAME.test(name) || name === SNAPSHOT_NAME;
}

/** What the log keeps about a segment. */
export interface SegmentMeta {
  num: number;
  path: string;
  salt: number;
  /** lastIndex and lastTerm when the segment was created (header p1, p2). */
  base: number;
  baseTerm: number;
  /** Read handle (opened lazily) or the write handle of the active segment. */
  h: FileHandle | undefined;
}

/** Receives the ops of a segment in order (RAFT_OP_*; flags = entry type or hard-state flags). */
export type OpSink = (op: number, flags: number, offset: number, a: number, b: number, c: number) => void;

export function sizeOf(h: FileHandle, path: string): number {
  try { return h.size(); } catch (e) { throw ioError('stat', path, e); }
}

/** Read a segment's header; returns salt, number, base and base term. */
export function readSegmentHeader(core: Core, h: FileHandle, path: string, num: number): { salt: number; base: number; baseTerm: number } {
  readFileHeader(core, h, path, core.c.KIND_RAFT_SEGMENT, 'Raft log segment');
  const salt = core.out('hdrSalt');
  const p0 = readP(core);
  if (p0[0] !== num) throw new WalError('CORRUPTED', `${path}: header says segment ${p0[0]}, the name says ${num}`, { path, offset: 0 });
  return { salt, base: p0[1]!, baseTerm: p0[2]! };
}

function readP(core: Core): number[] {
  return [core.out('hdrP0'), core.out('hdrP1'), core.out('hdrP2')];
}

function corrupt(path: string, offset: number, what: string): WalError {
  return new WalError('CORRUPTED', `${path}: ${what} at offset ${offset}`, { path, offset, reason: 'decode-failure' });
}

/**
 * Read the ops of a sealed segment from its index footer: the locator frame
 * ends the file and names the footer frame. Returns false when the segment
 * has no valid locator (it was never sealed, or sealing was cut short): the
 * caller scans it instead. With `bulk`, the ops go to it at once instead
 * (unpacked as OpList holds them) and `sink` is not called.
 */
export function readFooter(core: Core, h: FileHandle, path: string, salt: number, size: number, sink: OpSink,
  bulk?: (ops: Float64Array, count: number) => void): boolean {
  const c = core.c;
  const LOC = c.FRAME_HEADER_SIZE + c.RAFT_CONTROL_SIZE;
  if (size < c.FILE_HEADER_SIZE + LOC) return false;
  const at = size - LOC;
  core.ensure(LOC);
  const got = read(core, h, path, 0, LOC, at);
  if (got < LOC) return false;
  if (core.x.scanFrames(core.staging, LOC, at, salt, c.MAX_FRAME_PAYLOAD, 0, 0, 0, 0, 1) < 0 || core.out('outCount') !== 1) return false;
  if (core.out('outLastType') !== c.TYPE_RAFT_LOCATOR || core.x.decodeRaftFrame(core.staging) !== c.OK) return false;
  const footerAt = core.out('raftA');
  const count = core.out('raftB');
  const len = count * c.RAFT_OP_SIZE;
  if (footerAt + c.FRAME_HEADER_SIZE + len !== at || footerAt < c.FILE_HEADER_SIZE) throw corrupt(path, at, 'the footer locator names an impossible footer');
  const frameLen = c.FRAME_HEADER_SIZE + len;
  const outAt = (frameLen + 7) & ~7;
  const F = c.RAFT_OP_F64S;
  core.ensure(outAt + count * F * 8);
  if (read(core, h, path, 0, frameLen, footerAt) < frameLen) throw corrupt(path, footerAt, 'the index footer is cut short');
  const st = core.x.scanFrames(core.staging, frameLen, footerAt, salt, c.MAX_FRAME_PAYLOAD, 0, 0, 0, 0, 1);
  if (st < 0) throw new WalError('CORRUPTED', `${path}: index footer at offset ${footerAt}: ${core.failure(st)}`, { path, offset: footerAt, reason: core.failure(st) });
  if (core.out('outLastType') !== c.TYPE_RAFT_FOOTER) throw corrupt(path, footerAt, 'the locator does not name an index footer');
  if (core.x.decodeRaftOps(core.staging + c.FRAME_HEADER_SIZE, count, core.staging + outAt) !== c.OK) {
    throw corrupt(path, footerAt + c.FRAME_HEADER_SIZE + core.out('raftBadOp') * c.RAFT_OP_SIZE, 'invalid op record in the index footer');
  }
  const f = new Float64Array(core.u8.buffer, core.staging + outAt, count * F);
  if (bulk !== undefined) {
    bulk(f, count);
    return true;
  }
  for (let i = 0; i < count * F; i += F) {
    const opf = f[i]!;
    sink(opf & 255, opf >>> 8, f[i + 1]!, f[i + 2]!, f[i + 3]!, f[i + 4]!);
  }
  return true;
}

/**
 * A sealed segment's locator: the number of ops its footer holds, and with
 * RAFT_LOC_ENTRIES the number of entries (its ops are entries and hard
 * states only). Undefined: no valid locator.
 */
export function readLocator(core: Core, h: FileHandle, path: string, salt: number, size: number): { ops: number; entries: number | undefined } | undefined {
  const c = core.c;
  const LOC = c.FRAME_HEADER_SIZE + c.RAFT_CONTROL_SIZE;
  if (size < c.FILE_HEADER_SIZE + LOC) return undefined;
  core.ensure(LOC);
  if (read(core, h, path, 0, LOC, size - LOC) < LOC) return undefined;
  if (core.x.scanFrames(core.staging, LOC, size - LOC, salt, c.MAX_FRAME_PAYLOAD, 0, 0, 0, 0, 1) < 0 || core.out('outCount') !== 1) return undefined;
  if (core.out('outLastType') !== c.TYPE_RAFT_LOCATOR || core.x.decodeRaftFrame(core.staging) !== c.OK) return undefined;
  return { ops: core.out('raftB'), entries: (core.out('raftFlags') & c.RAFT_LOC_ENTRIES) !== 0 ? core.out('raftC') : undefined };
}

function read(core: Core, h: FileHandle, path: string, off: number, len: number, at: number): number {
  try {
    return h.read(core.u8.subarray(core.staging + off, core.staging + off + len), at);
  } catch (e) {
    throw ioError('read', path, e);
  }
}

/**
 * Scan every frame of a segment from its header on, passing the ops of
 * Raft frames to `sink` (markers, footers and locators are skipped), one
 * write at a time: the ops of a write reach the sink only once its last
 * frame (without RAFT_FLAG_MORE) is seen, so an unfinished write is never
 * applied (pendingStart says where it starts; open cuts it). Stops at
 * the first invalid frame: the returned scanner's `failure` says where (the
 * caller decides between torn tail and corruption). A Raft frame whose bytes
 * are intact but break §11 is a decode failure (always corruption).
 */
export function scanSegment(core: Core, h: FileHandle, path: string, salt: number, size: number, sink: OpSink): SegmentScan {
  const c = core.c;
  const scanner = new FrameScanner(core, h, path, salt, c.FILE_HEADER_SIZE, size, c.SCAN_EMIT | c.SCAN_MARK);
  const result: SegmentScan = { scanner, pendingStart: -1 };
  /** Ops of a write whose last frame has not been seen yet (6 numbers each). */
  const pending: number[] = [];
  const B = c.RAFT_DESC_F64S;
  try {
    for (let n = scanner.next(); n > 0; n = scanner.next()) {
      const base = scanner.batchBase;
      // The core decodes the frames a batch at a time (decodeRaftDescs); the ops come back as numbers.
      for (let from = 0; from < n; from += c.RAFT_DESC_BATCH) {
        const m = Math.min(c.RAFT_DESC_BATCH, n - from);
        const st = core.x.decodeRaftDescs(base, core.desc + from * c.DESC_SIZE, m);
        const f = new Float64Array(core.u8.buffer, core.x.raftDescOutPtr(), m * B);
        if (st !== c.OK) {
          const bad = core.out('raftBadOp');
          // the frames before the bad one are applied as they would have been one at a time
          if (!emit(f, bad)) return result;
          scanner.fail(scanner.batchOffset + core.dv.getUint32(core.desc + (from + bad) * c.DESC_SIZE + c.D_OFFSET, true), 'decode-failure');
          return result;
        }
        if (!emit(f, m)) return result;
      }
    }
  } catch (e) {
    if (e instanceof WalError) throw e;
    throw ioError('read', path, e);
  }
  /** Take `m` decoded frames: ops of a write reach the sink once its last frame is seen. False after a failure. */
  function emit(f: Float64Array, m: number): boolean {
    for (let j = 0; j < m * B; j += B) {
      const opf = f[j]!;
      const offset = scanner.batchOffset + f[j + 1]!;
      if (opf === 0) {
        if (pending.length > 0) { scanner.fail(offset, 'decode-failure'); return false; }
        continue;
      }
      if (pending.length === 0) result.pendingStart = offset;
      pending.push(opf & 255, opf >>> 8, offset, f[j + 2]!, f[j + 3]!, f[j + 4]!);
      if (f[j + 5]! !== 0) continue;
      for (let k = 0; k < pending.length; k += 6) sink(pending[k]!, pending[k + 1]!, pending[k + 2]!, pending[k + 3]!, pending[k + 4]!, pending[k + 5]!);
      pending.length = 0;
      result.pendingStart = -1;
    }
    return true;
  }
  return result;
}

/** A scanned segment: the scanner (its failure, if any) and where an unfinished write starts (-1: none). */
export interface SegmentScan {
  scanner: FrameScanner;
  pendingStart: number;
}

/** The snapshot file's content: header (kind 5, p0 index, p1 term) + one data frame. Built in core staging. */
export function snapshotFileBytes(core: Core, salt: number, index: number, term: number, data: Uint8Array): Uint8Array {
  const c = core.c;
  const H = c.FILE_HEADER_SIZE;
  core.ensure(H + c.FRAME_HEADER_SIZE + data.length);
  core.x.encodeFileHeader(core.staging, c.KIND_RAFT_SNAPSHOT, salt, index, term, 0);
  core.u8.set(data, core.staging + H + c.FRAME_HEADER_SIZE);
  const n = core.x.encodeFrame(core.staging + H, data.length, c.TYPE_RAFT_SNAPSHOT_DATA, salt, index % 2 ** 32, Math.floor(index / 2 ** 32), H);
  return core.u8.subarray(core.staging, core.staging + H + n);
}

/** Read the snapshot file's header: index and term (and salt). */
export function readSnapshotHeader(core: Core, h: FileHandle, path: string): { index: number; term: number; salt: number } {
  readFileHeader(core, h, path, core.c.KIND_RAFT_SNAPSHOT, 'Raft snapshot file');
  return { index: core.out('hdrP0'), term: core.out('hdrP1'), salt: core.out('hdrSalt') };
}

/** Read and check the snapshot's data frame (CORRUPTED on any damage: the file was synced before it got its name). */
export function readSnapshotData(core: Core, h: FileHandle, path: string): { index: number; term: number; data: Uint8Array } {
  const c = core.c;
  const { index, term, salt } = readSnapshotHeader(core, h, path);
  const size = sizeOf(h, path);
  const at = c.FILE_HEADER_SIZE;
  const len = size - at;
  core.ensure(Math.max(len, c.FRAME_HEADER_SIZE));
  const got = read(core, h, path, 0, len, at);
  const st = core.x.scanFrames(core.staging, got, at, salt, c.MAX_FRAME_PAYLOAD, 0, 0, 0, 0, 1);
  const bad = st < 0 ? core.failure(st) : core.out('outCount') !== 1 || core.out('outEnd') !== len || core.out('outLastType') !== c.TYPE_RAFT_SNAPSHOT_DATA ? 'decode-failure' : undefined;
  if (bad !== undefined) throw new WalError('CORRUPTED', `${path}: snapshot data at offset ${at}: ${bad}`, { path, offset: at, reason: bad });
  const seq = core.out('outSeqHi') * 2 ** 32 + core.out('outSeqLo');
  if (seq !== index) throw corrupt(path, at, `snapshot data frame says index ${seq}, the header ${index}`);
  const flen = core.dv.getUint32(core.staging + c.F_LEN, true);
  return { index, term, data: core.u8.slice(core.staging + c.FRAME_HEADER_SIZE, core.staging + c.FRAME_HEADER_SIZE + flen) };
}

/** Create segment `num` (header + a hard-state frame) by the atomic recipe; the caller syncs the directory. */
export function createSegment(core: Core, fs: FileSystem, dir: string, num: number, base: number, baseTerm: number, hs: HardState): { salt: number; size: number } {
  const c = core.c;
  const salt = randomU32();
  core.ensure(c.FILE_HEADER_SIZE + 64);
  core.x.encodeFileHeader(core.staging, c.KIND_RAFT_SEGMENT, salt, num, base, baseTerm);
  const n = core.x.encodeRaftControl(core.staging + c.FILE_HEADER_SIZE, c.TYPE_RAFT_HARD_STATE, salt, hs.term, hs.vote ?? 0, hs.commit,
    hs.vote === null ? 0 : c.RAFT_HS_VOTE, 0, c.FILE_HEADER_SIZE);
  const bytes = core.u8.slice(core.staging, core.staging + c.FILE_HEADER_SIZE + n);
  publishFile(fs, join(dir, segmentName(num)), (h) => h.write(bytes, 0));
  return { salt, size: bytes.length };
}
