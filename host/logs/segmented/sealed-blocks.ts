/**
 * Sealed blocks (docs/FORMAT.md §S9, segment format 2): an encrypting
 * SegmentedWal stages its records as plaintext inner records and seals them
 * when the buffer is written, one AES-256-GCM call per block of up to 64 KiB
 * and 1024 records, instead of one call per record (format 1, whose
 * per-call cipher setup capped encrypted appends at ~175k records/s).
 *
 * Write side: stageRecordAt() (from records.ts encodeRecordAt) and
 * sealStaged() (from SegmentedWal.writeBuffered). The staged plaintext is
 * never encrypted in place: the sealed frames go to core memory after it,
 * so a write that fails and is retried re-seals the same plaintext under a
 * fresh nonce (NonceSource.take never hands out a nonce twice).
 *
 * Read side: scanSealedBlocks() (from SegmentScan.next) validates block
 * frames (FORMAT.md §S9 rules 1-3, no key needed) and, for replay, decrypts
 * each block with one call and decodes its inner records in the core.
 */
import { Core } from '../../core/core.js';
import { type KeyRing, type NonceSource, keyOf, openBlock, sealInto } from './encryption.js';
import { WalError } from '../../errors.js';
import { TWO_32, hi32, lo32 } from '../../core/u64.js';
import type { SegConsts } from './segment-file.js';
import type { SegmentScan, ScanContext, WalRecord } from './scan.js';
import { fromHalves } from '../../core/u64.js';

const IDS_HINT = "{ u64: 'bigint' } (formerly { ids: 'bigint' })";

/** Bytes one record of `len` payload bytes takes staged (its inner record). */
export function stagedSize(k: SegConsts, len: number): number {
  return k.INNER_HEADER_SIZE + len;
}

/** Stage one record as a plaintext inner record at staging offset `off` (room was ensured); returns its size. */
export function stageRecordAt(core: Core, k: SegConsts, off: number, ring: KeyRing, payload: Uint8Array,
  rt: number, tLo: number, tHi: number, vs: number, dLo: number, dHi: number): number {
  // The key is used only when the block is sealed; a destroyed ring still fails the append itself.
  if (ring.destroyed) throw new TypeError('KeyRing: the ring was destroyed');
  const at = core.staging + off;
  core.u8.set(payload, at + k.INNER_HEADER_SIZE);
  return core.x.encodeInnerRecord(at, payload.length, rt, tLo, tHi, vs, dLo, dHi);
}

/**
 * Seal the `len` bytes of inner records staged at the start of core
 * staging, whose first record has LSN `firstLsn`, into block frames for a
 * segment with `salt`, watermark `mark`, under the ring's current key.
 * Returns a view of the frames in core memory, valid until the core is next
 * used; the staged plaintext is left as it was.
 */
export function sealStaged(core: Core, k: SegConsts, len: number, firstLsn: number, salt: number, mark: number,
  ring: KeyRing, nonce: NonceSource): Uint8Array {
  const key = keyOf(ring, ring.currentKeyId);
  if (key === undefined) throw new TypeError('SegmentedWal: the encryption ring lost its current key');
  const out0 = (len + 7) & ~7;
  let at = 0;
  let outEnd = out0;
  let lsn = firstLsn;
  const x = core.x;
  while (at < len) {
    const n = x.splitBlock(core.staging + at, len - at) >>> 0;
    const count = core.out('outBlockCount');
    if (n === 0) throw new Error('sealed blocks: the staged records are malformed (a bug)');
    core.ensure(outEnd + k.BLOCK_BODY + n + k.BLOCK_TAG_SIZE);
    const last = lsn + count - 1;
    const f = core.staging + outEnd;
    const [n0, n1, n2] = nonce.take();
    const size = x.encodeBlockHeaders(f, n, count, salt, lo32(last), hi32(last), mark, n0, n1, n2);
    const u8 = core.u8;
    const body = f + k.BLOCK_BODY;
    const plain = core.staging + at;
    sealInto(key, u8.subarray(f + k.B_NONCE, f + k.B_NONCE + k.BLOCK_NONCE_SIZE), u8.subarray(f + k.BLOCK_AAD_START, body),
      u8.subarray(plain, plain + n), u8.subarray(body, body + n + k.BLOCK_TAG_SIZE));
    x.sealBlock(f);
    at += n;
    outEnd += size;
    lsn = last + 1;
  }
  return core.u8.subarray(core.staging + out0, core.staging + outEnd);
}

/** A core for decoding decrypted blocks (its staging holds one block's plaintext at a time; used synchronously). */
let parseCore: Core | undefined;

/**
 * Records decrypted per call at most (about): a scan chunk (4 MiB) holds
 * some 32k records of 100 B, and handing them all out in one batch keeps
 * them alive across young-generation GCs (measured: GC then dominates
 * encrypted replay). So a call stops after this many and the next one
 * resumes in the same scanner batch.
 */
const BATCH_RECORDS = 4096;

/** Where a scan stands in its scanner batch (the batch's frames stay in core memory until the next scanner.next()). */
interface Pending { n: number; next: number; base: number; offset0: number }
const pending = new WeakMap<SegmentScan, Pending>();

/**
 * SegmentScan.next for a format-2 segment: take the next block frames,
 * check FORMAT.md §S9 rules 1-3 and, when `out` is given, decrypt the blocks
 * holding LSNs >= from and push their records until `out` holds `room`.
 * Returns false once the segment is finished (end, or an invalid frame:
 * scan.scanner.failure). Throws UNKNOWN_KEY / DECRYPT_FAILED.
 */
export function scanSealedBlocks(scan: SegmentScan, core: Core, ctx: ScanContext, from: number, out: WalRecord[] | null, room: number): boolean {
  const c = core.c;
  const k = core.c as SegConsts;
  const x = core.x;
  let p = pending.get(scan);
  if (p === undefined || p.next >= p.n) {
    const n = scan.scanner.next();
    if (n === 0) { pending.delete(scan); return false; }
    p = { n, next: 0, base: scan.scanner.batchBase, offset0: scan.scanner.batchOffset };
    pending.set(scan, p);
  }
  const { n, base, offset0 } = p;
  const start = out === null ? 0 : out.length;
  while (p.next < n) {
    const w = p.next;
    const cnt = Math.min(k.BD_CAPACITY, n - w);
    const st = x.decodeBlocks(base, w, cnt, lo32(scan.lastLsn), hi32(scan.lastLsn));
    const good = st === c.OK ? cnt : core.out('outBlockBad') - w;
    const blockDesc = x.blockDescPtr();
    for (let j = 0; j < good; j++) {
      const dv = core.dv;
      const d = core.desc + (w + j) * c.DESC_SIZE;
      const b = blockDesc + j * k.BD_SIZE;
      const rel = dv.getUint32(d + c.D_OFFSET, true);
      const len = dv.getUint32(d + c.D_LEN, true);
      scan.lastStart = offset0 + rel;
      scan.lastType = dv.getUint32(d + c.D_TYPE, true) & 0xff;
      scan.end = scan.lastStart + c.FRAME_HEADER_SIZE + len;
      p.next = w + j + 1;
      if (dv.getUint32(b + k.BD_FLAGS, true) === k.RDF_CONTROL) continue;
      const count = dv.getUint32(b + k.BD_COUNT, true);
      const first = dv.getUint32(b + k.BD_FIRST_HI, true) * TWO_32 + dv.getUint32(b + k.BD_FIRST_LO, true);
      scan.lastLsn = first + count - 1;
      if (out === null || scan.lastLsn < from || out.length >= room) continue;
      const plain = openBlockAt(scan, core, ctx, base + rel, len, scan.lastStart);
      if (!pushRecords(scan, ctx, plain, count, first, from, out, room)) {
        scan.scanner.fail(scan.lastStart, 'decode-failure');
        pending.delete(scan);
        return false;
      }
      if (out.length - start >= BATCH_RECORDS) return true; // resume at p.next on the next call
    }
    if (st !== c.OK) {
      scan.scanner.fail(offset0 + core.dv.getUint32(core.desc + core.out('outBlockBad') * c.DESC_SIZE + c.D_OFFSET, true), 'decode-failure');
      pending.delete(scan);
      return false;
    }
  }
  return true;
}

/** Decrypt the block frame at core address `f` (payload `len` bytes); the plaintext is a copy the caller owns. */
function openBlockAt(scan: SegmentScan, core: Core, ctx: ScanContext, f: number, len: number, offset: number): Uint8Array {
  const k = core.c as SegConsts;
  const keyId = scan.header.keyId;
  const key = ctx.ring === null ? undefined : keyOf(ctx.ring, keyId);
  if (key === undefined) {
    throw new WalError('UNKNOWN_KEY', `${scan.path}: block at offset ${offset} is encrypted with key id ${keyId}, which the encryption ring does not hold`, { path: scan.path, offset });
  }
  const u8 = core.u8;
  const body = f + k.BLOCK_BODY;
  const plain = openBlock(key, u8.subarray(f + k.B_NONCE, f + k.B_NONCE + k.BLOCK_NONCE_SIZE), u8.subarray(f + k.BLOCK_AAD_START, body),
    u8.subarray(body, f + core.c.FRAME_HEADER_SIZE + len));
  if (plain === undefined) {
    throw new WalError('DECRYPT_FAILED', `${scan.path}: block at offset ${offset} failed authentication (wrong key or tampered data); its records are refused`, { path: scan.path, offset });
  }
  return plain;
}

/** Copy a block's plaintext into the parse core and decode its `count` inner records there (descriptors at recDesc); undefined if the layout is broken. */
function decodedInner(plain: Uint8Array, count: number): Core | undefined {
  const pc = parseCore ??= new Core();
  pc.ensure(plain.length);
  pc.u8.set(plain, pc.staging);
  return pc.x.decodeInnerRecords(pc.staging, plain.length, count) === pc.c.OK ? pc : undefined;
}

/** Decode a block's inner records (in the parse core) and push those with LSN >= from; false if the layout is broken. */
function pushRecords(scan: SegmentScan, ctx: ScanContext, plain: Uint8Array, count: number, first: number,
  from: number, out: WalRecord[], room: number): boolean {
  const pc = decodedInner(plain, count);
  if (pc === undefined) return false;
  const k = pc.c as SegConsts;
  const dv = pc.dv;
  const ids = ctx.ids;
  for (let i = Math.max(0, from - first); i < count && out.length < room; i++) {
    const r = pc.recDesc + i * k.RD_SIZE;
    const body = dv.getUint32(r + k.RD_BODY, true);
    out.push({
      lsn: first + i,
      recordType: dv.getUint32(r + k.RD_TYPE, true),
      tenantId: fromHalves(dv.getUint32(r + k.RD_TENANT_LO, true), dv.getUint32(r + k.RD_TENANT_HI, true), ids, scan.path, IDS_HINT),
      vshardId: dv.getUint32(r + k.RD_VSHARD, true),
      databaseId: fromHalves(dv.getUint32(r + k.RD_DATABASE_LO, true), dv.getUint32(r + k.RD_DATABASE_HI, true), ids, scan.path, IDS_HINT),
      payload: plain.subarray(body, body + dv.getUint32(r + k.RD_BODY_LEN, true)),
    });
  }
  return true;
}

/** One inner record of a decrypted block, for tools (inspect.ts): fields and where its body lies in the plaintext. */
export interface InnerRecord {
  recordType: number; vshardId: number;
  tenantLo: number; tenantHi: number; databaseLo: number; databaseHi: number;
  body: number; bodyLen: number;
}

/** The inner records of a decrypted block (FORMAT.md §S9 rule 4), or undefined when its layout is broken. */
export function decodeInner(plain: Uint8Array, count: number): InnerRecord[] | undefined {
  const pc = decodedInner(plain, count);
  if (pc === undefined) return undefined;
  const k = pc.c as SegConsts;
  const dv = pc.dv;
  const out: InnerRecord[] = [];
  for (let i = 0; i < count; i++) {
    const r = pc.recDesc + i * k.RD_SIZE;
    out.push({
      recordType: dv.getUint32(r + k.RD_TYPE, true), vshardId: dv.getUint32(r + k.RD_VSHARD, true),
      tenantLo: dv.getUint32(r + k.RD_TENANT_LO, true), tenantHi: dv.getUint32(r + k.RD_TENANT_HI, true),
      databaseLo: dv.getUint32(r + k.RD_DATABASE_LO, true), databaseHi: dv.getUint32(r + k.RD_DATABASE_HI, true),
      body: dv.getUint32(r + k.RD_BODY, true), bodyLen: dv.getUint32(r + k.RD_BODY_LEN, true),
    });
  }
  return out;
}
