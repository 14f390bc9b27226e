/**
 * AES-256-GCM, synchronously, from `node:crypto`: the same module in Node,
 * Deno and Bun (measured identical output in all three). The only node:*
 * import outside host/fs/; a browser build swaps this module for its own.
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';

/** GCM tag size in bytes. */
export const TAG_SIZE = 16;

/** Encrypt `plain` into `out` (ciphertext then the 16-byte tag; out.length = plain.length + 16). */
export function sealInto(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plain: Uint8Array, out: Uint8Array): void {
  const c = createCipheriv('aes-256-gcm', key, nonce);
  c.setAAD(aad);
  const body = c.update(plain);
  const tail = c.final();
  out.set(body, 0);
  if (tail.length > 0) out.set(tail, body.length);
  out.set(c.getAuthTag(), plain.length);
}

/** Decrypt and authenticate ciphertext+tag: the decipher's output (body, tail), or undefined when authentication fails. */
function decipher(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array): { body: Uint8Array; tail: Uint8Array; n: number } | undefined {
  const n = sealed.length - TAG_SIZE;
  try {
    const d = createDecipheriv('aes-256-gcm', key, nonce);
    d.setAAD(aad);
    d.setAuthTag(sealed.subarray(n));
    const body = d.update(sealed.subarray(0, n));
    const tail = d.final();
    return { body, tail, n };
  } catch {
    return undefined;
  }
}

/** body + tail in one new array of n bytes. */
function joined(body: Uint8Array, tail: Uint8Array, n: number): Uint8Array {
  const out = new Uint8Array(n);
  out.set(body, 0);
  out.set(tail, body.length);
  return out;
}

/** Decrypt ciphertext+tag; returns the plaintext (a copy the caller owns), or undefined when authentication fails. */
export function openSealed(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Uint8Array | undefined {
  const r = decipher(key, nonce, aad, sealed);
  if (r === undefined) return undefined;
  // A copy: Node may hand out views into a shared pool, and the caller owns the payload.
  return r.tail.length === 0 ? new Uint8Array(r.body) : joined(r.body, r.tail, r.n);
}

/**
 * Decrypt ciphertext+tag like openSealed, without a second copy: the
 * decipher's output is returned as is when it owns its whole buffer (a
 * sealed block's plaintext, whose records are views into it), copied
 * otherwise. undefined when authentication fails.
 */
export function openBlock(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Uint8Array | undefined {
  const r = decipher(key, nonce, aad, sealed);
  if (r === undefined) return undefined;
  const { body, tail, n } = r;
  if (tail.length === 0 && body.byteOffset === 0 && body.buffer.byteLength === n) return new Uint8Array(body.buffer, 0, n);
  return joined(body, tail, n);
}
