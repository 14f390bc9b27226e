// Sealed blocks: the byte layout of encrypted segments, format 2
// (docs/FORMAT.md §S9). One AES-GCM call seals a block of records; this
// file lays out and checks the bytes around it, the host does the crypto.
//
//   block frame   := frame(type 3, seq = last LSN) count(4) nonce(12) ciphertext tag(16)
//   plaintext     := inner-record{count}
//   inner-record  := recordType(4) vshardId(4) tenantId(8) databaseId(8) bodyLen(4) body
//
// Writing: the host stages inner records back to back (encodeInnerRecord),
// cuts them into blocks (splitBlock), writes the headers of each block frame
// (encodeBlockHeaders), encrypts the block's plaintext with AAD = frame bytes
// [BLOCK_AAD_START, BLOCK_BODY) into the frame, and sealBlock computes the CRC.

import {
  D_LEN, D_OFFSET, D_SEQ_HI, D_SEQ_LO, D_TYPE, DESC_CAPACITY, DESC_SIZE, ERR_ARGUMENT, ERR_BAD_RECORD, F_CRC, F_FLAGS,
  F_LEN, F_MAGIC, F_MARK, F_SALT, F_SEQ, F_TYPE, F_VERSION, FORMAT_VERSION, FRAME_HEADER_SIZE, FRAME_MAGIC, OK,
  TYPE_SYNC_MARK,
} from "./constants";
import { crc32cUpdate } from "./crc32c";
import { descPtr } from "./memory";
import {
  RD_BODY, RD_BODY_LEN, RD_CAPACITY, RD_DATABASE_LO, RD_FLAGS, RD_SIZE, RD_TENANT_LO, RD_TYPE, RD_VSHARD, RDF_CONTROL, recDescPtr,
} from "./segment";

/** Frame type of a sealed block (a data frame: its seq is the block's last LSN). */
export const TYPE_SEALED_BLOCK: u32 = 3;
/** Plaintext bytes after which the writer starts a new block (a larger single record is a block by itself). */
export const BLOCK_TARGET: u32 = 64 << 10;
/** Most records in one block. */
export const BLOCK_MAX_RECORDS: u32 = 1024;
/** Bytes of block header at the start of the frame payload: count, nonce. */
export const BLOCK_HEAD_SIZE: u32 = 16;
export const B_COUNT: u32 = FRAME_HEADER_SIZE; // frame offset of the u32 record count
export const B_NONCE: u32 = FRAME_HEADER_SIZE + 4; // frame offset of the 12-byte nonce
export const BLOCK_NONCE_SIZE: u32 = 12;
export const BLOCK_TAG_SIZE: u32 = 16;
/** AAD = frame bytes [BLOCK_AAD_START, BLOCK_BODY); the ciphertext starts at BLOCK_BODY. */
export const BLOCK_AAD_START: u32 = F_MAGIC;
export const BLOCK_BODY: u32 = FRAME_HEADER_SIZE + BLOCK_HEAD_SIZE;

// ---- inner record (plaintext)
export const INNER_HEADER_SIZE: u32 = 28;
export const I_TYPE: u32 = 0;
export const I_VSHARD: u32 = 4;
export const I_TENANT: u32 = 8;
export const I_DATABASE: u32 = 16;
export const I_BODY_LEN: u32 = 24;

// ---- block descriptors written by decodeBlocks: one per scan descriptor
export const BD_SIZE: u32 = 16;
export const BD_COUNT: u32 = 0; // u32 records in the block
export const BD_FIRST_LO: u32 = 4; // u32 halves of the block's first LSN
export const BD_FIRST_HI: u32 = 8;
export const BD_FLAGS: u32 = 12; // 0, or RDF_CONTROL for a sync marker
export const BD_CAPACITY: u32 = 1024;

const BDESC: usize = memory.data(<i32>(BD_SIZE * BD_CAPACITY), 16);

/** splitBlock: records in the block it measured. */
export let outBlockCount: u32 = 0;
/** decodeBlocks: the last LSN of the last valid block (the prev* of the next call). */
export let outBlockLastLo: u32 = 0;
export let outBlockLastHi: u32 = 0;
/** decodeBlocks / decodeInnerRecords: index of the descriptor or record that broke a rule. */
export let outBlockBad: u32 = 0;

export function blockDescPtr(): usize {
  return BDESC;
}

/** Write an inner record's header at ptr; the host placed the body at ptr + INNER_HEADER_SIZE. Returns its size. */
export function encodeInnerRecord(ptr: usize, bodyLen: u32, recordType: u32, tenantLo: u32, tenantHi: u32, vshard: u32,
  dbLo: u32, dbHi: u32): u32 {
  store<u32>(ptr + I_TYPE, recordType);
  store<u32>(ptr + I_VSHARD, vshard);
  store<u32>(ptr + I_TENANT, tenantLo);
  store<u32>(ptr + I_TENANT + 4, tenantHi);
  store<u32>(ptr + I_DATABASE, dbLo);
  store<u32>(ptr + I_DATABASE + 4, dbHi);
  store<u32>(ptr + I_BODY_LEN, bodyLen);
  return INNER_HEADER_SIZE + bodyLen;
}

/**
 * Byte length of the next block of the inner records staged in [ptr, ptr + len):
 * whole records, at least one, at most BLOCK_MAX_RECORDS, and no more than
 * BLOCK_TARGET bytes unless the first record alone is larger. Sets
 * outBlockCount. Returns 0 for an empty or malformed staging area.
 */
export function splitBlock(ptr: usize, len: u32): u32 {
  let p: u32 = 0;
  let n: u32 = 0;
  while (p < len && n < BLOCK_MAX_RECORDS) {
    if (len - p < INNER_HEADER_SIZE) break;
    const size = INNER_HEADER_SIZE + load<u32>(ptr + <usize>p + I_BODY_LEN);
    if (size > len - p) break;
    if (n > 0 && p + size > BLOCK_TARGET) break;
    p += size;
    n++;
  }
  outBlockCount = n;
  return n == 0 ? 0 : p;
}

/**
 * Write a block frame's header and block header at ptr (CRC 0) for
 * `plainLen` bytes of plaintext holding `count` records whose last LSN is
 * last; returns the frame size. The host then writes ciphertext and tag at
 * ptr + BLOCK_BODY and calls sealBlock.
 */
export function encodeBlockHeaders(ptr: usize, plainLen: u32, count: u32, salt: u32, lastLo: u32, lastHi: u32, mark: f64,
  n0: u32, n1: u32, n2: u32): u32 {
  const len = BLOCK_HEAD_SIZE + plainLen + BLOCK_TAG_SIZE;
  store<u32>(ptr + F_CRC, 0);
  store<u32>(ptr + F_LEN, len);
  store<u8>(ptr + F_MAGIC, <u8>FRAME_MAGIC);
  store<u8>(ptr + F_VERSION, <u8>FORMAT_VERSION);
  store<u8>(ptr + F_TYPE, <u8>TYPE_SEALED_BLOCK);
  store<u8>(ptr + F_FLAGS, 0);
  store<u32>(ptr + F_SALT, salt);
  store<u32>(ptr + F_SEQ, lastLo);
  store<u32>(ptr + F_SEQ + 4, lastHi);
  store<u64>(ptr + F_MARK, <u64>mark);
  store<u32>(ptr + B_COUNT, count);
  store<u32>(ptr + B_NONCE, n0);
  store<u32>(ptr + B_NONCE + 4, n1);
  store<u32>(ptr + B_NONCE + 8, n2);
  return FRAME_HEADER_SIZE + len;
}

/** The frame CRC of the finished block frame at ptr. */
export function sealBlock(ptr: usize): void {
  store<u32>(ptr + F_CRC, crc32cUpdate(0, ptr + 4, <usize>(FRAME_HEADER_SIZE - 4) + <usize>load<u32>(ptr + F_LEN)));
}

/**
 * Check the frames of scan descriptors [first, first + count) over the
 * buffer at base against FORMAT.md §S9 rules 1-3 (prev = the last LSN
 * before them) and describe each in a block descriptor (count <= BD_CAPACITY).
 * Returns OK, or ERR_BAD_RECORD with outBlockBad (absolute descriptor index).
 * outBlockLastLo/Hi: the last LSN of the last valid block (or prev).
 */
export function decodeBlocks(base: usize, first: u32, count: u32, prevLo: u32, prevHi: u32): i32 {
  if (count > BD_CAPACITY || first > DESC_CAPACITY || count > DESC_CAPACITY - first) return ERR_ARGUMENT;
  let prev: u64 = (<u64>prevHi << 32) | <u64>prevLo;
  let d = descPtr() + <usize>first * DESC_SIZE;
  let b = BDESC;
  let status: i32 = OK;
  for (let i: u32 = 0; i < count; i++, d += DESC_SIZE, b += BD_SIZE) {
    const typeFlags = load<u32>(d + D_TYPE);
    if (typeFlags == TYPE_SYNC_MARK) { store<u32>(b + BD_FLAGS, RDF_CONTROL); continue; }
    const len = load<u32>(d + D_LEN);
    if (typeFlags != TYPE_SEALED_BLOCK || len < BLOCK_HEAD_SIZE + BLOCK_TAG_SIZE) { outBlockBad = first + i; status = ERR_BAD_RECORD; break; }
    const n = load<u32>(base + <usize>load<u32>(d + D_OFFSET) + B_COUNT);
    const seq = (<u64>load<u32>(d + D_SEQ_HI) << 32) | <u64>load<u32>(d + D_SEQ_LO);
    if (n == 0 || n > BLOCK_MAX_RECORDS || seq < <u64>n || seq - <u64>n != prev) { outBlockBad = first + i; status = ERR_BAD_RECORD; break; }
    const firstLsn = prev + 1;
    store<u32>(b + BD_COUNT, n);
    store<u32>(b + BD_FIRST_LO, <u32>firstLsn);
    store<u32>(b + BD_FIRST_HI, <u32>(firstLsn >>> 32));
    store<u32>(b + BD_FLAGS, 0);
    prev = seq;
  }
  outBlockLastLo = <u32>prev;
  outBlockLastHi = <u32>(prev >>> 32);
  return status;
}

/**
 * Check the decrypted plaintext of a block (copied to [ptr, ptr + len)):
 * exactly `count` inner records filling it (rule 4). Describes record i in
 * record descriptor i (RD_TYPE, RD_VSHARD, RD_TENANT_LO/HI, RD_DATABASE_LO/HI,
 * RD_BODY, RD_BODY_LEN relative to ptr; RD_FLAGS 0). Returns OK or
 * ERR_BAD_RECORD with outBlockBad = the record index.
 */
export function decodeInnerRecords(ptr: usize, len: u32, count: u32): i32 {
  if (count > RD_CAPACITY) return ERR_ARGUMENT;
  let p: u32 = 0;
  let r = recDescPtr();
  for (let i: u32 = 0; i < count; i++, r += RD_SIZE) {
    if (len - p < INNER_HEADER_SIZE) { outBlockBad = i; return ERR_BAD_RECORD; }
    const q = ptr + <usize>p;
    const bodyLen = load<u32>(q + I_BODY_LEN);
    if (bodyLen > len - p - INNER_HEADER_SIZE) { outBlockBad = i; return ERR_BAD_RECORD; }
    store<u32>(r + RD_TYPE, load<u32>(q + I_TYPE));
    store<u32>(r + RD_VSHARD, load<u32>(q + I_VSHARD));
    store<u64>(r + RD_TENANT_LO, load<u64>(q + I_TENANT));
    store<u64>(r + RD_DATABASE_LO, load<u64>(q + I_DATABASE));
    store<u32>(r + RD_FLAGS, 0);
    store<u32>(r + RD_BODY, p + INNER_HEADER_SIZE);
    store<u32>(r + RD_BODY_LEN, bodyLen);
    p += INNER_HEADER_SIZE + bodyLen;
  }
  if (p != len) { outBlockBad = count; return ERR_BAD_RECORD; }
  return OK;
}
