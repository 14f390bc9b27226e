/**
 * The one crash-safe recipe for making a file appear with known content:
 * write a temp file beside it, sync it, rename it over the target, sync the
 * directory. After a crash the target either does not exist or is complete;
 * a leftover temp file (`<name>.tmp-<random>`) is harmless and removed by
 * removeTempFiles() the next time the owner opens.
 */
import { basename, dirname } from 'node:path';
import type { FileSystem } from '../fs/types.js';

function randomSuffix(): string {
  return Array.from(crypto.getRandomValues(new Uint32Array(2)), (n) => n.toString(16).padStart(8, '0')).join('');
}

export function writeFileAtomically(fs: FileSystem, path: string, bytes: Uint8Array): void {
  const tmp = `${path}.tmp-${randomSuffix()}`;
  const h = fs.open(tmp, { write: true, create: true, exclusive: true });
  try {
    h.write(bytes, 0);
    h.sync();
  } finally {
    h.close();
  }
  fs.rename(tmp, path);
  fs.syncDir(dirname(path));
}

/** Remove temp files the recipe above left behind for `path` (call while holding its lock). */
export function removeTempFiles(fs: FileSystem, path: string): void {
  const dir = dirname(path);
  const prefix = `${basename(path)}.tmp-`;
  let removed = false;
  for (const name of fs.list(dir)) {
    if (name.startsWith(prefix)) {
      fs.remove(`${dir}/${name}`);
      removed = true;
    }
  }
  if (removed) fs.syncDir(dir);
}

/** A random u32 for file salts. */
export function randomU32(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0]!;
}
