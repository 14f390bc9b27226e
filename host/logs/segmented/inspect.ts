/**
 * Read-only inspection of a SegmentedWal directory for tools (the walcore
 * CLI): list the segments without touching the directory (open removes temp
 * files; this does not), check every header and every frame with the same
 * scanner and sub-header rules replay uses (SegmentScan, decodeRecords),
 * LSN continuity across segments, and stream records with their header
 * fields, decrypting only when a key ring is given (without one, encrypted
 * records still show their headers). Nothing is written and no lock is taken.
 */
import type { Core } from '../../core/core.js';
import { ioError } from '../../errors.js';
import type { FileHandle, FileSystem } from '../../fs/types.js';
import { join } from '../../platform/path.js';
import { quietly } from '../../lifecycle/lifecycle.js';
import { type KeyRing, keyOf, open as openSealed } from './encryption.js';
import { SegmentScan } from './scan.js';
import { sealedBlockViews } from './sealed-blocks-inspect.js';
import { type SegmentHeader, parseSegmentName, readSegmentHeader, segConsts } from './segment-file.js';
import { TWO_32 } from '../../core/u64.js';

export interface SegmentEntry { name: string; path: string; firstLsn: number }

/** The segments of `dir`, oldest first (nothing is removed). */
export function listSegmentFiles(fs: FileSystem, dir: string): SegmentEntry[] {
  let names: string[];
  try { names = fs.list(dir); } catch (e) { throw ioError('list', dir, e); }
  const out: SegmentEntry[] = [];
  for (const name of names) {
    const firstLsn = parseSegmentName(name, dir);
    if (firstLsn !== undefined) out.push({ name, path: join(dir, name), firstLsn });
  }
  return out.sort((a, b) => a.firstLsn - b.firstLsn);
}

export interface SegmentInspection extends SegmentEntry {
  size: number;
  header: SegmentHeader;
  /** Valid records (data frames); control frames (sync markers) are not counted. */
  records: number;
  /** LSN of the last valid record, firstLsn - 1 when none. */
  lastLsn: number;
  frames: number;
  validEnd: number;
  /** Offset of the sync marker that ends the segment's valid prefix, -1 when none. */
  syncMarker: number;
  failure: { offset: number; reason: string; torn: boolean; witness: number } | undefined;
}

function openRead(fs: FileSystem, path: string): FileHandle {
  try { return fs.open(path); } catch (e) { throw ioError('open', path, e); }
}

/** A read-only frame scan of the segment open at `h`: its header (BAD_HEADER / UNSUPPORTED_VERSION as open throws them), size and scan. */
function scanOf(core: Core, h: FileHandle, seg: SegmentEntry): { header: SegmentHeader; size: number; scan: SegmentScan } {
  const header = readSegmentHeader(core, h, seg.path, seg.firstLsn);
  let size: number;
  try { size = h.size(); } catch (e) { throw ioError('stat', seg.path, e); }
  return { header, size, scan: new SegmentScan(core, h, seg.path, header, size, { ring: null, ids: 'number' }) };
}

/**
 * Check one segment: its header (BAD_HEADER / UNSUPPORTED_VERSION thrown as
 * open throws them) and every frame. `progress(bytes)` after each chunk.
 */
export function inspectSegment(core: Core, fs: FileSystem, seg: SegmentEntry, progress?: (bytes: number) => void): SegmentInspection {
  const h = openRead(fs, seg.path);
  try {
    const { header, size, scan } = scanOf(core, h, seg);
    let records = 0;
    let last = scan.scanner.pos;
    try {
      while (scan.next(0, null)) { progress?.(scan.scanner.pos - last); last = scan.scanner.pos; }
    } catch (e) {
      throw ioError('read', seg.path, e);
    }
    progress?.(size - last);
    records = scan.lastLsn - (seg.firstLsn - 1);
    const c = core.c;
    let failure: SegmentInspection['failure'];
    if (scan.scanner.failure !== undefined) {
      const f = scan.scanner.failure;
      const { torn, witness } = scan.scanner.classify();
      failure = { offset: f.offset, reason: f.reason, torn, witness };
    }
    const endsWithMarker = scan.lastStart >= 0 && scan.lastType === c.TYPE_SYNC_MARK;
    return {
      ...seg, size, header, records, lastLsn: scan.lastLsn, frames: scan.scanner.frames,
      validEnd: failure ? failure.offset : scan.end,
      syncMarker: endsWithMarker ? scan.lastStart : -1, failure,
    };
  } finally {
    quietly(() => h.close());
  }
}

/** One record with its header fields; `payload` is undefined for an encrypted record without its key. */
export interface SegmentRecordView {
  segment: string;
  offset: number;
  lsn: number;
  recordType: number;
  tenantLo: number; tenantHi: number;
  vshardId: number;
  databaseLo: number; databaseHi: number;
  encrypted: boolean;
  keyId: number;
  /** Stored body bytes (for an encrypted record: ciphertext and tag). */
  bodyLength: number;
  mark: number;
  payload: Uint8Array | undefined;
  /** Why the payload is missing: 'no-key' or 'decrypt-failed'. */
  payloadError?: string;
}

/**
 * The records of one segment with LSN >= from, in order, in constant memory
 * (one scan chunk). Stops at the first invalid frame. A record that cannot
 * be decrypted is still yielded with its header and payloadError.
 */
export function* segmentRecords(core: Core, fs: FileSystem, seg: SegmentEntry, from: number, ring: KeyRing | null): Generator<SegmentRecordView, void, void> {
  const h = openRead(fs, seg.path);
  try {
    const { header, scan } = scanOf(core, h, seg);
    // sealed-blocks hook: format-2 segments hold block frames (FORMAT.md §S9).
    if (header.enc === core.c.SEG_ENC_SEALED_BLOCKS) { yield* sealedBlockViews(core, scan, from, ring); return; }
    const scanner = scan.scanner;
    const c = core.c;
    const k = segConsts(core);
    for (;;) {
      let n: number;
      try { n = scanner.next(); } catch (e) { throw ioError('read', seg.path, e); }
      if (n === 0) return;
      const base = scanner.batchBase;
      const offset0 = scanner.batchOffset;
      const views: SegmentRecordView[] = [];
      for (let w = 0; w < n; w += k.RD_CAPACITY) {
        const cnt = Math.min(k.RD_CAPACITY, n - w);
        const st = core.x.decodeRecords(base, w, cnt, header.enc, header.keyId);
        const good = st === c.OK ? cnt : core.out('outBadIndex') - w;
        const dv = core.dv;
        for (let j = 0; j < good; j++) {
          const d = core.desc + (w + j) * c.DESC_SIZE;
          const r = core.recDesc + j * k.RD_SIZE;
          const flags = dv.getUint32(r + k.RD_FLAGS, true);
          if (flags === k.RDF_CONTROL) continue;
          const lsn = dv.getUint32(d + c.D_SEQ_HI, true) * TWO_32 + dv.getUint32(d + c.D_SEQ_LO, true);
          if (lsn < from) continue;
          const rel = dv.getUint32(d + c.D_OFFSET, true);
          const body = base + dv.getUint32(r + k.RD_BODY, true);
          const bodyLen = dv.getUint32(r + k.RD_BODY_LEN, true);
          const encrypted = (flags & k.REC_FLAG_ENCRYPTED) !== 0;
          const keyId = dv.getUint32(r + k.RD_KEY_ID, true);
          const v: SegmentRecordView = {
            segment: seg.path, offset: offset0 + rel, lsn,
            recordType: dv.getUint32(r + k.RD_TYPE, true),
            tenantLo: dv.getUint32(r + k.RD_TENANT_LO, true), tenantHi: dv.getUint32(r + k.RD_TENANT_HI, true),
            vshardId: dv.getUint32(r + k.RD_VSHARD, true),
            databaseLo: dv.getUint32(r + k.RD_DATABASE_LO, true), databaseHi: dv.getUint32(r + k.RD_DATABASE_HI, true),
            encrypted, keyId, bodyLength: bodyLen, mark: dv.getFloat64(d + c.D_MARK, true), payload: undefined,
          };
          if (!encrypted) v.payload = core.u8.slice(body, body + bodyLen);
          else {
            const key = ring === null ? undefined : keyOf(ring, keyId);
            if (key === undefined) v.payloadError = 'no-key';
            else {
              const u8 = core.u8;
              const nonce = base + dv.getUint32(r + k.RD_NONCE, true);
              const aad = base + dv.getUint32(r + k.RD_AAD, true);
              v.payload = openSealed(key, u8.subarray(nonce, nonce + k.REC_NONCE_SIZE), u8.subarray(aad, body), u8.subarray(body, body + bodyLen));
              if (v.payload === undefined) v.payloadError = 'decrypt-failed';
            }
          }
          views.push(v);
        }
        if (st !== c.OK) {
          yield* views;
          return;
        }
      }
      yield* views;
    }
  } finally {
    quietly(() => h.close());
  }
}
