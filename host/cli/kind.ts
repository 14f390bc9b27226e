/**
 * The contract one log kind implements for the walcore CLI. Adding a kind is
 * one module in host/cli/kinds/ plus one line in host/cli/kinds/index.ts.
 * A kind reads bytes only through its log's own read-only entry points
 * (host/logs/<log>/inspect.ts, the scanners, the header probe): the CLI
 * never decodes a byte itself.
 */
import type { Core } from '../core/core.js';
import type { FileKindProbe } from '../codec/file-kind.js';
import type { FileSystem } from '../fs/types.js';
import type { KeyRing } from '../logs/segmented/encryption.js';

/** What detection knows about a path before any kind reads it. */
export interface Probe {
  path: string;
  isDirectory: boolean;
  /** Entry names of a directory. */
  names?: string[];
  /** The file header of a file (undefined for a directory). */
  header?: FileKindProbe;
}

/**
 * One problem: which file, where, why. `torn` problems are damage after the
 * last completed sync, which `repair` cuts (an open would too); the others
 * lie in durable data and are cut only with --force.
 */
export interface Problem {
  file: string;
  offset: number;
  reason: string;
  message: string;
  torn: boolean;
}

/** What inspect and verify print: labelled fields, the same as JSON, and the problems found. */
export interface Report {
  kind: string;
  path: string;
  fields: Array<[string, string | number]>;
  json: Record<string, unknown>;
  problems: Problem[];
  /** Remarks that are not damage (e.g. a writer holds the lock). */
  notes: string[];
  /** Bytes checked. */
  bytes: number;
}

export type FieldValue = number | string | boolean | null;

/** One record for dump; `payload` is only valid during the emit call. */
export interface DumpRecord {
  file?: string;
  offset: number;
  type: string;
  fields: Record<string, FieldValue>;
  payloadLength: number;
  payload: Uint8Array | undefined;
  /** Why there is no payload (e.g. 'encrypted: no key'). */
  payloadNote?: string;
}

export interface DumpOptions {
  /** Lowest sequence / LSN / index to print. */
  from: number;
  /** Records to print at most. */
  limit: number;
}

/** Everything a kind gets from the command: the file system, a core, progress, keys, where to say what it does. */
export interface Context {
  fs: FileSystem;
  core: Core;
  /** Progress of a long scan: total bytes first, then bytes done (the CLI draws it on a TTY). */
  progress: { start(total: number): void; add(bytes: number): void; set(done: number): void; end(): void };
  keys: KeyRing | null;
  /** Lines for the operator (repair's account of what it does): stdout. */
  say(line: string): void;
}

export interface RepairOptions {
  force: boolean;
  /** Suffix of backup files: `.broken-<timestamp>`. */
  backupSuffix: string;
}

export interface RepairResult {
  /** 'clean' (nothing to do), 'repaired', 'refused' (durable damage without --force). */
  outcome: 'clean' | 'repaired' | 'refused';
  backups: string[];
}

export interface LogKind {
  /** Short name shown as `kind` (wal-file, segmented, ring, raft). */
  name: string;
  description: string;
  detect(p: Probe): boolean;
  inspect(ctx: Context, path: string): Report;
  verify(ctx: Context, path: string): Report;
  /** Emit records in order; stop when emit returns false. */
  dump(ctx: Context, path: string, opts: DumpOptions, emit: (r: DumpRecord) => boolean): void;
  /** Runs under the writer lock, which the CLI holds; `lockedFs` lets the log's own open run under it. */
  repair(ctx: Context, path: string, opts: RepairOptions, lockedFs: FileSystem): RepairResult;
}
