// Frame encoding and the validation scanner (FORMAT.md §3, §4).
//
// A frame is a 32-byte header followed by `len` payload bytes. Encoding works
// in place: the host copies the payload to ptr + FRAME_HEADER_SIZE and the
// core writes the header around it. The scanner walks a buffer of frames and
// stops at the first frame that is not valid, reporting why and where; it
// never reads past the buffer and checks a length against the bound before
// using it.

import {
  D_LEN, D_MARK, D_OFFSET, D_SEQ_HI, D_SEQ_LO, D_TYPE, DESC_CAPACITY, DESC_SIZE,
  ERR_ARGUMENT, ERR_BAD_MAGIC, ERR_BAD_TYPE, ERR_BAD_WATERMARK, ERR_CRC_MISMATCH,
  ERR_INCOMPLETE_HEADER, ERR_INCOMPLETE_PAYLOAD, ERR_LENGTH_OVER_BOUND, ERR_SALT_MISMATCH,
  ERR_SEQUENCE, ERR_UNSUPPORTED_VERSION, ERR_AFTER_SYNC_MARK, F_CRC, F_FLAGS, F_LEN, F_MAGIC, F_MARK, F_SALT, F_SEQ,
  F_TYPE, F_VERSION, FORMAT_VERSION, FRAME_HEADER_SIZE, FRAME_MAGIC, MAX_FRAME_PAYLOAD, MORE, OK,
  SCAN_AFTER_MARK, SCAN_EMIT, SCAN_MARK, SCAN_SEQ_NEXT, SCAN_SEQ_STRICT, TYPE_CONTROL_MIN, TYPE_SYNC_MARK,
} from "./constants";
import { crc32cShift, crc32cUpdate } from "./crc32c";
import { descPtr } from "./memory";

// ---- outputs of the last scanFrames / findWitness call (exported globals)
/** Number of valid frames found. */
export let outCount: u32 = 0;
/** End of the valid prefix, relative to the scanned buffer (== failing frame's offset). */
export let outEnd: u32 = 0;
/** Sequence of the last valid data frame (or the `prev` passed in). */
export let outSeqLo: u32 = 0;
export let outSeqHi: u32 = 0;
/** Watermark of the last valid frame (or the `prevMark` passed in); findWitness: the largest. */
export let outMark: f64 = 0;
/** findWitness: where to continue (relative), every position before it was examined. */
export let outResume: u32 = 0;
/** scanFrames: start (relative) and type of the last valid frame, when outCount > 0. */
export let outLastStart: u32 = 0;
export let outLastType: u32 = 0;

/** Write the header of one frame whose payload the host placed at ptr + 32. Returns the frame size. */
export function encodeFrame(ptr: usize, len: u32, typeFlags: u32, salt: u32, seqLo: u32, seqHi: u32, mark: f64): u32 {
  store<u32>(ptr + F_LEN, len);
  store<u8>(ptr + F_MAGIC, <u8>FRAME_MAGIC);
  store<u8>(ptr + F_VERSION, <u8>FORMAT_VERSION);
  store<u8>(ptr + F_TYPE, <u8>(typeFlags & 0xff));
  store<u8>(ptr + F_FLAGS, <u8>((typeFlags >>> 8) & 0xff));
  store<u32>(ptr + F_SALT, salt);
  store<u32>(ptr + F_SEQ, seqLo);
  store<u32>(ptr + F_SEQ + 4, seqHi);
  store<u64>(ptr + F_MARK, <u64>mark);
  store<u32>(ptr + F_CRC, crc32cUpdate(0, ptr + 4, <usize>(FRAME_HEADER_SIZE - 4) + <usize>len));
  return FRAME_HEADER_SIZE + len;
}

/**
 * Frame `count` records laid out back to back from `ptr`: the host has copied
 * record i's payload to its place and filled descriptor i's D_LEN, D_SEQ_LO,
 * D_SEQ_HI and D_TYPE. Returns the total size, or ERR_ARGUMENT for a bad count.
 */
export function encodeBatch(ptr: usize, count: u32, salt: u32, mark: f64): i64 {
  if (count > DESC_CAPACITY) return ERR_ARGUMENT;
  let p = ptr;
  let d = descPtr();
  for (let i: u32 = 0; i < count; i++) {
    p += encodeFrame(p, load<u32>(d + D_LEN), load<u32>(d + D_TYPE), salt,
      load<u32>(d + D_SEQ_LO), load<u32>(d + D_SEQ_HI), mark);
    d += DESC_SIZE;
  }
  return <i64>(p - ptr);
}

/**
 * Check the frame at `p` with `avail` bytes available. Returns OK or the
 * reason it is invalid. Does not check sequence or watermark ordering.
 */
// @ts-ignore: decorator
@inline function checkFrame(p: usize, avail: usize, salt: u32, maxLen: u32): i32 {
  if (avail < <usize>FRAME_HEADER_SIZE) return ERR_INCOMPLETE_HEADER;
  if (<u32>load<u8>(p + F_MAGIC) != FRAME_MAGIC) return ERR_BAD_MAGIC;
  if (<u32>load<u8>(p + F_VERSION) != FORMAT_VERSION) return ERR_UNSUPPORTED_VERSION;
  if (load<u8>(p + F_TYPE) == 0) return ERR_BAD_TYPE;
  if (load<u32>(p + F_SALT) != salt) return ERR_SALT_MISMATCH;
  const len = load<u32>(p + F_LEN);
  if (len > maxLen) return ERR_LENGTH_OVER_BOUND;
  if (avail - <usize>FRAME_HEADER_SIZE < <usize>len) return ERR_INCOMPLETE_PAYLOAD;
  if (crc32cUpdate(0, p + 4, <usize>(FRAME_HEADER_SIZE - 4) + <usize>len) != load<u32>(p + F_CRC)) return ERR_CRC_MISMATCH;
  return OK;
}

/**
 * Walk the frames in [ptr, ptr + len). `base` is the file offset of ptr.
 * Frames must carry `salt` and declare at most `maxLen` payload bytes.
 * `prevLo/prevHi` and `prevMark` carry ordering state across calls, and
 * SCAN_AFTER_MARK in `flags` says the frame before the buffer was a sync
 * marker. A sync marker ends the valid prefix: a frame after one fails with
 * ERR_AFTER_SYNC_MARK (FORMAT.md §4), so a stale marker can never stand in
 * for a lost frame of the same size.
 *
 * Returns OK when the whole buffer is valid frames, MORE when `maxCount`
 * frames were taken (continue from outEnd), or the negative reason of the
 * first invalid frame, which starts at outEnd. With SCAN_EMIT, descriptor i
 * describes the i-th valid frame (D_OFFSET relative to ptr).
 */
export function scanFrames(ptr: usize, len: u32, base: f64, salt: u32, maxLen: u32, flags: u32,
  prevLo: u32, prevHi: u32, prevMark: f64, maxCount: u32): i32 {
  if (maxLen > MAX_FRAME_PAYLOAD) maxLen = MAX_FRAME_PAYLOAD;
  if ((flags & SCAN_EMIT) != 0 && maxCount > DESC_CAPACITY) maxCount = DESC_CAPACITY;
  let seq: u64 = (<u64>prevHi << 32) | <u64>prevLo;
  let mark: u64 = <u64>prevMark;
  let p = ptr;
  const end = ptr + <usize>len;
  let count: u32 = 0;
  let d = descPtr();
  let status: i32 = OK;
  let afterMark = (flags & SCAN_AFTER_MARK) != 0;
  while (p < end) {
    if (count >= maxCount) { status = MORE; break; }
    const st = checkFrame(p, end - p, salt, maxLen);
    if (st != OK) { status = st; break; }
    if (afterMark) { status = ERR_AFTER_SYNC_MARK; break; }
    const type = <u32>load<u8>(p + F_TYPE);
    afterMark = type == TYPE_SYNC_MARK;
    const fseq = load<u64>(p + F_SEQ);
    const fmark = load<u64>(p + F_MARK);
    if ((flags & SCAN_MARK) != 0) {
      if (fmark < mark || fmark > <u64>(base + <f64>(p - ptr))) { status = ERR_BAD_WATERMARK; break; }
    }
    if (type < TYPE_CONTROL_MIN) {
      if ((flags & SCAN_SEQ_STRICT) != 0 && fseq <= seq) { status = ERR_SEQUENCE; break; }
      if ((flags & SCAN_SEQ_NEXT) != 0 && fseq != seq + 1) { status = ERR_SEQUENCE; break; }
      seq = fseq;
    }
    mark = fmark;
    outLastStart = <u32>(p - ptr);
    outLastType = type;
    const flen = load<u32>(p + F_LEN);
    if ((flags & SCAN_EMIT) != 0) {
      store<u32>(d + D_OFFSET, <u32>(p - ptr));
      store<u32>(d + D_LEN, flen);
      store<u64>(d + D_SEQ_LO, fseq);
      store<u32>(d + D_TYPE, type | (<u32>load<u8>(p + F_FLAGS) << 8));
      store<f64>(d + D_MARK, <f64>fmark);
      d += DESC_SIZE;
    }
    count++;
    p += <usize>FRAME_HEADER_SIZE + <usize>flen;
  }
  outCount = count;
  outEnd = <u32>(p - ptr);
  outSeqLo = <u32>seq;
  outSeqHi = <u32>(seq >>> 32);
  outMark = <f64>mark;
  return status;
}

const NO_CHECKPOINTS: usize = <usize>-1;

/**
 * Checkpoints for findWitness: the CRC-32C of [ptr, ptr + j * stride) for
 * every j, stored from the first 4-aligned address after the buffer. The
 * host reserves len / 8 + 64 bytes there, so the stride is 32; with less
 * room the stride doubles until they fit (slower, never wrong). Returns the
 * stride, or NO_CHECKPOINTS when memory ends right after the buffer.
 */
function buildCheckpoints(ptr: usize, len: u32): usize {
  const cp = (ptr + <usize>len + 3) & ~(<usize>3);
  const memEnd = <usize>memory.size() << 16;
  if (cp + 8 > memEnd) return NO_CHECKPOINTS;
  const room = memEnd - cp;
  let stride: usize = 32;
  while (((<usize>len / stride) + 1) * 4 > room) stride <<= 1;
  let c: u32 = 0;
  store<u32>(cp, 0);
  for (let j: usize = 1; j * stride <= <usize>len; j++) {
    c = crc32cUpdate(c, ptr + (j - 1) * stride, stride);
    store<u32>(cp + (j << 2), c);
  }
  return stride;
}

/** CRC-32C of [ptr, ptr + i) from the checkpoints: at most stride - 1 bytes of work. */
// @ts-ignore: decorator
@inline function prefixCrc(ptr: usize, len: u32, stride: usize, i: usize): u32 {
  const j = i / stride;
  const cp = (ptr + <usize>len + 3) & ~(<usize>3);
  return crc32cUpdate(load<u32>(cp + (j << 2)), ptr + j * stride, i - j * stride);
}

/** CRC-32C of [ptr + a, ptr + b): C_b ^ Z_(b-a)(C_a) (assembly/crc32c.ts), O(stride + log(b - a)). */
function rangeCrc(ptr: usize, len: u32, stride: usize, a: usize, b: usize): u32 {
  if (stride == NO_CHECKPOINTS) return crc32cUpdate(0, ptr + a, b - a);
  return prefixCrc(ptr, len, stride, b) ^ crc32cShift(prefixCrc(ptr, len, stride, a), <u32>(b - a));
}

/** Header checks 2-6 of FORMAT.md §3 (magic, version, type, salt, length bound). */
// @ts-ignore: decorator
@inline function plausibleHeader(p: usize, salt: u32, maxLen: u32): bool {
  return <u32>load<u8>(p + F_MAGIC) == FRAME_MAGIC && load<u32>(p + F_SALT) == salt &&
    <u32>load<u8>(p + F_VERSION) == FORMAT_VERSION && load<u8>(p + F_TYPE) != 0 &&
    load<u32>(p + F_LEN) <= maxLen;
}

/**
 * Resynchronise after damage at file offset `after` (FORMAT.md §5): look at
 * every byte position in [ptr, ptr + len) (`base` is the file offset of ptr)
 * for a valid frame carrying `salt` whose watermark could prove corruption:
 * after < mark <= its own offset (SCAN_MARK; pass base = +Infinity to drop
 * that bound). Headers are filtered before any CRC, and a CRC costs O(1)
 * (prefixCrc + crc32cShift, built once per call in O(len)), so a call is
 * linear in len whatever the bytes. Stops at the first such frame and
 * returns its mark; -1 when none. A NaN `after`/`base` filters nothing and
 * never stops early: then the result is the largest mark of any valid frame.
 * outResume is the first position not decided inside this buffer (a
 * plausible frame running past its end): the host continues there with more
 * bytes. outCount counts the valid frames found.
 */
export function findWitness(ptr: usize, len: u32, salt: u32, maxLen: u32, after: f64, base: f64): f64 {
  if (maxLen > MAX_FRAME_PAYLOAD) maxLen = MAX_FRAME_PAYLOAD;
  const end = ptr + <usize>len;
  let best: f64 = -1;
  let count: u32 = 0;
  let stride: usize = 0;
  let resume = end;
  let p = ptr;
  for (; p + <usize>FRAME_HEADER_SIZE <= end; p++) {
    if (!plausibleHeader(p, salt, maxLen)) continue;
    const m = <f64>load<u64>(p + F_MARK);
    if (m <= after || m > base + <f64>(p - ptr)) continue; // cannot prove corruption
    const flen = <usize>load<u32>(p + F_LEN);
    if (flen > end - p - <usize>FRAME_HEADER_SIZE) {
      if (p < resume) resume = p;
      continue;
    }
    if (stride == 0) stride = buildCheckpoints(ptr, len);
    if (rangeCrc(ptr, len, stride, p - ptr + 4, p - ptr + <usize>FRAME_HEADER_SIZE + flen) != load<u32>(p + F_CRC)) continue;
    count++;
    if (m > best) best = m;
    if (m > after) { resume = p; break; } // decisive: a completed sync covered `after`
  }
  if (p < resume) resume = p;
  outResume = <u32>(resume - ptr);
  outCount = count;
  return best;
}
