/**
 * OpfsFileSystem: the FileSystem contract over the browser's Origin Private
 * File System, for a dedicated worker. The design is SQLite's opfs-sahpool
 * (docs/file-system.md "The async story"): OPFS only offers synchronous
 * read/write/truncate/getSize/flush on a FileSystemSyncAccessHandle, and
 * opening such a handle, listing, moving and removing are asynchronous. So
 * the asynchronous factory `await OpfsFileSystem.open(dir, { capacity })`
 * opens a pool of sync access handles up front, and every FileSystem call is
 * then synchronous on the pool:
 *
 * - `dir` holds `walcore-table` (the name table) and `walcore-slot-NNNN`
 *   files (the data slots). A walcore file is one slot; its bytes are the
 *   slot file's bytes, so reads, writes, truncates, sizes and syncs map
 *   directly onto the slot's sync access handle (flush() is sync()).
 * - The name table maps normalised paths ('/a/b') to a slot, or to -1 for a
 *   directory (directories are names whose children share their prefix).
 *   open(create), rename, remove and mkdir change it in memory; syncDir()
 *   writes it and flush()es the table file, which is when those changes
 *   become durable, as with fsync on a directory (the whole table is written,
 *   so one syncDir makes every directory's changes durable: more than asked).
 *
 * Crash safety of the table: the table file holds two copies, at offsets 0
 * and 256 KiB, each a CRC-checked header and a UTF-8 JSON body (FORMAT.md
 * §13, host/fs/opfs-table.ts). A write goes to
 * the copy not holding the newest generation and is then flushed, so the
 * previous table stays intact underneath a torn write; open takes the valid
 * copy (magic and CRC) with the newer generation. A rename is one table
 * write, so it is atomic. If a table flush fails, the pool refuses further
 * name changes (EIO): the copy in flight is in an unknown state, and writing
 * the other copy could destroy the last durable table.
 *
 * Slot reuse never harms a durable name: a slot is free only when neither the
 * in-memory table nor the last durable table names it and no handle has it
 * open; when only such "freed but not yet durable" slots remain, the table is
 * made durable first. A newly allocated slot is truncated to 0 and flushed,
 * so a crash cannot show a removed file's bytes under the new name.
 *
 * Locking: the pool holds its sync access handles for its lifetime, and the
 * browser grants one per file, so a second pool on the same directory (another
 * worker or tab) fails at creation with NoModificationAllowedError, reported
 * as WalError('LOCKED'). Within one pool, lock() is an in-memory set of paths.
 * close() releases every handle (a terminated worker releases them at once).
 */
import { WalError } from '../errors.js';
import { checkOpenFlags } from './flags.js';
import type { FileHandle, FileLock, FileStat, FileSystem, OpenFlags } from './types.js';
import { pathParts } from '../platform/path.js';
import { encodeTable, readTable, type SyncAccessHandle, TABLE_FILE, tableOffset, tableRegion } from './opfs-table.js';

/** The subset of FileSystemDirectoryHandle used here. */
export interface OpfsDirectoryHandle {
  getFileHandle(name: string, options?: { create?: boolean }): Promise<unknown>;
}

export interface OpfsFileSystemOptions {
  /** How many files the pool can hold (data slots). Default 32. A pool that already has more keeps them. */
  capacity?: number;
}

const SLOT_PREFIX = 'walcore-slot-';
const DIR = -1;

function errno(code: string, message: string): Error {
  return Object.assign(new Error(`${code}: ${message}`), { code });
}

/** Map a DOMException from a sync access handle call to an errno-coded Error. */
function mapError(e: unknown, op: string, path: string): Error {
  const name = (e as { name?: unknown })?.name;
  const code = name === 'QuotaExceededError' ? 'ENOSPC' : name === 'InvalidStateError' ? 'EBADF' : name === 'NoModificationAllowedError' ? 'EBUSY' : 'EIO';
  return Object.assign(new Error(`${code}: ${op} ${path}: ${String((e as Error)?.message ?? e)}`), { code, cause: e });
}

function normalise(path: string): string {
  return '/' + pathParts(path).join('/');
}

function parentOf(p: string): string {
  const i = p.lastIndexOf('/');
  return i <= 0 ? '/' : p.slice(0, i);
}

interface Slot {
  readonly sah: SyncAccessHandle;
  /** Open FileHandles on it. */
  open: number;
}

class OpfsFile implements FileHandle {
  #closed = false;
  constructor(
    readonly path: string,
    private readonly pool: OpfsFileSystem,
    private readonly slot: Slot,
    private readonly writable: boolean,
  ) {}

  private live(op: string): SyncAccessHandle {
    if (this.#closed) throw errno('EBADF', `${op} on a closed handle: ${this.path}`);
    this.pool._checkOpen(op, this.path);
    return this.slot.sah;
  }

  read(buf: Uint8Array, position: number): number {
    const sah = this.live('read');
    try {
      return sah.read(buf, { at: position });
    } catch (e) {
      throw mapError(e, 'read', this.path);
    }
  }

  write(buf: Uint8Array, position: number): void {
    const sah = this.live('write');
    if (!this.writable) throw errno('EBADF', `write on a read-only handle: ${this.path}`);
    let done = 0;
    try {
      while (done < buf.length) {
        const n = sah.write(done === 0 ? buf : buf.subarray(done), { at: position + done });
        if (n <= 0) throw errno('EIO', `write made no progress: ${this.path}`);
        done += n;
      }
    } catch (e) {
      throw (e as { code?: unknown }).code !== undefined && !(e instanceof DOMException) ? e : mapError(e, 'write', this.path);
    }
  }

  truncate(size: number): void {
    const sah = this.live('truncate');
    if (!this.writable) throw errno('EBADF', `truncate on a read-only handle: ${this.path}`);
    try {
      sah.truncate(size);
    } catch (e) {
      throw mapError(e, 'truncate', this.path);
    }
  }

  size(): number {
    const sah = this.live('size');
    try {
      return sah.getSize();
    } catch (e) {
      throw mapError(e, 'size', this.path);
    }
  }

  sync(): void {
    const sah = this.live('sync');
    try {
      sah.flush();
    } catch (e) {
      throw mapError(e, 'sync', this.path);
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.slot.open--;
  }
}

export class OpfsFileSystem implements FileSystem {
  readonly name = 'opfs';
  readonly #table: SyncAccessHandle;
  readonly #slots: Slot[];
  /** path -> slot index, or DIR. The root '/' is implicit. */
  readonly #names = new Map<string, number>();
  /** Slots named by the last durable table. */
  #durableSlots = new Set<number>();
  #generation = 0;
  #dirty = false;
  #broken = false;
  #closed = false;
  readonly #locks = new Set<string>();

  private constructor(table: SyncAccessHandle, slots: SyncAccessHandle[]) {
    this.#table = table;
    this.#slots = slots.map((sah) => ({ sah, open: 0 }));
  }

  /**
   * Open (or create) the pool in `dir` (a FileSystemDirectoryHandle, e.g.
   * `await navigator.storage.getDirectory()`), from a dedicated worker.
   * Throws WalError('LOCKED') when another worker or tab holds the pool.
   */
  static async open(dir: OpfsDirectoryHandle, options: OpfsFileSystemOptions = {}): Promise<OpfsFileSystem> {
    for (const key of Object.keys(options)) if (key !== 'capacity') throw new TypeError(`OpfsFileSystem: unknown option ${key}`);
    const capacity = options.capacity ?? 32;
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > 4096) throw new RangeError('OpfsFileSystem: capacity must be an integer from 1 to 4096');
    if (dir === null || typeof dir !== 'object' || typeof dir.getFileHandle !== 'function') throw new TypeError('OpfsFileSystem.open: dir must be a FileSystemDirectoryHandle');
    const opened: SyncAccessHandle[] = [];
    const openOne = async (name: string): Promise<SyncAccessHandle> => {
      const fh = (await dir.getFileHandle(name, { create: true })) as { createSyncAccessHandle?: () => Promise<SyncAccessHandle> };
      if (typeof fh.createSyncAccessHandle !== 'function') {
        throw new TypeError('OpfsFileSystem needs FileSystemSyncAccessHandle, which browsers offer only in a dedicated worker');
      }
      try {
        const sah = await fh.createSyncAccessHandle();
        opened.push(sah);
        return sah;
      } catch (e) {
        if ((e as { name?: unknown })?.name === 'NoModificationAllowedError') {
          throw new WalError('LOCKED', `the OPFS pool is held by another worker or tab (${name} is open elsewhere)`, { path: name, cause: e });
        }
        throw mapError(e, 'open', name);
      }
    };
    try {
      const table = await openOne(TABLE_FILE);
      const loaded = readTable(table);
      const count = Math.max(capacity, loaded?.slots ?? 0);
      const slots: SyncAccessHandle[] = [];
      for (let i = 0; i < count; i++) slots.push(await openOne(SLOT_PREFIX + String(i).padStart(4, '0')));
      const fs = new OpfsFileSystem(table, slots);
      if (loaded === undefined) {
        // A new pool: write the empty table to copy 1 (generation 1) and then copy 0 (generation 2).
        fs.persist();
        fs.persist();
      } else {
        fs.#generation = loaded.generation;
        for (const [path, slot] of loaded.entries) {
          if (slot >= count) throw new WalError('CORRUPTED', `OPFS pool table names slot ${slot} of ${count}`, { path: TABLE_FILE });
          fs.#names.set(path, slot);
        }
        fs.#durableSlots = fs.usedSlots();
        if (count > loaded.slots) fs.persist(); // record the new slots
      }
      return fs;
    } catch (e) {
      for (const sah of opened) try { sah.close(); } catch { /* releasing */ }
      throw e;
    }
  }

  /** How many files the pool can hold. */
  get capacity(): number {
    return this.#slots.length;
  }

  /** Release every sync access handle (so another worker may open the pool). Idempotent. Does not sync. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const s of [this.#table, ...this.#slots.map((x) => x.sah)]) try { s.close(); } catch { /* releasing */ }
  }

  /** Internal: handles check the pool is open. */
  _checkOpen(op: string, path: string): void {
    if (this.#closed) throw errno('EBADF', `${op} ${path}: the OPFS pool is closed`);
  }

  // ---- the table

  private usedSlots(): Set<number> {
    const s = new Set<number>();
    for (const v of this.#names.values()) if (v !== DIR) s.add(v);
    return s;
  }

  /** Write the table to the copy not holding the newest generation, then flush the table file. */
  private persist(): void {
    if (this.#broken) throw errno('EIO', 'an earlier OPFS table flush failed; reopen the pool');
    const gen = (this.#generation + 1) >>> 0;
    const rec = encodeTable(gen, { slots: this.#slots.length, entries: [...this.#names] });
    if (rec === undefined) throw errno('ENOSPC', `the OPFS pool's name table is full (${tableRegion()} bytes)`);
    const at = tableOffset(gen);
    try {
      const n = this.#table.write(rec, { at });
      if (n !== rec.length) throw errno('EIO', 'short write of the OPFS name table');
      this.#table.flush();
    } catch (e) {
      this.#broken = true;
      throw (e as { code?: unknown }).code !== undefined && !(e instanceof DOMException) ? e : mapError(e, 'syncDir', TABLE_FILE);
    }
    this.#generation = gen;
    this.#dirty = false;
    this.#durableSlots = this.usedSlots();
  }

  private change(): void {
    if (this.#broken) throw errno('EIO', 'an earlier OPFS table flush failed; reopen the pool');
    this.#dirty = true;
  }

  private alive(op: string, path: string): void {
    this._checkOpen(op, path);
  }

  private kind(p: string): 'dir' | 'file' | undefined {
    if (p === '/') return 'dir';
    const v = this.#names.get(p);
    return v === undefined ? undefined : v === DIR ? 'dir' : 'file';
  }

  private requireParent(p: string): void {
    const k = this.kind(parentOf(p));
    if (k === undefined) throw errno('ENOENT', `${p}: parent directory does not exist`);
    if (k !== 'dir') throw errno('ENOTDIR', `${p}: parent is not a directory`);
  }

  private allocate(path: string): number {
    for (let pass = 0; pass < 2; pass++) {
      const used = this.usedSlots();
      for (let i = 0; i < this.#slots.length; i++) {
        if (used.has(i) || this.#durableSlots.has(i) || this.#slots[i]!.open > 0) continue;
        const sah = this.#slots[i]!.sah;
        try {
          sah.truncate(0);
          sah.flush();
        } catch (e) {
          throw mapError(e, 'open', path);
        }
        return i;
      }
      if (pass === 0 && this.#dirty) this.persist(); // frees slots whose removal was not durable yet
    }
    throw errno('ENOSPC', `${path}: the OPFS pool is full (capacity ${this.#slots.length}; open it with a larger capacity)`);
  }

  // ---- FileSystem

  open(path: string, flags: OpenFlags = {}): FileHandle {
    checkOpenFlags(flags);
    const p = normalise(path);
    this.alive('open', path);
    let slot = this.#names.get(p);
    if (p === '/' || slot === DIR) throw errno('EISDIR', path);
    if (slot !== undefined && flags.exclusive) throw errno('EEXIST', path);
    if (slot === undefined) {
      if (!flags.create) throw errno('ENOENT', path);
      this.requireParent(p);
      this.change();
      slot = this.allocate(path);
      this.#names.set(p, slot);
    }
    const s = this.#slots[slot]!;
    s.open++;
    return new OpfsFile(path, this, s, !!flags.write);
  }

  stat(path: string): FileStat | undefined {
    const p = normalise(path);
    this.alive('stat', path);
    const k = this.kind(p);
    if (k === undefined) return undefined;
    if (k === 'dir') return { size: 0, isDirectory: true };
    try {
      return { size: this.#slots[this.#names.get(p)!]!.sah.getSize(), isDirectory: false };
    } catch (e) {
      throw mapError(e, 'stat', path);
    }
  }

  rename(from: string, to: string): void {
    const src = normalise(from);
    const dst = normalise(to);
    this.alive('rename', from);
    const k = this.kind(src);
    if (k === undefined || src === '/') throw errno('ENOENT', from);
    this.requireParent(dst);
    if (src === dst) return;
    const target = this.kind(dst);
    if (k === 'file') {
      if (target === 'dir') throw errno('EISDIR', to);
      this.change();
      this.#names.set(dst, this.#names.get(src)!);
      this.#names.delete(src);
      return;
    }
    // A directory: every name under it moves.
    if (dst.startsWith(src + '/')) throw errno('EINVAL', `${to} is inside ${from}`);
    if (target === 'file') throw errno('ENOTDIR', to);
    if (target === 'dir' && this.childNames(dst).length > 0) throw errno('ENOTEMPTY', to);
    this.change();
    const moved: Array<[string, number]> = [];
    for (const [name, v] of this.#names) if (name === src || name.startsWith(src + '/')) moved.push([name, v]);
    for (const [name] of moved) this.#names.delete(name);
    for (const [name, v] of moved) this.#names.set(dst + name.slice(src.length), v);
  }

  remove(path: string): void {
    const p = normalise(path);
    this.alive('remove', path);
    const k = this.kind(p);
    if (k === undefined) throw errno('ENOENT', path);
    if (k === 'dir') throw errno('EISDIR', path);
    this.change();
    this.#names.delete(p);
  }

  private childNames(p: string): string[] {
    const prefix = p === '/' ? '/' : p + '/';
    const out: string[] = [];
    for (const name of this.#names.keys()) {
      if (name.startsWith(prefix) && name.indexOf('/', prefix.length) < 0) out.push(name.slice(prefix.length));
    }
    return out;
  }

  list(dir: string): string[] {
    const p = normalise(dir);
    this.alive('list', dir);
    const k = this.kind(p);
    if (k === undefined) throw errno('ENOENT', dir);
    if (k !== 'dir') throw errno('ENOTDIR', dir);
    return this.childNames(p).sort();
  }

  mkdir(path: string): void {
    const p = normalise(path);
    this.alive('mkdir', path);
    let cur = '';
    for (const part of p.split('/').slice(1)) {
      if (part === '') continue;
      cur += '/' + part;
      const k = this.kind(cur);
      if (k === 'file') throw errno('EEXIST', `${path}: a file is in the way`);
      if (k === undefined) {
        this.change();
        this.#names.set(cur, DIR);
      }
    }
  }

  syncDir(path: string): void {
    const p = normalise(path);
    this.alive('syncDir', path);
    const k = this.kind(p);
    if (k === undefined) throw errno('ENOENT', path);
    if (k !== 'dir') throw errno('ENOTDIR', path);
    if (this.#dirty) this.persist();
  }

  lock(path: string): FileLock {
    const key = normalise(path);
    this.alive('lock', path);
    if (this.#locks.has(key)) throw new WalError('LOCKED', `${path} is locked by another writer in this worker`, { path });
    this.#locks.add(key);
    let held = true;
    const locks = this.#locks;
    return {
      path: key,
      release() {
        if (!held) return;
        held = false;
        locks.delete(key);
      },
    };
  }
}
