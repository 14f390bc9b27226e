/**
 * Values handed to the caller (get, range) are copies it owns, never views of
 * core memory (which detaches when it grows). Small copies are views into a
 * shared 16 KiB pool buffer, as Node's Buffer pool does, because one
 * ArrayBuffer per small value costs far more than the copy: so a value's
 * `.buffer` can be larger than the value (docs/kv-snapshot.md).
 */
const POOL = 16 << 10;

let pool = new Uint8Array(POOL);
let poolPos = 0;

/** A copy of src[at, at + len) that the caller owns (it may share an ArrayBuffer with other copies). */
export function copyOut(src: Uint8Array, at: number, len: number): Uint8Array {
  if (len === 0) return new Uint8Array(0);
  if (len > POOL >>> 3) return src.slice(at, at + len);
  if (poolPos + len > POOL) {
    pool = new Uint8Array(POOL);
    poolPos = 0;
  }
  const out = new Uint8Array(pool.buffer, poolPos, len);
  out.set(src.subarray(at, at + len));
  poolPos = (poolPos + len + 7) & ~7;
  return out;
}
