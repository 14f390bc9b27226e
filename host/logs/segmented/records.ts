/**
 * The write side of SegmentedWal below the class: making the WAL directory
 * durable, checking records, and encoding one record into core staging
 * (plain, or, with an encryption ring, staged as a plaintext inner record
 * that sealed-blocks.ts seals with its block when the buffer is written).
 */
import type { Core } from '../../core/core.js';
import type { KeyRing, NonceSource } from './encryption.js';
import { TWO_32, hi32, lo32, u32Arg, u64Arg } from '../../core/u64.js';
import type { SegConsts } from './segment-file.js';
import type { SegmentedAppendRecord as AppendRecord } from './types.js';
import { IDS_HINT } from './scan.js';
import { stageRecordAt, stagedSize } from './sealed-blocks.js';
import type { SequenceMode } from '../../core/u64.js';

export { ensureDir } from '../../lifecycle/atomic-file.js';

/**
 * Checked fields of records, FIELDS numbers per record at index i * FIELDS:
 * recordType, tenant lo, tenant hi, vshardId, database lo, database hi.
 * A Float64Array so the hot append path allocates nothing.
 */
export type Fields = Float64Array;
export const FIELDS = 6;
const RECORD_KEYS: ReadonlySet<string> = new Set(['recordType', 'tenantId', 'vshardId', 'databaseId', 'payload']);

export function checkRecord(r: AppendRecord, where: string, ids: SequenceMode, maxBody: number, out: Fields, at: number): void {
  if (r === null || typeof r !== 'object') throw new TypeError(`${where} must be an object`);
  // Like options objects, a record rejects unknown keys: a misspelt field is never silently dropped (issue 14.8).
  for (const key in r) {
    if (!RECORD_KEYS.has(key)) throw new TypeError(`${where}: unknown field '${key}' (allowed: ${[...RECORD_KEYS].join(', ')})`);
  }
  checkFields(r.recordType, r.tenantId, r.vshardId, r.databaseId, r.payload, `${where}.`, ids, maxBody, out, at);
}

/** Check appendBatch()'s records (TypeError/RangeError; none is appended on failure); returns their fields. */
export function checkBatch(records: readonly AppendRecord[], ids: SequenceMode, maxBody: number): Fields {
  if (!Array.isArray(records)) throw new TypeError('appendBatch: records must be an array');
  if (records.length === 0) throw new RangeError('appendBatch: records must not be empty');
  const parsed: Fields = new Float64Array(records.length * FIELDS);
  records.forEach((r, i) => checkRecord(r, `appendBatch: records[${i}]`, ids, maxBody, parsed, i * FIELDS));
  return parsed;
}

const isU32 = (v: unknown): v is number => typeof v === 'number' && v >= 0 && v <= 0xffffffff && Number.isInteger(v);
const isSafeU64 = (v: unknown): v is number => typeof v === 'number' && v >= 0 && Number.isSafeInteger(v);

/** Check one record's fields into out[at .. at + FIELDS) (TypeError/RangeError on bad input). */
export function checkFields(recordType: unknown, tenantId: unknown, vshardId: unknown, databaseId: unknown, payload: unknown,
  where: string, ids: SequenceMode, maxBody: number, out: Fields, at: number): void {
  out[at] = isU32(recordType) ? recordType : u32Arg(recordType, `${where}recordType`);
  // u32-sized ids (the common case) skip the double division of the u64 split.
  if (isU32(tenantId)) {
    out[at + 1] = tenantId;
    out[at + 2] = 0;
  } else if (isSafeU64(tenantId)) {
    out[at + 1] = tenantId % TWO_32;
    out[at + 2] = Math.floor(tenantId / TWO_32);
  } else {
    [out[at + 1], out[at + 2]] = u64Arg(tenantId, `${where}tenantId`, ids, IDS_HINT);
  }
  out[at + 3] = isU32(vshardId) ? vshardId : u32Arg(vshardId, `${where}vshardId`);
  if (isU32(databaseId)) {
    out[at + 4] = databaseId;
    out[at + 5] = 0;
  } else if (isSafeU64(databaseId)) {
    out[at + 4] = databaseId % TWO_32;
    out[at + 5] = Math.floor(databaseId / TWO_32);
  } else {
    [out[at + 4], out[at + 5]] = u64Arg(databaseId, `${where}databaseId`, ids, IDS_HINT);
  }
  if (!(payload instanceof Uint8Array)) throw new TypeError(`${where}payload must be a Uint8Array`);
  if (payload.length > maxBody) throw new RangeError(`${where}payload of ${payload.length} bytes exceeds the ${maxBody}-byte limit`);
}

/** Bytes one record of `len` payload bytes takes as a frame. */
export function frameSize(core: Core, k: SegConsts, len: number, encrypted: boolean): number {
  if (encrypted) return stagedSize(k, len); // sealed-blocks hook: staged as a plaintext inner record (FORMAT.md §S9)
  return core.c.FRAME_HEADER_SIZE + k.REC_HEADER_SIZE + len;
}

/**
 * Encode one record at staging offset `off` (room was ensured); returns its
 * size. With a ring, the record is staged as plaintext and sealed with its
 * block when the buffer is written (sealed-blocks.ts); format-1 records
 * (one GCM call each) are no longer written, only read.
 */
export function encodeRecordAt(core: Core, k: SegConsts, off: number, lsn: number, f: Fields, i: number, payload: Uint8Array,
  salt: number, mark: number, ring: KeyRing | null, _nonce: NonceSource): number {
  const x = core.x;
  const at = core.staging + off;
  const rt = f[i]!, tLo = f[i + 1]!, tHi = f[i + 2]!, vs = f[i + 3]!, dLo = f[i + 4]!, dHi = f[i + 5]!;
  if (ring === null) {
    core.u8.set(payload, at + core.c.FRAME_HEADER_SIZE + k.REC_HEADER_SIZE);
    return x.encodeRecord(at, payload.length, rt, tLo, tHi, vs, dLo, dHi, salt, lo32(lsn), hi32(lsn), mark);
  }
  // sealed-blocks hook: an encrypting WAL stages plaintext inner records; writeBuffered seals them in blocks (FORMAT.md §S9).
  return stageRecordAt(core, k, off, ring, payload, rt, tLo, tHi, vs, dLo, dHi);
}
