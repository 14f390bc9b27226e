/**
 * RingLog's public types (re-exported from the package entry): options, the
 * open report, records and the failure evidence stored beside them.
 */
import type { FileSystem } from '../../fs/types.js';

export interface RingLogOptions {
  /** Number of slots. Required to create a ring; if given for an existing one it must match (HEADER_MISMATCH otherwise). */
  capacity?: number;
  /** Bytes per slot, a multiple of 8 in [64, 2^24]; payload + digest may use slotSize - 40. Default 512 when creating; must match an existing ring if given. */
  slotSize?: number;
  /** File system to use. Default: the current runtime's. */
  fs?: FileSystem;
  /** Bytes of encoded slots buffered before they are written to the file. Default 1 MiB; 0 writes every append at once. */
  bufferSize?: number;
}

/** What open() found and did. */
export interface RingOpenReport {
  /** This open created the file (it was missing, or it was 0 bytes and a capacity was given: see replacedEmptyFile). */
  created: boolean;
  /** The file existed with 0 bytes and was replaced by a new empty ring (only when a capacity was given). */
  replacedEmptyFile: boolean;
  /** The ring had been closed cleanly, and its slots matched the recorded window exactly. */
  clean: boolean;
  /** Valid records found outside the recovered window, oldest first: set aside (and zeroed) so they can never reappear. */
  discarded: RingRecord[];
  /** A higher run of records was set aside because it may follow a lost unsynced record (docs/ring-log.md "Semantics after a crash"). */
  tookOlderRun: boolean;
  /** Slots holding neither a record nor zeros (torn by a crash, or damaged): they are outside the window. */
  junkSlots: number;
}

/** One record of the ring. Arrays are copies the caller owns. */
export interface RingRecord {
  /** Its sequence number: 1 for the first record ever appended, then +1 per append. */
  sequence: number;
  payload: Uint8Array;
  /** Failure evidence when it was appended with appendWithFailure(), else undefined. */
  evidence: FailureEvidence | undefined;
}

/**
 * One batch of RingLog.replayBatches(): the payloads of `count` consecutive
 * records. Record i (0 <= i < count) has sequence `firstSequence + i` and
 * its payload is `bytes.subarray(offsets[i], offsets[i] + lengths[i])`.
 * Lifetime: the batch object, `bytes`, `offsets` and `lengths` are reused
 * for the next batch of the same call, so they are valid only until the
 * callback returns; copy what you keep (e.g. with slice()). Entries at
 * index `count` and above are leftovers. Failure evidence is not included
 * (use replayRecords() or records()).
 */
export interface RingBatch {
  readonly bytes: Uint8Array;
  readonly offsets: Uint32Array;
  readonly lengths: Uint32Array;
  readonly count: number;
  readonly firstSequence: number;
}

/**
 * Failure classes, a fixed enum stored as one byte (1..8; 0 means "no
 * evidence"). Never renumbered; docs/ring-log.md describes each.
 */
export const FAILURE_CLASSES = ['backend', 'runtime', 'io', 'timeout', 'resource', 'invariant', 'cancelled', 'unknown'] as const;
export type FailureClass = (typeof FAILURE_CLASSES)[number];

/** Failure evidence stored beside a record by appendWithFailure(). */
export interface FailureEvidence {
  /** What kind of failure (a fixed enum). */
  failureClass: FailureClass;
  /** A numeric code from the failing component (errno, status, exit code), an i32. */
  code: number;
  /** Optional digest of the failing input or output, at most 64 bytes (e.g. a SHA-256). */
  digest?: Uint8Array | undefined;
}
