/**
 * The RingLog file format as the host sees it (docs/FORMAT.md §10): the
 * open ring file (RingFile: core, handle, path, geometry, salt, passed
 * whole to every function that reads or writes the ring), the
 * failure-evidence check, geometry checks, creating a preallocated ring
 * crash-safely, and reading the file header and the ring state record.
 * Byte layout decisions live in assembly/ring.ts; this module only moves
 * bytes between the file and the core's staging region.
 */
import { writeFileAtomically } from '../../lifecycle/atomic-file.js';
import { intOption } from '../../lifecycle/options.js';
import { randomU32 } from '../../platform/random.js';
import type { Core, CoreConstants } from '../../core/core.js';
import { WalError, ioError } from '../../errors.js';
import { readFileHeader } from '../../codec/file-header.js';
import type { FileHandle, FileSystem } from '../../fs/types.js';
import { FAILURE_CLASSES, type FailureEvidence } from './types.js';

export { FAILURE_CLASSES } from './types.js';
export type { FailureClass, FailureEvidence } from './types.js';


/** An open ring file: everything the open path and the slot readers need, passed as one value. */
export interface RingFile extends RingHeader {
  core: Core;
  h: FileHandle;
  path: string;
}

/** Validated evidence in the core's terms. */
export interface EncodedEvidence { cls: number; code: number; digest: Uint8Array | undefined }

/** Check appendWithFailure()'s evidence: a wrong type is a TypeError, a value out of range a RangeError. */
export function checkEvidence(evidence: unknown, maxDigest: number): EncodedEvidence {
  const where = 'appendWithFailure';
  if (evidence === null || typeof evidence !== 'object') throw new TypeError(`${where}: evidence must be { failureClass, code, digest? }`);
  for (const key of Object.keys(evidence)) {
    if (key !== 'failureClass' && key !== 'code' && key !== 'digest') throw new TypeError(`${where}: unknown evidence field '${key}'`);
  }
  const e = evidence as FailureEvidence;
  if (typeof e.failureClass !== 'string') throw new TypeError(`${where}: failureClass must be a string, got ${typeof e.failureClass}`);
  const idx = FAILURE_CLASSES.indexOf(e.failureClass);
  if (idx < 0) throw new RangeError(`${where}: failureClass must be one of ${FAILURE_CLASSES.join(', ')}`);
  if (e.code === undefined) throw new TypeError(`${where}: code is required (a number)`);
  const code = intOption(where, 'code', e.code, 0, -0x80000000, 0x7fffffff);
  if (e.digest !== undefined) {
    if (!(e.digest instanceof Uint8Array)) throw new TypeError(`${where}: digest must be a Uint8Array`);
    if (e.digest.length > maxDigest) throw new RangeError(`${where}: digest of ${e.digest.length} bytes exceeds ${maxDigest}`);
  }
  return { cls: idx + 1, code, digest: e.digest };
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
  if (typeof slotSize !== 'number') throw new TypeError(`RingLog.open: slotSize must be a number, got ${typeof slotSize}`);
  if (!Number.isInteger(slotSize) || slotSize < k.RING_MIN_SLOT || slotSize > k.RING_MAX_SLOT || slotSize % k.RING_SLOT_ALIGN !== 0) {
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
  const bufferSize = intOption('RingLog.open', 'bufferSize', options.bufferSize, 1 << 20, 0, 1 << 30);
  if (want.capacity !== undefined) checkFileSize(k, { capacity: want.capacity, slotSize: want.slotSize ?? defaultSlot }, path);
  return { want, bufferSize };
}

/**
 * Create a ring crash-safely: write header, state record (clean, empty) and
 * zeroed slots to a temp file, sync it, rename it over `path`, sync the
 * directory. Zeros are written, not fallocated: overwriting written blocks
 * syncs faster (shared/PLATFORM.md). After a crash `path` is either what it
 * was (absent, or the 0-byte file being replaced) or complete. EFBIG is
 * reported as CAPACITY_OVERFLOW.
 */
export function createRing(core: Core, fs: FileSystem, path: string, g: Geometry): void {
  const { x, c } = core;
  const salt = randomU32();
  const size = fileSize(c, g);
  const chunk = Math.min(size, 1 << 20);
  try {
    writeFileAtomically(fs, path, (h) => {
      const zeros = new Uint8Array(chunk);
      for (let pos = c.RING_DATA_OFFSET; pos < size; pos += chunk) h.write(zeros.subarray(0, Math.min(chunk, size - pos)), pos);
      core.ensure(c.RING_DATA_OFFSET);
      core.u8.fill(0, core.staging, core.staging + c.RING_DATA_OFFSET);
      x.encodeFileHeader(core.staging, c.KIND_RING, salt, g.capacity, g.slotSize, 0);
      x.encodeRingState(core.staging + c.RING_STATE_OFFSET, salt, c.RING_CLEAN, 1, 0, 1, 0);
      x.encodeRingState(core.staging + c.RING_STATE_COPY_OFFSET, salt, c.RING_CLEAN, 1, 0, 1, 0);
      h.write(core.u8.subarray(core.staging, core.staging + c.RING_DATA_OFFSET), 0);
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
 * Read and check the file header with the mapping every log shares
 * (host/codec/file-header.ts): UNSUPPORTED_VERSION for a future format
 * version, BAD_HEADER for every other header fault (not a walcore file,
 * another kind, too short, a damaged CRC, an impossible geometry). Then the
 * ring's own check: a geometry other than the one requested is
 * HEADER_MISMATCH.
 */
export function readRingHeader(core: Core, h: FileHandle, path: string, want: Partial<Geometry>): RingHeader {
  const c = core.c;
  readFileHeader(core, h, path, c.KIND_RING, 'ring');
  const capacity = core.out('hdrP0');
  const slotSize = core.out('hdrP1');
  const salt = core.out('hdrSalt');
  if (capacity < 1 || capacity > c.RING_MAX_CAPACITY || slotSize < c.RING_MIN_SLOT || slotSize > c.RING_MAX_SLOT || slotSize % c.RING_SLOT_ALIGN !== 0 || core.out('hdrP2') !== 0) {
    throw new WalError('BAD_HEADER', `${path}: the ring's file header holds an impossible geometry (${capacity} slots of ${slotSize} bytes)`, { path, offset: 0, reason: 'decode-failure' });
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
function readStateCopy(f: RingFile, offset: number): RingState | undefined {
  const { core, path } = f;
  const { x, c } = core;
  core.ensure(c.RING_STATE_SIZE);
  try {
    if (f.h.read(core.u8.subarray(core.staging, core.staging + c.RING_STATE_SIZE), offset) < c.RING_STATE_SIZE) return undefined;
  } catch (e) {
    throw ioError('read', path, e);
  }
  const st = x.decodeRingState(core.staging, f.salt);
  if (st === c.OK) {
    const first = core.out('stFirstHi') * 2 ** 32 + core.out('stFirstLo');
    const next = core.out('stNextHi') * 2 ** 32 + core.out('stNextLo');
    if (next > Number.MAX_SAFE_INTEGER) throw new WalError('SEQUENCE_OUT_OF_RANGE', `${path}: stored sequence exceeds 2^53-1`, { path });
    return { clean: (core.out('stFlags') & c.RING_CLEAN) !== 0, first, next };
  }
  if (st < 0 && x.ringImpossible(st)) {
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
export function readRingState(f: RingFile): RingState | undefined {
  const a = readStateCopy(f, f.core.c.RING_STATE_OFFSET);
  const b = readStateCopy(f, f.core.c.RING_STATE_COPY_OFFSET);
  if (a === undefined || b === undefined) return a ?? b;
  if (a.next !== b.next) return a.next > b.next ? a : b;
  return a.clean ? b : a;
}

/**
 * Write the state record to both copies, the first copy first: a write that
 * fails part way (or a torn sector) can spoil at most the copy being
 * written, and the other still holds a valid state. Not synced here.
 */
export function writeState(f: RingFile, s: RingState, stagingOff = 0): void {
  const { core } = f;
  const c = core.c;
  // `stagingOff`: where in staging to encode it (after buffered slots, when an async sync writes it while appends buffer).
  core.ensure(stagingOff + c.RING_STATE_SIZE);
  const at = core.staging + stagingOff;
  core.x.encodeRingState(at, f.salt, s.clean ? c.RING_CLEAN : 0, s.first % 2 ** 32, Math.floor(s.first / 2 ** 32), s.next % 2 ** 32, Math.floor(s.next / 2 ** 32));
  const bytes = core.u8.subarray(at, at + c.RING_STATE_SIZE);
  f.h.write(bytes, c.RING_STATE_OFFSET);
  f.h.write(bytes, c.RING_STATE_COPY_OFFSET);
}
