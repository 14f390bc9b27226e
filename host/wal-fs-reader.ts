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
 * Payload ownership: by default every payload is a fresh Uint8Array the
 * caller owns. With { copy: false } a payload is a view into the reader's
 * buffer, valid only until the next event is taken; use it to avoid a copy
 * when the payload is consumed at once.
 */
import { Core } from './core.js';
import { ioError } from './errors.js';
import { FrameScanner } from './frame-scanner.js';
import type { FileHandle, FileSystem } from './fs/types.js';
import { defaultFileSystem } from './fs/runtime.js';
import { checkOptions, disposeSymbol } from './options.js';
import { type SequenceMode, TWO_32, fromHalves } from './sequence.js';
import { type Codec, readWalHeader, walScanFlags } from './wal-file.js';
import type { WalEvent } from './wal-fs-writer.js';

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
export type EventCallback<T> = (sequence: number | bigint, payload: T, offset: number) => void;

const OPTION_KEYS = ['fs', 'codec', 'sequences', 'copy', 'strict'] as const;

export class WalFsReader<T = Uint8Array> {
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

  static open<T = Uint8Array>(path: string, options: WalFsReaderOptions<T> = {}): WalFsReader<T> {
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
    return new WalFsReader<T>(path, h, options);
  }

  /**
   * Call `fn` for every event in order; returns how many. The fastest way to
   * replay: no iterator objects, and with { copy: false } no payload copies.
   */
  forEach(fn: EventCallback<T>): number {
    if (this.#closed) throw new TypeError('WalFsReader: closed');
    const core = this.#core;
    const c = core.c;
    let size: number;
    try { size = this.#h.size(); } catch (e) { throw ioError('stat', this.path, e); }
    const scanner = new FrameScanner(core, this.#h, this.path, this.#salt, c.FILE_HEADER_SIZE, size, walScanFlags(core, true));
    const codec = this.#codec;
    const copy = this.#copy;
    const numbers = this.#mode === 'number';
    let events = 0;
    for (;;) {
      let n: number;
      try { n = scanner.next(); } catch (e) { throw ioError('read', this.path, e); }
      if (n === 0) break;
      const u8 = core.u8;
      const dv = core.dv;
      const base = scanner.batchBase;
      for (let i = 0, d = core.desc; i < n; i++, d += c.DESC_SIZE) {
        if ((dv.getUint32(d + c.D_TYPE, true) & 0xff) !== c.TYPE_EVENT) continue;
        const rel = dv.getUint32(d + c.D_OFFSET, true);
        const start = base + rel + c.FRAME_HEADER_SIZE;
        const end = start + dv.getUint32(d + c.D_LEN, true);
        const lo = dv.getUint32(d + c.D_SEQ_LO, true);
        const hi = dv.getUint32(d + c.D_SEQ_HI, true);
        const seq = numbers && hi < 0x200000 ? hi * TWO_32 + lo : fromHalves(lo, hi, this.#mode, this.path);
        const bytes = copy ? u8.slice(start, end) : u8.subarray(start, end);
        let payload: T;
        if (codec === undefined) payload = bytes as unknown as T;
        else {
          try {
            payload = codec.decode(bytes);
          } catch {
            scanner.fail(scanner.batchOffset + rel, 'decode-failure');
            throw scanner.error(false);
          }
        }
        events++;
        fn(seq, payload, scanner.batchOffset + rel);
      }
    }
    if (scanner.failure !== undefined) {
      const { torn } = scanner.classify();
      if (!torn || this.#strict) throw scanner.error(torn);
    }
    return events;
  }

  /** Lazily yield every event in order (see the class comment for payload ownership). */
  *events(): IterableIterator<WalEvent<T> & { offset: number }> {
    // Collect one core batch at a time so the iterator never holds more than a chunk of events.
    const batch: Array<WalEvent<T> & { offset: number }> = [];
    const core = this.#core;
    const c = core.c;
    let size: number;
    try { size = this.#h.size(); } catch (e) { throw ioError('stat', this.path, e); }
    const scanner = new FrameScanner(core, this.#h, this.path, this.#salt, c.FILE_HEADER_SIZE, size, walScanFlags(core, true));
    for (;;) {
      if (this.#closed) return;
      let n: number;
      try { n = scanner.next(); } catch (e) { throw ioError('read', this.path, e); }
      if (n === 0) break;
      const dv = core.dv;
      for (let i = 0, d = core.desc; i < n; i++, d += c.DESC_SIZE) {
        if ((dv.getUint32(d + c.D_TYPE, true) & 0xff) !== c.TYPE_EVENT) continue;
        const rel = dv.getUint32(d + c.D_OFFSET, true);
        const start = scanner.batchBase + rel + c.FRAME_HEADER_SIZE;
        const bytes = core.u8.slice(start, start + dv.getUint32(d + c.D_LEN, true));
        let payload: T;
        try {
          payload = this.#codec === undefined ? (bytes as unknown as T) : this.#codec.decode(bytes);
        } catch {
          scanner.fail(scanner.batchOffset + rel, 'decode-failure');
          break;
        }
        const sequence = fromHalves(dv.getUint32(d + c.D_SEQ_LO, true), dv.getUint32(d + c.D_SEQ_HI, true), this.#mode, this.path);
        batch.push({ sequence, payload, offset: scanner.batchOffset + rel });
      }
      yield* batch;
      batch.length = 0;
      if (scanner.failure?.reason === 'decode-failure') throw scanner.error(false);
    }
    if (scanner.failure !== undefined) {
      const { torn } = scanner.classify();
      if (!torn || this.#strict) throw scanner.error(torn);
    }
  }

  [Symbol.iterator](): IterableIterator<WalEvent<T> & { offset: number }> {
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
