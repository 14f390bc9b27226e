/**
 * Argument checks for SegmentedWal: u32 and u64 fields accepted as number or
 * bigint and never rounded; out of range is a RangeError, a wrong type a
 * TypeError.
 */
import { type SequenceMode, TWO_32, u64Halves } from '../../core/u64.js';

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
  throw new TypeError(`${what} must be a number or a bigint`);
}

/**
 * A u64 id as [lo, hi]. In 'bigint' mode the full u64 range is accepted; in
 * 'number' mode only values up to Number.MAX_SAFE_INTEGER, so that every
 * stored id can be handed back as the number it was (RangeError otherwise,
 * naming the { ids: 'bigint' } option).
 */
export function u64Arg(value: unknown, what: string, mode: SequenceMode): [number, number] {
  if (typeof value !== 'number' && typeof value !== 'bigint') throw new TypeError(`${what} must be a number or a bigint`);
  const halves = u64Halves(value, what);
  if (mode === 'number' && halves[1] >= 0x200000) {
    throw new RangeError(`${what} ${value} exceeds Number.MAX_SAFE_INTEGER; open the WAL with { ids: 'bigint' } to use the full u64 range`);
  }
  return halves;
}

/** An LSN argument (number or bigint) as a number; LSNs are below 2^53. */
export function lsnArg(value: unknown, what: string): number {
  if (typeof value === 'bigint') {
    if (value < 0n || value > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`${what} must be an LSN from 0 to 2^53-1, got ${value}`);
    return Number(value);
  }
  if (typeof value !== 'number') throw new TypeError(`${what} must be a number or a bigint`);
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${what} must be an LSN from 0 to 2^53-1, got ${value}`);
  return value;
}

export { TWO_32 };
