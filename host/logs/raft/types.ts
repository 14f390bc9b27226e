/**
 * The RaftLog contract (docs/wal-log.md): storage for a Raft node's log,
 * hard state and snapshot. Two implementations share it and one conformance
 * suite checks both: MemoryRaftLog (in RAM, the reference) and WalLog
 * (durable). Rules every implementation keeps:
 *
 * - Indexes are 1-based and contiguous: the log holds exactly the entries
 *   firstIndex() .. lastIndex(), where firstIndex() = snapshotIndex() + 1.
 *   Indexes and terms are non-negative safe integers (below 2^53).
 * - The empty log: lastIndex() = snapshotIndex() = 0, lastTerm() = 0,
 *   termAt(0) = 0, hardState() = { term: 0, vote: null, commit: 0 },
 *   snapshot() = undefined.
 * - Terms never decrease along the log: an entry's term is at least the
 *   term of the entry before it (the snapshot's term for the first entry
 *   after it). Breaking this is a RangeError.
 * - append(entries): entries must have consecutive indexes and start at
 *   lastIndex() + 1 or inside the log. Raft semantics: entries that match
 *   the log (same index and term) are skipped; at the first entry whose term
 *   differs, the log is truncated from that index (that entry and every
 *   later one are removed) and the rest is appended. Entries at or below
 *   snapshotIndex() are skipped (they are covered by the snapshot). A start
 *   beyond lastIndex() + 1 (a gap) is a RangeError. If append throws,
 *   nothing was appended or truncated.
 * - truncate(from): removes every entry with index >= from. from must be in
 *   (snapshotIndex(), lastIndex() + 1]; truncating at or below the snapshot
 *   is a RangeError (snapshotted entries are committed).
 * - termAt(i): the term of entry i; termAt(snapshotIndex()) is the
 *   snapshot's term (0 without one); undefined below the snapshot index or
 *   above lastIndex().
 * - Entries at or below snapshotIndex() are gone: entry(i) returns
 *   undefined, entries(from, to) with from <= snapshotIndex() throws
 *   WalError('COMPACTED'). entries(from, to) is inclusive; to > lastIndex()
 *   is a RangeError; from = to + 1 returns [].
 * - setHardState(s): the term never decreases, and within one term the
 *   vote, once cast, never changes (RangeError): a node must not vote twice
 *   in a term, even after a restart.
 * - applySnapshot(s): s.index must exceed snapshotIndex() (an older or equal
 *   snapshot is a RangeError). If the log holds entry s.index with term
 *   s.term, the entries after it are kept; otherwise the whole log is
 *   discarded and lastIndex() = s.index, lastTerm() = s.term. It is durable
 *   when it returns (it syncs), together with everything before it.
 * - compact(upTo): drops entries <= upTo without snapshot data; like
 *   applySnapshot inside the log, but snapshot() is unchanged. Durable when
 *   it returns. upTo <= snapshotIndex() is a no-op, upTo > lastIndex() a
 *   RangeError.
 * - sync() makes durable every append, truncate and setHardState made
 *   before it: after a crash, the log reopens with exactly the state of the
 *   last completed sync() or of a later operation boundary (never half an
 *   operation: a conflicting append's truncation and its new entries are
 *   seen together or not at all). syncAsync() is sync() with group commit.
 */

/** One log entry. `payload` is the application's bytes; `type` an application tag (u8, default 0). */
export interface LogEntry {
  index: number;
  term: number;
  payload: Uint8Array;
  type?: number;
}

/** The state a Raft node must persist before answering a message. vote null = no vote in this term. */
export interface HardState {
  term: number;
  vote: number | null;
  commit: number;
}

/** A snapshot: the state machine up to and including `index` (whose entry had `term`). */
export interface Snapshot {
  index: number;
  term: number;
  data: Uint8Array;
}

export interface RaftLog {
  /** Index of the last entry; snapshotIndex() when the log holds no entry (0 when empty). */
  lastIndex(): number;
  /** Term of the last entry; the snapshot's term when the log holds no entry (0 when empty). */
  lastTerm(): number;
  /** Index of the first entry the log holds: snapshotIndex() + 1. */
  firstIndex(): number;
  /** Term of entry `index`, the snapshot's term at snapshotIndex(), else undefined. */
  termAt(index: number): number | undefined;
  /** Entry `index`, or undefined when the log does not hold it (compacted or beyond the end). */
  entry(index: number): LogEntry | undefined;
  /** Entries from..to inclusive. COMPACTED if from <= snapshotIndex(); RangeError if to > lastIndex() or from > to + 1. */
  entries(from: number, to: number): LogEntry[];
  /** Append with Raft semantics (see the contract above). */
  append(entries: readonly LogEntry[]): void;
  /** Remove every entry with index >= from; from in (snapshotIndex(), lastIndex() + 1]. */
  truncate(from: number): void;
  /** The hard state last set (or recovered). */
  hardState(): HardState;
  /** Replace the hard state; durable at the next sync(). */
  setHardState(state: HardState): void;
  /** Make every preceding append, truncate and setHardState durable. */
  sync(): void;
  /** sync() with group commit: concurrent callers share one fsync. */
  syncAsync(): Promise<void>;
  /** The index the log is compacted to: the last index the snapshot covers (0 without one). */
  snapshotIndex(): number;
  /** The current snapshot (index, term, data), or undefined. */
  snapshot(): Snapshot | undefined;
  /** Install a newer snapshot and compact the log to it; durable when it returns. */
  applySnapshot(snapshot: Snapshot): void;
  /**
   * Drop the entries up to and including `upTo` without snapshot data (the
   * application chose the index): snapshotIndex() becomes upTo and
   * termAt(upTo) keeps the entry's term; snapshot() is unchanged (its index
   * may now be below snapshotIndex()). upTo <= snapshotIndex() does nothing;
   * upTo > lastIndex() is a RangeError. Durable when it returns.
   */
  compact(upTo: number): void;
  /** Release resources; idempotent. */
  close(): void;
}

/** Options of WalLog.open(). */
export interface WalLogOptions {
  /** The file system (default: the runtime's). */
  fs?: import('../../fs/types.js').FileSystem;
  /** A segment is sealed and a new one started once it reaches this size (bytes, default 64 MiB). */
  segmentTargetSize?: number;
  /** Entries of the log's tail (the last cacheEntries indexes) kept in memory once read (default 256; 0 disables the cache). */
  cacheEntries?: number;
  /**
   * Extend the active segment with zeros 1 MiB at a time ahead of the
   * writes (default false), so most fdatasyncs overwrite allocated blocks
   * without changing the file's size: faster durable small appends on ext4
   * (docs/wal-log.md). The zeros are cut on close and when a segment is
   * sealed; after a crash, open cuts them as a torn tail (openReport).
   */
  preallocate?: boolean;
}

/** What WalLog.open() found. */
export interface WalLogOpenReport {
  /** Segments in the directory. */
  segments: number;
  /** Sealed segments whose index footer was read instead of scanning their frames. */
  footersRead: number;
  /**
   * Sealed segments whose footer open did not read: their locator says they
   * hold only entries and hard states, so their range follows from the
   * segment headers; the footer is read on first access to one of their
   * entries or terms (docs/FORMAT.md §11.5).
   */
  footersDeferred: number;
  /** Bytes cut from a torn tail of the newest segment, and why. */
  truncatedBytes: number;
  truncatedReason: string | undefined;
}

/** Result of WalLog.verify(): every frame of every segment and the snapshot checked. */
export interface VerifyReport {
  segments: number;
  frames: number;
  bytes: number;
}
