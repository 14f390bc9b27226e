// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), slicing-by-16.
// FORMAT.md §1. Sixteen 256-entry tables (16 KiB) live in static memory and
// are filled once when the module starts. The 16 lookups per 16-byte block are
// independent loads, so they overlap in the CPU instead of forming one chain.
// Output is bit-for-bit the same CRC (test/vectors, test/core).

const POLY: u32 = 0x82f63b78;
const TABLES: usize = memory.data(16 * 256 * 4, 64);

function initTables(): void {
  for (let i: u32 = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    store<u32>(TABLES + (<usize>i << 2), c);
  }
  for (let t: usize = 1; t < 16; t++) {
    for (let i: usize = 0; i < 256; i++) {
      const prev = load<u32>(TABLES + ((t - 1) << 10) + (i << 2));
      store<u32>(TABLES + (t << 10) + (i << 2), (prev >>> 8) ^ load<u32>(TABLES + ((prev & 0xff) << 2)));
    }
  }
}
initTables();

// @ts-ignore: decorator
@inline function T(table: usize, byte: u32): u32 {
  return load<u32>(TABLES + (table << 10) + (<usize>(byte & 0xff) << 2));
}

// Lookup by a byte already scaled by 4 (`(x >>> s) & 0x3fc`: two operations
// per byte instead of three).
// @ts-ignore: decorator
@inline function S(table: usize, idx4: u32): u32 {
  return load<u32>(TABLES + (table << 10) + <usize>idx4);
}

// Lookup by the data byte at p + k, loaded on its own (a byte load replaces
// the shift and mask). Only for bytes the CRC register is not XORed into.
// @ts-ignore: decorator
@inline function B(table: usize, p: usize, k: usize): u32 {
  return load<u32>(TABLES + (table << 10) + (<usize>load<u8>(p + k) << 2));
}

/**
 * Continue a CRC-32C over `len` bytes at `ptr`. `crc` is a previous result
 * (0 to start), so crc32cUpdate(crc32cUpdate(0, a), b) == crc32c(a ++ b).
 *
 * Measured variants (CPU time, 128 B and 100 B calls and 1 MiB, Node, Deno,
 * Bun; bench/crc.bench.js): the first word's bytes scaled in place, the
 * other twelve bytes by byte loads, and the XOR tree grouped in fours (a
 * shorter dependency chain) were together 10-25% faster than plain
 * shift-and-mask slicing-by-16; an 8-byte and a 4-byte sliced step for the
 * tail make a 100-byte call (a 64 B ring slot) ~1.5x faster than finishing
 * byte by byte.
 */
export function crc32cUpdate(crc: u32, ptr: usize, len: usize): u32 {
  let c = ~crc;
  let p = ptr;
  const end16 = ptr + (len & ~(<usize>15));
  while (p < end16) {
    const a = load<u32>(p) ^ c;
    c = (S(15, (a << 2) & 0x3fc) ^ S(14, (a >>> 6) & 0x3fc) ^ S(13, (a >>> 14) & 0x3fc) ^ S(12, (a >>> 22) & 0x3fc)) ^
        (B(11, p, 4) ^ B(10, p, 5) ^ B(9, p, 6) ^ B(8, p, 7)) ^
        ((B(7, p, 8) ^ B(6, p, 9) ^ B(5, p, 10) ^ B(4, p, 11)) ^
        (B(3, p, 12) ^ B(2, p, 13) ^ B(1, p, 14) ^ B(0, p, 15)));
    p += 16;
  }
  const end = ptr + len;
  if (end - p >= 8) {
    const a = load<u32>(p) ^ c;
    c = S(7, (a << 2) & 0x3fc) ^ S(6, (a >>> 6) & 0x3fc) ^ S(5, (a >>> 14) & 0x3fc) ^ S(4, (a >>> 22) & 0x3fc) ^
        B(3, p, 4) ^ B(2, p, 5) ^ B(1, p, 6) ^ B(0, p, 7);
    p += 8;
  }
  if (end - p >= 4) {
    const a = load<u32>(p) ^ c;
    c = S(3, (a << 2) & 0x3fc) ^ S(2, (a >>> 6) & 0x3fc) ^ S(1, (a >>> 14) & 0x3fc) ^ S(0, (a >>> 22) & 0x3fc);
    p += 4;
  }
  while (p < end) {
    c = T(0, c ^ <u32>load<u8>(p)) ^ (c >>> 8);
    p++;
  }
  return ~c;
}

// ---- Range CRCs from prefix CRCs (used by findWitness, assembly/frame.ts).
//
// The CRC register update is linear over GF(2) in (register, data) together,
// so feeding n bytes D from register r gives Z_n(r) ^ f(0, D), where Z_n is
// "feed n zero bytes" (multiplication by x^(8n) mod P). With C_i the CRC-32C
// of data[0, i), that yields crc32c(data[a, b)) == C_b ^ Z_(b-a)(C_a): any
// range's CRC from two prefix CRCs and one shift. Z_(2^k) is a 32x32 bit
// matrix, kept as 8 tables of 16 entries (one per input nibble), so a shift
// by n costs 8 lookups per set bit of n. Built on first use.

/** Shift operators Z_(2^k) for k < SHIFT_BITS: n < 2^27 covers 32 + MAX_FRAME_PAYLOAD. */
const SHIFT_BITS: u32 = 27;
const SHIFT_TABLES: usize = memory.data(<i32>(SHIFT_BITS * 8 * 16 * 4), 64);
let shiftReady = false;

// @ts-ignore: decorator
@inline function applyShift(k: u32, r: u32): u32 {
  const t = SHIFT_TABLES + (<usize>k << 9);
  let out: u32 = 0;
  for (let i: u32 = 0; i < 8; i++) out ^= load<u32>(t + (<usize>i << 6) + (<usize>((r >>> (i << 2)) & 15) << 2));
  return out;
}

function initShift(): void {
  for (let i: u32 = 0; i < 8; i++) {
    for (let v: u32 = 0; v < 16; v++) {
      const r = v << (i << 2);
      store<u32>(SHIFT_TABLES + (<usize>i << 6) + (<usize>v << 2), T(0, r) ^ (r >>> 8)); // one zero byte
    }
  }
  for (let k: u32 = 1; k < SHIFT_BITS; k++) {
    for (let i: u32 = 0; i < 8; i++) {
      for (let v: u32 = 0; v < 16; v++) {
        const r = v << (i << 2);
        const at = SHIFT_TABLES + (<usize>k << 9) + (<usize>i << 6) + (<usize>v << 2);
        store<u32>(at, applyShift(k - 1, applyShift(k - 1, r))); // Z_(2^k) = Z_(2^(k-1)) twice
      }
    }
  }
  shiftReady = true;
}

/** Z_n(r): the raw CRC register `r` after n zero bytes (n < 2^27). */
export function crc32cShift(r: u32, n: u32): u32 {
  if (!shiftReady) initShift();
  for (let k: u32 = 0; n != 0; k++, n >>>= 1) {
    if ((n & 1) != 0) r = applyShift(k, r);
  }
  return r;
}
