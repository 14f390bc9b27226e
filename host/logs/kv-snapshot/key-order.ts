/**
 * The key order range() promises: ascending by the UTF-8 bytes of the key,
 * which is code point order. It differs from JS string (UTF-16 code unit)
 * order only between surrogate pairs and U+E000..U+FFFF, so while no key
 * holds a code unit >= U+D800 ("wide") the built-in string comparison is
 * used, and compareUtf8 only once one does.
 *
 * KeyOrder keeps the sorted key array incrementally: keys created since the
 * last sort are collected, sorted on their own and merged in (O(n + k log k)
 * instead of a full sort); deleted keys stay in the array until the next
 * merge and are skipped by readers (who check the live map). A merge makes
 * a new array, so a reader iterating an older one is not disturbed.
 */

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

const compareUnits = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const WIDE = /[\uD800-\uFFFF]/;

export class KeyOrder {
  #sorted: string[] | undefined;
  /** Keys created since the last sort (only while #sorted exists). */
  #added: string[] = [];
  /** Keys deleted since the last sort. */
  #removed = 0;
  #wide = false;

  /**
   * A key was created. `utf8Len` is its UTF-8 length: equal to its length
   * exactly when it is ASCII, so only other keys are searched for wide chars.
   */
  created(key: string, utf8Len: number): void {
    if (!this.#wide && utf8Len !== key.length && WIDE.test(key)) {
      this.#wide = true;
      this.#sorted = undefined; // sorted by code units: resort by code points
    }
    if (this.#sorted !== undefined) this.#added.push(key);
  }

  deleted(): void {
    if (this.#sorted !== undefined) this.#removed++;
  }

  /** Forget the order (every key is re-read from `keys()` at the next sorted()). */
  reset(): void {
    this.#sorted = undefined;
    this.#added = [];
    this.#removed = 0;
  }

  get compare(): (a: string, b: string) => number {
    return this.#wide ? compareUtf8 : compareUnits;
  }

  /**
   * The keys in order, possibly with deleted ones (callers skip keys not in
   * `live`). Shared and never modified afterwards: do not modify.
   */
  sorted(live: Map<string, unknown>): string[] {
    const cmp = this.compare;
    let s = this.#sorted;
    if (s === undefined) {
      s = [...live.keys()];
      if (this.#wide) s.sort(compareUtf8);
      else s.sort();
    } else if (this.#added.length > 0) {
      s = merge(s, this.#added.sort(cmp), cmp, live);
    } else if (this.#removed * 4 > s.length) {
      s = s.filter((k) => live.has(k));
    } else {
      return s;
    }
    this.#sorted = s;
    this.#added = [];
    this.#removed = 0;
    return s;
  }

  /** Index of the first key >= `prefix` in `keys` (sorted by this order). */
  lowerBound(keys: readonly string[], prefix: string): number {
    const cmp = this.compare;
    let lo = 0;
    let hi = keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cmp(keys[mid]!, prefix) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** Merge two sorted arrays into a new one, keeping each live key once. */
function merge(a: readonly string[], b: readonly string[], cmp: (x: string, y: string) => number, live: Map<string, unknown>): string[] {
  const out: string[] = [];
  let i = 0;
  let j = 0;
  let last: string | undefined;
  while (i < a.length || j < b.length) {
    let k: string;
    if (j >= b.length || (i < a.length && cmp(a[i]!, b[j]!) <= 0)) k = a[i++]!;
    else k = b[j++]!;
    if (k !== last && live.has(k)) {
      out.push(k);
      last = k;
    }
  }
  return out;
}
