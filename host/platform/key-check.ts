/**
 * The key check value of an encryption key (docs/FORMAT.md §S2): the first
 * 8 bytes of HMAC-SHA-256(key, "walcore key check"), as two little-endian
 * u32s. It identifies a key without revealing it (a keyed one-way function),
 * so a segment header can say which key its records need. From `node:crypto`,
 * like AES-GCM (host/platform/aes-gcm.ts), the same in Node, Deno and Bun.
 */
import { createHmac } from 'node:crypto';

const LABEL = 'walcore key check';

/** [lo, hi] of the check value; never [0, 0] (all zeros means "no check value" in a header). */
export function keyCheckValue(key: Uint8Array): [number, number] {
  const d = createHmac('sha256', key).update(LABEL).digest();
  const dv = new DataView(d.buffer, d.byteOffset, d.byteLength);
  const lo = dv.getUint32(0, true);
  const hi = dv.getUint32(4, true);
  return lo === 0 && hi === 0 ? [1, 0] : [lo, hi];
}
