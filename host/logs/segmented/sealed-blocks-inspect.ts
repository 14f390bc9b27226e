/**
 * Tools' view (inspect.ts segmentRecords, the walcore CLI's dump) of a
 * format-2 segment (docs/FORMAT.md §S9): one view per record of every
 * block. With the key the block is decrypted and each record shows its
 * fields and payload; without it (or when the tag fails) only what the
 * block frame shows in plaintext is known: LSN, block offset, watermark and
 * key id. The record fields are inside the ciphertext and read as 0, with
 * payloadError 'no-key' or 'decrypt-failed'.
 */
import type { Core } from '../../core/core.js';
import { ioError } from '../../errors.js';
import { type KeyRing, keyOf, openBlock } from './encryption.js';
import { type InnerRecord, decodeInner } from './sealed-blocks.js';
import type { SegmentScan } from './scan.js';
import type { SegConsts } from './segment-file.js';
import type { SegmentRecordView } from './inspect.js';
import { TWO_32, hi32, lo32 } from '../../core/u64.js';

/** Views of the records with LSN >= from, in order; stops at the first invalid frame. */
export function* sealedBlockViews(core: Core, scan: SegmentScan, from: number, ring: KeyRing | null): Generator<SegmentRecordView, void, void> {
  const c = core.c;
  const k = c as SegConsts;
  const x = core.x;
  const scanner = scan.scanner;
  const keyId = scan.header.keyId;
  const key = ring === null ? undefined : keyOf(ring, keyId);
  let prev = scan.header.firstLsn - 1;
  for (;;) {
    let n: number;
    try { n = scanner.next(); } catch (e) { throw ioError('read', scan.path, e); }
    if (n === 0) return;
    const base = scanner.batchBase;
    const offset0 = scanner.batchOffset;
    const views: SegmentRecordView[] = [];
    for (let w = 0; w < n; w += k.BD_CAPACITY) {
      const cnt = Math.min(k.BD_CAPACITY, n - w);
      const st = x.decodeBlocks(base, w, cnt, lo32(prev), hi32(prev));
      const good = st === c.OK ? cnt : core.out('outBlockBad') - w;
      for (let j = 0; j < good; j++) {
        const dv = core.dv;
        const d = core.desc + (w + j) * c.DESC_SIZE;
        const b = x.blockDescPtr() + j * k.BD_SIZE;
        if (dv.getUint32(b + k.BD_FLAGS, true) === k.RDF_CONTROL) continue;
        const count = dv.getUint32(b + k.BD_COUNT, true);
        const first = dv.getUint32(b + k.BD_FIRST_HI, true) * TWO_32 + dv.getUint32(b + k.BD_FIRST_LO, true);
        prev = first + count - 1;
        if (prev < from) continue;
        const rel = dv.getUint32(d + c.D_OFFSET, true);
        const len = dv.getUint32(d + c.D_LEN, true);
        const mark = dv.getFloat64(d + c.D_MARK, true);
        let plain: Uint8Array | undefined;
        let inner: InnerRecord[] | undefined;
        let payloadError: string | undefined = 'no-key';
        if (key !== undefined) {
          const f = base + rel;
          const u8 = core.u8;
          plain = openBlock(key, u8.subarray(f + k.B_NONCE, f + k.B_NONCE + k.BLOCK_NONCE_SIZE), u8.subarray(f + k.BLOCK_AAD_START, f + k.BLOCK_BODY),
            u8.subarray(f + k.BLOCK_BODY, f + c.FRAME_HEADER_SIZE + len));
          inner = plain === undefined ? undefined : decodeInner(plain, count);
          payloadError = inner === undefined ? 'decrypt-failed' : undefined;
        }
        for (let i = Math.max(0, from - first); i < count; i++) {
          const r = inner?.[i];
          const v: SegmentRecordView = {
            segment: scan.path, offset: offset0 + rel, lsn: first + i,
            recordType: r?.recordType ?? 0, tenantLo: r?.tenantLo ?? 0, tenantHi: r?.tenantHi ?? 0, vshardId: r?.vshardId ?? 0,
            databaseLo: r?.databaseLo ?? 0, databaseHi: r?.databaseHi ?? 0,
            encrypted: true, keyId, bodyLength: r?.bodyLen ?? 0, mark,
            payload: r === undefined ? undefined : plain!.slice(r.body, r.body + r.bodyLen),
          };
          if (payloadError !== undefined) v.payloadError = payloadError;
          views.push(v);
        }
      }
      if (st !== c.OK) { yield* views; return; }
    }
    yield* views;
  }
}
