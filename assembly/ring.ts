// RingLog slot format, ring state record and the slot scanners
// (docs/FORMAT.md §10). A ring file is
//
//   [file header, 64 B, kind RING][zeros][state record @2048, 32 B][zeros][its copy @2560, 32 B][zeros]
//   [slot 0 @4096] ... [slot cap-1]
//
// Every slot is `slotSize` bytes: a 40-byte header, the payload, the optional
// failure digest, zero padding; its CRC covers every byte after the CRC field,
// padding included. The sequence number fixes the slot: seq s lives in slot
// (s - 1) mod capacity, so a slot left over from an earlier lap, or holding a
// sequence that belongs elsewhere, is recognisable. Nothing here does I/O.

import {
  D_LEN, D_MARK, D_OFFSET, D_SEQ_HI, D_SEQ_LO, D_TYPE, DESC_CAPACITY, DESC_SIZE, ERR_ARGUMENT,
  ERR_BAD_FLAGS, ERR_BAD_MAGIC, ERR_BAD_TYPE, ERR_BAD_WATERMARK, ERR_CRC_MISMATCH,
  ERR_LENGTH_OVER_BOUND, ERR_SALT_MISMATCH, ERR_SEQUENCE, ERR_UNSUPPORTED_VERSION, FORMAT_VERSION,
  MORE, OK,
} from "./constants";
import { crc32cUpdate } from "./crc32c";
import { descPtr } from "./memory";

// ---- FORMAT.md §R1 Layout
/** Offset of the 32-byte ring state record (its own 512-byte sector, apart from the header). */
export const RING_STATE_OFFSET: u32 = 2048;
/** Offset of its second copy, in the next 512-byte sector (written after the first, same content). */
export const RING_STATE_COPY_OFFSET: u32 = 2560;
export const RING_STATE_SIZE: u32 = 32;
/** Offset of slot 0; slot i starts at RING_DATA_OFFSET + i * slotSize. */
export const RING_DATA_OFFSET: u32 = 4096;
/** Geometry bounds (checked before anything is allocated). */
export const RING_MIN_SLOT: u32 = 64;
export const RING_MAX_SLOT: u32 = 1 << 24;
export const RING_SLOT_ALIGN: u32 = 8;
export const RING_MAX_CAPACITY: u32 = 0xffffffff;

// ---- FORMAT.md §R4 Slot (40-byte header + payload + digest + zero padding)
export const SLOT_HEADER_SIZE: u32 = 40;
export const SLOT_MAGIC: u32 = 0xa5;
export const S_CRC: u32 = 0; // u32, CRC-32C of bytes [4, slotSize)
export const S_LEN: u32 = 4; // u32, payload length
export const S_MAGIC: u32 = 8; // u8
export const S_VERSION: u32 = 9; // u8
export const S_CLASS: u32 = 10; // u8, failure class (0 = no evidence)
export const S_DLEN: u32 = 11; // u8, digest length (0..MAX_DIGEST)
export const S_SALT: u32 = 12; // u32, the file's salt
export const S_SEQ: u32 = 16; // u64, sequence number (>= 1)
export const S_MARK: u32 = 24; // u64, highest sequence known durable when written (< seq)
export const S_CODE: u32 = 32; // i32, failure code (0 without evidence)
export const S_RESERVED: u32 = 36; // u32, must be 0
/** Failure classes 1..FAILURE_CLASS_MAX (names in docs/ring-log.md); 0 = none. */
export const FAILURE_CLASS_MAX: u32 = 8;
/** Largest failure digest, bytes. */
export const MAX_DIGEST: u32 = 64;
/** Status (positive, not an error): the slot is all zeros, never written or invalidated. */
export const RING_EMPTY: i32 = 2;
/** ringScanRuns descriptor types (D_TYPE). */
export const RING_RUN_VALID: u32 = 0;
export const RING_RUN_JUNK: u32 = 1;
/** Descriptor field used by ringScanRecords: the failure code (i32). */
export const D_CODE: u32 = 20;

// ---- FORMAT.md §R3 Ring state record
/** ASCII "rgst" read as a little-endian u32. */
export const RING_STATE_MAGIC: u32 = 0x74736772;
export const RS_CRC: u32 = 0; // u32, CRC-32C of bytes [4, 32)
export const RS_MAGIC: u32 = 4; // u32
export const RS_SALT: u32 = 8; // u32
export const RS_FLAGS: u32 = 12; // u32, bit 0: closed cleanly
export const RS_FIRST: u32 = 16; // u64, oldest live sequence
export const RS_NEXT: u32 = 24; // u64, next sequence to assign
export const RING_CLEAN: u32 = 1;

// ---- outputs (exported globals)
/** Fields of the slot last accepted by ringCheckSlot. */
export let slotSeqLo: u32 = 0;
export let slotSeqHi: u32 = 0;
export let slotMark: f64 = 0;
export let slotLen: u32 = 0;
export let slotClass: u32 = 0;
export let slotDlen: u32 = 0;
export let slotCode: i32 = 0;
/** ringScanRuns / ringScanRecords: descriptors written and slots consumed by the last call. */
export let ringCount: u32 = 0;
export let ringEnd: u32 = 0;
/** ringScanRuns: slots found empty / invalid-but-not-impossible (junk) in the last call. */
export let ringEmpty: u32 = 0;
export let ringJunk: u32 = 0;
/** Fields of the state record last decoded by decodeRingState. */
export let stFlags: u32 = 0;
export let stFirstLo: u32 = 0;
export let stFirstHi: u32 = 0;
export let stNextLo: u32 = 0;
export let stNextHi: u32 = 0;

/** Slot index of sequence `seq` (>= 1) in a ring of `capacity` slots. */
// @ts-ignore: decorator
@inline function indexOf(seq: u64, capacity: u32): u64 {
  return (seq - 1) % <u64>capacity;
}

/** Slot index of a sequence (halves), or 0xffffffff for sequence 0 or capacity 0. */
export function ringSlotIndex(seqLo: u32, seqHi: u32, capacity: u32): u32 {
  const seq = (<u64>seqHi << 32) | <u64>seqLo;
  if (seq == 0 || capacity == 0) return 0xffffffff;
  return <u32>indexOf(seq, capacity);
}

/** File offset of the slot holding a sequence (halves); -1 for sequence 0 or bad geometry. */
export function ringSlotOffset(seqLo: u32, seqHi: u32, capacity: u32, slotSize: u32): f64 {
  const i = ringSlotIndex(seqLo, seqHi, capacity);
  if (i == 0xffffffff || slotSize == 0) return -1;
  return <f64>RING_DATA_OFFSET + <f64>i * <f64>slotSize;
}

/**
 * Complete the slot at `ptr`, whose payload (`len` bytes) the host placed at
 * ptr + 40 and whose digest (`dlen` bytes) right after it: zero the padding,
 * write the header, then the CRC. `cls`/`code` are the failure evidence
 * (0/0 for none). Returns slotSize, or ERR_ARGUMENT / ERR_LENGTH_OVER_BOUND.
 */
export function encodeSlot(ptr: usize, slotSize: u32, len: u32, dlen: u32, salt: u32, seqLo: u32, seqHi: u32,
  mark: f64, cls: u32, code: i32): i32 {
  if (slotSize < RING_MIN_SLOT || slotSize > RING_MAX_SLOT || (slotSize & (RING_SLOT_ALIGN - 1)) != 0) return ERR_ARGUMENT;
  if (dlen > MAX_DIGEST || <u64>len + <u64>dlen > <u64>(slotSize - SLOT_HEADER_SIZE)) return ERR_LENGTH_OVER_BOUND;
  if (cls > FAILURE_CLASS_MAX || (cls == 0 && (code != 0 || dlen != 0))) return ERR_BAD_TYPE;
  const seq = (<u64>seqHi << 32) | <u64>seqLo;
  if (seq == 0 || !(mark >= 0) || <u64>mark >= seq) return ERR_ARGUMENT;
  const used = SLOT_HEADER_SIZE + len + dlen;
  memory.fill(ptr + <usize>used, 0, <usize>(slotSize - used));
  store<u32>(ptr + S_LEN, len);
  store<u8>(ptr + S_MAGIC, <u8>SLOT_MAGIC);
  store<u8>(ptr + S_VERSION, <u8>FORMAT_VERSION);
  store<u8>(ptr + S_CLASS, <u8>cls);
  store<u8>(ptr + S_DLEN, <u8>dlen);
  store<u32>(ptr + S_SALT, salt);
  store<u64>(ptr + S_SEQ, seq);
  store<u64>(ptr + S_MARK, <u64>mark);
  store<i32>(ptr + S_CODE, code);
  store<u32>(ptr + S_RESERVED, 0);
  store<u32>(ptr + S_CRC, crc32cUpdate(0, ptr + 4, <usize>(slotSize - 4)));
  return <i32>slotSize;
}

/** True when all `len` bytes at p are zero. */
function allZero(p: usize, len: usize): bool {
  const end = p + len;
  let q = p;
  while (q + 8 <= end) {
    if (load<u64>(q) != 0) return false;
    q += 8;
  }
  while (q < end) {
    if (load<u8>(q) != 0) return false;
    q++;
  }
  return true;
}

/**
 * Validate the slot at `p`, which sits at slot `index` of a ring of
 * `capacity` slots. Returns OK (fields in the slot* globals), RING_EMPTY
 * (all zeros), a "junk" reason that a torn or foreign write can produce
 * (ERR_BAD_MAGIC, ERR_UNSUPPORTED_VERSION, ERR_SALT_MISMATCH, ERR_CRC_MISMATCH),
 * or, for a slot whose CRC is intact but whose content we never write, an
 * "impossible" reason (ERR_LENGTH_OVER_BOUND, ERR_BAD_TYPE, ERR_BAD_FLAGS,
 * ERR_SEQUENCE, ERR_BAD_WATERMARK). Checks run in exactly this order.
 */
export function ringCheckSlot(p: usize, slotSize: u32, index: u32, capacity: u32, salt: u32): i32 {
  const magic = <u32>load<u8>(p + S_MAGIC);
  if (magic != SLOT_MAGIC) {
    if (magic == 0 && allZero(p, slotSize)) return RING_EMPTY;
    return ERR_BAD_MAGIC;
  }
  if (<u32>load<u8>(p + S_VERSION) != FORMAT_VERSION) return ERR_UNSUPPORTED_VERSION;
  if (load<u32>(p + S_SALT) != salt) return ERR_SALT_MISMATCH;
  if (crc32cUpdate(0, p + 4, <usize>(slotSize - 4)) != load<u32>(p + S_CRC)) return ERR_CRC_MISMATCH;
  // The bytes are exactly as some writer of this file wrote them: from here on
  // a failure is content walcore never writes.
  const len = load<u32>(p + S_LEN);
  const dlen = <u32>load<u8>(p + S_DLEN);
  if (dlen > MAX_DIGEST || <u64>len + <u64>dlen > <u64>(slotSize - SLOT_HEADER_SIZE)) return ERR_LENGTH_OVER_BOUND;
  const cls = <u32>load<u8>(p + S_CLASS);
  const code = load<i32>(p + S_CODE);
  if (cls > FAILURE_CLASS_MAX || (cls == 0 && (code != 0 || dlen != 0))) return ERR_BAD_TYPE;
  if (load<u32>(p + S_RESERVED) != 0) return ERR_BAD_FLAGS;
  const seq = load<u64>(p + S_SEQ);
  if (seq == 0 || indexOf(seq, capacity) != <u64>index) return ERR_SEQUENCE;
  const mark = load<u64>(p + S_MARK);
  if (mark >= seq) return ERR_BAD_WATERMARK;
  slotSeqLo = <u32>seq;
  slotSeqHi = <u32>(seq >>> 32);
  slotMark = <f64>mark;
  slotLen = len;
  slotClass = cls;
  slotDlen = dlen;
  slotCode = code;
  return OK;
}

/** True for the reasons only an intact slot with content walcore never writes can have. */
export function ringImpossible(status: i32): bool {
  return status == ERR_LENGTH_OVER_BOUND || status == ERR_BAD_TYPE || status == ERR_BAD_FLAGS ||
    status == ERR_SEQUENCE || status == ERR_BAD_WATERMARK;
}

/**
 * Recovery scan of `count` consecutive slots at `ptr`, the first being slot
 * `firstIndex`. Emits one descriptor per maximal run of valid slots whose
 * sequences increase by exactly 1 (D_TYPE = RING_RUN_VALID): D_OFFSET = slot
 * index of the run's first slot, D_LEN = run length in slots, D_SEQ = its
 * first sequence, D_MARK = the largest mark in the run; and one per maximal
 * range of junk slots (D_TYPE = RING_RUN_JUNK, D_OFFSET, D_LEN). Empty slots
 * get none. Runs are not joined across calls (the host joins them, and
 * across the wrap from the last slot to slot 0).
 *
 * Returns OK (ringEnd = count), MORE when the descriptor region is full
 * (continue at ringEnd), or an impossible status for the slot at ringEnd
 * (relative). ringCount = runs described; ringEmpty/ringJunk count the rest.
 */
export function ringScanRuns(ptr: usize, count: u32, slotSize: u32, firstIndex: u32, capacity: u32, salt: u32): i32 {
  if (slotSize < RING_MIN_SLOT || slotSize > RING_MAX_SLOT || capacity == 0) return ERR_ARGUMENT;
  let runs: u32 = 0;
  let d = descPtr() - <usize>DESC_SIZE;
  let prev: u64 = 0; // sequence of the previous slot when it was valid, else 0
  let prevJunk = false; // the previous slot was junk (its descriptor is open)
  let empty: u32 = 0;
  let junk: u32 = 0;
  let status: i32 = OK;
  let k: u32 = 0;
  for (; k < count; k++) {
    const p = ptr + <usize>k * <usize>slotSize;
    const st = ringCheckSlot(p, slotSize, firstIndex + k, capacity, salt);
    if (st == RING_EMPTY) {
      empty++;
      prev = 0;
      prevJunk = false;
      continue;
    }
    if (st != OK) {
      if (ringImpossible(st)) { status = st; break; }
      if (prevJunk) {
        store<u32>(d + D_LEN, load<u32>(d + D_LEN) + 1);
      } else {
        if (runs == DESC_CAPACITY) { status = MORE; break; }
        d += DESC_SIZE;
        store<u32>(d + D_OFFSET, firstIndex + k);
        store<u32>(d + D_LEN, 1);
        store<u64>(d + D_SEQ_LO, 0);
        store<u32>(d + D_TYPE, RING_RUN_JUNK);
        store<f64>(d + D_MARK, 0);
        runs++;
      }
      junk++;
      prev = 0;
      prevJunk = true;
      continue;
    }
    prevJunk = false;
    const seq = (<u64>slotSeqHi << 32) | <u64>slotSeqLo;
    if (prev != 0 && seq == prev + 1) {
      store<u32>(d + D_LEN, load<u32>(d + D_LEN) + 1);
      if (slotMark > load<f64>(d + D_MARK)) store<f64>(d + D_MARK, slotMark);
    } else {
      if (runs == DESC_CAPACITY) { status = MORE; break; }
      d += DESC_SIZE;
      store<u32>(d + D_OFFSET, firstIndex + k);
      store<u32>(d + D_LEN, 1);
      store<u64>(d + D_SEQ_LO, seq);
      store<u32>(d + D_TYPE, RING_RUN_VALID);
      store<f64>(d + D_MARK, slotMark);
      runs++;
    }
    prev = seq;
  }
  ringCount = runs;
  ringEnd = k;
  ringEmpty = empty;
  ringJunk = junk;
  return status;
}

/**
 * Replay scan: the `count` (<= DESC_CAPACITY) consecutive slots at `ptr`,
 * starting at slot `firstIndex`, must hold sequences seq, seq+1, ... Emits
 * one descriptor per slot: D_OFFSET = payload offset relative to ptr, D_LEN =
 * payload length, D_SEQ, D_TYPE = class | digestLength << 8, D_CODE, D_MARK.
 * Returns OK, or for the first slot that does not hold its expected record
 * (at ringEnd, relative) its status: a junk or impossible reason, RING_EMPTY,
 * or ERR_SEQUENCE when it holds a valid record of another sequence.
 */
export function ringScanRecords(ptr: usize, count: u32, slotSize: u32, firstIndex: u32, capacity: u32, salt: u32,
  seqLo: u32, seqHi: u32): i32 {
  if (slotSize < RING_MIN_SLOT || slotSize > RING_MAX_SLOT || capacity == 0 || count > DESC_CAPACITY) return ERR_ARGUMENT;
  const first = (<u64>seqHi << 32) | <u64>seqLo;
  let d = descPtr();
  let k: u32 = 0;
  let status: i32 = OK;
  for (; k < count; k++) {
    const p = ptr + <usize>k * <usize>slotSize;
    const st = ringCheckSlot(p, slotSize, firstIndex + k, capacity, salt);
    if (st != OK) { status = st; break; }
    const seq = (<u64>slotSeqHi << 32) | <u64>slotSeqLo;
    if (seq != first + <u64>k) { status = ERR_SEQUENCE; break; }
    store<u32>(d + D_OFFSET, <u32>(<usize>k * <usize>slotSize) + SLOT_HEADER_SIZE);
    store<u32>(d + D_LEN, slotLen);
    store<u64>(d + D_SEQ_LO, seq);
    store<u32>(d + D_TYPE, slotClass | (slotDlen << 8));
    store<i32>(d + D_CODE, slotCode);
    store<f64>(d + D_MARK, slotMark);
    d += DESC_SIZE;
  }
  ringCount = k;
  ringEnd = k;
  return status;
}

/**
 * After ringScanRecords: copy the payload and digest of each of the `count`
 * records it described (slots at `ptr`) back to back to `dst`, and rewrite
 * each descriptor's D_OFFSET to its record's offset relative to dst, so the
 * host copies one block out of core memory instead of one array per record.
 * `dst` must not overlap the slots. Returns the bytes written.
 */
export function ringGather(ptr: usize, count: u32, dst: usize): u32 {
  if (count > DESC_CAPACITY) return 0;
  let d = descPtr();
  let off: u32 = 0;
  for (let i: u32 = 0; i < count; i++) {
    const n = load<u32>(d + D_LEN) + ((load<u32>(d + D_TYPE) >>> 8) & 0xff);
    memory.copy(dst + <usize>off, ptr + <usize>load<u32>(d + D_OFFSET), <usize>n);
    store<u32>(d + D_OFFSET, off);
    off += n;
    d += DESC_SIZE;
  }
  return off;
}

/** Write the 32-byte ring state record at ptr. Returns its size. */
export function encodeRingState(ptr: usize, salt: u32, flags: u32, firstLo: u32, firstHi: u32, nextLo: u32, nextHi: u32): u32 {
  store<u32>(ptr + RS_MAGIC, RING_STATE_MAGIC);
  store<u32>(ptr + RS_SALT, salt);
  store<u32>(ptr + RS_FLAGS, flags);
  store<u32>(ptr + RS_FIRST, firstLo);
  store<u32>(ptr + RS_FIRST + 4, firstHi);
  store<u32>(ptr + RS_NEXT, nextLo);
  store<u32>(ptr + RS_NEXT + 4, nextHi);
  store<u32>(ptr + RS_CRC, crc32cUpdate(0, ptr + 4, RING_STATE_SIZE - 4));
  return RING_STATE_SIZE;
}

/**
 * Validate the state record at ptr. Returns OK (fields in the st* globals),
 * RING_EMPTY (all zeros), ERR_BAD_MAGIC, ERR_SALT_MISMATCH, ERR_CRC_MISMATCH,
 * or ERR_BAD_FLAGS / ERR_SEQUENCE for an intact record we never write
 * (unknown flags; first > next or first == 0).
 */
export function decodeRingState(ptr: usize, salt: u32): i32 {
  if (load<u32>(ptr + RS_MAGIC) != RING_STATE_MAGIC) return allZero(ptr, RING_STATE_SIZE) ? RING_EMPTY : ERR_BAD_MAGIC;
  if (load<u32>(ptr + RS_SALT) != salt) return ERR_SALT_MISMATCH;
  if (crc32cUpdate(0, ptr + 4, RING_STATE_SIZE - 4) != load<u32>(ptr + RS_CRC)) return ERR_CRC_MISMATCH;
  const flags = load<u32>(ptr + RS_FLAGS);
  if ((flags & ~RING_CLEAN) != 0) return ERR_BAD_FLAGS;
  const first = load<u64>(ptr + RS_FIRST);
  const next = load<u64>(ptr + RS_NEXT);
  if (first == 0 || first > next) return ERR_SEQUENCE;
  stFlags = flags;
  stFirstLo = <u32>first;
  stFirstHi = <u32>(first >>> 32);
  stNextLo = <u32>next;
  stNextHi = <u32>(next >>> 32);
  return OK;
}
