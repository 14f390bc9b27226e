/**
 * The ops of the active segment, in file order: what its index footer will
 * hold when it is sealed (docs/FORMAT.md §11.5).
 *
 * Held in chunks of CHUNK_OPS ops, OP_SLOTS numbers each (24 B):
 * [op | flags << 8 | offset << 16 (below 2^48: exact), a, b]; an op's c
 * (a hard state's commit, a snapshot mark's last index; 0 for entries and
 * truncates) is kept aside when it is not 0. unpack() gives the ops in the
 * core's layout (RAFT_OP_F64S numbers each: [op | flags << 8, offset, a, b,
 * c], what encodeRaftOps reads and decodeRaftOps writes).
 *
 * Chunks are allocated as the list grows: growing never copies. A doubling
 * array cost ~0.45 µs per op at 200k ops per segment (each doubling copies
 * everything into fresh memory, whose first touch costs ~15-20 µs per 4 KiB
 * page on this VM). With chunks the first touch is what remains, ~0.15 µs
 * per op at 40 B per op (the earlier five-number layout), ~0.09 at 24 B;
 * chunks this size also come from the allocator's heap, so a segment's
 * chunks reuse memory freed earlier.
 */
export const OP_F64S = 5;
/** Numbers per op in a chunk. */
export const OP_SLOTS = 3;
/** Ops per chunk: a power of two. */
export const CHUNK_SHIFT = 10;
export const CHUNK_OPS = 1 << CHUNK_SHIFT;
const MASK = CHUNK_OPS - 1;
/** reset() keeps this many chunks (65536 ops, 1.5 MiB); more are released. */
const KEEP_CHUNKS = 64;

/** op | flags << 8 of a chunk's first number (op | flags << 8 | offset << 16 < 2^48: bit operations on it are exact). */
export const opFlagsOf = (p: number): number => p & 65535;
/** The frame offset in a chunk's first number. */
export const offsetOf = (p: number): number => (p - (p & 65535)) / 65536;

export class OpList {
  /** Chunk k holds ops k * CHUNK_OPS .. (k + 1) * CHUNK_OPS - 1 (more may be allocated than used). */
  readonly chunks: Float64Array[] = [];
  count = 0;
  /** c of ops whose c is not 0, by op number (entries ops have none; hard states and snapshot marks are rare). */
  readonly #cs = new Map<number, number>();

  push(op: number, flags: number, offset: number, a: number, b: number, c: number): void {
    const n = this.count;
    let d = this.chunks[n >> CHUNK_SHIFT];
    if (d === undefined) {
      d = new Float64Array(OP_SLOTS * CHUNK_OPS);
      this.chunks.push(d);
    }
    const i = (n & MASK) * OP_SLOTS;
    d[i] = op + flags * 256 + offset * 65536;
    d[i + 1] = a;
    d[i + 2] = b;
    // An op number can be used again after a failed write took its ops back (count = first).
    if (c !== 0) this.#cs.set(n, c);
    else if (this.#cs.size !== 0) this.#cs.delete(n);
    this.count = n + 1;
  }

  /** c of op `n` (0 for entries and truncates). */
  c(n: number): number {
    return this.#cs.size === 0 ? 0 : this.#cs.get(n) ?? 0;
  }

  /**
   * Unpack ops `from`..count-1 into `into` (at least CHUNK_OPS * OP_F64S
   * long) in the core's layout, up to CHUNK_OPS at a time; `fn` gets how
   * many were unpacked and the number of the first.
   */
  unpack(from: number, into: Float64Array, fn: (count: number, first: number) => void): void {
    for (let k = from; k < this.count;) {
      const base = k & ~MASK;
      const to = Math.min(this.count, base + CHUNK_OPS);
      const d = this.chunks[k >> CHUNK_SHIFT]!;
      for (let n = k, j = (k - base) * OP_SLOTS, o = 0; n < to; n++, j += OP_SLOTS, o += OP_F64S) {
        const p = d[j]!;
        into[o] = opFlagsOf(p);
        into[o + 1] = offsetOf(p);
        into[o + 2] = d[j + 1]!;
        into[o + 3] = d[j + 2]!;
        into[o + 4] = this.c(n);
      }
      fn(to - k, k);
      k = to;
    }
  }

  reset(): void {
    this.count = 0;
    this.#cs.clear();
    if (this.chunks.length > KEEP_CHUNKS) this.chunks.length = KEEP_CHUNKS;
  }
}
