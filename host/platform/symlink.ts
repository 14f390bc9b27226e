/**
 * Symlink detection for the real file systems. The FileSystem interface has
 * no lstat (stat follows links), so AppendLogSnapshot.import asks this module
 * about artifact entries when the file system is the posix one ('node',
 * 'deno', 'bun'); the in-memory simulator has no symlinks. `node:fs`
 * lstatSync exists in all three runtimes.
 */
import { lstatSync } from 'node:fs';

/** Whether `path` itself is a symbolic link (false when nothing is there). */
export function isSymlink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') return false;
    throw e;
  }
}
