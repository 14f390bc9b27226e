/**
 * The in-memory index of a WalLog: per live entry its segment number, frame
 * offset and term, in typed arrays (12 bytes per entry: u32 segment, u32
 * offset, u32 term; payloads stay on disk), plus the snapshot point. Terms
 * are u53: a chunk that receives a term >= 2^32 has its terms moved to a
 * Float64Array (16 bytes per entry for that chunk; no real Raft term gets
 * there, but the format allows it). Applying an op that breaks the log's rules
 * returns a message (the caller reports CORRUPTED with the frame's offset).
 *
 * The arrays are chunks of CHUNK entries, allocated on first write: growing
 * never copies, compaction frees whole chunks. Slots of a sealed segment
 * that open did not read (its locator says it holds only entries and hard
 * states: addLazy) hold segment number 0 until first touched: then `loader`
 * reads that segment's footer and fills them (fill). So open touches no
 * index memory for such segments (on a VM a first touch of fresh memory
 * costs ~20 µs per 4 KiB page: 16 MiB for 1M entries is ~70 ms).
 */
import type { Core } from '../../core/core.js';
import { OP_F64S } from './op-list.js';

const SHIFT = 12;
const CHUNK = 1 << SHIFT;
const MASK = CHUNK - 1;
const U32_MAX = 0xffffffff;

export class LogIndex {
  /** The log is compacted to (snapIndex, snapTerm); entries are snapIndex+1 .. snapIndex+count. Change them with reset(). */
  snapIndex = 0;
  snapTerm = 0;
  count = 0;
  /** Entry `i` sits at position i - #origin: chunk p >> SHIFT, slot p & MASK. */
  #origin = 1;
  #seg: Array<Uint32Array | undefined> = [];
  #off: Array<Uint32Array | undefined> = [];
  #term: Array<Uint32Array | Float64Array | undefined> = [];
  /** Bytes of the allocated chunks' arrays. */
  #bytes = 0;
  #lastTerm = 0;
  /** Fills the slots of a lazily indexed segment that holds entry `index` (through fill()); set by the log. */
  loader: ((index: number) => void) | undefined;

  get lastIndex(): number { return this.snapIndex + this.count; }
  get lastTerm(): number { return this.count === 0 ? this.snapTerm : this.#lastTerm; }

  /** Position of live entry `index`, its slot loaded (the loader runs for a lazy one). */
  #pos(index: number): number {
    const p = index - this.#origin;
    const c = this.#seg[p >> SHIFT];
    if (c === undefined || c[p & MASK] === 0) {
      this.loader?.(index);
      const d = this.#seg[p >> SHIFT];
      if (d === undefined || d[p & MASK] === 0) throw new Error(`walcore: index slot of entry ${index} was not loaded`);
    }
    return p;
  }

  termAt(index: number): number | undefined {
    if (index === this.snapIndex) return this.snapTerm;
    if (index < this.snapIndex || index > this.lastIndex) return undefined;
    if (index === this.lastIndex) return this.#lastTerm;
    const p = this.#pos(index);
    return this.#term[p >> SHIFT]![p & MASK];
  }

  /** Segment number and offset of a live entry (caller checks the range). */
  seg(index: number): number { const p = this.#pos(index); return this.#seg[p >> SHIFT]![p & MASK]!; }
  off(index: number): number { const p = this.#pos(index); return this.#off[p >> SHIFT]![p & MASK]!; }

  /** Whether live entry `index`'s slot is loaded (a lazy segment's are not until first touched). */
  loaded(index: number): boolean {
    const p = index - this.#origin;
    const c = this.#seg[p >> SHIFT];
    return c !== undefined && c[p & MASK] !== 0;
  }

  #chunk(ci: number): void {
    while (this.#seg.length <= ci) { this.#seg.push(undefined); this.#off.push(undefined); this.#term.push(undefined); }
    this.#seg[ci] = new Uint32Array(CHUNK);
    this.#off[ci] = new Uint32Array(CHUNK);
    this.#term[ci] = new Uint32Array(CHUNK);
    this.#bytes += CHUNK * 12;
  }

  /** Store `term` at slot k of chunk ci, moving the chunk's terms to a Float64Array first if it does not fit a u32. */
  #setTerm(ci: number, k: number, term: number): void {
    let t = this.#term[ci]!;
    if (term > U32_MAX && t instanceof Uint32Array) {
      t = Float64Array.from(t);
      this.#term[ci] = t;
      this.#bytes += CHUNK * 4;
    }
    t[k] = term;
  }

  #set(p: number, seg: number, off: number, term: number): void {
    const ci = p >> SHIFT;
    if (this.#seg[ci] === undefined) this.#chunk(ci);
    const k = p & MASK;
    this.#seg[ci]![k] = seg;
    this.#off[ci]![k] = off;
    if (term <= U32_MAX) this.#term[ci]![k] = term;
    else this.#setTerm(ci, k, term);
  }

  /** Append entry `index`; returns an error message when it breaks a rule. */
  push(index: number, term: number, seg: number, off: number): string | undefined {
    if (index !== this.lastIndex + 1) return `entry ${index} does not follow the last index ${this.lastIndex}`;
    if (term < this.lastTerm) return `entry ${index} has term ${term}, below the previous term ${this.lastTerm}`;
    const p = index - this.#origin;
    const ci = p >> SHIFT;
    const c = this.#seg[ci];
    if (c !== undefined) {
      const k = p & MASK;
      c[k] = seg;
      this.#off[ci]![k] = off;
      if (term <= U32_MAX) this.#term[ci]![k] = term;
      else this.#setTerm(ci, k, term);
    } else {
      this.#set(p, seg, off, term);
    }
    this.#lastTerm = term;
    this.count++;
    return undefined;
  }

  /**
   * Entries lo..hi of sealed segment `seg` (lo = lastIndex + 1), their slots
   * left unloaded: `loader` fills them on first touch. `lastTerm` is entry
   * hi's term (the next segment's header says it).
   */
  addLazy(lo: number, hi: number, lastTerm: number): string | undefined {
    if (lo !== this.lastIndex + 1) return `entries from ${lo} do not follow the last index ${this.lastIndex}`;
    if (hi < lo) return undefined;
    if (lastTerm < this.lastTerm) return `entry ${hi} has term ${lastTerm}, below the previous term ${this.lastTerm}`;
    // Slots past the end may hold entries a truncate dropped: they are marked unloaded (where a chunk exists at all).
    const p0 = lo - this.#origin;
    const p1 = hi - this.#origin;
    for (let ci = p0 >> SHIFT; ci <= p1 >> SHIFT && ci < this.#seg.length; ci++) {
      const c = this.#seg[ci];
      if (c !== undefined) c.fill(0, Math.max(0, p0 - ci * CHUNK), Math.min(CHUNK, p1 - ci * CHUNK + 1));
    }
    this.count += hi - lo + 1;
    this.#lastTerm = lastTerm;
    return undefined;
  }

  /** Fill the slot of entry `index` if it is live and not loaded (a lazy segment's footer being read). */
  fill(index: number, term: number, seg: number, off: number): void {
    if (index <= this.snapIndex || index > this.lastIndex) return;
    const p = index - this.#origin;
    const c = this.#seg[p >> SHIFT];
    if (c !== undefined && c[p & MASK] !== 0) return;
    this.#set(p, seg, off, term);
  }

  /**
   * Replay `count` ops unpacked as OpList holds them ([op | flags << 8,
   * offset, a, b, c] each, from a footer): entry ops go straight into the
   * arrays, any other op to `other` (which applies it). Returns the first
   * entry op that breaks a rule: its message and offset.
   */
  replayOps(f: Float64Array, count: number, seg: number, entryOp: number,
    other: (op: number, flags: number, offset: number, a: number, b: number, c: number) => void): { err: string; offset: number } | undefined {
    const end = count * OP_F64S;
    for (let i = 0; i < end; i += OP_F64S) {
      const op = f[i]! & 255; // op | flags << 8 < 2^16: bit ops are exact (a float % calls fmod, ~10-20 ns)
      if (op !== entryOp) {
        other(op, f[i]! >>> 8, f[i + 1]!, f[i + 2]!, f[i + 3]!, f[i + 4]!);
        continue;
      }
      const err = this.push(f[i + 2]!, f[i + 3]!, seg, f[i + 1]!);
      if (err !== undefined) return { err, offset: f[i + 1]! };
    }
    return undefined;
  }

  truncate(from: number): string | undefined {
    if (from <= this.snapIndex || from > this.lastIndex + 1) return `truncate from ${from} outside (${this.snapIndex}, ${this.lastIndex + 1}]`;
    if (from === this.lastIndex + 1) return undefined;
    const term = from - 1 === this.snapIndex ? this.snapTerm : this.termAt(from - 1)!;
    this.count = from - this.snapIndex - 1;
    this.#lastTerm = term;
    return undefined;
  }

  /** Empty the log at (index, term): no entries, every chunk freed. */
  reset(index: number, term: number): void {
    this.snapIndex = index;
    this.snapTerm = term;
    this.count = 0;
    this.#lastTerm = term;
    this.#origin = index + 1;
    this.#seg = [];
    this.#off = [];
    this.#term = [];
    this.#bytes = 0;
  }

  /** Compact to a snapshot at (index, term): keep the suffix after it if entry `index` has `term`, else drop every entry. */
  compact(index: number, term: number): void {
    if (index < this.snapIndex) return;
    if (index < this.lastIndex && this.termAt(index) === term) {
      this.count -= index - this.snapIndex;
      this.snapIndex = index;
      this.snapTerm = term;
      // free the chunks wholly at or below the snapshot; drop them from the front once there are many
      const below = (index + 1 - this.#origin) >> SHIFT;
      for (let ci = 0; ci < below && ci < this.#seg.length; ci++) {
        if (this.#seg[ci] !== undefined) {
          this.#bytes -= CHUNK * 8 + this.#term[ci]!.byteLength;
          this.#seg[ci] = this.#off[ci] = this.#term[ci] = undefined;
        }
      }
      if (below >= 64) {
        this.#seg.splice(0, below); this.#off.splice(0, below); this.#term.splice(0, below);
        this.#origin += below * CHUNK;
      }
    } else {
      this.reset(index, term);
    }
  }

  /**
   * Bytes of RAM the index's entry arrays hold: 12 per entry slot of every
   * allocated chunk (16 in a chunk holding a term >= 2^32; a lazy segment's
   * chunks only once touched), counted from the arrays themselves.
   */
  get bytes(): number { return this.#bytes; }
}

/**
 * Apply one op to the index. The oldest retained segment is replayed from
 * its header's base (what lay below it was deleted with older segments and
 * is covered by the snapshot file, `covered`), so ops may reach below the
 * index's start: a truncate there is exact (the log ends at from - 1), and
 * a snapshot mark carries its outcome (the last index after it).
 */
export function applyOp(core: Core, idx: LogIndex, op: number, a: number, b: number, cc: number, seg: number, offset: number, covered: number): string | undefined {
  const c = core.c;
  if (op === c.RAFT_OP_ENTRY) return idx.push(a, b, seg, offset);
  if (op === c.RAFT_OP_TRUNCATE) {
    if (a <= idx.snapIndex && a - 1 <= covered) {
      idx.reset(a - 1, 0);
      return undefined;
    }
    return idx.truncate(a);
  }
  if (op === c.RAFT_OP_SNAPSHOT) {
    // cc = the last index after the compaction: cc = a means the log was discarded.
    if (a > idx.snapIndex) idx.compact(a, b);
    else if (cc === a) idx.reset(a, b); // below a replayed segment's base: exact anyway
    if (idx.lastIndex !== cc) return `snapshot mark at ${a} says the log ends at ${cc}, the replay at ${idx.lastIndex}`;
    return undefined;
  }
  return undefined;
}
