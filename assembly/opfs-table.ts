// The name table of the browser's OPFS pool (host/fs/opfs.ts), FORMAT.md §13:
// the file `walcore-table` holds two copies of the table, at offsets 0 and
// OPFS_TABLE_REGION; a copy is a 16-byte header and a body (UTF-8 JSON that
// the host writes and reads). The header's layout and checks live here.
//
//   copy := magic u32 | generation u32 | length u32 | crc u32 | body[length]
//   crc  := crc32c(generation, length, body)   (bytes 4..12, then the body)

import { ERR_BAD_MAGIC, ERR_CRC_MISMATCH, ERR_INCOMPLETE_HEADER, ERR_INCOMPLETE_PAYLOAD, ERR_LENGTH_OVER_BOUND } from "./constants";
import { crc32cUpdate } from "./crc32c";

export const OPFS_TABLE_MAGIC: u32 = 0x31544357; // 'WCT1' little-endian
export const OPFS_TABLE_HEADER_SIZE: u32 = 16;
/** Bytes reserved for each copy (header and body); copy 1 starts here. */
export const OPFS_TABLE_REGION: u32 = 256 * 1024;
export const OT_MAGIC: u32 = 0;
export const OT_GENERATION: u32 = 4;
export const OT_LENGTH: u32 = 8;
export const OT_CRC: u32 = 12;

/** Generation of the copy the last decodeOpfsTable accepted. */
export let otGeneration: u32 = 0;

/**
 * Write the header of a copy whose body (bodyLen bytes) is already at
 * ptr + OPFS_TABLE_HEADER_SIZE. Returns the copy's size, or
 * ERR_LENGTH_OVER_BOUND when it does not fit in its region.
 */
export function encodeOpfsTable(ptr: usize, generation: u32, bodyLen: u32): i32 {
  if (bodyLen > OPFS_TABLE_REGION - OPFS_TABLE_HEADER_SIZE) return ERR_LENGTH_OVER_BOUND;
  store<u32>(ptr + OT_MAGIC, OPFS_TABLE_MAGIC);
  store<u32>(ptr + OT_GENERATION, generation);
  store<u32>(ptr + OT_LENGTH, bodyLen);
  store<u32>(ptr + OT_CRC, crc32cUpdate(crc32cUpdate(0, ptr + OT_GENERATION, 8), ptr + OPFS_TABLE_HEADER_SIZE, bodyLen));
  return <i32>(OPFS_TABLE_HEADER_SIZE + bodyLen);
}

/**
 * Check the copy read at ptr (len bytes: as much of its region as the file
 * holds). Returns the body's length (the body is at ptr + 16) and sets
 * otGeneration, or a status < 0:
 * - ERR_INCOMPLETE_HEADER / ERR_BAD_MAGIC: no copy was ever written here
 *   (the region is short or does not start with the magic);
 * - ERR_LENGTH_OVER_BOUND, ERR_INCOMPLETE_PAYLOAD, ERR_CRC_MISMATCH: a copy
 *   was started here but is damaged or torn.
 */
export function decodeOpfsTable(ptr: usize, len: u32): i32 {
  if (len < OPFS_TABLE_HEADER_SIZE) return ERR_INCOMPLETE_HEADER;
  if (load<u32>(ptr + OT_MAGIC) != OPFS_TABLE_MAGIC) return ERR_BAD_MAGIC;
  const bodyLen = load<u32>(ptr + OT_LENGTH);
  if (bodyLen > OPFS_TABLE_REGION - OPFS_TABLE_HEADER_SIZE) return ERR_LENGTH_OVER_BOUND;
  if (bodyLen > len - OPFS_TABLE_HEADER_SIZE) return ERR_INCOMPLETE_PAYLOAD;
  const crc = crc32cUpdate(crc32cUpdate(0, ptr + OT_GENERATION, 8), ptr + OPFS_TABLE_HEADER_SIZE, bodyLen);
  if (crc != load<u32>(ptr + OT_CRC)) return ERR_CRC_MISMATCH;
  otGeneration = load<u32>(ptr + OT_GENERATION);
  return <i32>bodyLen;
}
