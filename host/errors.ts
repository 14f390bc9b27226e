/**
 * One error class for every failure walcore reports about data or I/O.
 * `code` is stable across versions (the catalogue is in README.md and
 * docs/ERRORS.md); the message is for humans and may change. Misuse of the
 * API (wrong argument types, out-of-range numbers, calling after close where
 * noted) throws TypeError or RangeError instead.
 */

/** Every code a WalError can carry. Never renamed or reused. */
export const ERROR_CODES = [
  'IO_ERROR', // a file-system call failed; `cause` is the platform error, `errno` its code
  'LOCKED', // another writer (this or another process) holds the log
  'CLOSED', // the log was closed
  'POISONED', // an earlier failure left the log in an unknown state; reopen it
  'TORN_TAIL', // strict open found an incomplete or damaged tail written after the last sync
  'CORRUPTED', // damage inside data a completed sync had made durable
  'BAD_HEADER', // the file is not a walcore file of this kind, or its header is damaged
  'UNSUPPORTED_VERSION', // written by a format version this build does not read
  'CORE_MISMATCH', // the WebAssembly core's format version is not the one this host expects
  'SEQUENCE_OUT_OF_RANGE', // a stored u64 does not fit the number mode the log was opened in
  // RingLog
  'ZERO_CAPACITY', // a ring needs at least one slot
  'CAPACITY_OVERFLOW', // more than 2^32-1 slots, or a file larger than the platform can hold
  'HEADER_MISMATCH', // an existing ring's geometry (capacity, slot size) differs from what was asked
  // SegmentedWal
  'LSN_NOT_RETAINED', // replay asked for LSNs below the oldest retained segment
  'DECRYPT_FAILED', // a record failed authentication (wrong key or tampered ciphertext)
  'UNKNOWN_KEY', // a record names a key id the encryption ring does not hold
  'ENCRYPTION_REFUSED', // the encryption ring cannot change: the active segment already has records
  // WalLog / RaftLog
  'COMPACTED', // the entries asked for are at or below the snapshot index: the log no longer holds them
  // AppendLogSnapshot
  'BAD_ARTIFACT', // an artifact to import failed verification (manifest, listing, size, SHA-256, content, cursor)
] as const;

export type WalErrorCode = (typeof ERROR_CODES)[number];

/** Why a frame failed validation (the core's status codes, named). */
export type FrameFailure =
  | 'incomplete-header'
  | 'incomplete-payload'
  | 'bad-magic'
  | 'unsupported-version'
  | 'crc-mismatch'
  | 'length-over-bound'
  | 'salt-mismatch'
  | 'sequence-order'
  | 'bad-watermark'
  | 'bad-type'
  | 'header-crc'
  | 'wrong-kind'
  | 'bad-flags'
  | 'after-sync-mark'
  | 'decode-failure';

export interface WalErrorOptions {
  path?: string;
  offset?: number;
  reason?: FrameFailure;
  cause?: unknown;
}

export class WalError extends Error {
  /** Stable machine-readable code. */
  readonly code: WalErrorCode;
  /** The file or directory concerned, when known. */
  readonly path: string | undefined;
  /** Byte offset in `path` where the problem starts, when known. */
  readonly offset: number | undefined;
  /** For TORN_TAIL / CORRUPTED / BAD_HEADER: what exactly failed. */
  readonly reason: FrameFailure | undefined;
  /** For IO_ERROR: the platform error code (EIO, ENOSPC, ...), when known. */
  readonly errno: string | undefined;

  constructor(code: WalErrorCode, message: string, options: WalErrorOptions = {}) {
    const cause = platformCause(options.cause);
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'WalError';
    this.code = code;
    this.path = options.path;
    this.offset = options.offset;
    this.reason = options.reason;
    const errno = (cause as { code?: unknown } | undefined)?.code;
    this.errno = typeof errno === 'string' ? errno : undefined;
  }
}

/**
 * The platform error behind `cause`: a log's error built around an IO_ERROR
 * from the checked file layer (a POISONED after a failed fsync, a rolled-back
 * write) keeps the platform error itself as its `cause`, so `cause` and
 * `errno` mean the same in every log whichever layer noticed the failure.
 */
function platformCause(cause: unknown): unknown {
  if (cause instanceof WalError && cause.code === 'IO_ERROR' && cause.cause !== undefined) return cause.cause;
  return cause;
}

/** Wrap a platform error from a file-system call as IO_ERROR (a WalError passes through). */
export function ioError(op: string, path: string, cause: unknown): WalError {
  if (cause instanceof WalError) return cause;
  const errno = (cause as { code?: unknown })?.code;
  return new WalError('IO_ERROR', `${op} failed for ${path}${typeof errno === 'string' ? `: ${errno}` : ''}`, { path, cause });
}
