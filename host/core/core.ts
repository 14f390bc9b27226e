/**
 * Loads the WebAssembly core embedded in the bundle and wraps its numeric ABI
 * (docs/FORMAT.md §6). Each log owns one Core instance, because the staging
 * and descriptor regions are per instance and a log keeps data staged there
 * between calls; the compiled module is shared. Stateless helpers (crc32c)
 * use one shared instance, which is safe because each call completes
 * before it returns.
 */
import wasmBytes from '../../build/walcore.wasm';
import { type FrameFailure, WalError } from '../errors.js';

/** The only core format version this host understands. */
export const HOST_FORMAT_VERSION = 1;

interface CoreExports {
  memory: WebAssembly.Memory;
  crc32cUpdate(crc: number, ptr: number, len: number): number;
  descPtr(): number;
  stagingPtr(): number;
  ensureStaging(bytes: number): number;
  stagingCapacity(): number;
  encodeFrame(ptr: number, len: number, typeFlags: number, salt: number, seqLo: number, seqHi: number, mark: number): number;
  encodeBatch(ptr: number, count: number, salt: number, mark: number): bigint;
  scanFrames(ptr: number, len: number, base: number, salt: number, maxLen: number, flags: number,
    prevLo: number, prevHi: number, prevMark: number, maxCount: number): number;
  findWitness(ptr: number, len: number, salt: number, maxLen: number): number;
  encodeFileHeader(ptr: number, kind: number, salt: number, p0: number, p1: number, p2: number): number;
  decodeFileHeader(ptr: number, len: number, kind: number): number;
  [global: string]: unknown;
}

let compiled: WebAssembly.Module | undefined;
function module(): WebAssembly.Module {
  return (compiled ??= new WebAssembly.Module(wasmBytes as BufferSource));
}

function readGlobal(x: CoreExports, name: string): number {
  const g = x[name];
  if (!(g instanceof WebAssembly.Global)) throw new WalError('CORE_MISMATCH', `walcore core does not export ${name}`);
  return Number(g.value);
}

/** Format constants, read from the core at load (the core is their one home). */
export interface CoreConstants {
  FORMAT_VERSION: number; FILE_HEADER_SIZE: number; FRAME_HEADER_SIZE: number; MAX_FRAME_PAYLOAD: number;
  KIND_WAL_FILE: number; KIND_SEGMENT: number; KIND_RING: number;
  TYPE_EVENT: number; TYPE_RECORD: number; TYPE_CONTROL_MIN: number; TYPE_SYNC_MARK: number;
  SCAN_EMIT: number; SCAN_SEQ_STRICT: number; SCAN_SEQ_NEXT: number; SCAN_MARK: number;
  DESC_SIZE: number; DESC_CAPACITY: number; D_OFFSET: number; D_LEN: number; D_SEQ_LO: number;
  D_SEQ_HI: number; D_TYPE: number; D_MARK: number; OK: number; MORE: number;
  F_LEN: number; F_SEQ: number; F_MARK: number; F_TYPE: number; F_SALT: number; FH_SALT: number;
}
const CONSTANT_NAMES = [
  'FORMAT_VERSION', 'FILE_HEADER_SIZE', 'FRAME_HEADER_SIZE', 'MAX_FRAME_PAYLOAD', 'KIND_WAL_FILE', 'KIND_SEGMENT',
  'KIND_RING', 'TYPE_EVENT', 'TYPE_RECORD', 'TYPE_CONTROL_MIN', 'TYPE_SYNC_MARK', 'SCAN_EMIT', 'SCAN_SEQ_STRICT',
  'SCAN_SEQ_NEXT', 'SCAN_MARK', 'DESC_SIZE', 'DESC_CAPACITY', 'D_OFFSET', 'D_LEN', 'D_SEQ_LO', 'D_SEQ_HI', 'D_TYPE',
  'D_MARK', 'OK', 'MORE', 'F_LEN', 'F_SEQ', 'F_MARK', 'F_TYPE', 'F_SALT', 'FH_SALT',
] as const;

/** Status code → failure reason; filled from the core's own ERR_* exports. */
const FAILURE_BY_EXPORT: Record<string, FrameFailure> = {
  ERR_INCOMPLETE_HEADER: 'incomplete-header', ERR_INCOMPLETE_PAYLOAD: 'incomplete-payload',
  ERR_BAD_MAGIC: 'bad-magic', ERR_UNSUPPORTED_VERSION: 'unsupported-version', ERR_CRC_MISMATCH: 'crc-mismatch',
  ERR_LENGTH_OVER_BOUND: 'length-over-bound', ERR_SALT_MISMATCH: 'salt-mismatch', ERR_SEQUENCE: 'sequence-order',
  ERR_BAD_WATERMARK: 'bad-watermark', ERR_BAD_TYPE: 'bad-type', ERR_HEADER_CRC: 'header-crc',
  ERR_WRONG_KIND: 'wrong-kind', ERR_BAD_FLAGS: 'bad-flags',
};

/** Output globals declared u32 in the core. */
const U32_OUTPUTS: ReadonlySet<string> = new Set(['outCount', 'outEnd', 'outSeqLo', 'outSeqHi', 'outResume', 'outLastStart', 'outLastType', 'hdrVersion', 'hdrKind', 'hdrSalt']);

export class Core {
  readonly x: CoreExports;
  readonly c: CoreConstants;
  /** Start of the staging region (stable). */
  readonly staging: number;
  /** Start of the descriptor region (stable). */
  readonly desc: number;
  /** Views of linear memory; rebuilt by ensure() whenever memory grows. */
  u8!: Uint8Array;
  dv!: DataView;
  /** u32 view of linear memory (index = byte address / 4), rebuilt with the others. */
  u32!: Uint32Array;
  #capacity = 0;
  private readonly failures = new Map<number, FrameFailure>();
  private readonly globals: Record<string, WebAssembly.Global>;

  constructor() {
    const instance = new WebAssembly.Instance(module(), {
      env: { abort: () => { throw new WalError('CORE_MISMATCH', 'walcore core aborted'); } },
    });
    this.x = instance.exports as unknown as CoreExports;
    const version = readGlobal(this.x, 'FORMAT_VERSION');
    if (version !== HOST_FORMAT_VERSION) {
      throw new WalError('CORE_MISMATCH', `walcore core speaks format version ${version}, this host only ${HOST_FORMAT_VERSION}`);
    }
    // Object.fromEntries keeps V8's fast property mode; adding ~30 keys one by
    // one to {} turns the object into a slow dictionary, read on every append.
    this.c = Object.fromEntries(CONSTANT_NAMES.map((name) => [name, readGlobal(this.x, name)])) as unknown as CoreConstants;
    for (const [name, reason] of Object.entries(FAILURE_BY_EXPORT)) this.failures.set(readGlobal(this.x, name), reason);
    this.globals = Object.fromEntries(['outCount', 'outEnd', 'outSeqLo', 'outSeqHi', 'outMark', 'outResume', 'outLastStart', 'outLastType', 'hdrVersion', 'hdrKind', 'hdrSalt', 'hdrP0', 'hdrP1', 'hdrP2']
      .map((name) => [name, this.x[name] as WebAssembly.Global]));
    this.staging = this.x.stagingPtr();
    this.desc = this.x.descPtr();
    this.refresh();
    this.ensure(64 << 10);
  }

  private refresh(): void {
    this.u8 = new Uint8Array(this.x.memory.buffer);
    this.dv = new DataView(this.x.memory.buffer);
    this.u32 = new Uint32Array(this.x.memory.buffer);
  }

  /**
   * Make the staging region at least `bytes` long; views are rebuilt if
   * memory grew. Grows geometrically, so a buffer filled a frame at a time
   * grows O(log n) times, not once per frame.
   */
  ensure(bytes: number): void {
    if (bytes <= this.#capacity) return;
    const want = Math.max(bytes, Math.min(this.#capacity * 2, bytes + (256 << 20)));
    if (this.x.ensureStaging(want) !== 0 && this.x.ensureStaging(bytes) !== 0) {
      throw new RangeError(`walcore: cannot grow core memory to ${bytes} bytes`);
    }
    this.#capacity = this.x.stagingCapacity();
    this.refresh();
  }

  /**
   * Read an output global of the last call (outCount, outEnd, ...). WebAssembly
   * has no unsigned types at its boundary, so u32 outputs arrive as i32 and are
   * reinterpreted here; f64 outputs pass through.
   */
  out(name: string): number {
    const v = Number(this.globals[name]!.value);
    return U32_OUTPUTS.has(name) ? v >>> 0 : v;
  }

  /** The reason for a negative status code. */
  failure(status: number): FrameFailure {
    const f = this.failures.get(status);
    if (f === undefined) throw new WalError('CORE_MISMATCH', `walcore core returned unknown status ${status}`);
    return f;
  }

  /** CRC-32C of `bytes`, continuing from `crc` (0 to start). */
  crc32c(bytes: Uint8Array, crc = 0): number {
    const chunk = 1 << 20;
    this.ensure(Math.min(bytes.length, chunk));
    for (let off = 0; off < bytes.length; off += chunk) {
      const part = bytes.subarray(off, off + chunk);
      this.u8.set(part, this.staging);
      crc = this.x.crc32cUpdate(crc, this.staging, part.length);
    }
    return crc >>> 0;
  }
}

let shared: Core | undefined;
/** A core instance for stateless, single-call work (no data stays staged across calls). */
export function sharedCore(): Core {
  return (shared ??= new Core());
}

/** CRC-32C (Castagnoli) of `bytes`, computed by the WebAssembly core. Pass a previous result to continue. */
export function crc32c(bytes: Uint8Array, crc = 0): number {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('crc32c: bytes must be a Uint8Array');
  if (!Number.isInteger(crc) || crc < 0 || crc > 0xffffffff) throw new RangeError('crc32c: crc must be a u32');
  return sharedCore().crc32c(bytes, crc);
}
