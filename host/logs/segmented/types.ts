/**
 * Public types of SegmentedWal and the checks of its open options
 * (docs/segmented-wal.md documents each field and its default).
 */
import { KeyRing } from './encryption.js';
import type { FileSystem } from '../../fs/types.js';
import { checkOptions } from '../../lifecycle/options.js';
import type { WalRecord } from './scan.js';
import type { SequenceMode } from '../../core/u64.js';

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
  ids?: SequenceMode;
}

/** One record for appendBatch(). */
export interface AppendRecord {
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

export interface TruncateResult { segmentsDeleted: number; bytesReclaimed: number }
export interface ReplayPage { records: WalRecord[]; hasMore: boolean }

/** What open() found: bytes cut from a torn tail (and why), segments it created. */
export interface SegmentedOpenReport { truncatedBytes: number; truncatedReason: string | undefined; createdSegments: number }

const OPTION_KEYS = ['dir', 'segmentTargetSize', 'fs', 'bufferSize', 'encryptionRing', 'ids'] as const;

/** Validate open()'s options (TypeError/RangeError); returns them with defaults applied. */
export function checkOpenOptions(o: SegmentedWalOptions): Required<Omit<SegmentedWalOptions, 'fs' | 'encryptionRing'>> & SegmentedWalOptions {
  checkOptions('SegmentedWal.open', o, OPTION_KEYS);
  if (typeof o.dir !== 'string' || o.dir.length === 0) throw new TypeError('SegmentedWal.open: dir must be a non-empty string');
  const segmentTargetSize = o.segmentTargetSize ?? 64 << 20;
  if (!Number.isSafeInteger(segmentTargetSize) || segmentTargetSize < 1) throw new RangeError('SegmentedWal.open: segmentTargetSize must be a positive integer');
  const bufferSize = o.bufferSize ?? 1 << 20;
  if (!Number.isSafeInteger(bufferSize) || bufferSize < 0 || bufferSize > 1 << 30) throw new RangeError('SegmentedWal.open: bufferSize must be an integer in [0, 2^30]');
  if (o.ids !== undefined && o.ids !== 'number' && o.ids !== 'bigint') throw new RangeError("SegmentedWal.open: ids must be 'number' or 'bigint'");
  const ring = o.encryptionRing;
  if (ring !== undefined && ring !== null && !(ring instanceof KeyRing)) throw new TypeError('SegmentedWal.open: encryptionRing must be a KeyRing or null');
  const dir = o.dir.length > 1 ? o.dir.replace(/\/+$/, '') : o.dir;
  return { ...o, dir, segmentTargetSize, bufferSize, ids: o.ids ?? 'number' };
}
