/**
 * WalFsWriter: a single-file write-ahead log of (sequence, payload) events.
 *
 * Lifecycle (host/lifecycle/lifecycle.ts, shared by every log): open() takes
 * the writer lock, creates the file (crash-safely) or validates every
 * existing frame and applies the repair policy, then makes what it kept
 * durable. append() frames an event into an in-memory buffer (nothing
 * reaches the OS until the buffer fills or flush()); flush() writes the
 * buffer and fsyncs, and is the only acknowledgement of durability; close()
 * flushes, makes the sync marker durable and releases everything.
 *
 * Failure contract (host/codec/frame-file.ts): a failed write is rolled back
 * by truncating the file to the offset before the write and syncing that;
 * the buffered events are kept and retried by the next flush() (with
 * bufferSize 0 the failed append is undone instead: it appended nothing). If
 * the rollback or any fsync fails, the writer is poisoned: every later call
 * throws POISONED, because the file's state is unknown; reopen to recover.
 */
import { FrameFile, preallocationEnd, recoverTail } from '../../codec/frame-file.js';
import { WalError } from '../../errors.js';
import { Core } from '../../core/core.js';
import { type SequenceMode, TWO_32, fromHalves, u64Halves } from '../../core/u64.js';
import { logFileSystem } from '../../fs/default.js';
import type { FileLock } from '../../fs/types.js';
import { removeTempFilesOf, writeFileAtomically } from '../../lifecycle/atomic-file.js';
import { Lifecycle, type LogState, openLocked } from '../../lifecycle/lifecycle.js';
import { boolOption, checkOptions, disposeSymbol, enumOption, intOption, pathArg, u64Option } from '../../lifecycle/options.js';
import { randomU32 } from '../../platform/random.js';
import type { Codec, SequenceOf, WalFsEvent, WalFsOpenReport, WalFsWriterOptions } from './types.js';
import { openWalHandle, readWalHeader, scanWalFile } from './wal-file.js';

export type { Codec, OpenReport, RepairPolicy, SequenceOf, WalEvent, WalFsEvent, WalFsOpenReport, WalFsWriterOptions } from './types.js';

const OPTION_KEYS = ['repair', 'fs', 'codec', 'u64', 'sequences', 'bufferSize', 'preallocate'] as const;

/**
 * The core constants append() reads, in one small object (descriptor fields
 * as u32 word offsets): constants of the core build, the same for every
 * Core, read once. Reading them
 * from CoreConstants (a hundred-odd fields) showed in append's profile.
 */
interface Layout { header: number; maxPayload: number; descCapacity: number; descWords: number;
  wLen: number; wSeqLo: number; wSeqHi: number; wType: number; typeEvent: number }
let LAYOUT: Layout | undefined;
function layoutOf(core: Core): Layout {
  const c = core.c;
  return { header: c.FRAME_HEADER_SIZE, maxPayload: c.MAX_FRAME_PAYLOAD, descCapacity: c.DESC_CAPACITY,
    descWords: c.DESC_SIZE >>> 2, wLen: c.D_LEN >>> 2, wSeqLo: c.D_SEQ_LO >>> 2, wSeqHi: c.D_SEQ_HI >>> 2, wType: c.D_TYPE >>> 2, typeEvent: c.TYPE_EVENT };
}

export class WalFsWriter<T = Uint8Array, S extends number | bigint = number> {
  readonly path: string;
  /** What open() found and repaired. */
  readonly openReport: WalFsOpenReport;
  readonly #core: Core;
  readonly #file: FrameFile;
  readonly #lock: FileLock;
  readonly #life: Lifecycle;
  readonly #codec: Codec<T> | undefined;
  readonly #mode: SequenceMode;
  readonly #bufferSize: number;
  readonly #preallocate: boolean;
  /** Bytes of framed events buffered in core staging memory. */
  #buffered = 0;
  /** Leading bytes of the buffer already framed; the rest await encodePending(). */
  #encoded = 0;
  /** Frames in the buffer not yet framed: their descriptors are 0..#pending-1. */
  #pending = 0;
  /** Highest sequence appended (halves), written to the file, and made durable. */
  #lo = 0;
  #hi = 0;
  #durableLo = 0;
  #durableHi = 0;
  #writtenLo = 0;
  #writtenHi = 0;

  private constructor(path: string, core: Core, file: FrameFile, lock: FileLock, life: Lifecycle, codec: Codec<T> | undefined,
    mode: SequenceMode, bufferSize: number, preallocate: boolean, report: WalFsOpenReport, lo: number, hi: number) {
    this.path = path;
    this.#core = core;
    this.#file = file;
    this.#lock = lock;
    this.#life = life;
    this.#codec = codec;
    this.#mode = mode;
    this.#bufferSize = bufferSize;
    this.#preallocate = preallocate;
    this.openReport = report;
    this.#lo = this.#writtenLo = this.#durableLo = lo;
    this.#hi = this.#writtenHi = this.#durableHi = hi;
  }

  /** Open (creating if missing) the WAL at `path`. See the class comment and docs/wal-fs-writer.md. */
  static open<T = Uint8Array, O extends WalFsWriterOptions<T> = WalFsWriterOptions<T>>(path: string, options?: O): WalFsWriter<T, SequenceOf<O>>;
  static open<T = Uint8Array>(path: string, options: WalFsWriterOptions<T> = {}): WalFsWriter<T, number | bigint> {
    const where = 'WalFsWriter.open';
    pathArg(where, path);
    checkOptions(where, options, OPTION_KEYS);
    const repair = enumOption(where, 'repair', options.repair, ['strict', 'truncate-partial'] as const, 'truncate-partial');
    const mode = u64Option(where, options, { name: 'sequences', value: options.sequences });
    const bufferSize = intOption(where, 'bufferSize', options.bufferSize, 1 << 20, 0, 1 << 30);
    const preallocate = boolOption(where, 'preallocate', options.preallocate, false);
    const codec = options.codec;
    if (codec !== undefined && (codec === null || typeof codec.encode !== 'function' || typeof codec.decode !== 'function')) throw new TypeError(`${where}: codec needs encode() and decode()`);
    const fs = logFileSystem(options.fs);
    const core = new Core();
    return openLocked(fs, path, (lock, acquired) => {
      let created = false;
      removeTempFilesOf(fs, path);
      const st = fs.stat(path);
      if (st === undefined || (st.size === 0 && !st.isDirectory)) {
        // A missing file, or an empty one (what a crash before the first fsync of
        // a non-atomic create could leave; ours never does): create it crash-safely.
        core.x.encodeFileHeader(core.staging, core.c.KIND_WAL_FILE, randomU32(), 0, 0, 0);
        writeFileAtomically(fs, path, core.u8.slice(core.staging, core.staging + core.c.FILE_HEADER_SIZE));
        created = true;
      }
      const h = acquired.add(openWalHandle(fs, path, { write: true }), (x) => x.close());
      const salt = readWalHeader(core, h, path);
      const size = h.size();
      const scanner = scanWalFile(core, h, path, salt, size, codec);
      const tail = recoverTail(core, h, path, scanner, size, repair);
      fromHalves(scanner.seqLo, scanner.seqHi, mode, path); // refuse a number-mode open of a bigint log
      const life: Lifecycle = new Lifecycle('writer', path, () => writer.flush(), () => writer.flushOffThread());
      const file = new FrameFile(core, h, path, salt, tail.end, tail.fileSize, life);
      // The first chunk of zeros now, so open's fsync covers it rather than the first durable append's.
      if (preallocate) file.preallocate(preallocationEnd(tail.end + 1));
      file.settle(tail.endsWithFrame && !created, 0, tail.knownDurable);
      const report: WalFsOpenReport = { truncatedBytes: tail.truncatedBytes, truncatedReason: tail.truncatedReason };
      const writer = new WalFsWriter<T, number | bigint>(path, core, file, lock, life, codec, mode, bufferSize, preallocate, report, scanner.seqLo, scanner.seqHi);
      return writer;
    });
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
    return this.#file.end + this.#buffered;
  }

  /** Whether the writer is open, closed, or poisoned by an earlier failure. */
  get state(): LogState {
    return this.#life.state;
  }

  /** Group-commit statistics: syncs run and syncAsync() calls they served. */
  get groupCommitStats(): { syncs: number; requests: number } {
    return this.#life.groupCommitStats;
  }

  /**
   * Append one event. Its sequence must be greater than currentSequence and
   * of the mode's type (number, or bigint with { u64: 'bigint' }). The event
   * is buffered, not durable: call flush() or await syncAsync(). If this
   * throws, the event was not appended.
   */
  append(event: WalFsEvent<T, S>): void {
    if (this.#life.state !== 'open') this.#life.live();
    if (event === null || typeof event !== 'object') throw new TypeError('append: event must be { sequence, payload }');
    const seq: unknown = event.sequence;
    let lo: number;
    let hi: number;
    // Fast path: a number below 2^32 is its own low half. (The general split
    // below costs a floating-point modulo and a division: profiling 1M
    // appends put ~40% of append's own time on those two lines.)
    if (typeof seq === 'number' && (seq >>> 0) === seq && this.#mode === 'number') {
      lo = seq;
      hi = 0;
    } else if (this.#mode === 'number') {
      if (typeof seq !== 'number') throw new TypeError(`append: sequence must be a number${typeof seq === 'bigint' ? " (open with { u64: 'bigint' } for bigints)" : ''}`);
      if (!Number.isSafeInteger(seq) || seq < 0) throw new RangeError(`append: sequence must be a non-negative safe integer, got ${seq}`);
      lo = seq % TWO_32;
      hi = (seq - lo) / TWO_32;
    } else {
      if (typeof seq !== 'bigint') throw new TypeError(`append: sequence must be a bigint in { u64: 'bigint' } mode, got ${typeof seq}`);
      [lo, hi] = u64Halves(seq, 'append: sequence');
    }
    if (hi < this.#hi || (hi === this.#hi && lo <= this.#lo)) {
      throw new RangeError(`append: sequence ${String(seq)} is not greater than the current sequence ${String(this.currentSequence)}`);
    }
    const payload = this.#codec === undefined ? event.payload : this.#codec.encode(event.payload);
    if (!(payload instanceof Uint8Array)) throw new TypeError(this.#codec === undefined ? 'append: payload must be a Uint8Array (or pass a codec)' : 'append: codec.encode must return a Uint8Array');
    const core = this.#core;
    const k = LAYOUT ??= layoutOf(core);
    const len = payload.length;
    if (len > k.maxPayload) throw new RangeError(`append: payload of ${len} bytes exceeds the ${k.maxPayload}-byte limit`);
    const size = k.header + len;
    if (this.#buffered > 0 && this.#buffered + size > this.#bufferSize) this.writeBuffered();
    if (this.#pending === k.descCapacity) this.encodePending();
    core.ensure(this.#buffered + size);
    // Copy the payload after the header's place and describe the frame; the
    // core frames the pending records in one call (encodePending).
    core.u8.set(payload, core.staging + this.#buffered + k.header);
    const d = (core.desc >>> 2) + this.#pending * k.descWords;
    const u32 = core.u32;
    u32[d + k.wLen] = len;
    u32[d + k.wSeqLo] = lo;
    u32[d + k.wSeqHi] = hi;
    u32[d + k.wType] = k.typeEvent;
    this.#pending++;
    this.#buffered += size;
    const prevLo = this.#lo;
    const prevHi = this.#hi;
    this.#lo = lo;
    this.#hi = hi;
    if (this.#bufferSize === 0) {
      try {
        this.writeBuffered();
      } catch (e) {
        // Write-through: the failed write was rolled back, so undo the append too.
        if (this.#life.state === 'open') {
          this.#buffered = 0;
          this.#encoded = 0;
          this.#pending = 0;
          this.#lo = prevLo;
          this.#hi = prevHi;
        }
        throw e;
      }
    }
  }

  /**
   * Append several events in order, as if by append() on each; stops at the
   * first invalid event and throws (the events before it stay appended).
   * Returns how many were appended.
   */
  appendBatch(events: Iterable<WalFsEvent<T, S>>): number {
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
    core.x.encodeBatch(core.staging + this.#encoded, this.#pending, this.#file.salt, this.#file.durableEnd);
    this.#encoded = this.#buffered;
    this.#pending = 0;
  }

  /** Write buffered frames to the file (not durable). On failure the buffer is kept (FrameFile.write). */
  private writeBuffered(): void {
    if (this.#buffered === 0) return;
    this.encodePending();
    const core = this.#core;
    const file = this.#file;
    if (this.#preallocate) this.extend(file.end + this.#buffered);
    file.write(core.u8.subarray(core.staging, core.staging + this.#buffered));
    this.#buffered = 0;
    this.#encoded = 0;
    this.#writtenLo = this.#lo;
    this.#writtenHi = this.#hi;
  }

  /**
   * With preallocate: zeros up to at least `upTo` (FrameFile.preallocateFor). A failure
   * is IO_ERROR and keeps the buffer, as a failed write does (nothing of the
   * frames was written; FrameFile cuts what the zeros left on close).
   */
  private extend(upTo: number): void {
    try {
      this.#file.preallocateFor(upTo);
    } catch (e) {
      throw new WalError('IO_ERROR', `${this.path}: writing zeros ahead of the frames (preallocate) failed; buffered records are kept for the next sync`, { path: this.path, offset: this.#file.end, cause: e });
    }
  }

  /**
   * Make every appended event durable: write the buffer, fdatasync, then
   * write a sync marker after the synced data (docs/FORMAT.md §5). Returns
   * when the data is on stable storage. A failed fsync poisons the writer.
   */
  flush(): void {
    this.#life.live();
    this.writeBuffered();
    if (!this.#file.sync()) return;
    this.#durableLo = this.#writtenLo;
    this.#durableHi = this.#writtenHi;
    this.#file.writeMarker(0);
  }

  /**
   * The group commit's sync: write the buffer (on the JS thread), then
   * fdatasync in the thread pool while appends keep buffering. Advances
   * durableSequence to what that fsync covered, then writes a sync marker
   * if nothing was written meanwhile (as flush() does).
   */
  private async flushOffThread(): Promise<void> {
    this.#life.live();
    this.writeBuffered();
    const lo = this.#writtenLo;
    const hi = this.#writtenHi;
    const end = this.#file.end;
    if (!(await this.#file.syncAsync())) return;
    if (hi > this.#durableHi || (hi === this.#durableHi && lo > this.#durableLo)) {
      this.#durableLo = lo;
      this.#durableHi = hi;
    }
    // The marker goes after the buffered frames in staging, and only while the file still ends where the sync did.
    if (this.#life.state === 'open' && this.#file.end === end && this.#file.durableEnd === end) this.#file.writeMarker(this.#buffered);
  }

  /**
   * Group commit: resolves once every event appended before this call is
   * durable. Concurrent callers share one fsync, which runs off the JS
   * thread (FileHandle.syncAsync; one in flight at a time, appends made
   * meanwhile join the next); durableSequence advances when it completes.
   * Rejects with the flush's WalError if it fails (a failed fsync poisons).
   */
  syncAsync(): Promise<void> {
    return this.#life.syncAsync();
  }

  /** Deprecated alias of syncAsync(). */
  flushAsync(): Promise<void> {
    return this.#life.syncAsync();
  }

  /**
   * Flush, make the sync marker durable, and release the file and the lock.
   * Idempotent. A pending syncAsync() resolves (one whose fsync is in
   * flight settles when that completes; the file and the lock are released
   * only then, close() having synced everything already). On a poisoned writer it only
   * releases. If the final flush fails the resources are still released and
   * the error is thrown.
   */
  close(): void {
    this.#life.close(() => {
      this.flush();
      this.#file.finish();
    }, () => {
      this.#file.close();
      this.#lock.release();
    });
  }

  [disposeSymbol](): void {
    this.close();
  }
}
