/**
 * The replay calls of SegmentedWal (records, replay, replayFrom,
 * replayFromLimit), over ./replay.ts. A base class so the WAL's own module
 * holds only its state and write path: these need nothing of the WAL but
 * the ReplayHost methods it implements (a snapshot and a core to scan with).
 */
import type { Core } from '../../core/core.js';
import { type ReplayHost, type ReplaySnapshot, type SegmentedReplayOptions, RecordIterator, collect, replayBatches, replayOptions } from './replay.js';
import type { SegmentedRecord, SegmentedReplayPage } from './types.js';

export abstract class SegmentedReplayApi implements ReplayHost {
  /** @internal */
  abstract _replaySnapshot(durableOnly: boolean): ReplaySnapshot;
  /** @internal */
  abstract _takeCore(): Core;
  /** @internal */
  abstract _returnCore(core: Core): void;

  /**
   * Lazily yield records with LSN >= fromLsn (default: all retained), segment
   * by segment, in bounded memory. No file descriptor is held between
   * batches, so an abandoned iterator leaks nothing.
   */
  records(fromLsn?: number | bigint, options?: SegmentedReplayOptions): IterableIterator<SegmentedRecord> {
    return new RecordIterator(() => replayBatches(this, fromLsn, replayOptions('records', options)));
  }

  [Symbol.iterator](): IterableIterator<SegmentedRecord> { return this.records(); }

  /** Every retained record, in LSN order (an array: for large logs prefer records()). */
  replay(options?: SegmentedReplayOptions): SegmentedRecord[] {
    return collect(this, undefined, Infinity, replayOptions('replay', options)).records;
  }

  /** Records with LSN >= lsn. LSN_NOT_RETAINED if lsn is below the oldest retained segment. */
  replayFrom(lsn: number | bigint, options?: SegmentedReplayOptions): SegmentedRecord[] {
    if (lsn === undefined) throw new TypeError('replayFrom: lsn is required');
    return collect(this, lsn, Infinity, replayOptions('replayFrom', options)).records;
  }

  /** At most `max` records from `lsn`, and whether more follow (no record past `max` is read). */
  replayFromLimit(lsn: number | bigint, max: number, options?: SegmentedReplayOptions): SegmentedReplayPage {
    if (lsn === undefined) throw new TypeError('replayFromLimit: lsn is required');
    if (!Number.isSafeInteger(max) || max < 0) throw new RangeError('replayFromLimit: max must be a non-negative integer');
    return collect(this, lsn, max, replayOptions('replayFromLimit', options));
  }
}
