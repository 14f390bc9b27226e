/**
 * u64 values (sequences, LSNs, ids) at the API and at the core boundary: the
 * one module every log uses for them. The core takes a u64 as two u32
 * halves (BigInt arguments cost 14-20% per call). In 'number' mode values
 * are JS numbers limited to Number.MAX_SAFE_INTEGER (2^53-1); in 'bigint'
 * mode they are bigints over the full u64 range. Values are never silently
 * rounded: a wrong type is a TypeError, out of range a RangeError, and a
 * stored value a number cannot hold is SEQUENCE_OUT_OF_RANGE.
 */
import { WalError } from '../errors.js';

/** How a log hands out u64 values: as numbers (default) or bigints. */
export type SequenceMode = 'number' | 'bigint';
export const TWO_32 = 4294967296;
/** hi half of the first value above Number.MAX_SAFE_INTEGER (2^53 / 2^32). */
export const SAFE_HI_LIMIT = 0x200000;
const U64_MAX = (1n << 64n) - 1n;

/** Low and high u32 halves of a safe non-negative integer. */
export const lo32 = (v: number): number => v % TWO_32;
export const hi32 = (v: number): number => Math.floor(v / TWO_32);

/** Validate a u64 argument; returns it as [lo, hi]. Throws TypeError/RangeError on bad input. */
export function u64Halves(value: unknown, what: string): [number, number] {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${what} must be a non-negative safe integer or a bigint, got ${value}`);
    return [lo32(value), hi32(value)];
  }
  if (typeof value === 'bigint') {
    if (value < 0n || value > U64_MAX) throw new RangeError(`${what} must fit in a u64, got ${value}`);
    return [Number(value & 0xffffffffn), Number(value >> 32n)];
  }
  throw new TypeError(`${what} must be a number or a bigint, got ${typeof value}`);
}

/**
 * A u64 option-governed argument (ids, sequences) as [lo, hi]. In 'bigint'
 * mode a bigint over the full u64 range (or a safe number); in 'number'
 * mode a number or bigint up to 2^53-1 only, so every stored value can be
 * handed back as the number it was. Beyond that, the RangeError names the
 * option (`optionHint`, e.g. "{ ids: 'bigint' }") that lifts the limit.
 */
export function u64Arg(value: unknown, what: string, mode: SequenceMode, optionHint: string): [number, number] {
  if (typeof value !== 'number' && typeof value !== 'bigint') throw new TypeError(`${what} must be a number or a bigint, got ${typeof value}`);
  if (typeof value === 'number' && Number.isInteger(value) && value > Number.MAX_SAFE_INTEGER) {
    throw new RangeError(`${what} ${value} exceeds Number.MAX_SAFE_INTEGER and cannot be exact as a number; pass a bigint${mode === 'number' ? ` and open with ${optionHint}` : ''}`);
  }
  const halves = u64Halves(value, what);
  if (mode === 'number' && halves[1] >= SAFE_HI_LIMIT) {
    throw new RangeError(`${what} ${value} exceeds Number.MAX_SAFE_INTEGER; open with ${optionHint} to use the full u64 range`);
  }
  return halves;
}

/** A u32 given as number or bigint, as a number. */
export function u32Arg(value: unknown, what: string): number {
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) throw new RangeError(`${what} must be a u32 (0 to 4294967295), got ${value}`);
    return value;
  }
  if (typeof value === 'bigint') {
    if (value < 0n || value > 0xffffffffn) throw new RangeError(`${what} must be a u32 (0 to 4294967295), got ${value}`);
    return Number(value);
  }
  throw new TypeError(`${what} must be a number or a bigint, got ${typeof value}`);
}

/** A position (LSN, index) given as number or bigint, as a number below 2^53. */
export function safeArg(value: unknown, what: string): number {
  if (typeof value === 'bigint') {
    if (value < 0n || value > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`${what} must be from 0 to 2^53-1, got ${value}`);
    return Number(value);
  }
  if (typeof value !== 'number') throw new TypeError(`${what} must be a number or a bigint, got ${typeof value}`);
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${what} must be from 0 to 2^53-1, got ${value}`);
  return value;
}

/**
 * Turn stored halves into the mode's value. In number mode a value above
 * 2^53-1 is SEQUENCE_OUT_OF_RANGE naming `optionHint`, never rounded.
 */
export function fromHalves(lo: number, hi: number, mode: SequenceMode, path?: string, optionHint = "{ sequences: 'bigint' }"): number | bigint {
  if (mode === 'bigint') return hi === 0 ? BigInt(lo) : (BigInt(hi) << 32n) | BigInt(lo);
  if (hi >= SAFE_HI_LIMIT) {
    throw new WalError('SEQUENCE_OUT_OF_RANGE', `${path === undefined ? '' : `${path}: `}stored value ${(BigInt(hi) << 32n) | BigInt(lo)} exceeds Number.MAX_SAFE_INTEGER; open with ${optionHint}`, { path });
  }
  return hi * TWO_32 + lo;
}
