/**
 * Reads the records of one segment file in chunks, through FrameScanner and
 * the core's decodeRecords (docs/FORMAT.md §S4 valid-iff rules).
 * Used by recovery (validate, find the end) and by replay (materialise
 * records, decrypting them with the key ring).
 *
 * Memory: one scan chunk of core memory plus the records of one batch; the
 * caller drains each batch before asking for the next, so replay memory does
 * not grow with the log.
 */
import type { Core } from '../../core/core.js';
import { open as openSealed, type KeyRing, keyCheckOf, keyOf } from './encryption.js';
import { WalError } from '../../errors.js';
import { FrameScanner, SCAN_CHUNK } from '../../codec/frame-scanner.js';
import type { FileHandle } from '../../fs/types.js';
import {type SegmentHeader, segConsts } from './segment-file.js';
import { SAFE_HI_LIMIT, type SequenceMode, TWO_32, fromHalves, hi32, lo32 } from '../../core/u64.js';
import { scanSealedBlocks } from './sealed-blocks.js';

export type { SegmentedRecord, WalRecord } from './types.js';
import type { SegmentedRecord as WalRecord } from './types.js';

/** Bytes of neighbouring plain payloads that share one private copy. */
export const COPY_SPAN = 256 << 10;

export interface ScanContext {
  ring: KeyRing | null;
  ids: SequenceMode;
}

/** The option that lifts the 2^53 limit, under its name and its deprecated alias. */
export const IDS_HINT = "{ u64: 'bigint' } (formerly { ids: 'bigint' })";
const u64 = (lo: number, hi: number, mode: SequenceMode, path: string): number | bigint => fromHalves(lo, hi, mode, path, IDS_HINT);

export class SegmentScan {
  readonly scanner: FrameScanner;
  /** LSN of the last valid record (firstLsn - 1 when none yet). */
  lastLsn: number;
  /** File offset just after the last valid frame. */
  end: number;
  /** Start and type of the last valid frame (-1 when none). */
  lastStart = -1;
  lastType = 0;

  constructor(
    private readonly core: Core,
    h: FileHandle,
    readonly path: string,
    readonly header: SegmentHeader,
    size: number,
    private readonly ctx: ScanContext,
    chunk = SCAN_CHUNK,
  ) {
    const c = core.c;
    this.scanner = new FrameScanner(core, h, path, header.salt, c.FILE_HEADER_SIZE, size,
      // sealed-blocks hook: a block's seq is its last LSN, so blocks only increase; scanSealedBlocks checks contiguity.
      c.SCAN_EMIT | (header.enc === c.SEG_ENC_SEALED_BLOCKS ? c.SCAN_SEQ_STRICT : c.SCAN_SEQ_NEXT) | c.SCAN_MARK, chunk);
    const prev = header.firstLsn - 1;
    this.scanner.seqLo = lo32(prev);
    this.scanner.seqHi = hi32(prev);
    this.lastLsn = prev;
    this.end = c.FILE_HEADER_SIZE;
  }

  /**
   * Scan the next batch of frames. Records with LSN >= `from` are appended to
   * `out` when it is given, until `out` holds `room` records: skipped records
   * (below `from` or past `room`) are validated but never decoded. Returns false once the segment is finished (at
   * its end, or at an invalid frame: see scanner.failure). Throws UNKNOWN_KEY
   * or DECRYPT_FAILED for an encrypted record that cannot be opened.
   */
  next(from: number, out: WalRecord[] | null, room = Infinity): boolean {
    const core = this.core;
    // sealed-blocks hook: format-2 segments hold block frames (FORMAT.md §S9, host/logs/segmented/sealed-blocks.ts).
    if (this.header.enc === core.c.SEG_ENC_SEALED_BLOCKS) return scanSealedBlocks(this, core, this.ctx, from, out, room);
    const c = core.c;
    const k = segConsts(core);
    const x = core.x;
    const n = this.scanner.next();
    if (n === 0) return false;
    const base = this.scanner.batchBase;
    const offset0 = this.scanner.batchOffset;
    const bigint = this.ctx.ids === 'bigint';
    // Descriptors are read through the u32 view (word indexes), not a DataView:
    // this loop runs once per record and was a third of replay's time.
    const FH = c.FRAME_HEADER_SIZE;
    const dW = c.DESC_SIZE >>> 2, dOff = c.D_OFFSET >>> 2, dLen = c.D_LEN >>> 2, dType = c.D_TYPE >>> 2, dLo = c.D_SEQ_LO >>> 2, dHi = c.D_SEQ_HI >>> 2;
    const rW = k.RD_SIZE >>> 2, rFlags = k.RD_FLAGS >>> 2, rBody = k.RD_BODY >>> 2, rLen = k.RD_BODY_LEN >>> 2, rType = k.RD_TYPE >>> 2;
    const rTLo = k.RD_TENANT_LO >>> 2, rTHi = k.RD_TENANT_HI >>> 2, rVs = k.RD_VSHARD >>> 2, rDLo = k.RD_DATABASE_LO >>> 2, rDHi = k.RD_DATABASE_HI >>> 2;
    const CONTROL = k.RDF_CONTROL >>> 0;
    let copy: Uint8Array | undefined;
    let copyBase = 0;
    let copyEnd = 0;
    for (let w = 0; w < n; w += k.RD_CAPACITY) {
      const cnt = Math.min(k.RD_CAPACITY, n - w);
      const st = x.decodeRecords(base, w, cnt, this.header.enc, this.header.keyId);
      const good = st === c.OK ? cnt : core.out('outBadIndex') - w;
      const u8 = core.u8;
      const u32 = core.u32;
      const desc0 = (core.desc >>> 2) + w * dW;
      const rec0 = core.recDesc >>> 2;
      const lastDesc = desc0 + (good - 1) * dW;
      const windowEnd = good > 0 ? base + u32[lastDesc + dOff]! + FH + u32[lastDesc + dLen]! : base;
      for (let j = 0; j < good; j++) {
        const d = desc0 + j * dW;
        const r = rec0 + j * rW;
        const rel = u32[d + dOff]!;
        this.lastStart = offset0 + rel;
        this.lastType = u32[d + dType]! & 0xff;
        this.end = this.lastStart + FH + u32[d + dLen]!;
        const flags = u32[r + rFlags]!;
        if (flags === CONTROL) continue;
        const lsn = u32[d + dHi]! * TWO_32 + u32[d + dLo]!;
        this.lastLsn = lsn;
        if (out === null || lsn < from || out.length >= room) continue;
        const body = base + u32[r + rBody]!;
        const bodyLen = u32[r + rLen]!;
        let payload: Uint8Array;
        if (flags === 0) {
          if (copy === undefined || body + bodyLen > copyEnd) {
            copyBase = body;
            copy = u8.slice(body, Math.min(windowEnd, body + Math.max(COPY_SPAN, bodyLen)));
            copyEnd = body + copy.length;
          }
          payload = copy.subarray(body - copyBase, body - copyBase + bodyLen);
        } else {
          payload = this.decrypt(u8, base, r << 2, body, bodyLen, this.lastStart);
        }
        const tHi = u32[r + rTHi]!;
        const dbHi = u32[r + rDHi]!;
        out.push({
          lsn,
          recordType: u32[r + rType]!,
          // Small ids (the common case) skip fromHalves' mode and range checks.
          tenantId: bigint || tHi >= SAFE_HI_LIMIT ? u64(u32[r + rTLo]!, tHi, this.ctx.ids, this.path) : tHi * TWO_32 + u32[r + rTLo]!,
          vshardId: u32[r + rVs]!,
          databaseId: bigint || dbHi >= SAFE_HI_LIMIT ? u64(u32[r + rDLo]!, dbHi, this.ctx.ids, this.path) : dbHi * TWO_32 + u32[r + rDLo]!,
          payload,
        });
      }
      if (st !== c.OK) {
        const bad = core.out('outBadIndex');
        this.scanner.fail(offset0 + u32[(core.desc >>> 2) + bad * dW + dOff]!, 'decode-failure');
        return false;
      }
    }
    return true;
  }

  private decrypt(u8: Uint8Array, base: number, r: number, body: number, bodyLen: number, offset: number): Uint8Array {
    const core = this.core;
    const k = segConsts(core);
    const dv = core.dv;
    const keyId = dv.getUint32(r + k.RD_KEY_ID, true);
    const key = this.ctx.ring === null ? undefined : keyOf(this.ctx.ring, keyId);
    if (key === undefined) {
      throw new WalError('UNKNOWN_KEY', `${this.path}: record at offset ${offset} is encrypted with key id ${keyId}, which the encryption ring does not hold`, { path: this.path, offset });
    }
    const nonce = base + dv.getUint32(r + k.RD_NONCE, true);
    const aad = base + dv.getUint32(r + k.RD_AAD, true);
    const plain = openSealed(key, u8.subarray(nonce, nonce + k.REC_NONCE_SIZE), u8.subarray(aad, body), u8.subarray(body, body + bodyLen));
    if (plain === undefined) {
      throw new WalError('DECRYPT_FAILED', `${this.path}: record at offset ${offset} failed authentication (wrong key or tampered data)`, { path: this.path, offset });
    }
    return plain;
  }
}

/**
 * Checks of a segment header against the ring before any record is read:
 * a plaintext segment while a ring is set is refused unless allowPlaintext
 * (a downgrade: whoever can write the directory could slip in plaintext
 * records); an encrypted segment whose header carries a key check value
 * (FORMAT.md §S2) must match the ring's key of that id, else DECRYPT_FAILED.
 */
export function checkSegmentKey(path: string, header: SegmentHeader, ctx: { ring: KeyRing | null; allowPlaintext: boolean }): void {
  const ring = ctx.ring;
  if (ring === null) return;
  if (header.enc === 0) {
    if (ctx.allowPlaintext) return;
    throw new WalError('DECRYPT_FAILED', `${path}: a plaintext segment while an encryption ring is set (refused: it could be a downgrade); open with { allowPlaintext: true } to read plaintext segments written before encryption was switched on`, { path, offset: 0 });
  }
  if (!ring.has(header.keyId) || !header.keyCheck) return;
  if (!sameCheck(keyCheckOf(ring, header.keyId), header.keyCheck)) {
    throw new WalError('DECRYPT_FAILED', `${path}: key id ${header.keyId} of the encryption ring is not the key this segment was written with (its key check value differs)`, { path, offset: 0 });
  }
}

const sameCheck = (a: readonly [number, number], b: readonly [number, number]): boolean => a[0] === b[0] && a[1] === b[1];
