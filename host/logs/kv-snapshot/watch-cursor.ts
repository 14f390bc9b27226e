/**
 * WatchCursor: the opaque resume position of a watch stream, stored with
 * every batch. Bytes round-trip exactly (an etcd revision as 8 big-endian
 * bytes, a FoundationDB versionstamp as its 10 bytes). Cursors compare
 * lexicographically by byte, a proper prefix first, so big-endian revisions
 * and versionstamps order as their sources do; WatchCursor.none (no bytes)
 * is below every other cursor.
 */

/** Largest cursor, in bytes (FORMAT.md §12.5, KV_MAX_CURSOR). */
export const MAX_CURSOR_BYTES = 1024;

const HEX_RE = /^(?:[0-9a-fA-F]{2})*$/;

export class WatchCursor {
  /** No position: nothing applied yet. */
  static readonly none: WatchCursor = new WatchCursor(new Uint8Array(0));
  readonly #bytes: Uint8Array;

  private constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
  }

  /** A cursor holding a copy of `bytes` (at most 1024). */
  static from(bytes: Uint8Array): WatchCursor {
    if (!(bytes instanceof Uint8Array)) throw new TypeError('WatchCursor.from: bytes must be a Uint8Array');
    if (bytes.length > MAX_CURSOR_BYTES) throw new RangeError(`WatchCursor.from: ${bytes.length} bytes exceeds the ${MAX_CURSOR_BYTES}-byte limit`);
    return bytes.length === 0 ? WatchCursor.none : new WatchCursor(bytes.slice());
  }

  /** An etcd-style revision (u64) as 8 big-endian bytes. */
  static fromRevision(revision: number | bigint): WatchCursor {
    let v: bigint;
    if (typeof revision === 'number') {
      if (!Number.isSafeInteger(revision) || revision < 0) throw new RangeError(`WatchCursor.fromRevision: ${revision} is not a non-negative safe integer`);
      v = BigInt(revision);
    } else if (typeof revision === 'bigint') {
      if (revision < 0n || revision > 0xffffffffffffffffn) throw new RangeError(`WatchCursor.fromRevision: ${revision} is not a u64`);
      v = revision;
    } else {
      throw new TypeError(`WatchCursor.fromRevision: revision must be a number or a bigint, got ${typeof revision}`);
    }
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, v, false);
    return new WatchCursor(b);
  }

  /** Parse the hex form (toHex()). */
  static fromHex(hex: string): WatchCursor {
    if (typeof hex !== 'string') throw new TypeError('WatchCursor.fromHex: hex must be a string');
    if (!HEX_RE.test(hex)) throw new RangeError('WatchCursor.fromHex: not an even number of hex digits');
    const b = new Uint8Array(hex.length / 2);
    for (let i = 0; i < b.length; i++) b[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
    return WatchCursor.from(b);
  }

  /** -1, 0 or 1: a before b, equal, after (bytewise, a proper prefix first). */
  static compare(a: WatchCursor, b: WatchCursor): number {
    if (!(a instanceof WatchCursor) || !(b instanceof WatchCursor)) throw new TypeError('WatchCursor.compare: both arguments must be WatchCursors');
    const x = a.#bytes;
    const y = b.#bytes;
    const n = Math.min(x.length, y.length);
    for (let i = 0; i < n; i++) if (x[i] !== y[i]) return x[i]! < y[i]! ? -1 : 1;
    return x.length === y.length ? 0 : x.length < y.length ? -1 : 1;
  }

  /** A copy of the bytes. */
  get bytes(): Uint8Array {
    return this.#bytes.slice();
  }

  get length(): number {
    return this.#bytes.length;
  }

  get isNone(): boolean {
    return this.#bytes.length === 0;
  }

  compare(other: WatchCursor): number {
    return WatchCursor.compare(this, other);
  }

  equals(other: WatchCursor): boolean {
    return other instanceof WatchCursor && WatchCursor.compare(this, other) === 0;
  }

  /** The 8-byte revision as a bigint (RangeError for another length). */
  toRevision(): bigint {
    if (this.#bytes.length !== 8) throw new RangeError(`WatchCursor.toRevision: a ${this.#bytes.length}-byte cursor is not a revision`);
    return new DataView(this.#bytes.buffer, this.#bytes.byteOffset, 8).getBigUint64(0, false);
  }

  /** Lowercase hex, '' for none. */
  toHex(): string {
    let s = '';
    for (const b of this.#bytes) s += b.toString(16).padStart(2, '0');
    return s;
  }

  toString(): string {
    return `WatchCursor(${this.isNone ? 'none' : this.toHex()})`;
  }

  toJSON(): string {
    return this.toHex();
  }

  /** @internal The bytes themselves (no copy) for the store's encoder. */
  static bytesOf(c: WatchCursor): Uint8Array {
    return c.#bytes;
  }
}
