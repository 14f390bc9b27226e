/**
 * Opening a SegmentedWal directory (docs/segmented-wal.md "Crash behaviour",
 * docs/FORMAT.md §S6 Recovery):
 *
 * 1. remove temp files a crashed segment creation left, and sync the directory;
 * 2. list the segments (fixed-width names sort by first LSN) and validate
 *    every header (a damaged header is BAD_HEADER, the shared mapping of
 *    host/codec/file-header.ts: segments are created with the
 *    temp-sync-rename recipe, so no crash can leave a torn one);
 * 3. scan every frame of the last (active) segment: the first invalid frame
 *    is a torn tail unless a later frame's watermark proves a completed sync
 *    covered it (FrameScanner.classify); a torn tail is cut (recoverTail)
 *    and FrameFile.settle() syncs the cut with the open's sync marker;
 *    corruption is CORRUPTED with path, offset and reason;
 * 4. the next LSN is the active segment's last LSN + 1, or its header's first
 *    LSN when it has no records, so a rolled-but-empty segment never lets an
 *    LSN be issued twice.
 * Sealed segments are never written again; their frames are validated when
 * they are replayed, where any damage is CORRUPTED (they were synced before
 * the next segment was created, so nothing in them is a torn tail).
 */
import type { Core } from '../../core/core.js';
import type { KeyRing } from './encryption.js';
import { ioError } from '../../errors.js';
import { type RecoveredTail, recoverTail } from '../../codec/frame-file.js';
import { quietly } from '../../lifecycle/lifecycle.js';
import type { FileHandle, FileSystem } from '../../fs/types.js';
import { SegmentScan, type ScanContext } from './scan.js';
import {type SegmentHeader, parseSegmentName, readSegmentHeader, removeSegmentTemps, segConsts, segmentHeaderBytes, segmentHeaderFor, segmentName, writeSegmentFile,  } from './segment-file.js';

/** What the WAL keeps about each segment. */
export interface SegmentMeta {
  name: string;
  path: string;
  firstLsn: number;
  /** Bytes on disk (for the active segment: when it was last sealed or opened). */
  size: number;
  header: SegmentHeader;
}

export interface Recovered {
  segments: SegmentMeta[];
  /** Write handle of the last segment. */
  handle: FileHandle;
  /** The active segment's tail as recoverTail() left it (cut, not yet synced: FrameFile.settle() syncs). */
  tail: RecoveredTail;
  nextLsn: number;
}

/** List the segments of `dir` after removing temp files; [] when there are none. */
export function listSegments(fs: FileSystem, dir: string): Array<{ name: string; firstLsn: number }> {
  let names: string[];
  try { names = fs.list(dir); } catch (e) { throw ioError('list', dir, e); }
  removeSegmentTemps(fs, dir, names);
  const out: Array<{ name: string; firstLsn: number }> = [];
  for (const name of names) {
    const firstLsn = parseSegmentName(name, dir);
    if (firstLsn !== undefined) out.push({ name, firstLsn });
  }
  out.sort((a, b) => a.firstLsn - b.firstLsn);
  return out;
}

function sizeOf(h: FileHandle, path: string): number {
  try { return h.size(); } catch (e) { throw ioError('stat', path, e); }
}

/**
 * Steps 2-4 above for a directory that has at least one segment. The active
 * segment's torn tail is cut but not synced: the caller builds its FrameFile
 * and settle()s it (one fsync covering the cut and the open's sync marker).
 * On failure every handle it opened is closed.
 */
export function recover(core: Core, fs: FileSystem, dir: string, found: Array<{ name: string; firstLsn: number }>, ctx: ScanContext): Recovered {
  const segments: SegmentMeta[] = [];
  for (let i = 0; i < found.length - 1; i++) {
    const { name, firstLsn } = found[i]!;
    const path = `${dir}/${name}`;
    let h: FileHandle;
    try { h = fs.open(path); } catch (e) { throw ioError('open', path, e); }
    try {
      const header = readSegmentHeader(core, h, path, firstLsn);
      segments.push({ name, path, firstLsn, size: sizeOf(h, path), header });
    } finally {
      quietly(() => h.close());
    }
  }
  const { name, firstLsn } = found[found.length - 1]!;
  const path = `${dir}/${name}`;
  let h: FileHandle;
  try { h = fs.open(path, { write: true }); } catch (e) { throw ioError('open', path, e); }
  try {
    const header = readSegmentHeader(core, h, path, firstLsn);
    const size = sizeOf(h, path);
    const scan = new SegmentScan(core, h, path, header, size, ctx);
    try {
      while (scan.next(0, null)) { /* validate only */ }
    } catch (e) {
      throw ioError('read', path, e);
    }
    const tail = recoverTail(core, h, path, scan.scanner, size, 'truncate-partial');
    segments.push({ name, path, firstLsn, size: tail.fileSize, header });
    return { segments, handle: h, tail, nextLsn: scan.lastLsn + 1 };
  } catch (e) {
    quietly(() => h.close());
    throw e;
  }
}

/** A new WAL's first segment (first LSN 1), made durable in the directory. */
export function createFirstSegment(core: Core, fs: FileSystem, dir: string, ring: KeyRing | null): { name: string; firstLsn: number } {
  const k = segConsts(core);
  const name = segmentName(1);
  const enc = ring ? k.SEG_ENC_SEALED_BLOCKS : k.SEG_ENC_NONE;
  writeSegmentFile(fs, dir, name, segmentHeaderBytes(core, segmentHeaderFor(1, enc, ring)));
  try { fs.syncDir(dir); } catch (e) { throw ioError('fsync directory', dir, e); }
  return { name, firstLsn: 1 };
}
