/**
 * The parts of AppendLogSnapshot.open() and import() before a store exists:
 * the options (with their defaults), creating the file crash-safely or
 * opening it, and replaying it into a fresh KvIndex (LoadedFile). import()
 * replays the staged copy as it copies it (artifact.ts) and hands that
 * LoadedFile on, so an imported store is read and replayed once.
 */
import { directoryError, readFileHeader } from '../../codec/file-header.js';
import type { Core } from '../../core/core.js';
import { ioError } from '../../errors.js';
import { logFileSystem } from '../../fs/default.js';
import type { FileHandle, FileSystem } from '../../fs/types.js';
import { publishFile, removeTempFilesOf } from '../../lifecycle/atomic-file.js';
import type { Acquired } from '../../lifecycle/lifecycle.js';
import { boolOption, checkOptions, enumOption, intOption } from '../../lifecycle/options.js';
import { dirname } from '../../platform/path.js';
import { randomU32 } from '../../platform/random.js';
import { KvIndex } from './kv-index.js';
import { type Replayed, WHAT, replayKvFile } from './kv-file.js';
import type { AppendLogSnapshotOptions } from './types.js';

const OPTION_KEYS = ['compactThreshold', 'fs', 'repair', 'cursorMustAdvance'] as const;
/** Default compactThreshold: 16 MiB of garbage. */
export const DEFAULT_COMPACT_THRESHOLD = 16 << 20;

export interface Settings {
  fs: FileSystem;
  compactThreshold: number;
  repair: 'strict' | 'truncate-partial';
  cursorMustAdvance: boolean;
}

/** Check `options` (unknown keys refused) and fill in the defaults. */
export function settings(where: string, options: AppendLogSnapshotOptions): Settings {
  checkOptions(where, options, OPTION_KEYS);
  const fs = logFileSystem(options.fs);
  if (options.fs !== undefined && (options.fs === null || typeof options.fs !== 'object' || typeof options.fs.open !== 'function')) {
    throw new TypeError(`${where}: fs must be a FileSystem`);
  }
  return {
    fs,
    compactThreshold: intOption(where, 'compactThreshold', options.compactThreshold, DEFAULT_COMPACT_THRESHOLD, 0, Number.MAX_SAFE_INTEGER),
    repair: enumOption(where, 'repair', options.repair, ['strict', 'truncate-partial'] as const, 'truncate-partial'),
    cursorMustAdvance: boolOption(where, 'cursorMustAdvance', options.cursorMustAdvance, true),
  };
}

/** A store file opened and replayed (nothing cut or synced yet). */
export interface LoadedFile {
  h: FileHandle;
  salt: number;
  generation: number;
  size: number;
  fold: KvIndex;
  replayed: Replayed;
  /** Created by this open (its header is all it holds). */
  created: boolean;
}

/**
 * Open the store file at `path` for writing, creating it (a header, by the
 * atomic recipe) when it is missing or empty; leftover temp files of an
 * interrupted compaction or import are removed first. The handle is
 * registered on `acquired`.
 */
export function openStoreFile(core: Core, fs: FileSystem, path: string, acquired: Acquired): { h: FileHandle; created: boolean } {
  const c = core.c;
  let created = false;
  try {
    removeTempFilesOf(fs, path);
    const st = fs.stat(path);
    if (st?.isDirectory) throw directoryError(path, WHAT);
    if (st === undefined || st.size === 0) {
      core.x.encodeFileHeader(core.staging, c.KIND_KV_SNAPSHOT, randomU32(), 0, 0, 0);
      const header = core.u8.slice(core.staging, core.staging + c.FILE_HEADER_SIZE);
      publishFile(fs, path, (h) => h.write(header, 0));
      fs.syncDir(dirname(path));
      created = true;
    }
  } catch (e) {
    throw ioError('open', path, e);
  }
  let h: FileHandle;
  try { h = fs.open(path, { write: true }); } catch (e) { throw ioError('open', path, e); }
  acquired.add(h, (x) => x.close());
  return { h, created };
}

/** Check the header of the file behind `h` and replay every valid frame into a new KvIndex. */
export function loadStoreFile(core: Core, h: FileHandle, path: string, created: boolean): LoadedFile {
  readFileHeader(core, h, path, core.c.KIND_KV_SNAPSHOT, WHAT);
  const salt = core.out('hdrSalt');
  const generation = core.out('hdrP0');
  let size: number;
  try { size = h.size(); } catch (e) { throw ioError('stat', path, e); }
  const fold = new KvIndex();
  fold.sizeFor(size + size / 4); // records take about their ops' bytes; the table and its growth up to 1/4 more
  const replayed = replayKvFile(core, h, path, salt, size, fold);
  return { h, salt, generation, size, fold, replayed, created };
}
