/**
 * The file side of MemoryFileSystem (see memory.ts for the model): a file's
 * current and durable bytes with the writes and truncates pending between
 * them, and the handle that reads and writes it. Kept apart from the
 * directory, fault and crash machinery in memory.ts.
 */
import type { FileHandle } from './types.js';

/** Operations that can be made to fail. */
export type FaultOp = 'open' | 'read' | 'write' | 'truncate' | 'sync' | 'size' | 'close' | 'rename' | 'remove' | 'list'
  | 'mkdir' | 'syncDir' | 'stat';

/** What a MemoryFile needs from its file system: fault checks and close notices. */
export interface MemoryFileOwner {
  readonly failedSync: FailedSyncMode;
  _check(op: FaultOp, path: string): void;
  _closed(h: MemoryFile): void;
  /** An async sync started (+1) or settled (-1). */
  _asyncSync(delta: number): void;
  /** Run an async sync's completion on a later macrotask (or hold it, see holdAsyncSyncs). */
  _completeLater(complete: () => void): void;
}

/** An Error carrying an errno code, as the real file systems throw. */
export function errno(code: string, message: string): Error {
  return Object.assign(new Error(`${code}: ${message}`), { code });
}

/** A growable byte array. */
export class Bytes {
  buf = new Uint8Array(0);
  size = 0;
  private reserve(n: number): void {
    if (n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(n, this.buf.length * 2, 256));
    next.set(this.buf.subarray(0, this.size));
    this.buf = next;
  }
  write(pos: number, bytes: Uint8Array): void {
    const end = pos + bytes.length;
    this.reserve(end);
    if (pos > this.size) this.buf.fill(0, this.size, pos);
    this.buf.set(bytes, pos);
    if (end > this.size) this.size = end;
  }
  truncate(n: number): void {
    if (n > this.size) {
      this.reserve(n);
      this.buf.fill(0, this.size, n);
    }
    this.size = n;
  }
  clone(): Bytes {
    const b = new Bytes();
    b.buf = this.buf.slice(0, this.size);
    b.size = this.size;
    return b;
  }
}

export type PendingOp = { kind: 'write'; pos: number; bytes: Uint8Array } | { kind: 'truncate'; size: number };

/** What a failed sync does to the writes it covered (see MemoryFileSystemOptions.failedSync). */
export type FailedSyncMode = 'drop' | 'keep';

/** How a crash treats an unsynced write (see CrashOptions.mode in memory.ts). */
export type CrashMode = 'random' | 'keep' | 'drop' | 'tear';

export interface CrashReport {
  writesKept: number;
  writesDropped: number;
  writesTorn: number;
  truncatesKept: number;
  truncatesDropped: number;
  dirOpsKept: number;
  dirOpsLost: number;
  /** Writes and truncates a failed sync had marked clean (also counted above as kept, dropped or torn). */
  lostOps: number;
}

function applyOp(b: Bytes, op: PendingOp): void {
  if (op.kind === 'write') b.write(op.pos, op.bytes);
  else b.truncate(op.size);
}

/**
 * A file's bytes. `current` is what reads see (the page cache). The durable
 * image is `durable`, then each of `layers` in order, then nothing of
 * `pending` (the dirty writes). A successful sync makes `pending` durable; a
 * failed sync in 'drop' mode turns it into a lost layer: no longer dirty, so
 * no later sync writes it, and a crash keeps, drops or tears each of its
 * writes. Layers exist only after a failed sync; until then sync folds
 * `pending` straight into `durable`.
 */
export class FileNode {
  readonly kind = 'file';
  current = new Bytes();
  durable = new Bytes();
  pending: PendingOp[] = [];
  layers: Array<{ lost: boolean; ops: PendingOp[] }> = [];
  /**
   * Counts failed syncs ('drop' mode), as Linux's errseq_t does (since 4.13):
   * each handle remembers the count it has reported, so a writeback error is
   * reported once to every handle that was open when it happened, whichever
   * handle's sync met it.
   */
  errSeq = 0;

  /** A successful sync. */
  commit(): void {
    if (this.layers.length === 0) for (const op of this.pending) applyOp(this.durable, op);
    else if (this.pending.length > 0) this.layers.push({ lost: false, ops: this.pending });
    this.pending = [];
  }
  /**
   * A successful async sync that covered `covered` (the pending ops when it
   * started): the ones still at the head of `pending` become durable. Ops a
   * sync() committed or a failed sync lost meanwhile are already gone from
   * `pending`; ops written after the call stay pending.
   */
  commitCovered(covered: readonly PendingOp[]): void {
    if (covered.length === 0) return;
    const set = new Set(covered);
    let k = 0;
    while (k < this.pending.length && set.has(this.pending[k]!)) k++;
    if (k === 0) return;
    const rest = this.pending.slice(k);
    this.pending = this.pending.slice(0, k);
    this.commit();
    this.pending = rest;
  }
  /** A failed sync in 'drop' mode: the dirty writes are marked clean without reaching the disk. */
  lose(): void {
    if (this.pending.length > 0) this.layers.push({ lost: true, ops: this.pending });
    this.pending = [];
  }
  get hasLost(): boolean {
    return this.layers.some((l) => l.lost);
  }
  /** Replace the bytes, durable at once. */
  reset(bytes: Bytes): void {
    this.current = bytes;
    this.durable = bytes.clone();
    this.pending = [];
    this.layers = [];
  }
  /** A power cut: decide the fate of every unsynced or lost write; what survives becomes the file. */
  crash(rand: () => number, mode: CrashMode, sector: number, report: CrashReport): void {
    const result = this.durable;
    const unsynced = (op: PendingOp): void => {
      if (op.kind === 'truncate') {
        if (mode === 'drop' || (mode !== 'keep' && mode !== 'tear' && rand() < 0.5)) report.truncatesDropped++;
        else { result.truncate(op.size); report.truncatesKept++; }
        return;
      }
      const choice = mode === 'random' ? Math.floor(rand() * 3) : mode === 'keep' ? 0 : mode === 'drop' ? 1 : 2;
      if (choice === 0) { result.write(op.pos, op.bytes); report.writesKept++; }
      else if (choice === 1) report.writesDropped++;
      else {
        report.writesTorn++;
        // Sectors are aligned to the file, not to the write.
        let s = op.pos;
        while (s < op.pos + op.bytes.length) {
          const e = Math.min(op.pos + op.bytes.length, (Math.floor(s / sector) + 1) * sector);
          if (rand() < 0.5) result.write(s, op.bytes.subarray(s - op.pos, e - op.pos));
          s = e;
        }
      }
    };
    for (const layer of this.layers) {
      for (const op of layer.ops) {
        if (!layer.lost) applyOp(result, op);
        else { report.lostOps++; unsynced(op); }
      }
    }
    for (const op of this.pending) unsynced(op);
    this.reset(result);
  }
}

export class MemoryFile implements FileHandle {
  #open = true;
  #dead = false;
  /** The node's errSeq this handle has reported (sampled at open: errors before it are not its to report). */
  #errSeen: number;
  /** close() is immediate; a syncAsync() in flight completes on its own. */
  readonly abandonsSync = true;
  constructor(private readonly fs: MemoryFileOwner, readonly path: string, private readonly node: FileNode, private readonly writable: boolean) {
    this.#errSeen = node.errSeq;
  }

  _kill(): void {
    this.#dead = true;
    this.#open = false;
  }
  private live(op: FaultOp): void {
    if (!this.#open) throw errno('EBADF', `${this.path}: handle is ${this.#dead ? 'dead after crash' : 'closed'}`);
    this.fs._check(op, this.path);
  }
  read(buf: Uint8Array, position: number): number {
    this.live('read');
    const cur = this.node.current;
    if (position >= cur.size) return 0;
    const n = Math.min(buf.length, cur.size - position);
    buf.set(cur.buf.subarray(position, position + n));
    return n;
  }
  write(buf: Uint8Array, position: number): void {
    if (!this.writable) throw errno('EBADF', `${this.path}: opened read-only`);
    try {
      this.live('write');
    } catch (e) {
      const partial = Math.min((e as { partialBytes?: number }).partialBytes ?? 0, buf.length);
      if (partial > 0 && this.#open) this.apply({ kind: 'write', pos: position, bytes: buf.slice(0, partial) });
      throw e;
    }
    this.apply({ kind: 'write', pos: position, bytes: buf.slice() });
  }
  private apply(op: PendingOp): void {
    if (op.kind === 'write') this.node.current.write(op.pos, op.bytes);
    else this.node.current.truncate(op.size);
    this.node.pending.push(op);
  }
  truncate(size: number): void {
    if (!this.writable) throw errno('EBADF', `${this.path}: opened read-only`);
    this.live('truncate');
    this.apply({ kind: 'truncate', size });
  }
  size(): number {
    this.live('size');
    return this.node.current.size;
  }
  /**
   * See FileNode: a failed sync in 'drop' mode marks the file's dirty writes
   * clean, whichever handle made them, and every other handle open then
   * reports EIO once at its next sync (errSeq).
   */
  sync(): void {
    if (!this.#open) this.live('sync'); // EBADF
    try {
      this.fs._check('sync', this.path);
    } catch (e) {
      this.failed();
      throw e;
    }
    this.node.commit();
    this.reportEarlierError();
  }
  /** A sync failed here: in 'drop' mode its dirty writes are lost, and reported to this handle now (to the others later). */
  private failed(): void {
    if (this.fs.failedSync !== 'drop') return;
    this.node.lose();
    this.#errSeen = ++this.node.errSeq;
  }
  /**
   * After this sync wrote its data: throw EIO once if a sync through another
   * handle failed since this one last reported ('drop' mode; Linux writes the
   * dirty pages, then reports the earlier error).
   */
  private reportEarlierError(): void {
    if (this.fs.failedSync !== 'drop' || this.#errSeen === this.node.errSeq) return;
    this.#errSeen = this.node.errSeq;
    throw errno('EIO', `${this.path}: a sync through another handle failed since this handle's last sync (writeback error, reported once to each handle)`);
  }
  /**
   * sync() completing on a later macrotask (as if in a thread pool). It covers
   * the writes and truncates pending at the call; writes made meanwhile stay
   * pending. Injected 'sync' faults apply when it completes (and count it
   * then), with failedSync 'drop' marking every dirty write clean as sync()
   * does. A crash() while it is pending treats its writes as unsynced and
   * rejects it (EBADF: the handle died). A close() meanwhile does not stop it.
   */
  syncAsync(): Promise<void> {
    if (!this.#open) {
      try { this.live('sync'); } catch (e) { return Promise.reject(e); }
    }
    const covered = this.node.pending.slice();
    this.fs._asyncSync(1);
    return new Promise<void>((resolve, reject) => {
      this.fs._completeLater(() => {
        this.fs._asyncSync(-1);
        if (this.#dead) return reject(errno('EBADF', `${this.path}: handle is dead after crash (the sync was in flight)`));
        try {
          this.fs._check('sync', this.path);
        } catch (e) {
          this.failed();
          return reject(e);
        }
        this.node.commitCovered(covered);
        try { this.reportEarlierError(); } catch (e) { return reject(e); }
        resolve();
      });
    });
  }
  close(): void {
    if (!this.#open) return;
    this.#open = false;
    this.fs._closed(this);
  }
}
