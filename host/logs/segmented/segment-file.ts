/**
 * Segment files of a SegmentedWal (docs/FORMAT.md §9): names, headers,
 * and the crash-safe recipe that makes a segment appear. The bytes are
 * encoded and validated by the core (assembly/segment.ts); this module only
 * moves them between the core and the file system.
 */
import { randomU32 } from '../../lifecycle/atomic-file.js';
import type { Core } from '../../core/core.js';
import { type FrameFailure, WalError, ioError } from '../../errors.js';
import { loadFileHeader } from '../../codec/file-header.js';
import type { FileHandle, FileSystem } from '../../fs/types.js';
import { TWO_32 } from '../../core/u64.js';

/** Segment names: `wal-` + the first LSN as 20 decimal digits (fits every u64) + `.seg`; they sort by LSN. */
const NAME = /^wal-(\d{20})\.seg$/;
const TEMP = /^wal-\d{20}\.seg\.tmp-/;

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

export function isSegmentTemp(name: string): boolean {
  return TEMP.test(name);
}

/** Constants of the segment format, read from the core (assembly/segment.ts is their one home). */
export interface SegConsts {
  SEG_ENC_NONE: number; SEG_ENC_AES256GCM: number; REC_HEADER_SIZE: number; REC_NONCE_SIZE: number;
  REC_TAG_SIZE: number; REC_AAD_START: number; R_NONCE: number; MAX_RECORD_BODY: number; ERR_BAD_RECORD: number;
  RD_SIZE: number; RD_CAPACITY: number; RD_TYPE: number; RD_VSHARD: number; RD_TENANT_LO: number; RD_TENANT_HI: number;
  RD_DATABASE_LO: number; RD_DATABASE_HI: number; RD_FLAGS: number; RD_KEY_ID: number; RD_BODY: number;
  RD_BODY_LEN: number; RD_AAD: number; RD_NONCE: number; RDF_CONTROL: number;
  /** Address of the record descriptor region. */
  rdesc: number;
  /** Frame offset of an encrypted record's body. */
  encBody: number;
}
const SEG_NAMES = ['SEG_ENC_NONE', 'SEG_ENC_AES256GCM', 'REC_HEADER_SIZE', 'REC_NONCE_SIZE', 'REC_TAG_SIZE', 'REC_AAD_START',
  'R_NONCE', 'MAX_RECORD_BODY', 'ERR_BAD_RECORD', 'RD_SIZE', 'RD_CAPACITY', 'RD_TYPE', 'RD_VSHARD', 'RD_TENANT_LO',
  'RD_TENANT_HI', 'RD_DATABASE_LO', 'RD_DATABASE_HI', 'RD_FLAGS', 'RD_KEY_ID', 'RD_BODY', 'RD_BODY_LEN', 'RD_AAD',
  'RD_NONCE', 'RDF_CONTROL'] as const;

/** The segment exports of the core that host/core/core.ts's typed interface does not list. */
export interface SegExports {
  encodeSegmentHeader(ptr: number, salt: number, firstLo: number, firstHi: number, enc: number, keyId: number): number;
  decodeSegmentHeader(ptr: number, len: number): number;
  encodeRecord(ptr: number, bodyLen: number, recordType: number, tenantLo: number, tenantHi: number, vshard: number,
    dbLo: number, dbHi: number, salt: number, lsnLo: number, lsnHi: number, mark: number): number;
  encodeEncryptedHeaders(ptr: number, sealedLen: number, recordType: number, tenantLo: number, tenantHi: number,
    vshard: number, dbLo: number, dbHi: number, keyId: number, n0: number, n1: number, n2: number, salt: number,
    lsnLo: number, lsnHi: number, mark: number): number;
  encryptedBodyOffset(): number;
  sealRecord(ptr: number): void;
  decodeRecords(base: number, first: number, count: number, enc: number, segKey: number): number;
  recDescPtr(): number;
}

const cache = new WeakMap<Core, SegConsts>();

export function seg(core: Core): SegExports {
  return core.x as unknown as SegExports;
}

/** Read a u32 output global of the core by name. */
export function global(core: Core, name: string): number {
  const g = core.x[name];
  if (!(g instanceof WebAssembly.Global)) throw new WalError('CORE_MISMATCH', `walcore core does not export ${name}`);
  return Number(g.value);
}

export function segConsts(core: Core): SegConsts {
  let k = cache.get(core);
  if (k === undefined) {
    // Object.fromEntries keeps V8's fast property mode (these are read per record).
    k = Object.fromEntries([...SEG_NAMES.map((name) => [name, global(core, name)]),
      ['rdesc', seg(core).recDescPtr()], ['encBody', seg(core).encryptedBodyOffset()]]) as unknown as SegConsts;
    k.RDF_CONTROL >>>= 0; // a u32 flag above 2^31 arrives as a negative i32 global
    cache.set(core, k);
  }
  return k;
}

export function lsnLo(lsn: number): number {
  return lsn % TWO_32;
}
export function lsnHi(lsn: number): number {
  return Math.floor(lsn / TWO_32);
}

export interface SegmentHeader {
  salt: number;
  firstLsn: number;
  /** SEG_ENC_NONE or SEG_ENC_AES256GCM. */
  enc: number;
  /** Key id of an encrypted segment's records (0 when plain). */
  keyId: number;
}

/** The 64 header bytes of a new segment (a copy the caller owns). */
export function segmentHeaderBytes(core: Core, h: Omit<SegmentHeader, 'salt'>, salt = randomU32()): Uint8Array {
  const c = core.c;
  core.ensure(c.FILE_HEADER_SIZE);
  const st = seg(core).encodeSegmentHeader(core.staging, salt, lsnLo(h.firstLsn), lsnHi(h.firstLsn), h.enc, h.keyId);
  if (st < 0) throw new RangeError('segment header: bad encryption or key id');
  return core.u8.slice(core.staging, core.staging + c.FILE_HEADER_SIZE);
}

/**
 * Read and validate a segment's header. A damaged header of a file named
 * like a segment is CORRUPTED (offset 0, with the reason); a header whose
 * first LSN differs from the name's is CORRUPTED too.
 */
export function readSegmentHeader(core: Core, h: FileHandle, path: string, nameLsn: number): SegmentHeader {
  const c = core.c;
  const st = seg(core).decodeSegmentHeader(core.staging, loadFileHeader(core, h, path));
  if (st !== c.OK) {
    const reason: FrameFailure = core.failure(st);
    if (reason === 'unsupported-version') {
      throw new WalError('UNSUPPORTED_VERSION', `${path}: segment written by an unsupported walcore format version`, { path, offset: 0, reason });
    }
    throw new WalError('CORRUPTED', `${path}: segment header is invalid (${reason})`, { path, offset: 0, reason });
  }
  const lo = global(core, 'segFirstLo');
  const hi = global(core, 'segFirstHi');
  const firstLsn = hi * TWO_32 + lo;
  if (hi >= 0x200000 || firstLsn !== nameLsn) {
    throw new WalError('CORRUPTED', `${path}: header says first LSN ${(BigInt(hi) << 32n) | BigInt(lo)}, the name says ${nameLsn}`, { path, offset: 0 });
  }
  return { salt: global(core, 'segSalt'), firstLsn, enc: global(core, 'segEnc'), keyId: global(core, 'segKeyId') };
}

/**
 * Make a segment file appear with exactly `bytes` (its header), replacing any
 * file of that name: write a temp file, fsync it, rename it into place. The
 * caller then syncs the directory. A failure before the rename leaves the
 * directory as it was (the temp file is removed, best effort) and throws
 * IO_ERROR; after a crash a leftover temp file is removed by the next open.
 */
export function writeSegmentFile(fs: FileSystem, dir: string, name: string, bytes: Uint8Array): void {
  const path = `${dir}/${name}`;
  const tmp = `${path}.tmp-${randomU32().toString(16).padStart(8, '0')}`;
  let h: FileHandle | undefined;
  try {
    h = fs.open(tmp, { write: true, create: true, exclusive: true });
    h.write(bytes, 0);
    h.sync();
    h.close();
    h = undefined;
    fs.rename(tmp, path);
  } catch (e) {
    try { h?.close(); } catch { /* reporting the first error */ }
    try { fs.remove(tmp); } catch { /* it may not exist; a leftover is removed on open */ }
    throw ioError('create segment', path, e);
  }
}

/** Remove temp files a crashed segment creation left (call while holding the lock). Returns how many. */
export function removeSegmentTemps(fs: FileSystem, dir: string, names: readonly string[]): number {
  let n = 0;
  for (const name of names) {
    if (!isSegmentTemp(name)) continue;
    try { fs.remove(`${dir}/${name}`); } catch (e) { throw ioError('remove', `${dir}/${name}`, e); }
    n++;
  }
  if (n > 0) {
    try { fs.syncDir(dir); } catch (e) { throw ioError('fsync directory', dir, e); }
  }
  return n;
}
