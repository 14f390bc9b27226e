/**
 * Public types of SegmentedWal and the checks of its open options
 * (docs/segmented-wal.md documents each field and its default).
 */
import { KeyRing } from './encryption.js';
import type { FileSystem } from '../../fs/types.js';
import { boolOption, checkOptions, intOption, u64Option } from '../../lifecycle/options.js';
import type { SequenceMode } from '../../core/u64.js';

/**
 * One record as replay returns it. The payload belongs to the caller: it is
 * a view into a private copy of its stretch of the segment (up to
 * COPY_SPAN bytes shared with its neighbours, which are never written
 * again), so keeping one payload can keep that copy alive; payload.slice()
 * detaches it. One copy per stretch instead of one per record makes replay
 * several times faster in V8, where small typed arrays are costly.
 */
export interface SegmentedRecord {
  lsn: number;
  recordType: number;
  /** number, or bigint when the WAL was opened with { u64: 'bigint' }. */
  tenantId: number | bigint;
  vshardId: number;
  databaseId: number | bigint;
  payload: Uint8Array;
}
/** @deprecated Use SegmentedRecord. */
export type WalRecord = SegmentedRecord;

export interface SegmentedWalOptions {
  /** The WAL directory; created (with its first segment) when missing. */
  dir: string;
  /** A segment rolls once it holds at least this many bytes. Default 64 MiB. */
  segmentTargetSize?: number;
  /** File system to use. Default: the current runtime's. */
  fs?: FileSystem;
  /** Bytes of records buffered before they are written. Default 1 MiB; 0 writes every append. */
  bufferSize?: number;
  /**
   * Encrypt new records with this ring, and decrypt with it. Given (a ring
   * or null) it also decides the active segment: one written differently is
   * rolled (or, when empty, rewritten). Omitted: no ring, the active segment
   * is left as it is. Default: omitted.
   */
  encryptionRing?: KeyRing | null;
  /** tenantId/databaseId as 'number' (default, up to 2^53-1) or 'bigint' (full u64). */
  u64?: SequenceMode;
  /** @deprecated Alias of `u64` (its old name). */
  ids?: SequenceMode;
  /**
   * With an encryption ring set, replay refuses plaintext segments (a
   * downgrade: plaintext records slipped into the directory would be read as
   * if they were authentic) unless this is true, e.g. for segments written
   * before encryption was switched on. Default false.
   */
  allowPlaintext?: boolean;
  /**
   * Keep up to this many segment files that truncateBefore() deletes, and
   * reuse them for new segments, so durable appends overwrite blocks the
   * file already has instead of growing it (fdatasync ~1.5x faster on
   * ext4). Stale records in a reused file never pass validation (docs/FORMAT.md
   * §S9). true means 4. Default 0: deleted segments are removed.
   */
  recycleSegments?: number | boolean;
}

/** One record for appendBatch(): exactly these five fields (another key is a TypeError). */
export interface SegmentedAppendRecord {
  recordType: number | bigint;
  tenantId: number | bigint;
  vshardId: number | bigint;
  databaseId: number | bigint;
  payload: Uint8Array;
}

/** What listSegments() reports per segment, oldest first. */
export interface SegmentInfo {
  path: string;
  firstLsn: number;
  /** firstLsn - 1 when the segment holds no records. */
  lastLsn: number;
  /** Bytes in the file (records still buffered in memory are not counted). */
  sizeBytes: number;
  /** Every segment but the last is sealed: complete, durable, never written again. */
  sealed: boolean;
  encrypted: boolean;
}

/** @deprecated Use SegmentedAppendRecord. */
export type AppendRecord = SegmentedAppendRecord;

export interface SegmentedTruncateResult { segmentsDeleted: number; bytesReclaimed: number }
/** @deprecated Use SegmentedTruncateResult. */
export type TruncateResult = SegmentedTruncateResult;
export interface SegmentedReplayPage { records: SegmentedRecord[]; hasMore: boolean }
/** @deprecated Use SegmentedReplayPage. */
export type ReplayPage = SegmentedReplayPage;

/** What open() found: bytes cut from a torn tail (and why), segments it created. */
export interface SegmentedOpenReport { truncatedBytes: number; truncatedReason: string | undefined; createdSegments: number }

const OPTION_KEYS = ['dir', 'segmentTargetSize', 'fs', 'bufferSize', 'encryptionRing', 'u64', 'ids', 'allowPlaintext', 'recycleSegments'] as const;

export interface CheckedOptions {
  dir: string;
  segmentTargetSize: number;
  bufferSize: number;
  u64: SequenceMode;
  allowPlaintext: boolean;
  recycleSegments: number;
  fs: FileSystem | undefined;
  encryptionRing: KeyRing | null | undefined;
}

/** Validate open()'s options (TypeError/RangeError); returns them with defaults applied. */
export function checkOpenOptions(o: SegmentedWalOptions): CheckedOptions {
  const where = 'SegmentedWal.open';
  checkOptions(where, o, OPTION_KEYS);
  if (typeof o.dir !== 'string' || o.dir.length === 0) throw new TypeError(`${where}: dir must be a non-empty string`);
  const segmentTargetSize = intOption(where, 'segmentTargetSize', o.segmentTargetSize, 64 << 20, 1, Number.MAX_SAFE_INTEGER);
  const bufferSize = intOption(where, 'bufferSize', o.bufferSize, 1 << 20, 0, 1 << 30);
  const u64 = u64Option(where, o, { name: 'ids', value: o.ids });
  const ring = o.encryptionRing;
  if (ring !== undefined && ring !== null && !(ring instanceof KeyRing)) throw new TypeError(`${where}: encryptionRing must be a KeyRing or null`);
  const dir = o.dir.length > 1 ? o.dir.replace(/\/+$/, '') : o.dir;
  const allowPlaintext = boolOption(where, 'allowPlaintext', o.allowPlaintext, false);
  const recycle = o.recycleSegments;
  const recycleSegments = typeof recycle === 'boolean' ? (recycle ? 4 : 0) : intOption(where, 'recycleSegments', recycle, 0, 0, 1 << 20);
  return { dir, segmentTargetSize, bufferSize, u64, allowPlaintext, recycleSegments, fs: o.fs, encryptionRing: ring };
}
