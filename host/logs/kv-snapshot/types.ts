/**
 * Public types of AppendLogSnapshot (docs/kv-snapshot.md): a local,
 * resumable key-value fold of a remote watch stream.
 */
import type { FileSystem } from '../../fs/types.js';
import type { LogState } from '../../lifecycle/lifecycle.js';
import type { WatchCursor } from './watch-cursor.js';

/** One change of a watch stream: a put (key, value, version) or a delete. */
export type KvUpdate =
  | { type: 'put'; key: string; value: Uint8Array; version?: Uint8Array }
  | { type: 'delete'; key: string; version?: Uint8Array };

/** A live entry: the key, its value bytes and its version bytes (an 8-byte revision, a 10-byte versionstamp, or empty), exactly as applied. */
export interface KvEntry {
  key: string;
  value: Uint8Array;
  version: Uint8Array;
}

export interface KvApplyOptions {
  /** fdatasync before returning: the batch and its cursor survive any crash. Default false. */
  sync?: boolean;
}

export interface AppendLogSnapshotOptions {
  /** Compact when the file exceeds the live data's encoded size by more than this many bytes. Default 16 MiB; 0 compacts whenever there is garbage. */
  compactThreshold?: number;
  /** Inject a FileSystem (default: the runtime's). */
  fs?: FileSystem;
  /** 'truncate-partial' (default) cuts a torn tail; 'strict' refuses it with TORN_TAIL. */
  repair?: 'strict' | 'truncate-partial';
  /** Refuse (RangeError) an apply() whose cursor does not advance past cursor(). Default true. */
  cursorMustAdvance?: boolean;
}

/** What open() found and did. */
export interface KvOpenReport {
  /** Bytes cut from a torn tail, and why they were invalid. */
  truncatedBytes: number;
  truncatedReason: string | undefined;
  /** Batches replayed. */
  batches: number;
  /** Whether open compacted the file (it exceeded the threshold). */
  compacted: boolean;
}

/** One file of an exported artifact, relative to the artifact directory. */
export interface ExportedFile {
  path: string;
  size: number;
  sha256: string;
}

/** MANIFEST.json of an exported artifact (docs/kv-snapshot.md "Export and import"). */
export interface ExportManifest {
  schemaVersion: 1;
  backend: 'walcore.AppendLogSnapshot';
  formatGeneration: number;
  /** The resume cursor the data is exactly consistent with, as lowercase hex ('' for WatchCursor.none). */
  cursor: string;
  /** When the export was made (ISO 8601). */
  createdAt: string;
  files: ExportedFile[];
}

/** The store contract (the seed's SnapshotStore trait). */
export interface SnapshotStore extends Iterable<KvEntry> {
  /** Atomically fold `batch` into the store and advance the resume cursor to `cursor`. */
  apply(batch: readonly KvUpdate[], cursor: WatchCursor, options?: KvApplyOptions): void;
  /** The live entry for `key`, or undefined if absent or deleted. */
  get(key: string): KvEntry | undefined;
  /** Every live entry whose key starts with `prefix`, ascending by the UTF-8 bytes of the key. */
  range(prefix: string): KvEntry[];
  /** range() streamed: `fn` once per entry in order; returning false stops. */
  forEachInRange(prefix: string, fn: (entry: KvEntry) => boolean | void): void;
  /** range() as a lazy iterator. */
  records(prefix?: string): IterableIterator<KvEntry>;
  /** The cursor of the last applied batch (WatchCursor.none before any). */
  cursor(): WatchCursor;
  /** Export the fold as an artifact directory (data/ + MANIFEST.json). */
  exportTo(destDir: string): ExportManifest;
  sync(): void;
  syncAsync(): Promise<void>;
  close(): void;
  readonly state: LogState;
}

/** open() and import() return the resume cursor beside the store. */
export interface OpenedSnapshot<S> {
  cursor: WatchCursor;
  store: S;
}
