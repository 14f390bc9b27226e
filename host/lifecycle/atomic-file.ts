/**
 * The one crash-safe recipe for making a file appear with known content,
 * used by every file and segment creation: write a temp file beside the
 * target, fsync it, rename it over the target, fsync the directory. After a
 * crash the target either does not exist (or is what it was) or is complete.
 *
 * Temp names follow one pattern, `<target name>.tmp-<16 hex digits>`, so the
 * owner of a target recognises its leftovers; removeTempFiles() deletes them
 * the next time the owner opens (while holding its lock).
 */
import { WalError, ioError } from '../errors.js';
import type { FileHandle, FileSystem } from '../fs/types.js';
import { basename, dirname, join } from '../platform/path.js';
import { randomHex } from '../platform/random.js';

const TEMP_MARK = '.tmp-';
const TEMP_RE = /\.tmp-[0-9a-f]{8,16}$/;

/** A fresh temp name beside `path`. */
export function tempPathFor(path: string): string {
  return `${path}${TEMP_MARK}${randomHex(2)}`;
}

/**
 * Steps 1-3 of the recipe: `fill` writes the content into a fresh temp file
 * (its handle is positioned nowhere; write at explicit offsets), which is
 * fsynced and renamed over `path`. A failure at any step before the rename
 * leaves the directory as it was (the temp file is removed, best effort; a
 * leftover is removed on the next open) and throws IO_ERROR, or the error
 * `fill` threw. The rename is not durable until the directory is synced:
 * use writeFileAtomically() unless the caller syncs the directory itself
 * (and must poison if that fails, as SegmentedWal does).
 */
export function publishFile(fs: FileSystem, path: string, fill: (h: FileHandle) => void): void {
  const tmp = tempPathFor(path);
  let h: FileHandle | undefined;
  try {
    h = fs.open(tmp, { write: true, create: true, exclusive: true });
    fill(h);
    h.sync();
    h.close();
    h = undefined;
    fs.rename(tmp, path);
  } catch (e) {
    try { h?.close(); } catch { /* reporting the first error */ }
    try { fs.remove(tmp); } catch { /* it may not exist; a leftover is removed on open */ }
    throw ioError('create', path, e);
  }
}

/** The whole recipe: publishFile() then fsync the directory. Throws IO_ERROR. */
export function writeFileAtomically(fs: FileSystem, path: string, content: Uint8Array | ((h: FileHandle) => void)): void {
  publishFile(fs, path, typeof content === 'function' ? content : (h) => h.write(content, 0));
  const dir = dirname(path);
  try { fs.syncDir(dir); } catch (e) { throw ioError('fsync directory', dir, e); }
}

/**
 * Remove the recipe's leftovers in `dir` (call while holding the owner's
 * lock): temp files of `target` when given (a file log), else every temp file
 * whose target `owns` accepts (a directory log's segments). Syncs the
 * directory when anything was removed. Returns how many were removed.
 */
export function removeTempFiles(fs: FileSystem, dir: string, owns: (target: string) => boolean, names?: readonly string[]): number {
  let listed: readonly string[];
  try { listed = names ?? fs.list(dir); } catch (e) { throw ioError('list', dir, e); }
  let n = 0;
  for (const name of listed) {
    if (!TEMP_RE.test(name) || !owns(name.slice(0, name.lastIndexOf(TEMP_MARK)))) continue;
    const path = join(dir, name);
    try { fs.remove(path); } catch (e) { throw ioError('remove', path, e); }
    n++;
  }
  if (n > 0) {
    try { fs.syncDir(dir); } catch (e) { throw ioError('fsync directory', dir, e); }
  }
  return n;
}

/** removeTempFiles() for the single file `path`. */
export function removeTempFilesOf(fs: FileSystem, path: string): number {
  const name = basename(path);
  return removeTempFiles(fs, dirname(path), (target) => target === name);
}

/**
 * Create the directory `dir` of a directory log if missing, durably: every
 * directory created is fsynced into its parent (deepest first), so a crash
 * cannot lose the directory after the log wrote its first file into it.
 * An existing non-directory is BAD_HEADER; a failure is IO_ERROR.
 */
export function ensureDir(fs: FileSystem, dir: string): void {
  try {
    const st = fs.stat(dir);
    if (st !== undefined) {
      if (!st.isDirectory) throw new WalError('BAD_HEADER', `${dir} is not a directory`, { path: dir });
      return;
    }
    const created: string[] = [];
    for (let d = dir; fs.stat(d) === undefined && dirname(d) !== d; d = dirname(d)) created.push(d);
    fs.mkdir(dir);
    for (const d of created) fs.syncDir(dirname(d));
  } catch (e) {
    throw ioError('create directory', dir, e);
  }
}
