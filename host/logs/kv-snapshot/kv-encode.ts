/**
 * Encoding AppendLogSnapshot batches into core staging (docs/FORMAT.md
 * §12.2-§12.5): argument checks for keys and prefixes, and encodeBatch(),
 * which validates a batch and frames it in one pass. Op headers, batch
 * headers and frames are written by the core (assembly/kv.ts); this module
 * only copies key, version and value bytes into place.
 *
 * Keys are written straight into staging: ASCII keys char by char, others
 * through TextEncoder.encodeInto after a well-formedness check, so no
 * per-key Uint8Array is made. The caller folds the staged frames into the
 * index (KvIndex.foldFrames): no op is read twice in JS.
 */
import type { Core } from '../../core/core.js';
import type { KvUpdate } from './types.js';

/** Payload bytes per frame when a batch or a fold is split (each frame stays far below MAX_FRAME_PAYLOAD). */
export const FRAME_TARGET = 1 << 20;

const encoder = new TextEncoder();
export const EMPTY: Uint8Array = new Uint8Array(0);

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

/**
 * Write `key` as UTF-8 at u8[at..] (room for 3 bytes per UTF-16 unit must
 * exist); returns its byte length, or -1 for a lone surrogate.
 */
export function writeKey(u8: Uint8Array, at: number, key: string): number {
  const n = key.length;
  for (let i = 0; i < n; i++) {
    const c = key.charCodeAt(i);
    if (c >= 0x80) {
      if (!isWellFormed(key)) return -1;
      return encoder.encodeInto(key, u8.subarray(at, at + 3 * n)).written;
    }
    u8[at + i] = c;
  }
  return n;
}

function keyTypeError(where: string, key: unknown): TypeError {
  return new TypeError(`${where}: key must be a string, got ${key === null ? 'null' : typeof key}`);
}

function badKey(core: Core, where: string, key: string, len: number): RangeError {
  if (len < 0) return new RangeError(`${where}: key ${JSON.stringify(key)} is not valid Unicode (a lone surrogate has no UTF-8 form)`);
  return new RangeError(`${where}: key of ${len} UTF-8 bytes exceeds the ${core.c.KV_MAX_KEY}-byte limit`);
}

/** Check a key argument of a read (TypeError: not a string; RangeError: lone surrogate or too long). */
export function checkKey(core: Core, where: string, key: unknown): void {
  if (typeof key !== 'string') throw keyTypeError(where, key);
  const max = core.c.KV_MAX_KEY;
  if (key.length * 3 <= max && (key.length === 0 || !/[\uD800-\uDFFF]/.test(key))) return; // the common case, without encoding
  const len = isWellFormed(key) ? encoder.encode(key).length : -1;
  if (len < 0 || len > max) throw badKey(core, where, key, len);
}

/** Check a prefix argument (a string that is valid Unicode). */
export function prefixArg(where: string, prefix: unknown): string {
  if (typeof prefix !== 'string') throw new TypeError(`${where}: prefix must be a string, got ${prefix === null ? 'null' : typeof prefix}`);
  if (!isWellFormed(prefix)) throw new RangeError(`${where}: prefix is not valid Unicode (a lone surrogate)`);
  return prefix;
}

export interface FrameOptions {
  salt: number;
  /** Sequence of the first frame (halves kept as a number: < 2^53). */
  seq: number;
  /** Watermark of every frame. */
  mark: number;
}

/**
 * Validate `batch` and frame it with `cursor` into core staging from offset
 * 0: one frame, or frames of about FRAME_TARGET payload bytes with
 * KV_FLAG_MORE on all but the last, which carries the cursor. Throws
 * TypeError/RangeError for bad input (nothing is written to any file).
 * Returns the bytes and frames written.
 */
export function encodeBatch(core: Core, where: string, batch: unknown, cursor: Uint8Array, o: FrameOptions): { bytes: number; frames: number } {
  if (!Array.isArray(batch)) throw new TypeError(`${where}: batch must be an array of { type: 'put' | 'delete', key, ... }`);
  const c = core.c;
  const HDR = c.FRAME_HEADER_SIZE;
  const BH = c.KV_BATCH_HEADER_SIZE;
  const OH = c.KV_OP_HEADER_SIZE;
  const S = core.staging;
  const cl = cursor.length;
  const n = batch.length;
  let frames = 0;
  // The frame being filled: its start, where its ops start (after a gap for the cursor), its op count.
  let frameStart = 0;
  let opsStart = HDR + BH + cl;
  let count = 0;
  let p = opsStart;
  core.ensure(p);
  const close = (last: boolean): void => {
    let end = p;
    if (!last && cl > 0) { // only the last frame carries the cursor: close the gap
      core.u8.copyWithin(S + opsStart - cl, S + opsStart, S + end);
      end -= cl;
    }
    const x = core.x;
    x.encodeKvBatchHeader(S + frameStart + HDR, count, last ? cl : 0);
    if (last && cl > 0) core.u8.set(cursor, S + frameStart + HDR + BH);
    const seq = o.seq + frames;
    const lo = seq % 0x100000000;
    x.encodeFrame(S + frameStart, end - frameStart - HDR, c.TYPE_KV_BATCH | (last ? 0 : c.KV_FLAG_MORE << 8), o.salt, lo, (seq - lo) / 0x100000000, o.mark);
    frames++;
    p = end;
  };
  for (let i = 0; i < n; i++) {
    const u = batch[i] as KvUpdate | null;
    if (u === null || typeof u !== 'object') throw new TypeError(`${where}: batch[${i}] must be an object`);
    const key = u.key;
    if (typeof key !== 'string') throw keyTypeError(`${where}: batch[${i}]`, key);
    const version = u.version ?? EMPTY;
    if (!(version instanceof Uint8Array)) throw new TypeError(`${where}: batch[${i}].version must be a Uint8Array`);
    if (version.length > c.KV_MAX_VERSION) throw new RangeError(`${where}: batch[${i}].version of ${version.length} bytes exceeds the ${c.KV_MAX_VERSION}-byte limit`);
    const type = u.type;
    let value: Uint8Array = EMPTY;
    if (type === 'put') {
      value = u.value;
      if (!(value instanceof Uint8Array)) throw new TypeError(`${where}: batch[${i}].value must be a Uint8Array`);
      if (value.length > c.KV_MAX_VALUE) throw new RangeError(`${where}: batch[${i}].value of ${value.length} bytes exceeds the ${c.KV_MAX_VALUE}-byte limit`);
    } else if (type === 'delete') {
      if ((u as { value?: unknown }).value !== undefined) throw new TypeError(`${where}: batch[${i}]: a delete has no value`);
    } else {
      throw new TypeError(`${where}: batch[${i}].type must be 'put' or 'delete', got ${JSON.stringify(type)}`);
    }
    const bound = OH + 3 * key.length + version.length + value.length;
    if (count > 0 && p - opsStart + bound > FRAME_TARGET) {
      close(false);
      frameStart = p;
      opsStart = p + HDR + BH + cl;
      count = 0;
      p = opsStart;
    }
    core.ensure(p + bound);
    const u8 = core.u8;
    const kl = writeKey(u8, S + p + OH, key);
    if (kl < 0 || kl > c.KV_MAX_KEY) throw badKey(core, `${where}: batch[${i}]`, key, kl);
    let q = S + p + OH + kl;
    if (version.length > 0) { u8.set(version, q); q += version.length; }
    if (value.length > 0) u8.set(value, q);
    p += core.x.encodeKvOp(S + p, type === 'put' ? c.KV_OP_PUT : c.KV_OP_DELETE, kl, version.length, value.length);
    count++;
  }
  close(true);
  return { bytes: p, frames };
}
