/**
 * The in-RAM fold: key → (value, version), plus the order range() needs.
 * Keys are ordered by their UTF-8 bytes (= by code point), which differs from
 * JS string order only between surrogate pairs and U+E000..U+FFFF; the sorted
 * key array is built lazily and dropped when the key set changes, so updates
 * of existing keys (the common case of a watch stream) keep it.
 */

export interface FoldRecord {
  value: Uint8Array;
  version: Uint8Array;
  /** UTF-8 length of the key. */
  keyLen: number;
}

/** Bytes an op header takes in the file (FORMAT.md §12.4), for the live-size estimate. */
const OP_HEADER = 12;

/** Compare two strings by their UTF-8 bytes (code point order). */
export function compareUtf8(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x !== y) {
      if (x >= 0xd800 && y >= 0xd800) {
        x = x < 0xe000 ? x + 0x2000 : x - 0x800;
        y = y < 0xe000 ? y + 0x2000 : y - 0x800;
      }
      return x - y;
    }
  }
  return a.length - b.length;
}

export class Fold {
  readonly map = new Map<string, FoldRecord>();
  /** Encoded size of the live entries (op headers, keys, versions, values). */
  liveBytes = 0;
  #sorted: string[] | undefined;

  put(key: string, rec: FoldRecord): void {
    const old = this.map.get(key);
    if (old === undefined) this.#sorted = undefined;
    else this.liveBytes -= OP_HEADER + old.keyLen + old.version.length + old.value.length;
    this.map.set(key, rec);
    this.liveBytes += OP_HEADER + rec.keyLen + rec.version.length + rec.value.length;
  }

  /** `_version` is the delete op's version (the fold keeps none; tools that record ops read it). */
  delete(key: string, _version?: Uint8Array): void {
    const old = this.map.get(key);
    if (old === undefined) return;
    this.map.delete(key);
    this.#sorted = undefined;
    this.liveBytes -= OP_HEADER + old.keyLen + old.version.length + old.value.length;
  }

  get size(): number {
    return this.map.size;
  }

  /** Keys in UTF-8 order (shared; do not modify). */
  sorted(): string[] {
    return (this.#sorted ??= [...this.map.keys()].sort(compareUtf8));
  }

  /** Keys starting with `prefix`, in order, lazily: the key set as of the call; entries deleted meanwhile are skipped. */
  *keys(prefix: string): Generator<string> {
    const keys = this.sorted();
    let lo = 0;
    let hi = keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareUtf8(keys[mid]!, prefix) < 0) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < keys.length; i++) {
      const k = keys[i]!;
      if (!k.startsWith(prefix)) return;
      if (this.map.has(k)) yield k;
    }
  }
}
