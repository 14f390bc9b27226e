/**
 * The ops of the active segment, in file order, unpacked as RAFT_OP_F64S
 * numbers each ([op | flags << 8, offset, a, b, c], the layout the core's
 * encodeRaftOps/decodeRaftOps use): what its index footer will hold when it
 * is sealed (docs/FORMAT.md §11.5).
 *
 * Held in chunks of CHUNK_OPS ops (40 KiB each), allocated as the list
 * grows: growing never copies. A doubling array cost ~0.45 µs per op at
 * 200k ops per segment (each doubling copies everything into fresh memory,
 * whose first touch costs ~20 µs per 4 KiB page on a VM), ~0.2 µs with
 * chunks; chunks this size also come from the allocator's heap, so a
 * segment's chunks reuse memory freed earlier.
 */
export const OP_F64S = 5;
/** Ops per chunk: a power of two. */
export const CHUNK_SHIFT = 10;
export const CHUNK_OPS = 1 << CHUNK_SHIFT;
const MASK = CHUNK_OPS - 1;
/** reset() keeps this many chunks (65536 ops, 2.5 MiB); more are released. */
const KEEP_CHUNKS = 64;

export class OpList {
  /** Chunk k holds ops k * CHUNK_OPS .. (k + 1) * CHUNK_OPS - 1 (more may be allocated than used). */
  readonly chunks: Float64Array[] = [];
  count = 0;

  push(op: number, flags: number, offset: number, a: number, b: number, c: number): void {
    const n = this.count;
    let d = this.chunks[n >> CHUNK_SHIFT];
    if (d === undefined) {
      d = new Float64Array(OP_F64S * CHUNK_OPS);
      this.chunks.push(d);
    }
    const i = (n & MASK) * OP_F64S;
    d[i] = op + flags * 256;
    d[i + 1] = offset;
    d[i + 2] = a;
    d[i + 3] = b;
    d[i + 4] = c;
    this.count = n + 1;
  }

  /**
   * Call `fn` with each chunk holding ops `from`..count-1, the f64 range
   * [start, end) of them in it, and the number of the op at `start`.
   */
  each(from: number, fn: (d: Float64Array, start: number, end: number, op: number) => void): void {
    for (let k = from; k < this.count;) {
      const base = k & ~MASK;
      const to = Math.min(this.count, base + CHUNK_OPS);
      fn(this.chunks[k >> CHUNK_SHIFT]!, (k - base) * OP_F64S, (to - base) * OP_F64S, k);
      k = to;
    }
  }

  reset(): void {
    this.count = 0;
    if (this.chunks.length > KEEP_CHUNKS) this.chunks.length = KEEP_CHUNKS;
  }
}
