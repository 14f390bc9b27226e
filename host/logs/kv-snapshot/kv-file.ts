/**
 * The key-value snapshot log file (docs/FORMAT.md §12): header(kind 6)
 * then TYPE_KV_BATCH frames (and at most one trailing sync marker). This
 * module validates input into ops, frames batches into core staging, replays
 * a file into a Fold, and writes a whole fold as a fresh file (compaction,
 * export). Byte layout comes from the core (assembly/kv.ts); nothing here
 * re-implements it.
 */
import type { Core } from '../../core/core.js';
import { ioError } from '../../errors.js';
import { FrameScanner } from '../../codec/frame-scanner.js';
import type { FileHandle } from '../../fs/types.js';
import type { Fold } from './fold.js';
import type { KvUpdate } from './types.js';

export const WHAT = 'key-value snapshot log';

/** Payload bytes per frame when a batch or a fold is split (each frame stays far below MAX_FRAME_PAYLOAD). */
export const FRAME_TARGET = 1 << 20;

export interface Op {
  kind: number;
  key: string;
  keyBytes: Uint8Array;
  version: Uint8Array;
  value: Uint8Array;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });
const EMPTY = new Uint8Array(0);

/** Whether `s` has no lone surrogate (so it is exactly representable in UTF-8). */
export function isWellFormed(s: string): boolean {
  if (!/[\uD800-\uDFFF]/.test(s)) return true;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdfff) continue;
    if (c >= 0xdc00) return false;
    const d = s.charCodeAt(i + 1);
    if (!(d >= 0xdc00 && d <= 0xdfff)) return false;
    i++;
  }
  return true;
}

/** Check a key argument (TypeError: not a string; RangeError: lone surrogate or too long). Returns its UTF-8 bytes. */
export function keyBytes(core: Core, where: string, key: unknown): Uint8Array {
  if (typeof key !== 'string') throw new TypeError(`${where}: key must be a string, got ${key === null ? 'null' : typeof key}`);
  if (!isWellFormed(key)) throw new RangeError(`${where}: key ${JSON.stringify(key)} is not valid Unicode (a lone surrogate has no UTF-8 form)`);
  const b = encoder.encode(key);
  if (b.length > core.c.KV_MAX_KEY) throw new RangeError(`${where}: key of ${b.length} UTF-8 bytes exceeds the ${core.c.KV_MAX_KEY}-byte limit`);
  return b;
}

/** Check a prefix argument (a string that is valid Unicode). */
export function prefixArg(where: string, prefix: unknown): string {
  if (typeof prefix !== 'string') throw new TypeError(`${where}: prefix must be a string, got ${prefix === null ? 'null' : typeof prefix}`);
  if (!isWellFormed(prefix)) throw new RangeError(`${where}: prefix is not valid Unicode (a lone surrogate)`);
  return prefix;
}

/** Validate a batch into ops; throws TypeError/RangeError before anything is written. */
export function prepareBatch(core: Core, where: string, batch: unknown): Op[] {
  if (!Array.isArray(batch)) throw new TypeError(`${where}: batch must be an array of { type: 'put' | 'delete', key, ... }`);
  const c = core.c;
  const ops: Op[] = new Array(batch.length);
  for (let i = 0; i < batch.length; i++) {
    const u = batch[i] as KvUpdate | null;
    const at = `${where}: batch[${i}]`;
    if (u === null || typeof u !== 'object') throw new TypeError(`${at} must be an object`);
    const kb = keyBytes(core, at, u.key);
    const version = u.version ?? EMPTY;
    if (!(version instanceof Uint8Array)) throw new TypeError(`${at}.version must be a Uint8Array`);
    if (version.length > c.KV_MAX_VERSION) throw new RangeError(`${at}.version of ${version.length} bytes exceeds the ${c.KV_MAX_VERSION}-byte limit`);
    if (u.type === 'put') {
      const value = u.value;
      if (!(value instanceof Uint8Array)) throw new TypeError(`${at}.value must be a Uint8Array`);
      if (value.length > c.KV_MAX_VALUE) throw new RangeError(`${at}.value of ${value.length} bytes exceeds the ${c.KV_MAX_VALUE}-byte limit`);
      ops[i] = { kind: c.KV_OP_PUT, key: u.key, keyBytes: kb, version, value };
    } else if (u.type === 'delete') {
      if ((u as { value?: unknown }).value !== undefined) throw new TypeError(`${at}: a delete has no value`);
      ops[i] = { kind: c.KV_OP_DELETE, key: u.key, keyBytes: kb, version, value: EMPTY };
    } else {
      throw new TypeError(`${at}.type must be 'put' or 'delete', got ${JSON.stringify((u as { type?: unknown }).type)}`);
    }
  }
  return ops;
}

function opSize(core: Core, op: Op): number {
  return core.c.KV_OP_HEADER_SIZE + op.keyBytes.length + op.version.length + op.value.length;
}

export interface FrameOptions {
  salt: number;
  /** Sequence of the first frame (halves kept as a number: < 2^53). */
  seq: number;
  /** Watermark of every frame, or 'own': each frame's own file offset (a file published whole by the atomic recipe). */
  mark: number | 'own';
  /** File offset of staging offset 0 (for 'own' marks). */
  base: number;
  /** Frames of one batch: KV_FLAG_MORE on all but the last (apply); false: independent frames (a fold). */
  group: boolean;
}

/**
 * Frame `ops` (and `cursor` in the last frame) into core staging from
 * offset `off`, split into frames of about FRAME_TARGET payload bytes.
 * Returns the bytes and frames written.
 */
export function encodeFrames(core: Core, off: number, ops: readonly Op[], cursor: Uint8Array, o: FrameOptions): { bytes: number; frames: number } {
  const c = core.c;
  const HDR = c.FRAME_HEADER_SIZE;
  const BH = c.KV_BATCH_HEADER_SIZE;
  // Split points: frame k holds ops [starts[k], starts[k+1]).
  const starts = [0];
  let total = 0;
  let cur = 0;
  for (let i = 0; i < ops.length; i++) {
    const s = opSize(core, ops[i]!);
    if (cur > 0 && cur + s > FRAME_TARGET) {
      starts.push(i);
      total += HDR + BH + cur;
      cur = 0;
    }
    cur += s;
  }
  total += HDR + BH + cur + cursor.length;
  starts.push(ops.length);
  core.ensure(off + total);
  let p = off;
  const frames = starts.length - 1;
  for (let k = 0; k < frames; k++) {
    const last = k === frames - 1;
    const frameStart = p;
    let q = p + HDR;
    const cur = last ? cursor : EMPTY;
    q += core.x.encodeKvBatchHeader(core.staging + q, starts[k + 1]! - starts[k]!, cur.length);
    core.u8.set(cur, core.staging + q);
    q += cur.length;
    for (let i = starts[k]!; i < starts[k + 1]!; i++) {
      const op = ops[i]!;
      const n = core.x.encodeKvOp(core.staging + q, op.kind, op.keyBytes.length, op.version.length, op.value.length);
      const u8 = core.u8;
      let r = core.staging + q + c.KV_OP_HEADER_SIZE;
      u8.set(op.keyBytes, r);
      r += op.keyBytes.length;
      u8.set(op.version, r);
      r += op.version.length;
      u8.set(op.value, r);
      q += n;
    }
    const len = q - frameStart - HDR;
    const more = o.group && !last ? c.KV_FLAG_MORE << 8 : 0;
    const seq = o.seq + k;
    const lo = seq % 0x100000000;
    const mark = o.mark === 'own' ? o.base + (frameStart - off) : o.mark;
    core.x.encodeFrame(core.staging + frameStart, len, c.TYPE_KV_BATCH | more, o.salt, lo, (seq - lo) / 0x100000000, mark);
    p = q;
  }
  return { bytes: p - off, frames };
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
export function replayKvFile(core: Core, h: FileHandle, path: string, salt: number, size: number, fold: Fold,
  onBatch?: (batch: ReplayedBatch) => boolean | void): Replayed {
  const c = core.c;
  const HDR = c.FRAME_HEADER_SIZE;
  const scanner = new FrameScanner(core, h, path, salt, c.FILE_HEADER_SIZE, size, scanFlags(core));
  let cursor: Uint8Array = EMPTY;
  let batches = 0;
  let pendingStart = -1;
  let seq = 0;
  let pending: Array<[number, string, Uint8Array, Uint8Array, number]> = [];
  const apply = (kind: number, key: string, version: Uint8Array, value: Uint8Array, keyLen: number): void => {
    if (kind === c.KV_OP_PUT) fold.put(key, { value, version, keyLen });
    else fold.delete(key, version);
  };
  try {
    for (let n = scanner.next(); n > 0; n = scanner.next()) {
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
        let left = count;
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
            let q = opAt + c.KV_OP_HEADER_SIZE;
            let key: string;
            try {
              key = decoder.decode(u8.subarray(q, q + klen));
            } catch {
              scanner.fail(offset, 'decode-failure');
              return done();
            }
            q += klen;
            const version = u8.slice(q, q + verLen);
            q += verLen;
            const value = kind === c.KV_OP_PUT ? u8.slice(q, q + vlen) : EMPTY;
            if (grouped) pending.push([kind, key, version, value, klen]);
            else apply(kind, key, version, value, klen);
          }
          left -= m;
        }
        if (!more) {
          for (const [kind, key, version, value, klen] of pending) apply(kind, key, version, value, klen);
          pending = [];
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
 */
export function writeFold(core: Core, fold: Fold, cursor: Uint8Array, salt: number, generation: number,
  emit: (bytes: Uint8Array, at: number) => void): { end: number; size: number; seq: number } {
  const c = core.c;
  core.ensure(c.FILE_HEADER_SIZE);
  core.x.encodeFileHeader(core.staging, c.KIND_KV_SNAPSHOT, salt, generation, 0, 0);
  emit(core.u8.slice(core.staging, core.staging + c.FILE_HEADER_SIZE), 0);
  let pos = c.FILE_HEADER_SIZE;
  let seq = 0;
  const keys = fold.sorted();
  let chunk: Op[] = [];
  let chunkBytes = 0;
  const flush = (cur: Uint8Array): void => {
    const r = encodeFrames(core, 0, chunk, cur, { salt, seq: seq + 1, mark: 'own', base: pos, group: false });
    emit(core.u8.slice(core.staging, core.staging + r.bytes), pos);
    pos += r.bytes;
    seq += r.frames;
    chunk = [];
    chunkBytes = 0;
  };
  for (const key of keys) {
    const rec = fold.map.get(key)!;
    const op: Op = { kind: c.KV_OP_PUT, key, keyBytes: encoder.encode(key), version: rec.version, value: rec.value };
    chunk.push(op);
    chunkBytes += opSize(core, op);
    if (chunkBytes >= FRAME_TARGET) flush(EMPTY);
  }
  if (chunk.length > 0 || cursor.length > 0) flush(cursor);
  if (seq === 0) return { end: pos, size: pos, seq };
  core.x.encodeFrame(core.staging, 0, c.TYPE_SYNC_MARK, salt, 0, 0, pos);
  emit(core.u8.slice(core.staging, core.staging + c.FRAME_HEADER_SIZE), pos);
  return { end: pos, size: pos + c.FRAME_HEADER_SIZE, seq };
}
