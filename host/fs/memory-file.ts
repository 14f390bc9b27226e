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
  _check(op: FaultOp, path: string): void;
  _closed(h: MemoryFile): void;
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

export class FileNode {
  readonly kind = 'file';
  current = new Bytes();
  durable = new Bytes();
  pending: PendingOp[] = [];
}

export class MemoryFile implements FileHandle {
  #open = true;
  #dead = false;
  constructor(private readonly fs: MemoryFileOwner, readonly path: string, private readonly node: FileNode, private readonly writable: boolean) {}

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
  sync(): void {
    this.live('sync');
    const d = this.node.durable;
    for (const op of this.node.pending) op.kind === 'write' ? d.write(op.pos, op.bytes) : d.truncate(op.size);
    this.node.pending = [];
  }
  close(): void {
    if (!this.#open) return;
    this.#open = false;
    this.fs._closed(this);
  }
}
