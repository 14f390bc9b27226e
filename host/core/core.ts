/**
 * The WebAssembly boundary: loads the core embedded in the bundle and is the
 * only code that touches its raw exports (docs/FORMAT.md §6). Everything the
 * core exports is typed once, in ./abi.ts, generated from assembly/ with each
 * value's declared type, so signedness has one home: globals are read through
 * out(), which applies it.
 *
 * Each log owns one Core instance, because the staging and descriptor
 * regions are per instance and a log keeps data staged there between calls;
 * the compiled module is shared. Stateless helpers (crc32c) use one shared
 * instance, which is safe because each call completes before it returns.
 */
import wasmBytes from '../../build/walcore.wasm';
import { type FrameFailure, WalError } from '../errors.js';
import {
  CONSTANT_TYPES, CoreConstants, type CoreFunctions, FUNCTION_NAMES, OUTPUT_TYPES, type OutputName, isSigned,
} from './abi.js';

export { CoreConstants } from './abi.js';
export type { ConstantName, OutputName } from './abi.js';

/** The only core format version this host understands. */
export const HOST_FORMAT_VERSION = 1;

export type CoreExports = CoreFunctions & { readonly memory: WebAssembly.Memory };

let compiled: WebAssembly.Module | undefined;
function module(): WebAssembly.Module {
  return (compiled ??= new WebAssembly.Module(wasmBytes as BufferSource));
}

/** Status code → failure reason, by the name of the core's ERR_* constant. */
const FAILURE_BY_CONSTANT: Partial<Record<keyof typeof CONSTANT_TYPES, FrameFailure>> = {
  ERR_INCOMPLETE_HEADER: 'incomplete-header', ERR_INCOMPLETE_PAYLOAD: 'incomplete-payload',
  ERR_BAD_MAGIC: 'bad-magic', ERR_UNSUPPORTED_VERSION: 'unsupported-version', ERR_CRC_MISMATCH: 'crc-mismatch',
  ERR_LENGTH_OVER_BOUND: 'length-over-bound', ERR_SALT_MISMATCH: 'salt-mismatch', ERR_SEQUENCE: 'sequence-order',
  ERR_BAD_WATERMARK: 'bad-watermark', ERR_BAD_TYPE: 'bad-type', ERR_HEADER_CRC: 'header-crc',
  ERR_WRONG_KIND: 'wrong-kind', ERR_BAD_FLAGS: 'bad-flags', ERR_BAD_RECORD: 'decode-failure',
  ERR_AFTER_SYNC_MARK: 'after-sync-mark',
};

/** A WebAssembly.Global's value as a number, with the declared type's signedness applied. */
function readValue(g: unknown, name: string, type: string): number {
  if (!(g instanceof WebAssembly.Global)) throw new WalError('CORE_MISMATCH', `walcore core does not export ${name}`);
  const v = Number(g.value);
  return isSigned(type) ? v : v >>> 0;
}

export class Core {
  /** The core's functions, typed by ./abi.ts. */
  readonly x: CoreExports;
  /** Every constant the core exports (its one home is assembly/constants.ts and friends). */
  readonly c: CoreConstants;
  /** Start of the staging region (stable). */
  readonly staging: number;
  /** Start of the descriptor region (stable). */
  readonly desc: number;
  /** Start of the segment-record descriptor region (stable; assembly/segment.ts). */
  readonly recDesc: number;
  /** Views of linear memory; rebuilt by ensure() whenever memory grows. */
  u8!: Uint8Array;
  dv!: DataView;
  /** u32 view of linear memory (index = byte address / 4), rebuilt with the others. */
  u32!: Uint32Array;
  #capacity = 0;
  readonly #failures = new Map<number, FrameFailure>();
  readonly #globals: Record<OutputName, WebAssembly.Global>;
  readonly #signed: Record<OutputName, boolean>;

  constructor() {
    const instance = new WebAssembly.Instance(module(), {
      env: { abort: () => { throw new WalError('CORE_MISMATCH', 'walcore core aborted'); } },
    });
    const raw = instance.exports;
    for (const name of FUNCTION_NAMES) {
      if (typeof raw[name] !== 'function') throw new WalError('CORE_MISMATCH', `walcore core does not export ${name}()`);
    }
    if (!(raw.memory instanceof WebAssembly.Memory)) throw new WalError('CORE_MISMATCH', 'walcore core does not export its memory');
    // Checked above: every function the table names is there.
    this.x = raw as unknown as CoreExports;
    const version = readValue(raw.FORMAT_VERSION, 'FORMAT_VERSION', CONSTANT_TYPES.FORMAT_VERSION);
    if (version !== HOST_FORMAT_VERSION) {
      throw new WalError('CORE_MISMATCH', `walcore core speaks format version ${version}, this host only ${HOST_FORMAT_VERSION}`);
    }
    this.c = new CoreConstants((name) => readValue(raw[name], name, CONSTANT_TYPES[name]));
    for (const [name, reason] of Object.entries(FAILURE_BY_CONSTANT)) {
      this.#failures.set(this.c[name as keyof typeof CONSTANT_TYPES], reason);
    }
    const names = Object.keys(OUTPUT_TYPES) as OutputName[];
    for (const name of names) {
      if (!(raw[name] instanceof WebAssembly.Global)) throw new WalError('CORE_MISMATCH', `walcore core does not export ${name}`);
    }
    this.#globals = Object.fromEntries(names.map((n) => [n, raw[n]])) as Record<OutputName, WebAssembly.Global>;
    this.#signed = Object.fromEntries(names.map((n) => [n, isSigned(OUTPUT_TYPES[n])])) as Record<OutputName, boolean>;
    this.staging = this.x.stagingPtr();
    this.desc = this.x.descPtr();
    this.recDesc = this.x.recDescPtr();
    this.refresh();
    this.ensure(64 << 10);
  }

  /**
   * Rebuild the views if memory grew by another way than ensure() (a module
   * with its own allocator in the core, e.g. the kv index): a no-op otherwise.
   */
  syncViews(): void {
    if (this.u8.buffer !== this.x.memory.buffer) this.refresh();
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
    this.#capacity = this.x.stagingCapacity() >>> 0;
    this.refresh();
  }

  /**
   * An output global of the last call (outCount, segFirstLo, ringCount, ...),
   * read with its declared signedness: u32 values come back unsigned, i32 and
   * f64 as they are.
   */
  out(name: OutputName): number {
    const v = Number(this.#globals[name].value);
    return this.#signed[name] ? v : v >>> 0;
  }

  /** The reason for a negative status code. */
  failure(status: number): FrameFailure {
    const f = this.#failures.get(status);
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
