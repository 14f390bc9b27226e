// Memory layout of the core (FORMAT.md §6 Core ABI). Nothing is allocated per
// call: the module owns two fixed regions after its static data, and the host
// copies bytes into them.
//
//   [static data: CRC tables] [descriptor region: DESC_CAPACITY x 32 B] [staging ...grows]
//
// The staging region is where the host places payloads to frame and file
// bytes to scan. ensureStaging grows linear memory; growing detaches every
// JS view of the old buffer, so the host rebuilds its views afterwards.

import { DESC_CAPACITY, DESC_SIZE, ERR_NO_MEMORY, OK } from "./constants";

const DESC_BASE: usize = (__heap_base + 63) & ~(<usize>63);
const STAGING_BASE: usize = DESC_BASE + <usize>DESC_SIZE * <usize>DESC_CAPACITY;

/** Start of the descriptor region (32-byte entries, see constants.ts D_*). */
export function descPtr(): usize {
  return DESC_BASE;
}

/** Start of the staging region. Stable for the life of the instance. */
export function stagingPtr(): usize {
  return STAGING_BASE;
}

/** Make the staging region at least `bytes` long. Returns OK or ERR_NO_MEMORY. */
export function ensureStaging(bytes: u32): i32 {
  const need = <u64>STAGING_BASE + <u64>bytes;
  const have = <u64>memory.size() << 16;
  if (need <= have) return OK;
  const pages = <i32>((need - have + 0xffff) >> 16);
  return memory.grow(pages) < 0 ? ERR_NO_MEMORY : OK;
}

/** Current staging capacity in bytes. */
export function stagingCapacity(): u32 {
  const size = <u64>memory.size() << 16;
  return size > <u64>STAGING_BASE ? <u32>(size - <u64>STAGING_BASE) : 0;
}
