// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), slicing-by-16.
// FORMAT.md §1. Sixteen 256-entry tables (16 KiB) live in static memory and
// are filled once when the module starts. The 16 lookups per 16-byte block are
// independent loads, so they overlap in the CPU instead of forming one chain.

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

/**
 * Continue a CRC-32C over `len` bytes at `ptr`. `crc` is a previous result
 * (0 to start), so crc32cUpdate(crc32cUpdate(0, a), b) == crc32c(a ++ b).
 */
export function crc32cUpdate(crc: u32, ptr: usize, len: usize): u32 {
  let c = ~crc;
  let p = ptr;
  const end16 = ptr + (len & ~(<usize>15));
  while (p < end16) {
    const a = load<u32>(p) ^ c;
    const b = load<u32>(p, 4);
    const d = load<u32>(p, 8);
    const e = load<u32>(p, 12);
    c = T(15, a) ^ T(14, a >>> 8) ^ T(13, a >>> 16) ^ T(12, a >>> 24) ^
        T(11, b) ^ T(10, b >>> 8) ^ T(9, b >>> 16) ^ T(8, b >>> 24) ^
        T(7, d) ^ T(6, d >>> 8) ^ T(5, d >>> 16) ^ T(4, d >>> 24) ^
        T(3, e) ^ T(2, e >>> 8) ^ T(1, e >>> 16) ^ T(0, e >>> 24);
    p += 16;
  }
  const end = ptr + len;
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
