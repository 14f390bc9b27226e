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
import { SegmentScan, checkSegmentKey } from './scan.js';
import type { SequenceMode } from '../../core/u64.js';
import type { SegmentedRecord } from './types.js';
import { quietly } from '../../lifecycle/lifecycle.js';
import { boolOption, checkOptions } from '../../lifecycle/options.js';

/** A snapshot of what one replay may read. */
export interface ReplaySnapshot {
  fs: FileSystem;
  segments: SegmentMeta[];
  /** Bytes of the active segment replay reads (its written end, or its durable end for durableOnly). */
  activeEnd: number;
  /** The LSN after the last one replay hands out. */
  nextLsn: number;
  ring: KeyRing | null;
  ids: SequenceMode;
  allowPlaintext: boolean;
}

/** What replay needs from the WAL (implemented by SegmentedWal). */
export interface ReplayHost {
  _replaySnapshot(durableOnly: boolean): ReplaySnapshot;
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
 * A read-only handle on a segment that opens the file only while replay
 * reads it: replay releases it before every yield, so an iterator that is
 * abandoned (never finished, never returned) holds no file descriptor
 * (defect 8.11). A segment deleted between two batches is LSN_NOT_RETAINED.
 */
class SegmentReader implements FileHandle {
  #h: FileHandle | undefined;
  constructor(private readonly fs: FileSystem, readonly path: string) {}
  private handle(): FileHandle {
    if (this.#h !== undefined) return this.#h;
    try {
      this.#h = this.fs.open(this.path);
    } catch (e) {
      if ((e as { errno?: string }).errno === 'ENOENT' || (e as { code?: string }).code === 'ENOENT') {
        throw new WalError('LSN_NOT_RETAINED', `${this.path} was deleted while replay was reading the log`, { path: this.path, cause: e });
      }
      throw ioError('open', this.path, e);
    }
    return this.#h;
  }
  read(buf: Uint8Array, position: number): number { return this.handle().read(buf, position); }
  size(): number { return this.handle().size(); }
  write(): void { throw new Error('SegmentReader is read-only'); }
  truncate(): void { throw new Error('SegmentReader is read-only'); }
  sync(): void { throw new Error('SegmentReader is read-only'); }
  /** Close the descriptor if open (reading again reopens it). */
  close(): void {
    const h = this.#h;
    this.#h = undefined;
    if (h !== undefined) quietly(() => h.close());
  }
}

/** Where a replay started (after clamping) and the snapshot's next LSN. */
export interface ReplayEnd { from: number; nextLsn: number }

/** Options of the replay calls. */
export interface SegmentedReplayOptions {
  /**
   * Stop at durableLsn: hand out only records a completed sync made durable
   * (default false: also records appended and written or buffered but not
   * yet synced, which a crash may still take away).
   */
  durableOnly?: boolean;
}

export function replayOptions(where: string, o: SegmentedReplayOptions | undefined): boolean {
  if (o === undefined) return false;
  checkOptions(where, o, ['durableOnly']);
  return boolOption(where, 'durableOnly', o.durableOnly, false);
}

/**
 * Batches of records with LSN >= from (undefined: from the oldest retained),
 * at most `limit` records in all: no record beyond it is decoded. A batch
 * array is reused: consume it before taking the next. Throws
 * LSN_NOT_RETAINED when LSNs in [from, oldest retained) were deleted.
 * Returns where it started and the snapshot's next LSN (for hasMore). No file descriptor is held
 * while a batch is out.
 */
export function* replayBatches(host: ReplayHost, fromArg: number | bigint | undefined, durableOnly = false, limit = Infinity): Generator<SegmentedRecord[], ReplayEnd, void> {
  const from0 = fromArg === undefined ? undefined : safeArg(fromArg, 'replayFrom: lsn');
  const snap = host._replaySnapshot(durableOnly);
  const segs = snap.segments;
  const floor = segs[0]!.firstLsn;
  const from = from0 === undefined ? floor : Math.max(from0, 1);
  if (from < floor) {
    throw new WalError('LSN_NOT_RETAINED', `replay from LSN ${from} asked for LSNs below ${floor}, the oldest retained (truncateBefore deleted them)`, { path: segs[0]!.path });
  }
  const end: ReplayEnd = { from, nextLsn: snap.nextLsn };
  if (from >= snap.nextLsn || limit === 0) return end;
  const core = host._takeCore();
  const ctx = { ring: snap.ring, ids: snap.ids };
  const out: SegmentedRecord[] = [];
  let left = limit;
  try {
    for (let i = segmentFor(segs, from); i < segs.length && left > 0; i++) {
      const s = segs[i]!;
      const last = i === segs.length - 1;
      const h = new SegmentReader(snap.fs, s.path);
      try {
        const header = readSegmentHeader(core, h, s.path, s.firstLsn);
        checkSegmentKey(s.path, header, snap);
        let size: number;
        try { size = last ? snap.activeEnd : h.size(); } catch (e) { throw ioError('stat', s.path, e); }
        const scan = new SegmentScan(core, h, s.path, header, size, ctx);
        for (;;) {
          let more: boolean;
          try {
            more = scan.next(from, out, left);
          } catch (e) {
            // Records decrypted before the one that failed are handed out first.
            if (out.length > 0) { h.close(); yield out; out.length = 0; }
            throw e instanceof TypeError ? e : ioError('read', s.path, e); // TypeError: a destroyed KeyRing
          }
          if (out.length > 0) {
            h.close();
            left -= out.length;
            yield out;
            out.length = 0;
            if (left === 0) return end;
          }
          if (!more) break;
        }
        if (scan.scanner.failure !== undefined) throw scan.scanner.error(false);
        const expected = last ? snap.nextLsn : segs[i + 1]!.firstLsn;
        if (scan.lastLsn + 1 !== expected) {
          throw new WalError('CORRUPTED', `${s.path}: the segment's records end at LSN ${scan.lastLsn} but the log continues at ${expected} (records are missing)`, { path: s.path, offset: scan.end });
        }
      } finally {
        h.close();
      }
    }
  } finally {
    host._returnCore(core);
  }
  return end;
}

/** Up to `max` records from `from` into an array, and whether more follow (known from LSNs: nothing past `max` is read). */
export function collect(host: ReplayHost, from: number | bigint | undefined, max: number, durableOnly: boolean): { records: SegmentedRecord[]; hasMore: boolean } {
  const records: SegmentedRecord[] = [];
  const it = replayBatches(host, from, durableOnly, max);
  for (;;) {
    const r = it.next();
    if (r.done) {
      if (records.length < max) return { records, hasMore: false };
      const after = records.length === 0 ? r.value.from : records[records.length - 1]!.lsn + 1;
      return { records, hasMore: after < r.value.nextLsn };
    }
    for (const rec of r.value) records.push(rec);
  }
}

const NO_RECORDS: SegmentedRecord[] = [];

/**
 * records(): the records of replayBatches() one at a time. A plain iterator
 * object, not a generator delegating with yield*: resuming two generators
 * per record was a tenth of lazy replay's time. Like a generator it starts
 * (snapshot, option checks) at the first next(), is done after a throw, and
 * return() (a for-of break) finishes replayBatches, releasing its core; an
 * abandoned one holds no file descriptor (replayBatches holds none between
 * batches).
 */
export class RecordIterator implements IterableIterator<SegmentedRecord> {
  #start: (() => Generator<SegmentedRecord[], unknown, void>) | undefined;
  #batches: Generator<SegmentedRecord[], unknown, void> | undefined;
  #batch = NO_RECORDS;
  #i = 0;
  #done = false;

  constructor(start: () => Generator<SegmentedRecord[], unknown, void>) {
    this.#start = start;
  }

  next(): IteratorResult<SegmentedRecord, undefined> {
    for (;;) {
      const batch = this.#batch;
      if (this.#i < batch.length) return { value: batch[this.#i++]!, done: false };
      if (this.#done) return { value: undefined, done: true };
      let r: IteratorResult<SegmentedRecord[], unknown>;
      try {
        if (this.#batches === undefined) {
          const start = this.#start!;
          this.#start = undefined;
          this.#batches = start();
        }
        r = this.#batches.next();
      } catch (e) {
        this.finish();
        throw e;
      }
      if (r.done) this.finish();
      else { this.#batch = r.value; this.#i = 0; }
    }
  }

  return(): IteratorResult<SegmentedRecord, undefined> {
    const batches = this.#batches;
    this.finish();
    batches?.return(undefined);
    return { value: undefined, done: true };
  }

  [Symbol.iterator](): IterableIterator<SegmentedRecord> { return this; }

  private finish(): void {
    this.#done = true;
    this.#start = undefined;
    this.#batches = undefined;
    this.#batch = NO_RECORDS;
    this.#i = 0;
  }
}
