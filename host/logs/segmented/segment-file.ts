/**
 * Segment files of a SegmentedWal (docs/FORMAT.md §9): names, headers,
 * and the crash-safe recipe that makes a segment appear. The bytes are
 * encoded and validated by the core (assembly/segment.ts); this module only
 * moves them between the core and the file system.
 */
import { publishFile, removeTempFiles } from '../../lifecycle/atomic-file.js';
import { join } from '../../platform/path.js';
import { randomU32 } from '../../platform/random.js';
import type { Core, CoreConstants } from '../../core/core.js';
import { WalError } from '../../errors.js';
import { type KeyRing, keyCheckOf } from './encryption.js';
import { headerError, loadFileHeader } from '../../codec/file-header.js';
import type { FileHandle, FileSystem } from '../../fs/types.js';
import { SAFE_HI_LIMIT, TWO_32, hi32, lo32 } from '../../core/u64.js';

/** Segment names: `wal-` + the first LSN as 20 decimal digits (fits every u64) + `.seg`; they sort by LSN. */
const NAME = /^wal-(\d{20})\.seg$/;

export function segmentName(firstLsn: number): string {
  return `wal-${String(firstLsn).padStart(20, '0')}.seg`;
}

/** The first LSN a segment name carries, or undefined for a name that is not a segment's. */
export function parseSegmentName(name: string, dir: string): number | undefined {
  const m = NAME.exec(name);
  if (m === null) return undefined;
  const lsn = Number(m[1]);
  if (!Number.isSafeInteger(lsn)) {
    throw new WalError('SEQUENCE_OUT_OF_RANGE', `${dir}/${name}: first LSN ${m[1]} exceeds Number.MAX_SAFE_INTEGER`, { path: `${dir}/${name}` });
  }
  return lsn;
}


/** The core's constants, segment ones included (assembly/segment.ts is their one home). */
export type SegConsts = CoreConstants;

export function segConsts(core: Core): SegConsts {
  return core.c;
}

let encBody = -1;
/** Frame offset of an encrypted record's body (a layout constant of the format). */
export function encBodyOffset(core: Core): number {
  if (encBody < 0) encBody = core.x.encryptedBodyOffset() >>> 0;
  return encBody;
}

export interface SegmentHeader {
  salt: number;
  firstLsn: number;
  /** SEG_ENC_NONE or SEG_ENC_AES256GCM. */
  enc: number;
  /** Key id of an encrypted segment's records (0 when plain). */
  keyId: number;
  /** The key check value of an encrypted segment's key ([lo, hi]); undefined when the header has none (all zeros). */
  keyCheck?: [number, number] | undefined;
}

/** The header fields of a new segment for `ring` (null: plain), its key check value included. */
export function segmentHeaderFor(firstLsn: number, enc: number, ring: KeyRing | null): Omit<SegmentHeader, 'salt'> {
  if (ring === null) return { firstLsn, enc, keyId: 0 };
  return { firstLsn, enc, keyId: ring.currentKeyId, keyCheck: keyCheckOf(ring, ring.currentKeyId) };
}

/** The 64 header bytes of a new segment (a copy the caller owns). */
export function segmentHeaderBytes(core: Core, h: Omit<SegmentHeader, 'salt'>, salt = randomU32()): Uint8Array {
  const c = core.c;
  core.ensure(c.FILE_HEADER_SIZE);
  const st = core.x.encodeSegmentHeader(core.staging, salt, lo32(h.firstLsn), hi32(h.firstLsn), h.enc, h.keyId);
  if (st < 0) throw new RangeError('segment header: bad encryption or key id');
  if (h.keyCheck !== undefined) core.x.setSegmentKeyCheck(core.staging, h.keyCheck[0], h.keyCheck[1]);
  return core.u8.slice(core.staging, core.staging + c.FILE_HEADER_SIZE);
}

/**
 * Read and validate a segment's header, with the one header-fault mapping
 * every log shares (host/codec/file-header.ts): UNSUPPORTED_VERSION for a
 * future format version, BAD_HEADER for every other fault (a damaged CRC, an
 * unknown encryption, another kind...). A header whose first LSN differs
 * from the name's is BAD_HEADER too (no frame reason applies): segment headers
 * are written whole before the file gets its name, so no crash causes either.
 */
export function readSegmentHeader(core: Core, h: FileHandle, path: string, nameLsn: number): SegmentHeader {
  const got = loadFileHeader(core, h, path);
  const st = core.x.decodeSegmentHeader(core.staging, got);
  if (st !== core.c.OK) throw headerError(core, st, path, 'segment', got);
  const lo = core.out('segFirstLo');
  const hi = core.out('segFirstHi');
  const firstLsn = hi * TWO_32 + lo;
  if (hi >= SAFE_HI_LIMIT || firstLsn !== nameLsn) {
    throw new WalError('BAD_HEADER', `${path}: the segment header says first LSN ${(BigInt(hi) << 32n) | BigInt(lo)}, the name says ${nameLsn}`, { path, offset: 0 });
  }
  const check0 = core.out('segCheckLo');
  const check1 = core.out('segCheckHi');
  const keyCheck: [number, number] | undefined = check0 === 0 && check1 === 0 ? undefined : [check0, check1];
  return { salt: core.out('segSalt'), firstLsn, enc: core.out('segEnc'), keyId: core.out('segKeyId'), keyCheck };
}

/**
 * Make a segment file appear with exactly `bytes` (its header), replacing any
 * file of that name, by the crash-safe recipe (host/lifecycle/atomic-file.ts).
 * The caller then syncs the directory (and poisons if that fails). A failure
 * before the rename leaves the directory as it was and throws IO_ERROR.
 */
export function writeSegmentFile(fs: FileSystem, dir: string, name: string, bytes: Uint8Array): void {
  publishFile(fs, join(dir, name), (h) => h.write(bytes, 0));
}

/** Remove temp files a crashed segment creation left (call while holding the lock). Returns how many. */
export function removeSegmentTemps(fs: FileSystem, dir: string, names: readonly string[]): number {
  return removeTempFiles(fs, dir, (target) => NAME.test(target), names);
}
