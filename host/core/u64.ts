/**
 * u64 values (sequences, LSNs, ids) at the API. The core takes them as two
 * u32 halves (BigInt arguments cost 14-20% per call). In 'number' mode they
 * are JS numbers limited to Number.MAX_SAFE_INTEGER; in 'bigint' mode they
 * are bigints over the full u64 range. Values are never silently rounded.
 */
import { WalError } from '../errors.js';

export type SequenceMode = 'number' | 'bigint';
export const TWO_32 = 4294967296;
const U64_MAX = (1n << 64n) - 1n;

/** Validate a u64 argument; returns it as [lo, hi]. Throws TypeError/RangeError on bad input. */
export function u64Halves(value: number | bigint, what: string): [number, number] {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${what} must be a non-negative safe integer or a bigint, got ${value}`);
    return [value % TWO_32, Math.floor(value / TWO_32)];
  }
  if (typeof value === 'bigint') {
    if (value < 0n || value > U64_MAX) throw new RangeError(`${what} must fit in a u64, got ${value}`);
    return [Number(value & 0xffffffffn), Number(value >> 32n)];
  }
  throw new TypeError(`${what} must be a number or a bigint`);
}

/** Compare two [lo, hi] pairs. */
export function compareHalves(aLo: number, aHi: number, bLo: number, bHi: number): number {
  return aHi !== bHi ? aHi - bHi : aLo - bLo;
}

/** Turn halves into the mode's value; in number mode a value above 2^53-1 is an error, never rounded. */
export function fromHalves(lo: number, hi: number, mode: SequenceMode, path?: string): number | bigint {
  if (mode === 'bigint') return (BigInt(hi) << 32n) | BigInt(lo);
  if (hi >= 0x200000) {
    throw new WalError('SEQUENCE_OUT_OF_RANGE', `stored value ${(BigInt(hi) << 32n) | BigInt(lo)} exceeds Number.MAX_SAFE_INTEGER; open with { sequences: 'bigint' }`, { path });
  }
  return hi * TWO_32 + lo;
}
