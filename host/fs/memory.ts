/**
 * MemoryFileSystem: an in-memory FileSystem that is also a crash and fault
 * simulator, in the spirit of SQLite's test6.c and LevelDB's
 * fault_injection_test. Use it to crash-test your own code on walcore.
 *
 * Model
 * - Each file keeps its durable bytes and the list of writes and truncates
 *   made since its last sync(). Reads see everything (like the page cache).
 * - Each directory keeps its durable entries and the journal of creates,
 *   renames and removes since its last syncDir(). A rename within one
 *   directory is one atomic journal entry; across directories it is a remove
 *   and a create, in their own journals.
 * - crash() is a power cut: every open handle dies, every lock is released,
 *   each pending write is applied whole, dropped, or torn (each sector of it
 *   independently applied or not), each pending truncate applied or dropped,
 *   and each directory keeps a random prefix of its journal (metadata is
 *   journaled in order). Randomness comes from a seed, so a crash replays.
 * - FileHandle.syncAsync() completes on a later macrotask, covering the
 *   writes pending at its call; a crash while it is pending treats them as
 *   unsynced (and the sync rejects, its handle dead).
 * - A failed sync() behaves as on Linux (fsyncgate): the file's dirty writes
 *   are marked clean without reaching the disk. Reads still see them, no
 *   later sync makes them durable, and a crash keeps, drops or tears each.
 *   Every other handle open on the file then reports the error (EIO) once,
 *   at its next sync, as Linux does since 4.13 (errseq_t).
 *   The constructor's `failedSync: 'keep'` keeps them pending instead.
 * - injectFault() makes the N-th call of an operation fail with EIO or
 *   ENOSPC, once or from then on; a failing write may first write a prefix.
 */
import { WalError } from '../errors.js';
import { checkOpenFlags } from './flags.js';
import { Bytes, FileNode, MemoryFile, errno } from './memory-file.js';
import type { CrashMode, CrashReport, FailedSyncMode, FaultOp } from './memory-file.js';
import type { FileHandle, FileLock, FileStat, FileSystem, OpenFlags } from './types.js';
import { pathParts } from '../platform/path.js';

export type { CrashMode, CrashReport, FailedSyncMode, FaultOp } from './memory-file.js';

export interface MemoryFileSystemOptions {
  /**
   * What a failed sync() does to the writes it covered. 'drop' (default,
   * what Linux does): they stay readable (the page cache keeps them) but are
   * marked clean, so no later sync, through any handle, makes them durable,
   * and a crash keeps, drops or tears each (per CrashOptions.mode). 'keep':
   * they stay pending and a later successful sync makes them durable (no
   * kernel promises this; for code that is known to mishandle fsyncgate).
   */
  failedSync?: FailedSyncMode;
}

export interface FaultSpec {
  /** Which operation fails. */
  op: FaultOp;
  /** Fail the N-th matching call from now (1 = the next one). Default 1. */
  nth?: number;
  /** Keep failing every matching call after the first failure. Default false. */
  persist?: boolean;
  /** Error code to throw. Default 'EIO'. */
  code?: 'EIO' | 'ENOSPC' | 'EBADF' | 'EROFS';
  /** Only calls whose path includes this string count. */
  path?: string;
  /** For write: how many bytes reach the file before the failure. Default 0. */
  partialBytes?: number;
}

export interface Fault {
  readonly spec: Readonly<FaultSpec>;
  /** How many calls this fault has failed so far. */
  readonly failures: number;
  /** Stop failing. */
  remove(): void;
}

export interface CrashOptions {
  /** Seed for every random choice (default 1). Print it so a failure replays. */
  seed?: number;
  /** What happens to unsynced file writes: each randomly kept/dropped/torn (default), or all of one kind. */
  mode?: CrashMode;
  /** What happens to unsynced directory changes: a random prefix survives (default), all, or none. */
  dirMode?: 'random' | 'keep' | 'drop';
  /** Sector size for tearing, bytes (default 512). */
  sectorSize?: number;
}

/** mulberry32: small, fast, good enough to drive test choices. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type DirOp =
  | { kind: 'set'; name: string; node: Node }
  | { kind: 'delete'; name: string }
  | { kind: 'rename'; from: string; to: string; node: Node };

class DirNode {
  readonly kind = 'dir';
  entries = new Map<string, Node>();
  durable = new Map<string, Node>();
  journal: DirOp[] = [];
}

type Node = FileNode | DirNode;

const splitPath = pathParts;

export class MemoryFileSystem implements FileSystem {
  readonly name = 'memory';
  /** What a failed sync does (see MemoryFileSystemOptions). */
  readonly failedSync: FailedSyncMode;
  #root = new DirNode();
  #faults: Array<{ spec: FaultSpec; countdown: number; failures: number; active: boolean }> = [];
  #locks = new Set<string>();
  #handles = new Set<MemoryFile>();
  /** Number of calls per operation since creation (for tests that aim faults). */
  readonly calls: Record<FaultOp, number> = {
    open: 0, read: 0, write: 0, truncate: 0, sync: 0, size: 0, close: 0, rename: 0, remove: 0, list: 0, mkdir: 0, syncDir: 0, stat: 0,
  };

  constructor(options: MemoryFileSystemOptions = {}) {
    for (const key of Object.keys(options)) if (key !== 'failedSync') throw new TypeError(`MemoryFileSystem: unknown option ${key}`);
    const failedSync = options.failedSync ?? 'drop';
    if (failedSync !== 'drop' && failedSync !== 'keep') throw new RangeError("MemoryFileSystem: failedSync must be 'drop' or 'keep'");
    this.failedSync = failedSync;
  }

  // ---- fault injection

  /** Make a future call fail. Returns a handle to inspect or remove the fault. */
  injectFault(spec: FaultSpec): Fault {
    const nth = spec.nth ?? 1;
    if (!Number.isInteger(nth) || nth < 1) throw new RangeError('injectFault: nth must be an integer >= 1');
    const f = { spec: { ...spec }, countdown: nth, failures: 0, active: true };
    this.#faults.push(f);
    return {
      spec: f.spec,
      get failures() { return f.failures; },
      remove: () => { f.active = false; },
    };
  }

  /** Remove every injected fault. */
  clearFaults(): void {
    for (const f of this.#faults) f.active = false;
    this.#faults = [];
  }

  /** Count the call and throw if a fault says so. Returns bytes a failing write should still write. */
  private check(op: FaultOp, path: string): void {
    this.calls[op]++;
    for (const f of this.#faults) {
      if (!f.active || f.spec.op !== op) continue;
      if (f.spec.path !== undefined && !path.includes(f.spec.path)) continue;
      if (f.failures > 0 && f.spec.persist) {
        f.failures++;
        throw this.faultError(f.spec, op, path);
      }
      if (f.failures > 0) continue;
      if (--f.countdown === 0) {
        f.failures++;
        throw this.faultError(f.spec, op, path);
      }
    }
  }

  private faultError(spec: FaultSpec, op: string, path: string): Error {
    const e = errno(spec.code ?? 'EIO', `injected fault on ${op} ${path}`);
    return Object.assign(e, { partialBytes: spec.partialBytes ?? 0 });
  }

  // ---- path resolution

  private lookup(path: string): Node | undefined {
    let node: Node = this.#root;
    for (const part of splitPath(path)) {
      if (node.kind !== 'dir') return undefined;
      const next: Node | undefined = node.entries.get(part);
      if (next === undefined) return undefined;
      node = next;
    }
    return node;
  }

  private parent(path: string): { dir: DirNode; name: string } {
    const parts = splitPath(path);
    const name = parts.pop();
    if (name === undefined) throw errno('EINVAL', `${path} has no parent`);
    const dir = this.lookup('/' + parts.join('/'));
    if (dir === undefined) throw errno('ENOENT', `${path}: parent directory does not exist`);
    if (dir.kind !== 'dir') throw errno('ENOTDIR', `${path}: parent is not a directory`);
    return { dir, name };
  }

  // ---- FileSystem

  open(path: string, flags: OpenFlags = {}): FileHandle {
    checkOpenFlags(flags);
    this.check('open', path);
    let node = this.lookup(path);
    if (node !== undefined && flags.exclusive) throw errno('EEXIST', path);
    if (node === undefined) {
      if (!flags.create) throw errno('ENOENT', path);
      const { dir, name } = this.parent(path);
      node = new FileNode();
      dir.entries.set(name, node);
      dir.journal.push({ kind: 'set', name, node });
    }
    if (node.kind !== 'file') throw errno('EISDIR', path);
    const h = new MemoryFile(this, path, node, !!flags.write);
    this.#handles.add(h);
    return h;
  }

  stat(path: string): FileStat | undefined {
    this.check('stat', path);
    const node = this.lookup(path);
    if (node === undefined) return undefined;
    return node.kind === 'dir' ? { size: 0, isDirectory: true } : { size: node.current.size, isDirectory: false };
  }

  rename(from: string, to: string): void {
    this.check('rename', from);
    const src = this.parent(from);
    const node = src.dir.entries.get(src.name);
    if (node === undefined) throw errno('ENOENT', from);
    const dst = this.parent(to);
    if (src.dir === dst.dir) {
      if (src.name === dst.name) return;
      src.dir.entries.delete(src.name);
      src.dir.entries.set(dst.name, node);
      src.dir.journal.push({ kind: 'rename', from: src.name, to: dst.name, node });
      return;
    }
    src.dir.entries.delete(src.name);
    src.dir.journal.push({ kind: 'delete', name: src.name });
    dst.dir.entries.set(dst.name, node);
    dst.dir.journal.push({ kind: 'set', name: dst.name, node });
  }

  remove(path: string): void {
    this.check('remove', path);
    const { dir, name } = this.parent(path);
    const node = dir.entries.get(name);
    if (node === undefined) throw errno('ENOENT', path);
    if (node.kind === 'dir') throw errno('EISDIR', path);
    dir.entries.delete(name);
    dir.journal.push({ kind: 'delete', name });
  }

  list(dir: string): string[] {
    this.check('list', dir);
    const node = this.lookup(dir);
    if (node === undefined) throw errno('ENOENT', dir);
    if (node.kind !== 'dir') throw errno('ENOTDIR', dir);
    return [...node.entries.keys()].sort();
  }

  mkdir(path: string): void {
    this.check('mkdir', path);
    let node: DirNode = this.#root;
    for (const part of splitPath(path)) {
      const next = node.entries.get(part);
      if (next === undefined) {
        const d = new DirNode();
        node.entries.set(part, d);
        node.journal.push({ kind: 'set', name: part, node: d });
        node = d;
      } else if (next.kind === 'dir') {
        node = next;
      } else {
        throw errno('EEXIST', `${path}: a file is in the way`);
      }
    }
  }

  syncDir(path: string): void {
    this.check('syncDir', path);
    const node = this.lookup(path);
    if (node === undefined) throw errno('ENOENT', path);
    if (node.kind !== 'dir') throw errno('ENOTDIR', path);
    node.durable = new Map(node.entries);
    node.journal = [];
  }

  lock(path: string): FileLock {
    const key = '/' + splitPath(path).join('/');
    if (this.#locks.has(key)) throw new WalError('LOCKED', `${path} is locked by another writer`, { path });
    this.#locks.add(key);
    let held = true;
    const locks = this.#locks;
    return {
      path,
      release() {
        if (!held) return;
        held = false;
        locks.delete(key);
      },
    };
  }

  // ---- simulation

  /** Internal: called by MemoryFile for fault checks. */
  _check(op: FaultOp, path: string): void {
    this.check(op, path);
  }
  /** Internal: a handle closed. */
  _closed(h: MemoryFile): void {
    this.#handles.delete(h);
  }
  #asyncSyncs = 0;
  /** Internal: an async sync started or settled. */
  _asyncSync(delta: number): void {
    this.#asyncSyncs += delta;
  }

  #held: Array<() => void> | undefined;
  /** Internal: run an async sync's completion on a later macrotask, or keep it while held. */
  _completeLater(complete: () => void): void {
    if (this.#held !== undefined) this.#held.push(complete);
    else setTimeout(complete, 0);
  }

  /**
   * Keep every FileHandle.syncAsync() in flight until releaseAsyncSyncs(), so
   * a test can act (append, close, inject a fault, crash) while one is
   * pending, whatever order the runtime gives timers and immediates.
   */
  holdAsyncSyncs(): void {
    this.#held ??= [];
  }

  /** Let held async syncs complete (each on a later macrotask, in the order they started). */
  releaseAsyncSyncs(): void {
    const held = this.#held ?? [];
    this.#held = undefined;
    for (const complete of held) setTimeout(complete, 0);
  }

  /** How many FileHandle.syncAsync() calls are in flight (tests crash at chosen points with it). */
  get pendingAsyncSyncs(): number {
    return this.#asyncSyncs;
  }

  /** True if the file has writes or truncates not yet synced. */
  hasUnsynced(path: string): boolean {
    const node = this.lookup(path);
    return node?.kind === 'file' && node.pending.length > 0;
  }

  /** True if a failed sync marked some of the file's writes clean: a crash may lose them, whatever syncs follow. */
  hasLostWrites(path: string): boolean {
    const node = this.lookup(path);
    return node?.kind === 'file' && node.hasLost;
  }

  /**
   * Simulate a power cut (see the file comment). Every open handle becomes
   * unusable (EBADF) and every lock is released; the file system stays
   * usable and shows what a reboot would find.
   */
  crash(options: CrashOptions = {}): CrashReport {
    const rand = seededRandom(options.seed ?? 1);
    const mode = options.mode ?? 'random';
    const dirMode = options.dirMode ?? 'random';
    const sector = options.sectorSize ?? 512;
    if (!Number.isInteger(sector) || sector < 1) throw new RangeError('crash: sectorSize must be a positive integer');
    const report: CrashReport = { writesKept: 0, writesDropped: 0, writesTorn: 0, truncatesKept: 0, truncatesDropped: 0, dirOpsKept: 0, dirOpsLost: 0, lostOps: 0 };
    for (const h of this.#handles) h._kill();
    this.#handles.clear();
    this.#locks.clear();
    const files = new Set<FileNode>();
    const walk = (dir: DirNode): void => {
      const seen = new Set<Node>([...dir.entries.values(), ...dir.durable.values()]);
      for (const op of dir.journal) if (op.kind !== 'delete') seen.add(op.node);
      for (const n of seen) n.kind === 'dir' ? walk(n) : files.add(n);
      // Keep a prefix of the journal.
      const keep = dirMode === 'keep' ? dir.journal.length : dirMode === 'drop' ? 0 : Math.floor(rand() * (dir.journal.length + 1));
      const entries = new Map(dir.durable);
      dir.journal.forEach((op, i) => {
        if (i >= keep) { report.dirOpsLost++; return; }
        report.dirOpsKept++;
        if (op.kind === 'set') entries.set(op.name, op.node);
        else if (op.kind === 'delete') entries.delete(op.name);
        else { entries.delete(op.from); entries.set(op.to, op.node); }
      });
      dir.entries = entries;
      dir.durable = new Map(entries);
      dir.journal = [];
    };
    walk(this.#root);
    for (const f of files) f.crash(rand, mode, sector, report);
    return report;
  }

  /** A copy of a file's current bytes (what a read would see), for tests. */
  readFile(path: string): Uint8Array {
    const node = this.lookup(path);
    if (node === undefined || node.kind !== 'file') throw errno('ENOENT', path);
    return node.current.buf.slice(0, node.current.size);
  }

  /** Replace a file's bytes, durable at once (for byte-surgery tests). Creates the file if needed. */
  writeFile(path: string, bytes: Uint8Array): void {
    let node = this.lookup(path);
    if (node === undefined) {
      const { dir, name } = this.parent(path);
      node = new FileNode();
      dir.entries.set(name, node);
      dir.durable.set(name, node);
    }
    if (node.kind !== 'file') throw errno('EISDIR', path);
    const b = new Bytes();
    b.write(0, bytes);
    b.truncate(bytes.length);
    node.reset(b);
  }
}
