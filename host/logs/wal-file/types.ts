/**
 * Public types of the single-file WAL (WalFsWriter, WalFsReader). See
 * docs/wal-fs-writer.md for the user's guide.
 */
import type { RepairPolicy } from '../../codec/frame-file.js';
import type { SequenceMode } from '../../core/u64.js';
import type { FileSystem } from '../../fs/types.js';

export type { RepairPolicy };

/** Converts typed events to payload bytes and back. */
export interface Codec<T> {
  encode(value: T): Uint8Array;
  /** Throw to report a payload that cannot be decoded (reported as reason 'decode-failure'). */
  decode(bytes: Uint8Array): T;
}

export interface WalFsWriterOptions<T = Uint8Array> {
  /**
   * What to do with a torn tail (damage after the last completed sync, as
   * an ordinary crash leaves) found on open: 'truncate-partial' (default)
   * cuts it and reports it in openReport; 'strict' refuses with TORN_TAIL.
   * Damage inside durable data is CORRUPTED under both.
   */
  repair?: RepairPolicy;
  /** File system to use. Default: the current runtime's. */
  fs?: FileSystem;
  /** Converts typed events to bytes. Default: payloads are Uint8Array, stored as is. */
  codec?: Codec<T>;
  /** Sequence numbers as 'number' (default, up to 2^53-1) or 'bigint' (full u64). */
  u64?: SequenceMode;
  /** Deprecated alias of `u64`. */
  sequences?: SequenceMode;
  /** Bytes of framed events buffered before they are written to the file. Default 1 MiB; 0 writes every append. */
  bufferSize?: number;
  /**
   * Extend the file with zeros 1 MiB at a time ahead of the writes (default
   * false), so most fdatasyncs overwrite allocated blocks without changing
   * the file's size (on ext4 that skips the metadata journal commit). The
   * zeros are cut on close(); after a crash open cuts them as a torn tail.
   */
  preallocate?: boolean;
}

export interface WalFsReaderOptions<T = Uint8Array> {
  fs?: FileSystem;
  codec?: Codec<T>;
  /** Sequence numbers as 'number' (default) or 'bigint'. */
  u64?: SequenceMode;
  /** Deprecated alias of `u64`. */
  sequences?: SequenceMode;
  /** Hand out copies (default true) or views valid until the next event (false). */
  copy?: boolean;
  /** Throw TORN_TAIL at a torn tail instead of ending quietly. Default false. */
  strict?: boolean;
}

/** An event: a sequence number (number, or bigint in bigint mode) and a payload. */
export interface WalFsEvent<T = Uint8Array, S extends number | bigint = number> {
  sequence: S;
  payload: T;
}
/** Deprecated alias of WalFsEvent. */
export type WalEvent<T = Uint8Array, S extends number | bigint = number> = WalFsEvent<T, S>;

/** `number` unless the options say { u64: 'bigint' } (or the deprecated { sequences: 'bigint' }). */
export type SequenceOf<O> = O extends { u64: 'bigint' } ? bigint : O extends { sequences: 'bigint' } ? bigint : number;

/** What WalFsWriter.open() found and repaired. */
export interface WalFsOpenReport {
  /** Bytes cut from the end by 'truncate-partial' (0 when the file was clean). */
  truncatedBytes: number;
  /** Why the cut tail was invalid, when something was cut. */
  truncatedReason: string | undefined;
}
/** Deprecated alias of WalFsOpenReport. */
export type OpenReport = WalFsOpenReport;

/** What WalFsReader.forEach() passes for each event: the sequence, the payload, and the frame's file offset. */
export type EventCallback<T, S extends number | bigint = number> = (sequence: S, payload: T, offset: number) => void;
