/**
 * The directory side of SegmentedWal below the class: making a new segment
 * appear (fresh, or a recycled file: ./recycle.ts) and deleting the segments
 * a checkpoint no longer needs. Both keep the rules of docs/FORMAT.md §S6:
 * a segment's name becomes durable only with a complete, durable header,
 * and deletions go oldest first, each durable before the next.
 */
import type { Core } from '../../core/core.js';
import { WalError } from '../../errors.js';
import type { FileHandle, FileSystem } from '../../fs/types.js';
import type { Lifecycle } from '../../lifecycle/lifecycle.js';
import { randomU32 } from '../../platform/random.js';
import type { SegmentMeta } from './recovery.js';
import type { SegmentPool } from './recycle.js';
import { type SegmentHeader, segmentHeaderBytes, segmentName, writeSegmentFile } from './segment-file.js';
import type { SegmentInfo, SegmentedTruncateResult } from './types.js';

export interface NewSegment {
  meta: SegmentMeta;
  handle: FileHandle;
  /** Bytes of the segment's header (where its first frame goes). */
  end: number;
  /** Whether it reuses a recycled file (stale bytes after the records until sealed). */
  recycled: boolean;
}

/**
 * Make the segment for `fields` appear and open it for writing: a free file
 * of `pool` when it has one (and `replace` is false), else a new file by the
 * temp-fsync-rename recipe (replacing a file of that name). Then the
 * directory fsync. A failure before the rename changes nothing (IO_ERROR);
 * after it, the WAL is poisoned.
 */
export function makeSegment(core: Core, fs: FileSystem, dir: string, pool: SegmentPool, life: Lifecycle,
  fields: Omit<SegmentHeader, 'salt'>, replace: boolean): NewSegment {
  const name = segmentName(fields.firstLsn);
  const path = `${dir}/${name}`;
  const reused = replace ? undefined : pool.reuse(core, name, (salt) => segmentHeaderBytes(core, fields, salt));
  let salt: number;
  let h: FileHandle | undefined;
  if (reused !== undefined) {
    salt = reused.salt;
    h = reused.handle;
  } else {
    salt = randomU32();
    writeSegmentFile(fs, dir, name, segmentHeaderBytes(core, fields, salt));
  }
  try { fs.syncDir(dir); } catch (e) {
    if (h !== undefined) { const x = h; try { x.close(); } catch { /* poisoned anyway */ } }
    throw life.poison(e, 'directory fsync after creating a segment failed', dir);
  }
  if (h === undefined) {
    try { h = fs.open(path, { write: true }); } catch (e) { throw life.poison(e, 'opening a new segment failed', path); }
  }
  const end = core.c.FILE_HEADER_SIZE;
  const header: SegmentHeader = { salt, ...fields };
  return { meta: { name, path, firstLsn: fields.firstLsn, size: end, header }, handle: h, end, recycled: reused !== undefined };
}

/**
 * Delete (or retire into `pool`) the sealed segments whose records all lie
 * below `cp`, oldest first, each made durable (directory fsync) before the
 * next; `segs` loses them as they go. The active segment is never deleted.
 */
export function deleteSegmentsBelow(fs: FileSystem, dir: string, segs: SegmentMeta[], cp: number, pool: SegmentPool, life: Lifecycle): SegmentedTruncateResult {
  const result: SegmentedTruncateResult = { segmentsDeleted: 0, bytesReclaimed: 0 };
  while (segs.length > 1 && segs[1]!.firstLsn <= cp) {
    const s = segs[0]!;
    try {
      if (!pool.retire(s.path)) fs.remove(s.path);
    } catch (e) {
      throw new WalError('IO_ERROR', `${s.path}: removing the segment failed after ${result.segmentsDeleted} were deleted`, { path: s.path, cause: e });
    }
    segs.shift();
    try { fs.syncDir(dir); } catch (e) { throw life.poison(e, 'directory fsync after deleting a segment failed'); }
    result.segmentsDeleted++;
    result.bytesReclaimed += s.size;
  }
  return result;
}

/** listSegments(): every segment, oldest first; the active one ends at `nextLsn` - 1 and has `activeSize` bytes. */
export function segmentInfos(segs: readonly SegmentMeta[], nextLsn: number, activeSize: number, encNone: number): SegmentInfo[] {
  const n = segs.length;
  return segs.map((s, i) => ({
    path: s.path,
    firstLsn: s.firstLsn,
    lastLsn: (i < n - 1 ? segs[i + 1]!.firstLsn : nextLsn) - 1,
    sizeBytes: i < n - 1 ? s.size : activeSize,
    sealed: i < n - 1,
    encrypted: s.header.enc !== encNone,
  }));
}
