// AppendLogSnapshot bytes, docs/FORMAT.md §12: the payload of a TYPE_KV_BATCH
// frame (batch header, resume cursor, put/delete ops with key, version and
// value bytes). The host copies bytes into place; this module writes and
// validates every length and reserved field, so the layout has one home.
//
//   payload := batch-header(8) cursor op*
//   op      := op-header(12) key version value

import { DESC_CAPACITY, DESC_SIZE, ERR_ARGUMENT, ERR_BAD_RECORD, OK } from "./constants";
import { descPtr } from "./memory";

// ---- §12.3 Batch header (start of the payload)
export const KV_BATCH_HEADER_SIZE: u32 = 8;
export const KB_COUNT: u32 = 0; // u32 number of ops in this frame
export const KB_CURSOR_LEN: u32 = 4; // u16 cursor length (0 = WatchCursor.none, or a non-final frame of a batch)
// bytes 6..8 reserved, zero

// ---- §12.4 Op header
export const KV_OP_HEADER_SIZE: u32 = 12;
export const KO_KIND: u32 = 0; // u8 KV_OP_PUT or KV_OP_DELETE
export const KO_VERSION_LEN: u32 = 1; // u8 version length
// bytes 2..4 reserved, zero
export const KO_KEY_LEN: u32 = 4; // u32 key length (UTF-8 bytes)
export const KO_VALUE_LEN: u32 = 8; // u32 value length (0 for a delete)
export const KV_OP_PUT: u32 = 1;
export const KV_OP_DELETE: u32 = 2;

// ---- §12.5 Limits (checked by the host before writing and here when reading)
export const KV_MAX_KEY: u32 = 64 << 10; // 65536 bytes of UTF-8
export const KV_MAX_VALUE: u32 = 16 << 20; // 16 MiB
export const KV_MAX_VERSION: u32 = 64;
export const KV_MAX_CURSOR: u32 = 1024;

// ---- Op descriptors written by kvDescribe into the descriptor region (32 bytes each)
export const KD_OFFSET: u32 = 0; // u32 op start, relative to the payload
export const KD_KEY_LEN: u32 = 4; // u32
export const KD_VALUE_LEN: u32 = 8; // u32
export const KD_KIND: u32 = 12; // u32 kind | versionLen << 8

/** Outputs of decodeKvBatch. */
export let kvCount: u32 = 0;
export let kvCursorLen: u32 = 0;
/** Offset (relative to the payload) of the first op that broke a rule, or of the end for a length mismatch. */
export let kvBadAt: u32 = 0;

/** Write the batch header at ptr (the payload start); returns its size. The host copies the cursor after it. */
export function encodeKvBatchHeader(ptr: usize, count: u32, cursorLen: u32): u32 {
  store<u32>(ptr + KB_COUNT, count);
  store<u16>(ptr + KB_CURSOR_LEN, <u16>cursorLen);
  store<u16>(ptr + 6, 0);
  return KV_BATCH_HEADER_SIZE;
}

/**
 * Write an op header at ptr; the host copies key, version and value after it.
 * Returns the op's total size, or 0 for arguments that break §12.5 (the host
 * checks them first and throws RangeError).
 */
export function encodeKvOp(ptr: usize, kind: u32, keyLen: u32, versionLen: u32, valueLen: u32): u32 {
  if (kind != KV_OP_PUT && kind != KV_OP_DELETE) return 0;
  if (keyLen > KV_MAX_KEY || versionLen > KV_MAX_VERSION || valueLen > KV_MAX_VALUE) return 0;
  if (kind == KV_OP_DELETE && valueLen != 0) return 0;
  store<u8>(ptr + KO_KIND, <u8>kind);
  store<u8>(ptr + KO_VERSION_LEN, <u8>versionLen);
  store<u16>(ptr + 2, 0);
  store<u32>(ptr + KO_KEY_LEN, keyLen);
  store<u32>(ptr + KO_VALUE_LEN, valueLen);
  return KV_OP_HEADER_SIZE + keyLen + versionLen + valueLen;
}

/**
 * Validate a whole batch payload of `len` bytes at ptr (the frame's CRC was
 * already checked): header, cursor and every op fit exactly, reserved bytes
 * are zero, kinds and lengths obey §12.5. Returns OK (kvCount, kvCursorLen
 * set) or ERR_BAD_RECORD (kvBadAt names the offset).
 */
export function decodeKvBatch(ptr: usize, len: u32): i32 {
  kvBadAt = 0;
  if (len < KV_BATCH_HEADER_SIZE || load<u16>(ptr + 6) != 0) return ERR_BAD_RECORD;
  const count = load<u32>(ptr + KB_COUNT);
  const cursorLen = <u32>load<u16>(ptr + KB_CURSOR_LEN);
  if (cursorLen > KV_MAX_CURSOR) return ERR_BAD_RECORD;
  let pos: u64 = <u64>KV_BATCH_HEADER_SIZE + <u64>cursorLen;
  for (let i: u32 = 0; i < count; i++) {
    kvBadAt = <u32>min<u64>(pos, <u64>len);
    if (pos + <u64>KV_OP_HEADER_SIZE > <u64>len) return ERR_BAD_RECORD;
    const p = ptr + <usize>pos;
    const kind = <u32>load<u8>(p + KO_KIND);
    const vlen = <u32>load<u8>(p + KO_VERSION_LEN);
    const klen = load<u32>(p + KO_KEY_LEN);
    const valLen = load<u32>(p + KO_VALUE_LEN);
    if (kind != KV_OP_PUT && kind != KV_OP_DELETE) return ERR_BAD_RECORD;
    if (load<u16>(p + 2) != 0 || klen > KV_MAX_KEY || vlen > KV_MAX_VERSION || valLen > KV_MAX_VALUE) return ERR_BAD_RECORD;
    if (kind == KV_OP_DELETE && valLen != 0) return ERR_BAD_RECORD;
    pos += <u64>KV_OP_HEADER_SIZE + <u64>klen + <u64>vlen + <u64>valLen;
  }
  if (pos != <u64>len) { kvBadAt = <u32>min<u64>(pos, <u64>len); return ERR_BAD_RECORD; }
  kvCount = count;
  kvCursorLen = cursorLen;
  return OK;
}

/** Output of kvDescribe: ops described. */
export let kvDescribed: u32 = 0;

/**
 * Describe up to `max` (≤ DESC_CAPACITY) ops of a payload decodeKvBatch
 * accepted, starting at payload offset `from`, into the descriptor region
 * (KD_* fields). Returns the offset after the last op described; kvDescribed
 * says how many. ERR_ARGUMENT (as -21) for max out of range.
 */
export function kvDescribe(ptr: usize, from: u32, max: u32, remaining: u32): i32 {
  if (max == 0 || max > DESC_CAPACITY) return ERR_ARGUMENT;
  const n = remaining < max ? remaining : max;
  let pos = from;
  let d = descPtr();
  for (let i: u32 = 0; i < n; i++) {
    const p = ptr + pos;
    const kind = <u32>load<u8>(p + KO_KIND);
    const vlen = <u32>load<u8>(p + KO_VERSION_LEN);
    const klen = load<u32>(p + KO_KEY_LEN);
    const valLen = load<u32>(p + KO_VALUE_LEN);
    store<u32>(d + KD_OFFSET, pos);
    store<u32>(d + KD_KEY_LEN, klen);
    store<u32>(d + KD_VALUE_LEN, valLen);
    store<u32>(d + KD_KIND, kind | (vlen << 8));
    pos += KV_OP_HEADER_SIZE + klen + vlen + valLen;
    d += DESC_SIZE;
  }
  kvDescribed = n;
  return <i32>pos;
}


