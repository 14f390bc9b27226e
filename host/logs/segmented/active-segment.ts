/**
 * The active (last) segment of a SegmentedWal: its write handle and what is
 * known about its bytes. Only this segment is ever written; every method
 * states what happens on failure:
 *
 * - write(): pwrite at `end`. A failed write is rolled back (truncate to the
 *   old end, fdatasync) and reported as IO_ERROR; if the rollback fails the
 *   caller's `poison` makes the WAL unusable (POISONED).
 * - sync(): fdatasync; a failure poisons (the kernel may have dropped the
 *   data, and a retried fsync could falsely succeed).
 * - writeMarker(): an advisory sync marker after the synced data; failures
 *   are ignored (only the witness is lost).
 * - seal(): cut a trailing marker and fdatasync, so a sealed segment is
 *   exactly its records and durable before its successor exists.
 */
import type { Core } from '../../core/core.js';
import { WalError, ioError } from '../../errors.js';
import type { FileHandle } from '../../fs/types.js';
import type { SegmentMeta } from './recovery.js';

export type Poison = (cause: unknown, what: string, path: string) => WalError;

export class ActiveSegment {
  /** Offset where the next frames go. */
  end: number;
  /** Everything before this offset is durable (a completed fdatasync covered it). */
  durableEnd: number;
  /** Bytes in the file after `end` (a sync marker), for sizes. */
  tail: number;
  /** Bytes may sit after `end` (a marker, or a failed marker write): seal() cuts them. */
  #dirtyTail: boolean;

  constructor(readonly meta: SegmentMeta, readonly h: FileHandle, end: number, fileSize: number,
    private readonly core: Core, private readonly poison: Poison) {
    this.end = this.durableEnd = end;
    this.tail = fileSize - end;
    this.#dirtyTail = fileSize > end;
  }

  get path(): string { return this.meta.path; }
  get salt(): number { return this.meta.header.salt; }
  /** Whether a marker was written and not yet synced (close() syncs it). */
  get markerPending(): boolean { return this.#dirtyTail && this.tail > 0; }

  write(bytes: Uint8Array): void {
    const at = this.end;
    try {
      this.h.write(bytes, at);
    } catch (e) {
      try {
        this.h.truncate(at);
        this.h.sync();
      } catch (e2) {
        throw this.poison(e2, `write at offset ${at} failed and rolling it back failed too`, this.path);
      }
      this.tail = 0;
      this.#dirtyTail = false;
      throw new WalError('IO_ERROR', `${this.path}: write at offset ${at} failed and was rolled back; buffered records are kept for the next sync`, { path: this.path, offset: at, cause: e });
    }
    this.end += bytes.length;
    this.tail = 0; // records are longer than a marker: it is overwritten
    this.#dirtyTail = false;
  }

  /** fdatasync if anything was written since the last one; returns whether it synced. */
  sync(): boolean {
    if (this.durableEnd === this.end) return false;
    try { this.h.sync(); } catch (e) { throw this.poison(e, 'fsync failed; durability of recent writes is unknown', this.path); }
    this.durableEnd = this.end;
    return true;
  }

  /** Encode a sync marker at core staging offset `off` and write it after `end`. */
  writeMarker(off: number): void {
    const core = this.core;
    const c = core.c;
    core.ensure(off + c.FRAME_HEADER_SIZE);
    const at = core.staging + off;
    core.x.encodeFrame(at, 0, c.TYPE_SYNC_MARK, this.salt, 0, 0, this.durableEnd);
    this.#dirtyTail = true; // even a failed write may have left bytes after `end`
    try {
      this.h.write(core.u8.subarray(at, at + c.FRAME_HEADER_SIZE), this.end);
      this.tail = c.FRAME_HEADER_SIZE;
    } catch { /* advisory */ }
  }

  /** Make a written marker durable (close). */
  syncMarker(): void {
    if (!this.#dirtyTail) return;
    try { this.h.sync(); } catch (e) { throw this.poison(e, 'fsync on close failed', this.path); }
  }

  /** Cut anything after `end` and fdatasync: the segment becomes sealed. Sets meta.size. */
  seal(): void {
    if (this.#dirtyTail) {
      try { this.h.truncate(this.end); } catch (e) { throw ioError('truncate', this.path, e); }
    }
    try { this.h.sync(); } catch (e) { throw this.poison(e, 'fsync while sealing failed', this.path); }
    this.#dirtyTail = false;
    this.tail = 0;
    this.durableEnd = this.end;
    this.meta.size = this.end;
  }

  close(): void {
    try { this.h.close(); } catch { /* nothing more to lose */ }
  }
}
