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
 * Payload ownership: by default every payload is the caller's to keep:
 * its own copy, or (small payloads in Node and Deno, where a fresh buffer
 * per payload is slow) a view into a private copy of the batch of frames it
 * was read with (a few hundred KiB at most), which the reader never touches
 * again. Keeping such a payload keeps that copy alive; `payload.slice()`
 * detaches a payload you keep for long. With { copy: false } a payload is a view into the reader's
 * own buffer, valid only until the next batch is read (for forEach: until
 * the callback returns for the last event of its batch; treat it as valid
 * only during the callback).
 */
import { Core } from '../../core/core.js';
import { FrameScanner } from '../../codec/frame-scanner.js';
import { slicePerPayload } from '../../codec/payload-copy.js';
import type { FileHandle } from '../../fs/types.js';
import { logFileSystem } from '../../fs/default.js';
import { boolOption, checkOptions, disposeSymbol, pathArg, u64Option } from '../../lifecycle/options.js';
import { type SequenceMode, TWO_32, fromHalves } from '../../core/u64.js';
import { openWalHandle, readWalHeader, walScanFlags } from './wal-file.js';
import type { Codec, EventCallback, SequenceOf, WalFsEvent as WalEvent, WalFsReaderOptions } from './types.js';

export type { EventCallback, WalFsReaderOptions } from './types.js';

const OPTION_KEYS = ['fs', 'codec', 'u64', 'sequences', 'copy', 'strict'] as const;


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

  private constructor(path: string, h: FileHandle, opts: WalFsReaderOptions<T>, mode: SequenceMode) {
    this.path = path;
    this.#h = h;
    this.#codec = opts.codec;
    this.#mode = mode;
    this.#copy = boolOption('WalFsReader.open', 'copy', opts.copy, true);
    this.#strict = boolOption('WalFsReader.open', 'strict', opts.strict, false);
    try {
      this.#salt = readWalHeader(this.#core, h, path);
    } catch (e) {
      h.close();
      throw e;
    }
  }

  /** Open the WAL file at `path` for reading (no lock; see the class comment). */
  static open<T = Uint8Array, O extends WalFsReaderOptions<T> = WalFsReaderOptions<T>>(path: string, options?: O): WalFsReader<T, SequenceOf<O>>;
  static open<T = Uint8Array>(path: string, options: WalFsReaderOptions<T> = {}): WalFsReader<T, number | bigint> {
    const where = 'WalFsReader.open';
    pathArg(where, path);
    checkOptions(where, options, OPTION_KEYS);
    const mode = u64Option(where, options, { name: 'sequences', value: options.sequences });
    boolOption(where, 'copy', options.copy, true);
    boolOption(where, 'strict', options.strict, false);
    const fs = logFileSystem(options.fs);
    return new WalFsReader<T, number | bigint>(path, openWalHandle(fs, path, {}), options, mode);
  }

  /**
   * Call `fn` for every event in order; returns how many. The fastest way to
   * replay: no iterator objects, and with { copy: false } no copies at all.
   */
  forEach(fn: EventCallback<T, S>): number {
    const scanner = this.scanner();
    let events = 0;
    for (let n; (n = this.fill(scanner, fn as EventCallback<T, number | bigint>)) > 0;) events += n;
    return events;
  }

  /** Lazily yield every event in order (see the class comment for payload ownership). */
  *records(): IterableIterator<WalEvent<T, S> & { offset: number }> {
    const scanner = this.scanner();
    const batch: Array<WalEvent<T, S> & { offset: number }> = [];
    const push = (sequence: number | bigint, payload: T, offset: number): void => { batch.push({ sequence: sequence as S, payload, offset }); };
    while (!this.#closed && this.fill(scanner, push) > 0) {
      yield* batch;
      batch.length = 0;
    }
  }

  private scanner(): FrameScanner {
    if (this.#closed) throw new TypeError('WalFsReader: closed');
    const c = this.#core.c;
    return new FrameScanner(this.#core, this.#h, this.path, this.#salt, c.FILE_HEADER_SIZE, this.#h.size(), walScanFlags(this.#core, true));
  }

  /**
   * Hand the events of the scanner's next batch of frames to `emit`; returns
   * how many (0 at the end, where a corruption, or a torn tail when strict,
   * throws). Copies are made once per batch: one slice of the batch's bytes,
   * with each payload a view into it (a fresh small ArrayBuffer per payload
   * costs ~300 ns in V8, several times the rest of the work).
   */
  private fill(scanner: FrameScanner, emit: EventCallback<T, number | bigint>): number {
    const core = this.#core;
    const c = core.c;
    // Locals, not property reads: the loop calls user code, which V8 cannot see through.
    const HDR = c.FRAME_HEADER_SIZE;
    const OFF = c.D_OFFSET >>> 2;
    const LEN = c.D_LEN >>> 2;
    const LO = c.D_SEQ_LO >>> 2;
    const HI = c.D_SEQ_HI >>> 2;
    const TYPE = c.D_TYPE >>> 2;
    const EVENT = c.TYPE_EVENT;
    const step = c.DESC_SIZE >>> 2;
    const codec = this.#codec;
    const numbers = this.#mode === 'number';
    for (;;) {
      let n: number;
      n = scanner.next();
      if (n === 0) break;
      const u32 = core.u32;
      const d0 = core.desc >>> 2;
      const lastD = d0 + (n - 1) * step;
      const first = u32[d0 + OFF]!;
      const batchEnd = u32[lastD + OFF]! + HDR + u32[lastD + LEN]!;
      // Copies: one slice per payload, or views into one private copy of the batch (payload-copy.ts).
      // No copies: views into core memory.
      const sliceEach = this.#copy && slicePerPayload(batchEnd - first, n);
      const owner = this.#copy && !sliceEach ? core.u8.slice(scanner.batchBase + first, scanner.batchBase + batchEnd) : core.u8;
      const buffer = owner.buffer;
      const shift = this.#copy && !sliceEach ? HDR - first : scanner.batchBase + HDR;
      const fileBase = scanner.batchOffset;
      let emitted = 0;
      for (let d = d0; d <= lastD; d += step) {
        if ((u32[d + TYPE]! & 0xff) !== EVENT) continue;
        const rel = u32[d + OFF]!;
        const hi = u32[d + HI]!;
        const seq = numbers && hi < 0x200000 ? hi * TWO_32 + u32[d + LO]! : fromHalves(u32[d + LO]!, hi, this.#mode, this.path);
        const bytes = sliceEach ? owner.slice(rel + shift, rel + shift + u32[d + LEN]!) : new Uint8Array(buffer, rel + shift, u32[d + LEN]!);
        let payload: T;
        if (codec === undefined) payload = bytes as unknown as T;
        else {
          try {
            payload = codec.decode(bytes);
          } catch {
            scanner.fail(fileBase + rel, 'decode-failure');
            throw scanner.error(false);
          }
        }
        emitted++;
        emit(seq, payload, fileBase + rel);
      }
      if (emitted > 0) return emitted;
    }
    if (scanner.failure !== undefined) {
      const { torn } = scanner.classify();
      if (!torn || this.#strict) throw scanner.error(torn);
    }
    return 0;
  }

  /** Deprecated alias of records(). */
  events(): IterableIterator<WalEvent<T, S> & { offset: number }> {
    return this.records();
  }

  [Symbol.iterator](): IterableIterator<WalEvent<T, S> & { offset: number }> {
    return this.records();
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
