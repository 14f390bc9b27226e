// Shared by the compat tests: put the files of a committed golden vector
// (test/vectors/*.hex) where a user's files would be, on the real file system
// in a fresh temp directory or in a MemoryFileSystem, with or without damage.
import * as nodefs from 'node:fs';
import * as path from 'node:path';
import { MemoryFileSystem, WalError } from 'walcore';
import { tempDir } from '../support/helpers.js';
import { readVector } from '../vectors/vectors.js';

export const PLACES = ['real file system', 'MemoryFileSystem'];
let base; // one temp directory per process (removed at exit), a fresh subdirectory per placement
let placed = 0;

/**
 * Place the vector's files in a new directory. `damage(name, bytes)` may edit
 * a copy of each file first. Returns { fs (undefined = the runtime's own),
 * dir, file(name) -> its path }.
 */
export function placeVector(vectorName, place, damage = () => {}) {
  const files = readVector(vectorName);
  let fs;
  let dir;
  if (place === 'real file system') {
    base ??= tempDir('walcore-compat');
    dir = path.join(base, `golden-${++placed}`);
    nodefs.mkdirSync(dir);
  } else {
    fs = new MemoryFileSystem();
    dir = '/golden';
    fs.mkdir(dir);
    fs.syncDir('/');
  }
  const file = (name) => (fs ? `${dir}/${name}` : path.join(dir, name));
  for (const { name, bytes } of files) {
    const b = bytes.slice();
    damage(name, b);
    if (fs) { fs.writeFile(file(name), b); } else nodefs.writeFileSync(file(name), b);
  }
  if (fs) fs.syncDir(dir);
  return { fs, dir, file };
}

/** Run fn; return the WalError it throws (any other outcome fails the test). */
export function walErrorOf(fn) {
  try {
    fn();
  } catch (e) {
    if (e instanceof WalError) return e;
    throw e;
  }
  return undefined;
}
