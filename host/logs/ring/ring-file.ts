/**
 * The RingLog file format as the host sees it (docs/FORMAT.md §10): the
 * core's ring exports and constants, the failure-evidence enum, geometry
 * checks, creating a preallocated ring crash-safely, and reading the file
 * header and the ring state record. Byte layout decisions live in
 * assembly/ring.ts; this module only moves bytes between the file and the
 * core's staging region.
 */
import { writeFileAtomically } from '../../lifecycle/atomic-file.js';
import { randomU32 } from '../../platform/random.js';
import type { Core, CoreConstants, CoreExports } from '../../core/core.js';
import { WalError, ioError } from '../../errors.js';
import { loadFileHeader } from '../../codec/file-header.js';
import type { FileHandle, FileSystem } from '../../fs/types.js';

/** A core instance with its functions and constants under the names the ring code uses. */
export interface RingCore {
  core: Core;
  r: CoreExports;
  k: CoreConstants;
}

export function ringCore(core: Core): RingCore {
  return { core, r: core.x, k: core.c };
}

/**
 * Failure classes, a fixed enum stored as one byte (1..8; 0 means "no
 * evidence"). Never renumbered; docs/ring-log.md describes each.
 */
export const FAILURE_CLASSES = ['backend', 'runtime', 'io', 'timeout', 'resource', 'invariant', 'cancelled', 'unknown'] as const;
export type FailureClass = (typeof FAILURE_CLASSES)[number];

/** Failure evidence stored beside a record by appendWithFailure(). */
export interface FailureEvidence {
  /** What kind of failure (a fixed enum). */
  failureClass: FailureClass;
  /** A numeric code from the failing component (errno, status, exit code), an i32. */
  code: number;
  /** Optional digest of the failing input or output, at most 64 bytes (e.g. a SHA-256). */
  digest?: Uint8Array | undefined;
}

/** Validated evidence in the core's terms. */
export interface EncodedEvidence { cls: number; code: number; digest: Uint8Array | undefined }

export function checkEvidence(evidence: unknown, maxDigest: number): EncodedEvidence {
  if (evidence === null || typeof evidence !== 'object') throw new TypeError('appendWithFailure: evidence must be { failureClass, code, digest? }');
  for (const key of Object.keys(evidence)) {
    if (key !== 'failureClass' && key !== 'code' && key !== 'digest') throw new TypeError(`appendWithFailure: unknown evidence field '${key}'`);
  }
  const e = evidence as FailureEvidence;
  const idx = FAILURE_CLASSES.indexOf(e.failureClass);
  if (idx < 0) throw new RangeError(`appendWithFailure: failureClass must be one of ${FAILURE_CLASSES.join(', ')}`);
  if (!Number.isInteger(e.code) || e.code < -0x80000000 || e.code > 0x7fffffff) throw new RangeError('appendWithFailure: code must be an integer in the i32 range');
  if (e.digest !== undefined) {
    if (!(e.digest instanceof Uint8Array)) throw new TypeError('appendWithFailure: digest must be a Uint8Array');
    if (e.digest.length > maxDigest) throw new RangeError(`appendWithFailure: digest of ${e.digest.length} bytes exceeds ${maxDigest}`);
  }
  return { cls: idx + 1, code: e.code, digest: e.digest };
}

/** Geometry of a ring: slots and bytes per slot. */
export interface Geometry { capacity: number; slotSize: number }

/** Total file size for a geometry. */
export function fileSize(k: CoreConstants, g: Geometry): number {
  return k.RING_DATA_OFFSET + g.capacity * g.slotSize;
}

/** Check a requested capacity (argument errors before anything touches the disk). */
export function checkCapacity(capacity: unknown, k: CoreConstants, path: string): number {
  if (typeof capacity !== 'number' && typeof capacity !== 'bigint') throw new TypeError('RingLog.open: capacity must be a number');
  if (typeof capacity === 'bigint') {
    if (capacity > BigInt(k.RING_MAX_CAPACITY)) throw new WalError('CAPACITY_OVERFLOW', `${path}: capacity ${capacity} exceeds the ${k.RING_MAX_CAPACITY}-slot limit`, { path });
    capacity = Number(capacity);
  }
  const n = capacity as number;
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`RingLog.open: capacity must be a non-negative integer, got ${n}`);
  if (n === 0) throw new WalError('ZERO_CAPACITY', `${path}: a ring needs at least one slot`, { path });
  if (n > k.RING_MAX_CAPACITY) throw new WalError('CAPACITY_OVERFLOW', `${path}: capacity ${n} exceeds the ${k.RING_MAX_CAPACITY}-slot limit`, { path });
  return n;
}

export function checkSlotSize(slotSize: unknown, k: CoreConstants): number {
  if (typeof slotSize !== 'number' || !Number.isInteger(slotSize)) throw new TypeError('RingLog.open: slotSize must be an integer');
  if (slotSize < k.RING_MIN_SLOT || slotSize > k.RING_MAX_SLOT || slotSize % k.RING_SLOT_ALIGN !== 0) {
    throw new RangeError(`RingLog.open: slotSize must be a multiple of ${k.RING_SLOT_ALIGN} in [${k.RING_MIN_SLOT}, ${k.RING_MAX_SLOT}], got ${slotSize}`);
  }
  return slotSize;
}

/** Refuse a geometry whose file the platform cannot address exactly. */
export function checkFileSize(k: CoreConstants, g: Geometry, path: string): void {
  if (fileSize(k, g) > Number.MAX_SAFE_INTEGER) {
    throw new WalError('CAPACITY_OVERFLOW', `${path}: ${g.capacity} slots of ${g.slotSize} bytes need a file larger than 2^53-1 bytes`, { path });
  }
}

/** Validate capacity, slotSize and bufferSize options (argument errors come before any file is touched). */
export function checkGeometryOptions(options: { capacity?: unknown; slotSize?: unknown; bufferSize?: unknown }, k: CoreConstants, path: string, defaultSlot: number):
  { want: Partial<Geometry>; bufferSize: number } {
  const want: Partial<Geometry> = {};
  if (options.capacity !== undefined) want.capacity = checkCapacity(options.capacity, k, path);
  if (options.slotSize !== undefined) want.slotSize = checkSlotSize(options.slotSize, k);
  const bufferSize = options.bufferSize ?? 1 << 20;
  if (typeof bufferSize !== 'number' || !Number.isSafeInteger(bufferSize) || bufferSize < 0 || bufferSize > 1 << 30) {
    throw new RangeError('RingLog.open: bufferSize must be an integer in [0, 2^30]');
  }
  if (want.capacity !== undefined) checkFileSize(k, { capacity: want.capacity, slotSize: want.slotSize ?? defaultSlot }, path);
  return { want, bufferSize };
}

/**
 * Create a ring crash-safely: write header, state record (clean, empty) and
 * zeroed slots to a temp file, sync it, rename it over `path`, sync the
 * directory. Zeros are written, not fallocated: overwriting written blocks
 * syncs faster (shared/PLATFORM.md). After a crash `path` is either absent
 * or complete. EFBIG is reported as CAPACITY_OVERFLOW.
 */
export function createRing(rc: RingCore, fs: FileSystem, path: string, g: Geometry): void {
  const { core, r, k } = rc;
  const salt = randomU32();
  const size = fileSize(k, g);
  const chunk = Math.min(size, 1 << 20);
  try {
    writeFileAtomically(fs, path, (h) => {
      const zeros = new Uint8Array(chunk);
      for (let pos = k.RING_DATA_OFFSET; pos < size; pos += chunk) h.write(zeros.subarray(0, Math.min(chunk, size - pos)), pos);
      core.ensure(k.RING_DATA_OFFSET);
      core.u8.fill(0, core.staging, core.staging + k.RING_DATA_OFFSET);
      core.x.encodeFileHeader(core.staging, core.c.KIND_RING, salt, g.capacity, g.slotSize, 0);
      r.encodeRingState(core.staging + k.RING_STATE_OFFSET, salt, k.RING_CLEAN, 1, 0, 1, 0);
      r.encodeRingState(core.staging + k.RING_STATE_COPY_OFFSET, salt, k.RING_CLEAN, 1, 0, 1, 0);
      h.write(core.u8.subarray(core.staging, core.staging + k.RING_DATA_OFFSET), 0);
    });
  } catch (e) {
    if (e instanceof WalError && e.errno === 'EFBIG') {
      throw new WalError('CAPACITY_OVERFLOW', `${path}: the file system cannot hold a ${size}-byte ring`, { path, cause: e.cause });
    }
    throw e;
  }
}

/** What the file header of an existing ring says. */
export interface RingHeader extends Geometry { salt: number }

/**
 * Read and check the file header. Wrong magic, version or kind (not a ring
 * of this format) and a geometry other than the one requested are
 * HEADER_MISMATCH; a damaged header (CRC) or an impossible geometry is
 * CORRUPTED (the header is written once, synced before the file gets its name).
 */
export function readRingHeader(rc: RingCore, h: FileHandle, path: string, want: Partial<Geometry>): RingHeader {
  const { core, k } = rc;
  const c = core.c;
  const got = loadFileHeader(core, h, path);
  const st = core.x.decodeFileHeader(core.staging, got, c.KIND_RING);
  if (st !== c.OK) {
    const reason = core.failure(st);
    if (reason === 'header-crc') throw new WalError('CORRUPTED', `${path}: the ring's file header is damaged (CRC mismatch)`, { path, offset: 0, reason });
    const what = reason === 'unsupported-version' ? `format version ${core.out('hdrVersion')}, this build reads ${c.FORMAT_VERSION}`
      : reason === 'wrong-kind' ? `a walcore file of kind ${core.out('hdrKind')}, not a ring (kind ${c.KIND_RING})`
        : reason === 'incomplete-header' ? `only ${got} bytes, shorter than a file header`
          : `not a walcore file (${reason})`;
    throw new WalError('HEADER_MISMATCH', `${path}: ${what}`, { path, offset: 0, reason });
  }
  const capacity = core.out('hdrP0');
  const slotSize = core.out('hdrP1');
  const salt = core.out('hdrSalt');
  if (capacity < 1 || capacity > k.RING_MAX_CAPACITY || slotSize < k.RING_MIN_SLOT || slotSize > k.RING_MAX_SLOT || slotSize % k.RING_SLOT_ALIGN !== 0 || core.out('hdrP2') !== 0) {
    throw new WalError('CORRUPTED', `${path}: the ring's file header holds an impossible geometry (${capacity} slots of ${slotSize} bytes)`, { path, offset: 0 });
  }
  if ((want.capacity !== undefined && want.capacity !== capacity) || (want.slotSize !== undefined && want.slotSize !== slotSize)) {
    throw new WalError('HEADER_MISMATCH',
      `${path}: the existing ring has ${capacity} slots of ${slotSize} bytes, but ${want.capacity ?? capacity} slots of ${want.slotSize ?? slotSize} bytes were requested (the file's geometry wins; omit the options to accept it)`,
      { path, offset: 0 });
  }
  return { capacity, slotSize, salt };
}

/**
 * The ring state record. A clean one makes open strict; one that is not
 * clean names the durable point: every record below `next` was durable when
 * it was written, and no sync() has returned since whose records it omits.
 */
export interface RingState { clean: boolean; first: number; next: number }

/** Read one copy of the state record; undefined when it is absent, torn or foreign. */
function readStateCopy(rc: RingCore, h: FileHandle, path: string, salt: number, offset: number): RingState | undefined {
  const { core, r, k } = rc;
  core.ensure(k.RING_STATE_SIZE);
  try {
    if (h.read(core.u8.subarray(core.staging, core.staging + k.RING_STATE_SIZE), offset) < k.RING_STATE_SIZE) return undefined;
  } catch (e) {
    throw ioError('read', path, e);
  }
  const st = r.decodeRingState(core.staging, salt);
  if (st === core.c.OK) {
    const first = core.out('stFirstHi') * 2 ** 32 + core.out('stFirstLo');
    const next = core.out('stNextHi') * 2 ** 32 + core.out('stNextLo');
    if (next > Number.MAX_SAFE_INTEGER) throw new WalError('SEQUENCE_OUT_OF_RANGE', `${path}: stored sequence exceeds 2^53-1`, { path });
    return { clean: (core.out('stFlags') & k.RING_CLEAN) !== 0, first, next };
  }
  if (st < 0 && r.ringImpossible(st)) {
    throw new WalError('CORRUPTED', `${path}: the ring state record at ${offset} is intact but impossible (${core.failure(st)})`, { path, offset, reason: core.failure(st) });
  }
  return undefined;
}

/**
 * Read both copies of the state record and return the newer one; undefined
 * when neither is valid (then it proves nothing). Every state written names a
 * `next` at least that of the state before it, so the higher `next` is the
 * newer; on a tie a record that is not clean wins (a clean one and one that
 * is not, with the same window, differ only in whether the slots may have
 * changed since: trusting "not clean" only costs the strict check).
 */
export function readRingState(rc: RingCore, h: FileHandle, path: string, salt: number): RingState | undefined {
  const a = readStateCopy(rc, h, path, salt, rc.k.RING_STATE_OFFSET);
  const b = readStateCopy(rc, h, path, salt, rc.k.RING_STATE_COPY_OFFSET);
  if (a === undefined || b === undefined) return a ?? b;
  if (a.next !== b.next) return a.next > b.next ? a : b;
  return a.clean ? b : a;
}

/**
 * Write the state record to both copies, the first copy first: a write that
 * fails part way (or a torn sector) can spoil at most the copy being
 * written, and the other still holds a valid state. Not synced here.
 */
export function writeState(rc: RingCore, h: FileHandle, salt: number, s: RingState): void {
  const bytes = encodeState(rc, rc.core.staging, salt, s);
  h.write(bytes, rc.k.RING_STATE_OFFSET);
  h.write(bytes, rc.k.RING_STATE_COPY_OFFSET);
}

/** Encode a state record into staging at `at` and return its bytes (a view, valid until staging is reused). */
export function encodeState(rc: RingCore, at: number, salt: number, s: RingState): Uint8Array {
  const { core, r, k } = rc;
  r.encodeRingState(at, salt, s.clean ? k.RING_CLEAN : 0, s.first % 2 ** 32, Math.floor(s.first / 2 ** 32), s.next % 2 ** 32, Math.floor(s.next / 2 ** 32));
  return core.u8.subarray(at, at + k.RING_STATE_SIZE);
}
