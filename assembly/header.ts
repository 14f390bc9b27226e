// The 64-byte file header every walcore file starts with (FORMAT.md §2).

import {
  ERR_BAD_FLAGS, ERR_BAD_MAGIC, ERR_HEADER_CRC, ERR_INCOMPLETE_HEADER, ERR_UNSUPPORTED_VERSION,
  ERR_WRONG_KIND, FH_CRC, FH_FLAGS, FH_KIND, FH_MAGIC, FH_P0, FH_P1, FH_P2, FH_SALT, FH_VERSION,
  FILE_HEADER_SIZE, FILE_MAGIC, FORMAT_VERSION, OK,
} from "./constants";
import { crc32cUpdate } from "./crc32c";

/** Fields of the last header decoded by decodeFileHeader. */
export let hdrVersion: u32 = 0;
export let hdrKind: u32 = 0;
export let hdrSalt: u32 = 0;
export let hdrP0: f64 = 0;
export let hdrP1: f64 = 0;
export let hdrP2: f64 = 0;

/** Write a header at ptr with exact u64 kind-specific fields (for the core's own callers). */
export function writeFileHeader(ptr: usize, kind: u32, salt: u32, p0: u64, p1: u64, p2: u64): u32 {
  memory.fill(ptr, 0, FILE_HEADER_SIZE);
  store<u32>(ptr + FH_MAGIC, FILE_MAGIC);
  store<u16>(ptr + FH_VERSION, <u16>FORMAT_VERSION);
  store<u16>(ptr + FH_KIND, <u16>kind);
  store<u32>(ptr + FH_SALT, salt);
  store<u32>(ptr + FH_FLAGS, 0);
  store<u64>(ptr + FH_P0, p0);
  store<u64>(ptr + FH_P1, p1);
  store<u64>(ptr + FH_P2, p2);
  store<u32>(ptr + FH_CRC, crc32cUpdate(0, ptr, FH_CRC));
  return FILE_HEADER_SIZE;
}

/** Write a header at ptr (ABI form). The kind-specific fields p0..p2 are u64 passed as f64 (< 2^53). */
export function encodeFileHeader(ptr: usize, kind: u32, salt: u32, p0: f64, p1: f64, p2: f64): u32 {
  return writeFileHeader(ptr, kind, salt, <u64>p0, <u64>p1, <u64>p2);
}

/**
 * Validate the header at ptr (`len` bytes available) as a file of `kind`.
 * Checks, in order: length, magic, version, CRC, flags, kind. On OK the
 * hdr* globals hold its fields.
 */
export function decodeFileHeader(ptr: usize, len: u32, kind: u32): i32 {
  if (len < FILE_HEADER_SIZE) return ERR_INCOMPLETE_HEADER;
  if (load<u32>(ptr + FH_MAGIC) != FILE_MAGIC) return ERR_BAD_MAGIC;
  hdrVersion = <u32>load<u16>(ptr + FH_VERSION);
  if (hdrVersion != FORMAT_VERSION) return ERR_UNSUPPORTED_VERSION;
  if (crc32cUpdate(0, ptr, FH_CRC) != load<u32>(ptr + FH_CRC)) return ERR_HEADER_CRC;
  if (load<u32>(ptr + FH_FLAGS) != 0) return ERR_BAD_FLAGS;
  hdrKind = <u32>load<u16>(ptr + FH_KIND);
  if (hdrKind != kind) return ERR_WRONG_KIND;
  hdrSalt = load<u32>(ptr + FH_SALT);
  hdrP0 = <f64>load<u64>(ptr + FH_P0);
  hdrP1 = <f64>load<u64>(ptr + FH_P1);
  hdrP2 = <f64>load<u64>(ptr + FH_P2);
  return OK;
}
