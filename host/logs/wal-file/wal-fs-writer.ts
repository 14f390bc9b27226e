/**
 * WalFsWriter: a single-file write-ahead log of (sequence, payload) events.
 *
 * Lifecycle: open() takes the writer lock, creates the file (crash-safely) or
 * strictly validates every existing frame, then applies the repair policy.
 * append() frames an event into an in-memory buffer (nothing reaches the OS
 * until the buffer fills or flush()); flush() writes the buffer and fsyncs,
 * and is the only acknowledgement of durability; close() flushes, makes the
 * sync marker durable and releases everything.
 *
 * Failure contract: a failed write is rolled back by truncating the file to
 * the offset before the write and syncing that; the buffered events are kept
 * and retried by the next flush(). If the rollback (or any fsync) fails, the
 * writer is poisoned: every later call throws POISONED, because the file's
 * state is unknown; reopen to recover. See README.md "WalFsWriter".
 */
import { removeTempFilesOf, writeFileAtomically } from '../../lifecycle/atomic-file.js';
import { randomU32 } from '../../platform/random.js';
import { Core } from '../../core/core.js';
import { WalError, ioError } from '../../errors.js';
import type { FileHandle, FileLock, FileSystem } from '../../fs/types.js';
import { defaultFileSystem } from '../../fs/default.js';
import { GroupCommit } from '../../lifecycle/group-commit.js';
import { type SequenceMode, TWO_32, fromHalves, u64Halves } from '../../core/u64.js';
import { type Codec, readWalHeader, scanWalFile } from './wal-file.js';
import { checkOptions, disposeSymbol } from '../../lifecycle/options.js';

export type RepairPolicy = 'strict' | 'truncate-partial';

export interface WalFsWriterOptions<T = Uint8Array> {
  /** What to do with a torn tail found on open. Default 'strict' (refuse with TORN_TAIL). */
  repair?: RepairPolicy;
  /** File system to use. Default: the current runtime's. */
  fs?: FileSystem;
  /** Converts typed events to bytes. Default: payloads are Uint8Array, stored as is. */
  codec?: Codec<T>;
  /** Sequence numbers as 'number' (default, up to 2^53-1) or 'bigint' (full u64). */
  sequences?: SequenceMode;
  /** Bytes of framed events buffered before they are written to the file. Default 1 MiB. */
  bufferSize?: number;
}

/** An event: a sequence number (number, or bigint in bigint mode) and a payload. */
export interface WalEvent<T = Uint8Array, S extends number | bigint = number> {
  sequence: S;
  payload: T;
}

/** `number` unless the options say { sequences: 'bigint' }. */
export type SequenceOf<O> = O extends { sequences: 'bigint' } ? bigint : number;

export interface OpenReport {
  /** Bytes cut from the end by 'truncate-partial' (0 when the file was clean). */
  truncatedBytes: number;
  /** Why the cut tail was invalid, when something was cut. */
  truncatedReason: string | undefined;
}

const OPTION_KEYS = ['repair', 'fs', 'codec', 'sequences', 'bufferSize'] as const;

type State = 'open' | 'closed' | 'poisoned';

export class WalFsWriter<T = Uint8Array, S extends number | bigint = number> {
  readonly path: string;
  /** What open() found and repaired. */
  readonly openReport: OpenReport;
  readonly #fs: FileSystem;
  readonly #core: Core;
  readonly #h: FileHandle;
  readonly #lock: FileLock;
  readonly #codec: Codec<T> | undefined;
  readonly #mode: SequenceMode;
  readonly #bufferSize: number;
  readonly #salt: number;
  readonly #group: GroupCommit;
  #state: State = 'open';
  #poison: unknown;
  /** File offset where the buffered frames will be written. */
  #end: number;
  /** Everything before this offset is durable (a completed sync covered it). */
  #durableEnd: number;
  /** Bytes of framed events buffered in core staging memory. */
  #buffered = 0;
  /** Leading bytes of the buffer already framed; the rest await encodePending(). */
  #encoded = 0;
  /** Frames in the buffer not yet framed: their descriptors are 0..#pending-1. */
  #pending = 0;
  /** A sync marker sits at #end and has not been synced. */
  #markerUnsynced = false;
  /** Highest sequence appended (halves) and highest written to the file and made durable. */
  #lo = 0;
  #hi = 0;
  #durableLo = 0;
  #durableHi = 0;
  #writtenLo = 0;
  #writtenHi = 0;

  private constructor(path: string, fs: FileSystem, core: Core, h: FileHandle, lock: FileLock, salt: number, opts: WalFsWriterOptions<T>, report: OpenReport, end: number, lo: number, hi: number) {
    this.path = path;
    this.#fs = fs;
    this.#core = core;
    this.#h = h;
    this.#lock = lock;
    this.#salt = salt;
    this.#codec = opts.codec;
    this.#mode = opts.sequences ?? 'number';
    this.#bufferSize = opts.bufferSize ?? 1 << 20;
    this.openReport = report;
    this.#end = end;
    this.#durableEnd = end;
    this.#lo = this.#writtenLo = this.#durableLo = lo;
    this.#hi = this.#writtenHi = this.#durableHi = hi;
    this.#group = new GroupCommit(() => this.flush());
  }

  /** Open (creating if missing) the WAL at `path`. See the class comment and README.md. */
  static open<T = Uint8Array, O extends WalFsWriterOptions<T> = WalFsWriterOptions<T>>(path: string, options?: O): WalFsWriter<T, SequenceOf<O>>;
  static open<T = Uint8Array>(path: string, options: WalFsWriterOptions<T> = {}): WalFsWriter<T, number | bigint> {
    if (typeof path !== 'string' || path.length === 0) throw new TypeError('WalFsWriter.open: path must be a non-empty string');
    checkOptions('WalFsWriter.open', options, OPTION_KEYS);
    const repair = options.repair ?? 'strict';
    if (repair !== 'strict' && repair !== 'truncate-partial') throw new RangeError(`WalFsWriter.open: repair must be 'strict' or 'truncate-partial', got ${String(repair)}`);
    if (options.sequences !== undefined && options.sequences !== 'number' && options.sequences !== 'bigint') throw new RangeError("WalFsWriter.open: sequences must be 'number' or 'bigint'");
    const bufferSize = options.bufferSize ?? 1 << 20;
    if (!Number.isSafeInteger(bufferSize) || bufferSize < 0 || bufferSize > 1 << 30) throw new RangeError('WalFsWriter.open: bufferSize must be an integer in [0, 2^30]');
    if (options.codec !== undefined && (typeof options.codec.encode !== 'function' || typeof options.codec.decode !== 'function')) throw new TypeError('WalFsWriter.open: codec needs encode() and decode()');
    const fs = options.fs ?? defaultFileSystem();
    const core = new Core();
    let lock: FileLock;
    try {
      lock = fs.lock(path);
    } catch (e) {
      throw ioError('lock', path, e);
    }
    let h: FileHandle | undefined;
    try {
      try {
        removeTempFilesOf(fs, path);
        const st = fs.stat(path);
        if (st === undefined || st.size === 0) {
          const header = new Uint8Array(core.c.FILE_HEADER_SIZE);
          core.x.encodeFileHeader(core.staging, core.c.KIND_WAL_FILE, randomU32(), 0, 0, 0);
          header.set(core.u8.subarray(core.staging, core.staging + header.length));
          writeFileAtomically(fs, path, header);
        } else if (st.isDirectory) {
          throw new WalError('BAD_HEADER', `${path} is a directory`, { path });
        }
        h = fs.open(path, { write: true });
      } catch (e) {
        throw ioError('open', path, e);
      }
      const salt = readWalHeader(core, h, path);
      const size = sizeOf(h, path);
      const scanner = scanWalFile(core, h, path, salt, size, options.codec);
      const report: OpenReport = { truncatedBytes: 0, truncatedReason: undefined };
      let end = scanner.pos;
      if (scanner.failure !== undefined) {
        const { torn } = scanner.classify();
        if (!torn || repair === 'strict') throw scanner.error(torn);
        report.truncatedBytes = size - scanner.failure.offset;
        report.truncatedReason = scanner.failure.reason;
        end = scanner.failure.offset;
        try { h.truncate(end); } catch (e) { throw ioError('truncate', path, e); }
      }
      // Everything kept is made durable now, so new frames may cite it as their watermark.
      try { h.sync(); } catch (e) { throw ioError('fsync', path, e); }
      // A trailing sync marker is overwritten by the next write.
      if (scanner.lastStart >= 0 && scanner.lastType === core.c.TYPE_SYNC_MARK && scanner.lastStart + core.c.FRAME_HEADER_SIZE === end) end = scanner.lastStart;
      const writer = new WalFsWriter<T, number | bigint>(path, fs, core, h, lock, salt, { ...options, bufferSize }, report, end, scanner.seqLo, scanner.seqHi);
      fromHalves(scanner.seqLo, scanner.seqHi, writer.#mode, path); // refuse a number-mode open of a bigint log
      if (end > core.c.FILE_HEADER_SIZE && end === scanner.pos) writer.writeMarker();
      return writer;
    } catch (e) {
      try { h?.close(); } catch { /* reporting the first error */ }
      lock.release();
      throw e;
    }
  }

  /** Highest sequence appended so far (0 for an empty WAL); includes events not yet flushed. */
  get currentSequence(): S {
    return fromHalves(this.#lo, this.#hi, this.#mode, this.path) as S;
  }

  /** Highest sequence a completed flush() made durable (0 if none). */
  get durableSequence(): S {
    return fromHalves(this.#durableLo, this.#durableHi, this.#mode, this.path) as S;
  }

  /** Bytes in the file plus bytes buffered. */
  get size(): number {
    return this.#end + this.#buffered;
  }

  /** Whether the writer is open, closed, or poisoned by an earlier failure. */
  get state(): State {
    return this.#state;
  }

  /** Group-commit statistics: syncs run and flushAsync() calls they served. */
  get groupCommitStats(): { syncs: number; requests: number } {
    return this.#group.stats;
  }

  private live(): void {
    if (this.#state === 'open') return;
    if (this.#state === 'closed') throw new WalError('CLOSED', `${this.path}: writer is closed`, { path: this.path });
    throw new WalError('POISONED', `${this.path}: writer is poisoned by an earlier failure; reopen it`, { path: this.path, cause: this.#poison });
  }

  /**
   * Append one event. Its sequence must be greater than currentSequence.
   * The event is buffered, not durable: call flush() or await flushAsync().
   * If this throws, the event was not appended.
   */
  append(event: WalEvent<T, S>): void {
    if (this.#state !== 'open') this.live();
    if (event === null || typeof event !== 'object') throw new TypeError('append: event must be { sequence, payload }');
    const seq: number | bigint = event.sequence;
    let lo: number;
    let hi: number;
    if (typeof seq === 'number' && this.#mode === 'number') {
      if (!Number.isSafeInteger(seq) || seq < 0) throw new RangeError(`append: sequence must be a non-negative safe integer, got ${seq}`);
      lo = seq % TWO_32;
      hi = (seq - lo) / TWO_32;
    } else {
      if (this.#mode === 'number') throw new TypeError("append: sequence must be a number (open with { sequences: 'bigint' } for bigints)");
      [lo, hi] = u64Halves(seq, 'append: sequence');
    }
    if (hi < this.#hi || (hi === this.#hi && lo <= this.#lo)) {
      throw new RangeError(`append: sequence ${String(seq)} is not greater than the current sequence ${String(this.currentSequence)}`);
    }
    const payload = this.#codec === undefined ? event.payload : this.#codec.encode(event.payload);
    if (!(payload instanceof Uint8Array)) throw new TypeError(this.#codec === undefined ? 'append: payload must be a Uint8Array (or pass a codec)' : 'append: codec.encode must return a Uint8Array');
    const core = this.#core;
    const c = core.c;
    const len = payload.length;
    if (len > c.MAX_FRAME_PAYLOAD) throw new RangeError(`append: payload of ${len} bytes exceeds the ${c.MAX_FRAME_PAYLOAD}-byte limit`);
    const size = c.FRAME_HEADER_SIZE + len;
    if (this.#buffered > 0 && this.#buffered + size > this.#bufferSize) this.writeBuffered();
    if (this.#pending === c.DESC_CAPACITY) this.encodePending();
    core.ensure(this.#buffered + size);
    // Copy the payload after the header's place and describe the frame; the
    // core frames the pending records in one call (encodePending).
    core.u8.set(payload, core.staging + this.#buffered + c.FRAME_HEADER_SIZE);
    const d = (core.desc + this.#pending * c.DESC_SIZE) >>> 2;
    const u32 = core.u32;
    u32[d + (c.D_LEN >>> 2)] = len;
    u32[d + (c.D_SEQ_LO >>> 2)] = lo;
    u32[d + (c.D_SEQ_HI >>> 2)] = hi;
    u32[d + (c.D_TYPE >>> 2)] = c.TYPE_EVENT;
    this.#pending++;
    this.#buffered += size;
    this.#lo = lo;
    this.#hi = hi;
    if (this.#bufferSize === 0) this.writeBuffered();
  }

  /**
   * Append several events in order, as if by append() on each; stops at the
   * first invalid event and throws (the events before it stay appended).
   * Returns how many were appended.
   */
  appendBatch(events: Iterable<WalEvent<T, S>>): number {
    let n = 0;
    for (const e of events) {
      this.append(e);
      n++;
    }
    return n;
  }

  /** Frame the pending records in place. Their watermark is the durable end now, which precedes their offset. */
  private encodePending(): void {
    if (this.#pending === 0) return;
    const core = this.#core;
    core.x.encodeBatch(core.staging + this.#encoded, this.#pending, this.#salt, this.#durableEnd);
    this.#encoded = this.#buffered;
    this.#pending = 0;
  }

  /** Write buffered frames to the file (not durable). On failure roll back; see the class comment. */
  private writeBuffered(): void {
    if (this.#buffered === 0) return;
    this.encodePending();
    const core = this.#core;
    const at = this.#end;
    try {
      this.#h.write(core.u8.subarray(core.staging, core.staging + this.#buffered), at);
    } catch (e) {
      this.rollback(at, e);
    }
    this.#end += this.#buffered;
    this.#buffered = 0;
    this.#encoded = 0;
    this.#markerUnsynced = false;
    this.#writtenLo = this.#lo;
    this.#writtenHi = this.#hi;
  }

  private rollback(at: number, cause: unknown): never {
    try {
      this.#h.truncate(at);
      this.#h.sync();
    } catch (e2) {
      this.poison(e2);
      throw new WalError('POISONED', `${this.path}: write failed and rolling back to offset ${at} failed too; the writer is poisoned`, { path: this.path, offset: at, cause: e2 });
    }
    this.#markerUnsynced = false;
    throw new WalError('IO_ERROR', `${this.path}: write at offset ${at} failed and was rolled back; buffered events are kept for the next flush`, { path: this.path, offset: at, cause });
  }

  private poison(cause: unknown): void {
    this.#state = 'poisoned';
    this.#poison = cause;
  }

  /**
   * Make every appended event durable: write the buffer, fdatasync, then
   * write a sync marker after the synced data (docs/FORMAT.md §5). Returns
   * when the data is on stable storage. A failed fsync poisons the writer.
   */
  flush(): void {
    this.live();
    this.writeBuffered();
    if (this.#durableEnd === this.#end) return;
    try {
      this.#h.sync();
    } catch (e) {
      this.poison(e);
      throw new WalError('POISONED', `${this.path}: fsync failed; durability of recent writes is unknown and the writer is poisoned`, { path: this.path, cause: e });
    }
    this.#durableEnd = this.#end;
    this.#durableLo = this.#writtenLo;
    this.#durableHi = this.#writtenHi;
    this.writeMarker();
  }

  /**
   * Group commit: resolves once every event appended before this call is
   * durable. Concurrent callers share one fsync. Rejects with the flush's
   * WalError if it fails.
   */
  flushAsync(): Promise<void> {
    try {
      this.live();
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#group.request();
  }

  /** A sync marker witnesses that everything before it was durable (best effort: it is advisory). */
  private writeMarker(): void {
    const core = this.#core;
    const c = core.c;
    const at = core.staging + this.#buffered;
    core.ensure(this.#buffered + c.FRAME_HEADER_SIZE);
    core.x.encodeFrame(at, 0, c.TYPE_SYNC_MARK, this.#salt, 0, 0, this.#durableEnd);
    try {
      this.#h.write(core.u8.subarray(at, at + c.FRAME_HEADER_SIZE), this.#end);
      this.#markerUnsynced = true;
    } catch {
      // A missing or torn marker only costs the witness; the next write overwrites it.
      this.#markerUnsynced = false;
    }
  }

  /**
   * Flush, make the sync marker durable, and release the file and the lock.
   * Idempotent. On a poisoned writer it only releases. If the final flush
   * fails the resources are still released and the error is thrown.
   */
  close(): void {
    if (this.#state === 'closed') return;
    if (this.#state === 'open') this.#group.flushPending();
    try {
      if (this.#state === 'open') {
        this.flush();
        if (this.#markerUnsynced) {
          try { this.#h.sync(); } catch (e) { this.poison(e); throw new WalError('POISONED', `${this.path}: fsync failed on close`, { path: this.path, cause: e }); }
        }
      }
    } finally {
      this.#state = 'closed';
      try { this.#h.close(); } catch { /* nothing more to lose */ }
      this.#lock.release();
    }
  }

  [disposeSymbol](): void {
    this.close();
  }
}

function sizeOf(h: FileHandle, path: string): number {
  try { return h.size(); } catch (e) { throw ioError('stat', path, e); }
}
