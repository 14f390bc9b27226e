// SegmentedWal segments (docs/FORMAT.md §9): the segment header's use of
// the 64-byte file header, and the record sub-header every RECORD frame's
// payload starts with.
//
//   segment := file-header(kind SEGMENT, p0 = first LSN, p1 = encryption, p2 = key id) frame*
//   record frame payload := sub-header(32 B) [nonce(12 B)] body
//
// Encoding works in place like encodeFrame: the host copies the body to
// ptr + FRAME_HEADER_SIZE + subHeaderSize and the core writes the sub-header
// and the frame header around it. An encrypted record is encoded in two steps
// (headers, then the host encrypts with the AAD the headers form, then
// sealRecord computes the CRC over the ciphertext).

import {
  D_LEN, D_OFFSET, D_TYPE, DESC_CAPACITY, DESC_SIZE, ERR_ARGUMENT, ERR_BAD_FLAGS, F_CRC, F_FLAGS, F_LEN,
  F_MAGIC, F_MARK, F_SALT, F_SEQ, F_TYPE, F_VERSION, FH_CRC, FH_P0, FH_P1, FH_P2, FH_SALT, FILE_HEADER_SIZE,
  FORMAT_VERSION, FRAME_HEADER_SIZE, FRAME_MAGIC, KIND_SEGMENT, OK, TYPE_RECORD, TYPE_SYNC_MARK,
  ERR_BAD_RECORD,
} from "./constants";
import { crc32cUpdate } from "./crc32c";
import { encodeFrame } from "./frame";
import { decodeFileHeader, writeFileHeader } from "./header";
import { descPtr } from "./memory";

// ---- FORMAT.md §S2 Segment header (file header fields)
/** p1: how the segment's records are stored; p2 is the key id of an encrypted segment (0 when plain). */
export const SEG_ENC_NONE: u32 = 0;
export const SEG_ENC_AES256GCM: u32 = 1;
/** Format 2: AES-256-GCM sealed blocks (FORMAT.md §S9, assembly/sealed-block.ts). */
export const SEG_ENC_SEALED_BLOCKS: u32 = 2;
/**
 * 8 bytes in the header's reserved area: an encrypted segment's key check
 * value (the first 8 bytes of HMAC-SHA-256(key, "walcore key check"), never
 * the key), so a different key under the same key id is refused. All zeros:
 * no check value (plain segments, and segments written before it existed).
 */
export const SEG_KEY_CHECK: u32 = 40;

// ---- FORMAT.md §S3 Record sub-header (at the start of a RECORD frame's payload)
export const REC_HEADER_SIZE: u32 = 32;
export const R_TYPE: u32 = 0; // u32 recordType
export const R_VSHARD: u32 = 4; // u32 vshardId
export const R_TENANT: u32 = 8; // u64 tenantId
export const R_DATABASE: u32 = 16; // u64 databaseId
export const R_FLAGS: u32 = 24; // u32, REC_FLAG_*; no other bit may be set
export const R_KEY_ID: u32 = 28; // u32 key id (0 when not encrypted)
export const R_NONCE: u32 = 32; // 12-byte AES-GCM nonce, encrypted records only
export const REC_NONCE_SIZE: u32 = 12;
export const REC_TAG_SIZE: u32 = 16;
export const REC_FLAG_ENCRYPTED: u32 = 1;
/** Encrypted records: AAD = frame bytes [REC_AAD_START, body start): frame header after F_LEN plus the sub-header. */
export const REC_AAD_START: u32 = F_MAGIC;
/** Largest body (plaintext) a record may carry. */
export const MAX_RECORD_BODY: u32 = (64 << 20) - REC_HEADER_SIZE - REC_NONCE_SIZE - REC_TAG_SIZE;

// ---- Record descriptors written by decodeRecords: one per scan descriptor.
export const RD_SIZE: u32 = 48;
export const RD_TYPE: u32 = 0; // u32 recordType
export const RD_VSHARD: u32 = 4; // u32
export const RD_TENANT_LO: u32 = 8;
export const RD_TENANT_HI: u32 = 12;
export const RD_DATABASE_LO: u32 = 16;
export const RD_DATABASE_HI: u32 = 20;
export const RD_FLAGS: u32 = 24; // stored flags, or RDF_CONTROL for a control frame
export const RD_KEY_ID: u32 = 28;
export const RD_BODY: u32 = 32; // u32 body start, relative to the scanned buffer
export const RD_BODY_LEN: u32 = 36; // u32 body length (encrypted: ciphertext + tag)
export const RD_AAD: u32 = 40; // u32 AAD start, relative; the AAD ends at RD_BODY
export const RD_NONCE: u32 = 44; // u32 nonce start, relative (encrypted records)
export const RDF_CONTROL: u32 = 0x80000000;
/** Record descriptors per decodeRecords call (it is given a window of the scan descriptors). */
export const RD_CAPACITY: u32 = 1024;

const RDESC: usize = memory.data(<i32>(RD_SIZE * RD_CAPACITY), 16);

// ---- outputs of decodeSegmentHeader / decodeRecords
export let segFirstLo: u32 = 0;
export let segFirstHi: u32 = 0;
export let segEnc: u32 = 0;
export let segSalt: u32 = 0;
export let segKeyId: u32 = 0;
export let segCheckLo: u32 = 0;
export let segCheckHi: u32 = 0;
/** decodeRecords: index of the descriptor whose frame broke a rule. */
export let outBadIndex: u32 = 0;

/** Start of the record descriptor region (RD_SIZE-byte entries). */
export function recDescPtr(): usize {
  return RDESC;
}

/** Write a segment header at ptr. Returns FILE_HEADER_SIZE, or ERR_ARGUMENT for an unknown encryption. */
export function encodeSegmentHeader(ptr: usize, salt: u32, firstLo: u32, firstHi: u32, enc: u32, keyId: u32): i32 {
  if (enc > SEG_ENC_SEALED_BLOCKS || (enc == SEG_ENC_NONE && keyId != 0)) return ERR_ARGUMENT;
  return <i32>writeFileHeader(ptr, KIND_SEGMENT, salt, (<u64>firstHi << 32) | <u64>firstLo, <u64>enc, <u64>keyId);
}

/**
 * Validate a segment header (`len` bytes available). Checks, in order:
 * length, magic, version, CRC, flags, kind, p1 a known encryption, p2 a
 * u32 key id (0 for a plain segment).
 * On OK the seg* globals hold its fields.
 */
export function decodeSegmentHeader(ptr: usize, len: u32): i32 {
  const st = decodeFileHeader(ptr, len, KIND_SEGMENT);
  if (st != OK) return st;
  const enc = load<u64>(ptr + FH_P1);
  const keyId = load<u64>(ptr + FH_P2);
  if (enc > <u64>SEG_ENC_SEALED_BLOCKS || keyId > <u64>0xffffffff || (enc == <u64>SEG_ENC_NONE && keyId != 0)) return ERR_BAD_FLAGS;
  segKeyId = <u32>keyId;
  segSalt = load<u32>(ptr + FH_SALT);
  segFirstLo = load<u32>(ptr + FH_P0);
  segFirstHi = load<u32>(ptr + FH_P0 + 4);
  segEnc = <u32>enc;
  segCheckLo = load<u32>(ptr + SEG_KEY_CHECK);
  segCheckHi = load<u32>(ptr + SEG_KEY_CHECK + 4);
  return OK;
}

/** Store an encrypted segment's key check value in the header at ptr and recompute its CRC. */
export function setSegmentKeyCheck(ptr: usize, lo: u32, hi: u32): void {
  store<u32>(ptr + SEG_KEY_CHECK, lo);
  store<u32>(ptr + SEG_KEY_CHECK + 4, hi);
  store<u32>(ptr + FH_CRC, crc32cUpdate(0, ptr, FH_CRC));
}

// @ts-ignore: decorator
@inline function writeSubHeader(p: usize, recordType: u32, tenantLo: u32, tenantHi: u32, vshard: u32,
  dbLo: u32, dbHi: u32, flags: u32, keyId: u32): void {
  store<u32>(p + R_TYPE, recordType);
  store<u32>(p + R_VSHARD, vshard);
  store<u32>(p + R_TENANT, tenantLo);
  store<u32>(p + R_TENANT + 4, tenantHi);
  store<u32>(p + R_DATABASE, dbLo);
  store<u32>(p + R_DATABASE + 4, dbHi);
  store<u32>(p + R_FLAGS, flags);
  store<u32>(p + R_KEY_ID, keyId);
}

/**
 * Encode a plain record frame at ptr; the host placed the body (`bodyLen`
 * bytes) at ptr + FRAME_HEADER_SIZE + REC_HEADER_SIZE. Returns the frame size.
 */
export function encodeRecord(ptr: usize, bodyLen: u32, recordType: u32, tenantLo: u32, tenantHi: u32, vshard: u32,
  dbLo: u32, dbHi: u32, salt: u32, lsnLo: u32, lsnHi: u32, mark: f64): u32 {
  writeSubHeader(ptr + FRAME_HEADER_SIZE, recordType, tenantLo, tenantHi, vshard, dbLo, dbHi, 0, 0);
  return encodeFrame(ptr, REC_HEADER_SIZE + bodyLen, TYPE_RECORD, salt, lsnLo, lsnHi, mark);
}

/**
 * Encode `count` plain record frames back to back from `ptr`, with LSNs
 * first, first + 1, ...: the host has copied record i's body to its place
 * (after its frame header and sub-header) and filled record descriptor i's
 * RD_TYPE, RD_VSHARD, RD_TENANT_*, RD_DATABASE_* and RD_BODY_LEN (the
 * decode layout, reused as input: a core appends or replays, never both).
 * One call frames a whole buffer of records, as encodeBatch does for plain
 * frames. Returns OK, or ERR_ARGUMENT for a bad count (the host knows the
 * total size: it placed the bodies).
 */
export function encodeRecords(ptr: usize, count: u32, salt: u32, firstLo: u32, firstHi: u32, mark: f64): i32 {
  if (count > RD_CAPACITY) return ERR_ARGUMENT;
  let p = ptr;
  let r = RDESC;
  let lsn: u64 = (<u64>firstHi << 32) | <u64>firstLo;
  for (let i: u32 = 0; i < count; i++, r += RD_SIZE, lsn++) {
    const bodyLen = load<u32>(r + RD_BODY_LEN);
    writeSubHeader(p + FRAME_HEADER_SIZE, load<u32>(r + RD_TYPE), load<u32>(r + RD_TENANT_LO), load<u32>(r + RD_TENANT_HI),
      load<u32>(r + RD_VSHARD), load<u32>(r + RD_DATABASE_LO), load<u32>(r + RD_DATABASE_HI), 0, 0);
    p += encodeFrame(p, REC_HEADER_SIZE + bodyLen, TYPE_RECORD, salt, <u32>lsn, <u32>(lsn >>> 32), mark);
  }
  return OK;
}

/**
 * The salt of a segment that reuses a recycled file (FORMAT.md §S9): the
 * `len` bytes at ptr are the file's start (its old header and first frame).
 * Returns `candidate` unless it equals the old header's salt or the first
 * old frame's, else the next value that equals neither, so no stale frame
 * left in the file carries the new segment's salt.
 */
export function recycledSalt(ptr: usize, len: u32, candidate: u32): u32 {
  let a: u32 = candidate ^ 1;
  let b: u32 = candidate ^ 1;
  if (len >= FILE_HEADER_SIZE) a = load<u32>(ptr + FH_SALT);
  if (len >= FILE_HEADER_SIZE + FRAME_HEADER_SIZE) b = load<u32>(ptr + FILE_HEADER_SIZE + F_SALT);
  let s = candidate;
  while (s == a || s == b) s++;
  return s;
}

/**
 * Step 1 of an encrypted record: write the frame header (all but its CRC)
 * and the sub-header with key id and nonce. `sealedLen` is the ciphertext
 * plus tag length; the host then encrypts with AAD = [ptr + REC_AAD_START,
 * ptr + encryptedBodyOffset()), writes ciphertext and tag at the body offset,
 * and calls sealRecord. Returns the frame size.
 */
export function encodeEncryptedHeaders(ptr: usize, sealedLen: u32, recordType: u32, tenantLo: u32, tenantHi: u32,
  vshard: u32, dbLo: u32, dbHi: u32, keyId: u32, n0: u32, n1: u32, n2: u32, salt: u32, lsnLo: u32, lsnHi: u32,
  mark: f64): u32 {
  const sub = ptr + FRAME_HEADER_SIZE;
  writeSubHeader(sub, recordType, tenantLo, tenantHi, vshard, dbLo, dbHi, REC_FLAG_ENCRYPTED, keyId);
  store<u32>(sub + R_NONCE, n0);
  store<u32>(sub + R_NONCE + 4, n1);
  store<u32>(sub + R_NONCE + 8, n2);
  const len = REC_HEADER_SIZE + REC_NONCE_SIZE + sealedLen;
  store<u32>(ptr + F_LEN, len);
  store<u8>(ptr + F_MAGIC, <u8>FRAME_MAGIC);
  store<u8>(ptr + F_VERSION, <u8>FORMAT_VERSION);
  store<u8>(ptr + F_TYPE, <u8>TYPE_RECORD);
  store<u8>(ptr + F_FLAGS, 0);
  store<u32>(ptr + F_SALT, salt);
  store<u32>(ptr + F_SEQ, lsnLo);
  store<u32>(ptr + F_SEQ + 4, lsnHi);
  store<u64>(ptr + F_MARK, <u64>mark);
  store<u32>(ptr + F_CRC, 0); // sealRecord writes the CRC once the body is in place
  return FRAME_HEADER_SIZE + len;
}

/** Body offset of an encrypted record, from the frame start. */
export function encryptedBodyOffset(): u32 {
  return FRAME_HEADER_SIZE + REC_HEADER_SIZE + REC_NONCE_SIZE;
}

/** Step 2 of an encrypted record: the CRC over the finished frame at ptr. */
export function sealRecord(ptr: usize): void {
  store<u32>(ptr + F_CRC, crc32cUpdate(0, ptr + 4, <usize>(FRAME_HEADER_SIZE - 4) + <usize>load<u32>(ptr + F_LEN)));
}

/**
 * Decode the frames described by scan descriptors [first, first + count)
 * (from scanFrames with SCAN_EMIT over the buffer at `base`) into record
 * descriptors 0..count-1; count is at most RD_CAPACITY. `enc` and `segKey` are the
 * segment's p1 and p2: every record must match them (a segment holds records
 * of one key; rotation rolls).
 * Rules (FORMAT.md §S3): a data frame has type RECORD, a control frame
 * type SYNC_MARK, and frame flags are 0; a record's payload holds its sub-header; flags are exactly
 * the segment's encryption; the key id is the segment's; an encrypted record
 * has room for nonce and tag. Returns OK or ERR_BAD_RECORD (outBadIndex).
 */
export function decodeRecords(base: usize, first: u32, count: u32, enc: u32, segKey: u32): i32 {
  if (count > RD_CAPACITY || first > DESC_CAPACITY || count > DESC_CAPACITY - first) return ERR_ARGUMENT;
  let d = descPtr() + <usize>first * DESC_SIZE;
  let r = RDESC;
  const want: u32 = enc == SEG_ENC_AES256GCM ? REC_FLAG_ENCRYPTED : 0;
  for (let i: u32 = 0; i < count; i++, d += DESC_SIZE, r += RD_SIZE) {
    const typeFlags = load<u32>(d + D_TYPE);
    const type = typeFlags & 0xff;
    const rel = load<u32>(d + D_OFFSET);
    const len = load<u32>(d + D_LEN);
    if (typeFlags == TYPE_SYNC_MARK) { store<u32>(r + RD_FLAGS, RDF_CONTROL); continue; }
    if (type != TYPE_RECORD || (typeFlags >>> 8) != 0 || len < REC_HEADER_SIZE) { outBadIndex = first + i; return ERR_BAD_RECORD; }
    const sub = base + <usize>rel + FRAME_HEADER_SIZE;
    const flags = load<u32>(sub + R_FLAGS);
    const keyId = load<u32>(sub + R_KEY_ID);
    if (flags != want || keyId != segKey) { outBadIndex = first + i; return ERR_BAD_RECORD; }
    let head = REC_HEADER_SIZE;
    if (flags == REC_FLAG_ENCRYPTED) {
      head += REC_NONCE_SIZE;
      if (len < head + REC_TAG_SIZE) { outBadIndex = first + i; return ERR_BAD_RECORD; }
    }
    store<u32>(r + RD_TYPE, load<u32>(sub + R_TYPE));
    store<u32>(r + RD_VSHARD, load<u32>(sub + R_VSHARD));
    store<u64>(r + RD_TENANT_LO, load<u64>(sub + R_TENANT));
    store<u64>(r + RD_DATABASE_LO, load<u64>(sub + R_DATABASE));
    store<u32>(r + RD_FLAGS, flags);
    store<u32>(r + RD_KEY_ID, keyId);
    store<u32>(r + RD_BODY, rel + FRAME_HEADER_SIZE + head);
    store<u32>(r + RD_BODY_LEN, len - head);
    store<u32>(r + RD_AAD, rel + REC_AAD_START);
    store<u32>(r + RD_NONCE, rel + FRAME_HEADER_SIZE + R_NONCE);
  }
  return OK;
}
