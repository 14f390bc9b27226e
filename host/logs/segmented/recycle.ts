/**
 * Segment recycling (the recycleSegments option; docs/FORMAT.md §S9): a
 * segment truncateBefore() deletes is renamed `free-<n>.seg` instead of
 * removed, up to `keep` of them, and a roll reuses one for the new segment.
 * The new segment's records then overwrite blocks the file already has,
 * which on ext4 syncs ~1.5x faster than appending to a growing file (no
 * size or extent change to journal per fdatasync): what RocksDB's
 * recycle_log_file_num does.
 *
 * Reusing a free file, crash-safely: write the new header (a new salt that
 * differs from the salt of every frame left in the file: core recycledSalt)
 * over the old one and fdatasync, rename it to the segment's name, fsync the
 * directory. A crash before the rename leaves a free file; after it, a
 * segment with a durable header whose old frames fail validation (salt), so
 * recovery cuts them like a torn tail. The stale bytes after the new
 * records are cut when the segment is sealed (a sealed segment is exactly
 * its frames) or closed. Free files are not segments: listSegments() and
 * replay never see them; open() keeps up to `keep` and removes the rest.
 */
import type { Core } from '../../core/core.js';
import { WalError } from '../../errors.js';
import type { FileHandle, FileSystem } from '../../fs/types.js';
import { quietly } from '../../lifecycle/lifecycle.js';
import { randomU32 } from '../../platform/random.js';

const FREE = /^free-(\d{6,})\.seg$/;

/** Free segment files of a WAL directory, oldest first. */
export class SegmentPool {
  readonly #free: string[] = [];
  #next = 1;

  /** Take over the free files among `names` (the directory listing): keep up to `keep`, remove the rest (best effort). */
  constructor(private readonly fs: FileSystem, private readonly dir: string, readonly keep: number, names: readonly string[]) {
    const found = names.map((n) => FREE.exec(n)).filter((m) => m !== null).sort((a, b) => Number(a[1]) - Number(b[1]));
    let removed = 0;
    for (const m of found) {
      this.#next = Math.max(this.#next, Number(m[1]) + 1);
      if (this.#free.length < keep) this.#free.push(m[0]);
      else quietly(() => { fs.remove(`${dir}/${m[0]}`); removed++; });
    }
    if (removed > 0) quietly(() => fs.syncDir(dir));
  }

  get size(): number { return this.#free.length; }

  /**
   * Retire the sealed segment at `path`: rename it into the pool if there is
   * room (returns true), else leave it to the caller to remove (false). The
   * caller syncs the directory. A failed rename is IO_ERROR and changes nothing.
   */
  retire(path: string): boolean {
    if (this.#free.length >= this.keep) return false;
    const name = `free-${String(this.#next).padStart(6, '0')}.seg`;
    try { this.fs.rename(path, `${this.dir}/${name}`); } catch (e) {
      throw new WalError('IO_ERROR', `${path}: renaming the deleted segment for reuse failed`, { path, cause: e });
    }
    this.#next++;
    this.#free.push(name);
    return true;
  }

  /**
   * Turn a free file into the segment `name` with `header` (built by
   * `headerFor(salt)` for the salt it picks): header written over the old
   * one and synced, then renamed (the caller syncs the directory). Returns
   * the new segment's salt and write handle, or undefined when the pool is
   * empty or the reuse failed before the rename (the file is then dropped
   * from the pool and the caller creates the segment afresh).
   */
  reuse(core: Core, name: string, headerFor: (salt: number) => Uint8Array): { salt: number; handle: FileHandle } | undefined {
    const free = this.#free.shift();
    if (free === undefined) return undefined;
    const from = `${this.dir}/${free}`;
    let h: FileHandle | undefined;
    try {
      h = this.fs.open(from, { write: true });
      const start = new Uint8Array(core.c.FILE_HEADER_SIZE + core.c.FRAME_HEADER_SIZE);
      const got = h.read(start, 0);
      core.ensure(start.length);
      core.u8.set(start.subarray(0, got), core.staging);
      const salt = core.x.recycledSalt(core.staging, got, randomU32()) >>> 0;
      h.write(headerFor(salt), 0);
      h.sync();
      this.fs.rename(from, `${this.dir}/${name}`);
      return { salt, handle: h };
    } catch {
      if (h !== undefined) { const x = h; quietly(() => x.close()); }
      quietly(() => this.fs.remove(from));
      return undefined;
    }
  }
}
