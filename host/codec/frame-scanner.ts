/**
 * Walks the frames of one file region in large chunks read straight into the
 * core's staging memory, and classifies the first invalid frame
 * (docs/FORMAT.md §5 Recovery). Shared by every log that stores frames.
 *
 * Usage: call next() until it returns 0; after each call the core's
 * descriptor region holds `count` descriptors whose D_OFFSET is relative to
 * `batchBase` (an address in core memory). Descriptors and payload bytes are
 * valid only until the next call. When next() returns 0, `failure` says
 * whether the walk stopped at an invalid frame.
 */
import type { Core } from '../core/core.js';
import { type FrameFailure, WalError } from '../errors.js';
import type { FileHandle } from '../fs/types.js';

/** Default bytes read per chunk. */
export const SCAN_CHUNK = 4 << 20;

export interface ScanFailureInfo {
  offset: number;
  reason: FrameFailure;
}

/** Failures a frame can only have if its bytes are exactly what was written: never a torn write. */
const ALWAYS_CORRUPT: ReadonlySet<FrameFailure> = new Set(['sequence-order', 'bad-watermark', 'decode-failure']);

export class FrameScanner {
  /** File offset of the next frame to scan (after a failure: where the invalid frame starts). */
  pos: number;
  /** Sequence (halves) and watermark of the last valid frame. */
  seqLo = 0;
  seqHi = 0;
  mark = 0;
  /** Frames accepted so far. */
  frames = 0;
  /** Start offset and type of the last valid frame (-1 when none). */
  lastStart = -1;
  lastType = 0;
  /** Core address that descriptor offsets of the last batch are relative to. */
  batchBase = 0;
  /** File offset that batchBase corresponds to. */
  batchOffset = 0;
  failure: ScanFailureInfo | undefined;
  #winStart = 0;
  #winLen = 0;
  #done = false;
  #chunk: number;

  constructor(
    private readonly core: Core,
    private readonly h: FileHandle,
    readonly path: string,
    private readonly salt: number,
    start: number,
    private size: number,
    private readonly flags: number,
    chunk = SCAN_CHUNK,
  ) {
    this.pos = start;
    this.#chunk = chunk;
  }

  /**
   * Read [pos, pos + len) into staging. A short read is the end of the file
   * (it shrank underneath us, e.g. a restarted writer cut a torn tail): the
   * scan's size shrinks with it, so no caller waits for bytes that are gone.
   */
  private load(pos: number, len: number): void {
    this.core.ensure(len);
    const c = this.core;
    const got = this.h.read(c.u8.subarray(c.staging, c.staging + len), pos);
    this.#winStart = pos;
    this.#winLen = got;
    if (got < len) this.size = pos + got;
  }

  /** Scan the next batch. Returns the number of valid frames described (0 = finished). */
  next(): number {
    const c = this.core;
    const emit = (this.flags & c.c.SCAN_EMIT) !== 0;
    while (!this.#done) {
      if (this.pos >= this.size) { this.#done = true; return 0; }
      const rel0 = this.pos - this.#winStart;
      if (rel0 < 0 || rel0 >= this.#winLen) this.load(this.pos, Math.min(this.#chunk, this.size - this.pos));
      const rel = this.pos - this.#winStart;
      const avail = this.#winLen - rel;
      if (avail <= 0) { this.#done = true; return 0; } // file shrank underneath us
      const flags = this.lastStart >= 0 && this.lastType === c.c.TYPE_SYNC_MARK ? this.flags | c.c.SCAN_AFTER_MARK : this.flags;
      const st = c.x.scanFrames(c.staging + rel, avail, this.pos, this.salt, c.c.MAX_FRAME_PAYLOAD, flags,
        this.seqLo, this.seqHi, this.mark, emit ? c.c.DESC_CAPACITY : 0xffffffff);
      const count = c.out('outCount');
      if (count > 0) {
        this.lastStart = this.pos + c.out('outLastStart');
        this.lastType = c.out('outLastType');
        this.seqLo = c.out('outSeqLo');
        this.seqHi = c.out('outSeqHi');
        this.mark = c.out('outMark');
        this.frames += count;
      }
      this.batchBase = c.staging + rel;
      this.batchOffset = this.pos;
      this.pos += c.out('outEnd');
      if (st === c.c.OK || st === c.c.MORE) {
        if (count > 0) return count;
        continue;
      }
      const reason = c.failure(st);
      const windowEnd = this.#winStart + this.#winLen;
      if ((reason === 'incomplete-header' || reason === 'incomplete-payload') && windowEnd < this.size) {
        // The frame runs past this chunk, not past the file: read again from it.
        if (reason === 'incomplete-payload') {
          const len = c.dv.getUint32(c.staging + (this.pos - this.#winStart) + c.c.F_LEN, true);
          this.#chunk = Math.max(this.#chunk, c.c.FRAME_HEADER_SIZE + len);
        }
        this.#winLen = 0;
        if (count > 0) return count;
        continue;
      }
      this.failure = { offset: this.pos, reason };
      this.#done = true;
      return count;
    }
    return 0;
  }

  /** Mark the frame at `offset` as failed for a reason found above the core (e.g. the codec). */
  fail(offset: number, reason: FrameFailure): void {
    this.failure = { offset, reason };
    this.pos = offset;
    this.#done = true;
  }

  /**
   * Decide whether the failure is a torn tail or corruption of durable data.
   * A frame whose bytes are intact but wrong is always corruption. Otherwise
   * search every position after the bad frame for a valid frame of this file
   * whose watermark lies beyond the bad frame's offset X (and, with
   * SCAN_MARK, not beyond its own offset): one proves a completed sync had
   * covered X, so it is corruption, and the search stops there. If none
   * exists, every damaged byte lies after the last completed sync: a torn tail.
   *
   * Linear in the bytes after X whatever they hold: findWitness is linear in
   * its window, and windows overlap only by the bytes after the first frame
   * still undecided (one that runs past the window), which the next window
   * at least doubles (nextWindow), so every byte is read at most about three
   * times. `witness` is the proving frame's watermark, -1 when torn.
   */
  classify(): { torn: boolean; witness: number } {
    const f = this.failure;
    if (f === undefined) throw new Error('classify() without a failure');
    if (ALWAYS_CORRUPT.has(f.reason)) return { torn: false, witness: -1 };
    const c = this.core;
    const header = c.c.FRAME_HEADER_SIZE;
    const boundMarks = (this.flags & c.c.SCAN_MARK) !== 0;
    let p = f.offset + 1;
    let span = this.#chunk;
    try {
      while (p + header <= this.size) {
        const n = Math.min(span, this.size - p);
        c.ensure(n + (n >>> 3) + 64); // the window, then findWitness's CRC checkpoints
        this.load(p, n);
        const len = this.#winLen;
        if (len === 0) break; // the file ended (shrank) here
        const w = c.x.findWitness(c.staging, len, this.salt, c.c.MAX_FRAME_PAYLOAD, f.offset, boundMarks ? p : Infinity);
        if (w > f.offset) return { torn: false, witness: w };
        if (p + len >= this.size) break; // the last window decided every position
        const resume = c.out('outResume');
        span = this.nextWindow(len, resume);
        p += resume;
      }
      return { torn: true, witness: -1 };
    } finally {
      this.#winLen = 0;
    }
  }

  /**
   * Size of the window that starts at `resume` (relative to a window of
   * `len` bytes): the frame left undecided there must fit, and the bytes
   * examined again (len - resume) are at most half of it, so re-reading
   * costs no more than the new bytes it brings.
   */
  private nextWindow(len: number, resume: number): number {
    const c = this.core;
    const again = len - resume;
    let need = 0;
    if (again >= c.c.FRAME_HEADER_SIZE) need = c.c.FRAME_HEADER_SIZE + c.dv.getUint32(c.staging + resume + c.c.F_LEN, true);
    return Math.max(this.#chunk, need, 2 * again);
  }

  /** The error for this scanner's failure: TORN_TAIL or CORRUPTED, with reason and offset. */
  error(torn: boolean): WalError {
    const f = this.failure!;
    const what = torn
      ? 'torn tail (damage after the last completed sync)'
      : 'corruption inside data a completed sync had made durable';
    return new WalError(torn ? 'TORN_TAIL' : 'CORRUPTED', `${this.path}: ${what} at offset ${f.offset}: ${f.reason}`, {
      path: this.path, offset: f.offset, reason: f.reason,
    });
  }
}
