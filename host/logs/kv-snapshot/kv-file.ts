/**
 * The key-value snapshot log file (docs/FORMAT.md §12): header(kind 6)
 * then TYPE_KV_BATCH frames (and at most one trailing sync marker). This
 * module replays a file into an OpSink (inspect's) or a KvIndex and writes a whole fold as a
 * fresh file (compaction, export); kv-encode.ts frames the batches apply()
 * writes. Byte layout comes from the core (assembly/kv.ts); nothing here
 * re-implements it.
 */
import type { Core } from '../../core/core.js';
import { ioError } from '../../errors.js';
import { FrameScanner } from '../../codec/frame-scanner.js';
import type { FileHandle } from '../../fs/types.js';
import { KvIndex } from './kv-index.js';
import { EMPTY, FRAME_TARGET } from './kv-encode.js';

export const WHAT = 'key-value snapshot log';

const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }); // a leading U+FEFF is part of a key

/** Receives the ops replay decodes op by op (replayKvFile; inspect); the bytes are valid only during the call. */
export interface OpSink {
  put(key: string, keyLen: number, src: Uint8Array, verAt: number, verLen: number, valAt: number, valLen: number): void;
  delete(key: string, keyLen: number, src: Uint8Array, verAt: number, verLen: number): void;
}

export interface Replayed {
  scanner: FrameScanner;
  /** Cursor bytes of the last complete batch (empty: none). */
  cursor: Uint8Array;
  batches: number;
  /** Offset of the first frame of a batch whose last frame is missing, -1 if none. */
  pendingStart: number;
  /** Sequence of the last frame of the last complete batch. */
  seq: number;
}

/** A complete batch as replay applied it (for tools: host/logs/kv-snapshot/inspect.ts). */
export interface ReplayedBatch {
  /** Offset of its first frame. */
  offset: number;
  /** Offset just after its last frame. */
  end: number;
  /** Sequence of its last frame. */
  seq: number;
  /** Its cursor bytes (empty: WatchCursor.none). */
  cursor: Uint8Array;
}

/** Bytes of a file replayed before its key count is estimated (KvIndex.reserveKeys). */
const ESTIMATE_AFTER = 1 << 20;

/** Scanner flags for a KV file: strictly increasing frame sequence, ordered watermarks, descriptors. */
function scanFlags(core: Core): number {
  const c = core.c;
  return c.SCAN_SEQ_STRICT | c.SCAN_MARK | c.SCAN_EMIT;
}

/**
 * Validate every frame from the header on and fold complete batches into
 * `fold`. Stops at the first invalid frame (scanner.failure); a frame whose
 * CRC holds but whose content breaks §12 fails as 'decode-failure' (always
 * corruption). Ops of an unfinished batch are not applied (pendingStart).
 * `onBatch`, if given, is called after each complete batch has been applied
 * to `fold`; returning false stops the replay there (read-only tools).
 */
export function replayKvFile(core: Core, h: FileHandle, path: string, salt: number, size: number, fold: OpSink | KvIndex,
  onBatch?: (batch: ReplayedBatch) => boolean | void): Replayed {
  // A KvIndex folds whole payloads in the core (no JS per op); any other sink gets each op.
  const index = fold instanceof KvIndex ? fold : undefined;
  const sink = fold as OpSink;
  /** Payloads of an unfinished batch (KvIndex path). */
  let pendingPayloads: Uint8Array[] = [];
  const c = core.c;
  const HDR = c.FRAME_HEADER_SIZE;
  const scanner = new FrameScanner(core, h, path, salt, c.FILE_HEADER_SIZE, size, scanFlags(core));
  let cursor: Uint8Array = EMPTY;
  let batches = 0;
  let pendingStart = -1;
  let seq = 0;
  /** Ops of an unfinished batch: [kind, key, keyLen, version + value bytes, version length]. */
  let pending: Array<[number, string, number, Uint8Array, number]> = [];
  const PUT = c.KV_OP_PUT;
  /** Whether the index's table was sized from the keys of the file's first part (KvIndex path). */
  let sized = index === undefined;
  const body = size - c.FILE_HEADER_SIZE;
  try {
    for (let n = scanner.next(); n > 0; n = scanner.next()) {
      if (!sized && scanner.batchOffset - c.FILE_HEADER_SIZE >= ESTIMATE_AFTER) {
        // The keys so far, scaled to the whole file: one table of about the final size
        // instead of a dozen doublings, each rehashing every key (a tenth of a replay).
        sized = true;
        const read = scanner.batchOffset - c.FILE_HEADER_SIZE;
        if (read < body) index!.reserveKeys(index!.size * (body / read) * 1.05);
      }
      const frames = core.u32.slice(core.desc >>> 2, (core.desc + n * c.DESC_SIZE) >>> 2);
      const base = scanner.batchBase;
      const baseOffset = scanner.batchOffset;
      for (let i = 0; i < n; i++) {
        const d = i * (c.DESC_SIZE >>> 2);
        const rel = frames[d + (c.D_OFFSET >>> 2)]!;
        const len = frames[d + (c.D_LEN >>> 2)]!;
        const tf = frames[d + (c.D_TYPE >>> 2)]!;
        const type = tf & 0xff;
        const flags = (tf >>> 8) & 0xff;
        const offset = baseOffset + rel;
        if (type === c.TYPE_SYNC_MARK) {
          if (pendingStart >= 0) { scanner.fail(offset, 'decode-failure'); return done(); }
          continue;
        }
        if (type !== c.TYPE_KV_BATCH || (flags & ~c.KV_FLAG_MORE) !== 0) { scanner.fail(offset, 'decode-failure'); return done(); }
        const ptr = base + rel + HDR;
        if (core.x.decodeKvBatch(ptr, len) !== c.OK) { scanner.fail(offset, 'decode-failure'); return done(); }
        const count = core.out('kvCount');
        const cursorLen = core.out('kvCursorLen');
        const more = (flags & c.KV_FLAG_MORE) !== 0;
        if (more && cursorLen !== 0) { scanner.fail(offset, 'decode-failure'); return done(); }
        const grouped = more || pendingStart >= 0;
        if (more && pendingStart < 0) pendingStart = offset;
        let from = c.KV_BATCH_HEADER_SIZE + cursorLen;
        let left = index === undefined ? count : 0;
        if (index !== undefined) {
          if (grouped) {
            if (core.x.kvCheckKeys(ptr, len) !== c.OK) { scanner.fail(offset, 'decode-failure'); return done(); }
            pendingPayloads.push(core.u8.slice(ptr, ptr + len));
          } else if (!index.foldPayload(core.u8, ptr, len)) {
            scanner.fail(offset, 'decode-failure');
            return done();
          }
        }
        while (left > 0) {
          from = core.x.kvDescribe(ptr, from, c.DESC_CAPACITY, left);
          const m = core.out('kvDescribed');
          const u8 = core.u8;
          const u32 = core.u32;
          for (let j = 0; j < m; j++) {
            const e = (core.desc >>> 2) + j * (c.DESC_SIZE >>> 2);
            const opAt = ptr + u32[e + (c.KD_OFFSET >>> 2)]!;
            const klen = u32[e + (c.KD_KEY_LEN >>> 2)]!;
            const vlen = u32[e + (c.KD_VALUE_LEN >>> 2)]!;
            const kk = u32[e + (c.KD_KIND >>> 2)]!;
            const kind = kk & 0xff;
            const verLen = kk >>> 8;
            const q = opAt + c.KV_OP_HEADER_SIZE;
            let key: string;
            try {
              key = decoder.decode(u8.subarray(q, q + klen));
            } catch {
              scanner.fail(offset, 'decode-failure');
              return done();
            }
            const verAt = q + klen;
            const valLen = kind === PUT ? vlen : 0;
            if (grouped) pending.push([kind, key, klen, u8.slice(verAt, verAt + verLen + valLen), verLen]);
            else if (kind === PUT) sink.put(key, klen, u8, verAt, verLen, verAt + verLen, valLen);
            else sink.delete(key, klen, u8, verAt, verLen);
          }
          left -= m;
        }
        if (!more) {
          for (const [kind, key, klen, b, verLen] of pending) {
            if (kind === PUT) sink.put(key, klen, b, 0, verLen, verLen, b.length - verLen);
            else sink.delete(key, klen, b, 0, verLen);
          }
          pending = [];
          for (const b of pendingPayloads) index!.foldPayload(b, 0, b.length); // keys checked as each frame arrived
          pendingPayloads = [];
          const start = pendingStart >= 0 ? pendingStart : offset;
          pendingStart = -1;
          cursor = core.u8.slice(ptr + c.KV_BATCH_HEADER_SIZE, ptr + c.KV_BATCH_HEADER_SIZE + cursorLen);
          batches++;
          seq = frameSeq(frames, d, c.D_SEQ_LO, c.D_SEQ_HI);
          if (onBatch !== undefined && onBatch({ offset: start, end: offset + HDR + len, seq, cursor }) === false) return done();
        }
      }
    }
  } catch (e) {
    throw ioError('read', path, e);
  }
  return done();
  function done(): Replayed {
    return { scanner, cursor, batches, pendingStart, seq };
  }
}

function frameSeq(frames: Uint32Array, d: number, lo: number, hi: number): number {
  return frames[d + (hi >>> 2)]! * 0x100000000 + frames[d + (lo >>> 2)]!;
}

/**
 * Write a whole fold as a fresh file through `emit(bytes, at)`: the header
 * (kind 6, p0 = generation), the live entries in key order as independent
 * batch frames of about FRAME_TARGET bytes, the cursor in the last frame, then
 * a sync marker. Every frame's watermark is its own offset: the file is
 * published whole (fsync before rename), so damage anywhere is witnessed by
 * a later frame (CORRUPTED, never a torn tail). Returns where the next
 * frame goes (the marker's offset), the file size and the last sequence.
 * `emit` gets a view of core staging, valid only during the call.
 */
export function writeFold(core: Core, fold: KvIndex, cursor: Uint8Array, salt: number, generation: number,
  emit: (bytes: Uint8Array, at: number) => void): { end: number; size: number; seq: number } {
  const c = core.c;
  const HDR = c.FRAME_HEADER_SIZE;
  const BH = c.KV_BATCH_HEADER_SIZE;
  const S = core.staging;
  core.ensure(c.FILE_HEADER_SIZE);
  core.x.encodeFileHeader(S, c.KIND_KV_SNAPSHOT, salt, generation, 0, 0);
  emit(core.u8.subarray(S, S + c.FILE_HEADER_SIZE), 0);
  let pos = c.FILE_HEADER_SIZE;
  let seq = 0;
  // The frame being filled in staging: ops from HDR + BH on (the cursor, if any, is moved in by the last frame).
  let p = HDR + BH;
  let count = 0;
  const flush = (cur: Uint8Array): void => {
    if (cur.length > 0) {
      core.ensure(p + cur.length);
      core.u8.copyWithin(S + HDR + BH + cur.length, S + HDR + BH, S + p);
      core.u8.set(cur, S + HDR + BH);
      p += cur.length;
    }
    core.x.encodeKvBatchHeader(S + HDR, count, cur.length);
    seq++;
    core.x.encodeFrame(S, p - HDR, c.TYPE_KV_BATCH, salt, seq, 0, pos);
    emit(core.u8.subarray(S, S + p), pos);
    pos += p;
    p = HDR + BH;
    count = 0;
  };
  // Runs of ops in key order from the index, each about one frame's worth (the op that reaches FRAME_TARGET closes it).
  fold.emit(FRAME_TARGET - BH, (ops, n, last) => {
    core.ensure(p + ops.length);
    core.u8.set(ops, S + p);
    p += ops.length;
    count += n;
    if (!last) flush(EMPTY);
  });
  if (count > 0 || cursor.length > 0) flush(cursor);
  if (seq === 0) return { end: pos, size: pos, seq };
  core.x.encodeFrame(S, 0, c.TYPE_SYNC_MARK, salt, 0, 0, pos);
  emit(core.u8.subarray(S, S + HDR), pos);
  return { end: pos, size: pos + HDR, seq };
}
