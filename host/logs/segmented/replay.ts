/**
 * Replay for SegmentedWal: yields the records of a snapshot of the log in
 * batches (one scan chunk at a time), segment by segment, so memory stays
 * bounded however long the log is. Every frame is validated (CRC, salt,
 * contiguous LSNs, watermarks, sub-header rules) and LSN continuity across
 * segments is checked; any failure is CORRUPTED with the segment's path and
 * the offset. Replay reads what was appended before the call (buffered
 * records are written first), also while the WAL keeps appending.
 */
import type { Core } from '../../core/core.js';
import type { KeyRing } from './encryption.js';
import { WalError, ioError } from '../../errors.js';
import type { FileHandle, FileSystem } from '../../fs/types.js';
import { safeArg } from '../../core/u64.js';
import { readSegmentHeader } from './segment-file.js';
import type { SegmentMeta } from './recovery.js';
import { SegmentScan, type WalRecord } from './scan.js';
import type { SequenceMode } from '../../core/u64.js';

/** What replay needs from the WAL (implemented by SegmentedWal). */
export interface ReplayHost {
  _replaySnapshot(): { fs: FileSystem; segments: SegmentMeta[]; activeEnd: number; nextLsn: number; ring: KeyRing | null; ids: SequenceMode };
  _takeCore(): Core;
  _returnCore(core: Core): void;
}

/** Index of the last segment whose first LSN is <= lsn (0 when lsn is below all). */
function segmentFor(segs: readonly SegmentMeta[], lsn: number): number {
  let lo = 0;
  let hi = segs.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (segs[mid]!.firstLsn <= lsn) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/**
 * Batches of records with LSN >= from (undefined: from the oldest retained).
 * A batch array is reused: consume it before taking the next. Throws
 * LSN_NOT_RETAINED when LSNs in [from, oldest retained) were deleted.
 */
export function* replayBatches(host: ReplayHost, fromArg: number | bigint | undefined): Generator<WalRecord[], void, void> {
  const from0 = fromArg === undefined ? undefined : safeArg(fromArg, 'replayFrom: lsn');
  const snap = host._replaySnapshot();
  const segs = snap.segments;
  const floor = segs[0]!.firstLsn;
  const from = from0 === undefined ? floor : Math.max(from0, 1);
  if (from < floor) {
    throw new WalError('LSN_NOT_RETAINED', `replay from LSN ${from} asked for LSNs below ${floor}, the oldest retained (truncateBefore deleted them)`, { path: segs[0]!.path });
  }
  if (from >= snap.nextLsn) return;
  const core = host._takeCore();
  const ctx = { ring: snap.ring, ids: snap.ids };
  const out: WalRecord[] = [];
  try {
    for (let i = segmentFor(segs, from); i < segs.length; i++) {
      const s = segs[i]!;
      const last = i === segs.length - 1;
      let h: FileHandle;
      try {
        h = snap.fs.open(s.path);
      } catch (e) {
        if ((e as { code?: string }).code === 'ENOENT') {
          throw new WalError('LSN_NOT_RETAINED', `${s.path} was deleted while replay was reading the log`, { path: s.path, cause: e });
        }
        throw ioError('open', s.path, e);
      }
      try {
        const header = readSegmentHeader(core, h, s.path, s.firstLsn);
        let size: number;
        try { size = last ? snap.activeEnd : h.size(); } catch (e) { throw ioError('stat', s.path, e); }
        const scan = new SegmentScan(core, h, s.path, header, size, ctx);
        for (;;) {
          let more: boolean;
          try { more = scan.next(from, out); } catch (e) { throw ioError('read', s.path, e); }
          if (out.length > 0) {
            yield out;
            out.length = 0;
          }
          if (!more) break;
        }
        if (scan.scanner.failure !== undefined) throw scan.scanner.error(false);
        const expected = last ? snap.nextLsn : segs[i + 1]!.firstLsn;
        if (scan.lastLsn + 1 !== expected) {
          throw new WalError('CORRUPTED', `${s.path}: the segment's records end at LSN ${scan.lastLsn} but the log continues at ${expected} (records are missing)`, { path: s.path, offset: scan.end });
        }
      } finally {
        try { h.close(); } catch { /* read-only */ }
      }
    }
  } finally {
    host._returnCore(core);
  }
}

/** Up to `max` records from `from` into an array, and whether more follow. */
export function collect(host: ReplayHost, from: number | bigint | undefined, max: number): { records: WalRecord[]; hasMore: boolean } {
  const records: WalRecord[] = [];
  for (const batch of replayBatches(host, from)) {
    for (const r of batch) {
      if (records.length === max) return { records, hasMore: true };
      records.push(r);
    }
  }
  return { records, hasMore: false };
}
