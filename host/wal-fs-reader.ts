/**
 * WalFsReader: replays the events of a WAL file written by WalFsWriter, in
 * order, validating every frame (CRC, sequence order, watermark order).
 *
 * It takes no lock, so it may read a file a writer is appending to: it sees
 * a prefix of the events that had reached the OS when each chunk was read.
 * At the end of the valid frames it classifies what follows like open does:
 * corruption of durable data throws CORRUPTED; a torn tail ends the replay
 * quietly, or throws TORN_TAIL with { strict: true }.
 *
 * Payload ownership: by default every payload is the caller's to keep: a
 * view into a private copy of the batch of frames it was read with (up to
 * a few hundred KiB), which the reader never touches again. Keeping one
 * payload keeps that copy alive; `payload.slice()` detaches a payload you
 * keep for long. With { copy: false } a payload is a view into the reader's
 * own buffer, valid only until the next batch is read (for forEach: until
 * the callback returns for the last event of its batch; treat it as valid
 * only during the callback).
 */
import { Core } from './core.js';
import { ioError } from './errors.js';
import { FrameScanner } from './frame-scanner.js';
import type { FileHandle, FileSystem } from './fs/types.js';
import { defaultFileSystem } from './fs/runtime.js';
import { checkOptions, disposeSymbol } from './options.js';
import { type SequenceMode, TWO_32, fromHalves } from './sequence.js';
import { type Codec, readWalHeader, walScanFlags } from './wal-file.js';
import type { SequenceOf, WalEvent } from './wal-fs-writer.js';

export interface WalFsReaderOptions<T = Uint8Array> {
  fs?: FileSystem;
  codec?: Codec<T>;
  sequences?: SequenceMode;
  /** Hand out copies (default true) or views valid until the next event (false). */
  copy?: boolean;
  /** Throw TORN_TAIL at a torn tail instead of ending quietly. Default false. */
  strict?: boolean;
}

/** What forEach() passes for each event: the sequence, the payload, and the frame's file offset. */
export type EventCallback<T, S extends number | bigint = number> = (sequence: S, payload: T, offset: number) => void;

const OPTION_KEYS = ['fs', 'codec', 'sequences', 'copy', 'strict'] as const;

/** One batch of decoded events; the arrays are reused from batch to batch. */
class Batch<T> {
  length = 0;
  readonly seqs: Array<number | bigint> = [];
  readonly payloads: T[] = [];
  readonly offsets: number[] = [];
}

export class WalFsReader<T = Uint8Array, S extends number | bigint = number> {
  readonly path: string;
  readonly #core = new Core();
  readonly #h: FileHandle;
  readonly #salt: number;
  readonly #codec: Codec<T> | undefined;
  readonly #mode: SequenceMode;
  readonly #copy: boolean;
  readonly #strict: boolean;
  #closed = false;

  private constructor(path: string, h: FileHandle, opts: WalFsReaderOptions<T>) {
    this.path = path;
    this.#h = h;
    this.#codec = opts.codec;
    this.#mode = opts.sequences ?? 'number';
    this.#copy = opts.copy ?? true;
    this.#strict = opts.strict ?? false;
    try {
      this.#salt = readWalHeader(this.#core, h, path);
    } catch (e) {
      h.close();
      throw e;
    }
  }

  static open<T = Uint8Array, O extends WalFsReaderOptions<T> = WalFsReaderOptions<T>>(path: string, options?: O): WalFsReader<T, SequenceOf<O>>;
  static open<T = Uint8Array>(path: string, options: WalFsReaderOptions<T> = {}): WalFsReader<T, number | bigint> {
    if (typeof path !== 'string' || path.length === 0) throw new TypeError('WalFsReader.open: path must be a non-empty string');
    checkOptions('WalFsReader.open', options, OPTION_KEYS);
    if (options.sequences !== undefined && options.sequences !== 'number' && options.sequences !== 'bigint') throw new RangeError("WalFsReader.open: sequences must be 'number' or 'bigint'");
    const fs = options.fs ?? defaultFileSystem();
    let h: FileHandle;
    try {
      h = fs.open(path);
    } catch (e) {
      throw ioError('open', path, e);
    }
    return new WalFsReader<T, number | bigint>(path, h, options);
  }

  /**
   * Call `fn` for every event in order; returns how many. The fastest way to
   * replay: no iterator objects, and with { copy: false } no copies at all.
   */
  forEach(fn: EventCallback<T, S>): number {
    const batch = new Batch<T>();
    const scanner = this.scanner();
    let events = 0;
    while (this.fill(scanner, batch)) {
      const { seqs, payloads, offsets } = batch;
      for (let i = 0; i < batch.length; i++) fn(seqs[i] as S, payloads[i]!, offsets[i]!);
      events += batch.length;
    }
    return events;
  }

  /** Lazily yield every event in order (see the class comment for payload ownership). */
  *events(): IterableIterator<WalEvent<T, S> & { offset: number }> {
    const batch = new Batch<T>();
    const scanner = this.scanner();
    while (!this.#closed && this.fill(scanner, batch)) {
      const { seqs, payloads, offsets } = batch;
      for (let i = 0; i < batch.length; i++) yield { sequence: seqs[i] as S, payload: payloads[i]!, offset: offsets[i]! };
    }
  }

  private scanner(): FrameScanner {
    if (this.#closed) throw new TypeError('WalFsReader: closed');
    const c = this.#core.c;
    let size: number;
    try { size = this.#h.size(); } catch (e) { throw ioError('stat', this.path, e); }
    return new FrameScanner(this.#core, this.#h, this.path, this.#salt, c.FILE_HEADER_SIZE, size, walScanFlags(this.#core, true));
  }

  /**
   * Decode the scanner's next batch of frames into `batch`. Returns false at
   * the end; there, a corruption (or, when strict, a torn tail) throws.
   * Copies are made once per batch: one slice of the batch's bytes, with
   * each payload a view into it (a fresh small ArrayBuffer per payload costs
   * ~300 ns in V8, ten times the rest of the work).
   */
  private fill(scanner: FrameScanner, batch: Batch<T>): boolean {
    const core = this.#core;
    const c = core.c;
    batch.length = 0;
    for (;;) {
      let n: number;
      try { n = scanner.next(); } catch (e) { throw ioError('read', this.path, e); }
      if (n === 0) break;
      const u32 = core.u32;
      const d0 = core.desc >>> 2;
      const step = c.DESC_SIZE >>> 2;
      const first = u32[d0 + (c.D_OFFSET >>> 2)]!;
      const lastD = d0 + (n - 1) * step;
      const batchEnd = u32[lastD + (c.D_OFFSET >>> 2)]! + c.FRAME_HEADER_SIZE + u32[lastD + (c.D_LEN >>> 2)]!;
      // With copies, payloads are views into one private copy of the batch; without, views into core memory.
      const owner = this.#copy ? core.u8.slice(scanner.batchBase + first, scanner.batchBase + batchEnd) : core.u8;
      const shift = this.#copy ? first : -scanner.batchBase;
      const numbers = this.#mode === 'number';
      for (let i = 0, d = d0; i < n; i++, d += step) {
        if ((u32[d + (c.D_TYPE >>> 2)]! & 0xff) !== c.TYPE_EVENT) continue;
        const rel = u32[d + (c.D_OFFSET >>> 2)]!;
        const len = u32[d + (c.D_LEN >>> 2)]!;
        const lo = u32[d + (c.D_SEQ_LO >>> 2)]!;
        const hi = u32[d + (c.D_SEQ_HI >>> 2)]!;
        const bytes = new Uint8Array(owner.buffer, owner.byteOffset + rel - shift + c.FRAME_HEADER_SIZE, len);
        let payload: T;
        if (this.#codec === undefined) payload = bytes as unknown as T;
        else {
          try {
            payload = this.#codec.decode(bytes);
          } catch {
            scanner.fail(scanner.batchOffset + rel, 'decode-failure');
            throw scanner.error(false);
          }
        }
        const k = batch.length++;
        batch.seqs[k] = numbers && hi < 0x200000 ? hi * TWO_32 + lo : fromHalves(lo, hi, this.#mode, this.path);
        batch.payloads[k] = payload;
        batch.offsets[k] = scanner.batchOffset + rel;
      }
      if (batch.length > 0) return true;
    }
    if (scanner.failure !== undefined) {
      const { torn } = scanner.classify();
      if (!torn || this.#strict) throw scanner.error(torn);
    }
    return false;
  }

  [Symbol.iterator](): IterableIterator<WalEvent<T, S> & { offset: number }> {
    return this.events();
  }

  /** Release the file handle. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try { this.#h.close(); } catch { /* nothing to lose: read-only */ }
  }

  [disposeSymbol](): void {
    this.close();
  }
}
