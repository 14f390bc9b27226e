/**
 * The in-memory index of a WalLog: per live entry its segment number, frame
 * offset and term, in typed arrays (16 bytes per entry; payloads stay on
 * disk), plus the snapshot point. Applying an op that breaks the log's rules
 * returns a message (the caller reports CORRUPTED with the frame's offset).
 */
import type { Core } from '../../core/core.js';
export class LogIndex {
  /** The log is compacted to (snapIndex, snapTerm); entries are snapIndex+1 .. snapIndex+count. */
  snapIndex = 0;
  snapTerm = 0;
  count = 0;
  #seg = new Uint32Array(1024);
  #off = new Uint32Array(1024);
  #term = new Float64Array(1024);

  get lastIndex(): number { return this.snapIndex + this.count; }
  get lastTerm(): number { return this.count === 0 ? this.snapTerm : this.#term[this.count - 1]!; }

  termAt(index: number): number | undefined {
    if (index === this.snapIndex) return this.snapTerm;
    if (index < this.snapIndex || index > this.lastIndex) return undefined;
    return this.#term[index - this.snapIndex - 1];
  }

  /** Segment number and offset of a live entry (caller checks the range). */
  seg(index: number): number { return this.#seg[index - this.snapIndex - 1]!; }
  off(index: number): number { return this.#off[index - this.snapIndex - 1]!; }

  /** Append entry `index`; returns an error message when it breaks a rule. */
  push(index: number, term: number, seg: number, off: number): string | undefined {
    if (index !== this.lastIndex + 1) return `entry ${index} does not follow the last index ${this.lastIndex}`;
    if (term < this.lastTerm) return `entry ${index} has term ${term}, below the previous term ${this.lastTerm}`;
    if (this.count === this.#term.length) this.grow(this.count + (this.count >> 1));
    this.#seg[this.count] = seg;
    this.#off[this.count] = off;
    this.#term[this.count] = term;
    this.count++;
    return undefined;
  }

  /**
   * Replay `count` ops unpacked as OpList holds them ([op | flags << 8,
   * offset, a, b, c] each, from a footer): entry ops go straight into the
   * arrays, any other op to `other` (which applies it). Returns the first
   * entry op that breaks a rule: its message and offset.
   */
  replayOps(f: Float64Array, count: number, seg: number, entryOp: number,
    other: (op: number, flags: number, offset: number, a: number, b: number, c: number) => void): { err: string; offset: number } | undefined {
    const end = count * 5;
    for (let i = 0; i < end; i += 5) {
      const opf = f[i]!;
      const op = opf % 256;
      const a = f[i + 2]!;
      const b = f[i + 3]!;
      if (op !== entryOp) {
        other(op, Math.floor(opf / 256), f[i + 1]!, a, b, f[i + 4]!);
        continue;
      }
      const n = this.count;
      if (a !== this.snapIndex + n + 1 || b < (n === 0 ? this.snapTerm : this.#term[n - 1]!)) return { err: this.push(a, b, seg, f[i + 1]!)!, offset: f[i + 1]! };
      if (n === this.#term.length) this.grow(n + (n >> 1));
      this.#seg[n] = seg;
      this.#off[n] = f[i + 1]!;
      this.#term[n] = b;
      this.count = n + 1;
    }
    return undefined;
  }

  truncate(from: number): string | undefined {
    if (from <= this.snapIndex || from > this.lastIndex + 1) return `truncate from ${from} outside (${this.snapIndex}, ${this.lastIndex + 1}]`;
    this.count = from - this.snapIndex - 1;
    return undefined;
  }

  /** Compact to a snapshot at (index, term): keep the suffix after it if entry `index` has `term`, else drop every entry. */
  compact(index: number, term: number): void {
    if (index < this.snapIndex) return;
    if (index <= this.lastIndex && this.termAt(index) === term) {
      const drop = index - this.snapIndex;
      this.#seg.copyWithin(0, drop, this.count);
      this.#off.copyWithin(0, drop, this.count);
      this.#term.copyWithin(0, drop, this.count);
      this.count -= drop;
    } else {
      this.count = 0;
    }
    this.snapIndex = index;
    this.snapTerm = term;
    if (this.#term.length > 4096 && this.count * 4 < this.#term.length) this.grow(Math.max(1024, this.count * 2));
  }

  /** Make room for `more` entries beyond the current ones at once (open knows how many a footer holds). */
  reserve(more: number): void {
    if (this.count + more > this.#term.length) this.grow(this.count + more);
  }

  /** Shrink the capacity to the entries plus 1024 (after open: replay grew it by half at a time). */
  trim(): void {
    const cap = this.count + 1024;
    if (cap + (cap >> 6) < this.#term.length) this.grow(cap);
  }

  /** Bytes of RAM the index holds. */
  get bytes(): number { return this.#term.length * 16; }

  private grow(cap: number): void {
    const s = new Uint32Array(cap); s.set(this.#seg.subarray(0, this.count)); this.#seg = s;
    const o = new Uint32Array(cap); o.set(this.#off.subarray(0, this.count)); this.#off = o;
    const t = new Float64Array(cap); t.set(this.#term.subarray(0, this.count)); this.#term = t;
  }
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
      idx.snapIndex = a - 1;
      idx.snapTerm = 0;
      idx.count = 0;
      return undefined;
    }
    return idx.truncate(a);
  }
  if (op === c.RAFT_OP_SNAPSHOT) {
    // cc = the last index after the compaction: cc = a means the log was discarded.
    if (a > idx.snapIndex) idx.compact(a, b);
    else if (cc === a) { idx.snapIndex = a; idx.snapTerm = b; idx.count = 0; } // below a replayed segment's base: exact anyway
    if (idx.lastIndex !== cc) return `snapshot mark at ${a} says the log ends at ${cc}, the replay at ${idx.lastIndex}`;
    return undefined;
  }
  return undefined;
}
