/**
 * Randomness for salts, nonce prefixes, lock tokens and temp names: the Web
 * Crypto CSPRNG (`globalThis.crypto.getRandomValues`), present in Node 20+,
 * Deno, Bun and browsers alike, so no runtime module is imported.
 */

/** A random u32 (file salts). */
export function randomU32(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0]!;
}

/** `words` random u32s as fixed-width hex (temp names, tokens): 8 hex digits each. */
export function randomHex(words = 2): string {
  return Array.from(crypto.getRandomValues(new Uint32Array(words)), (n) => n.toString(16).padStart(8, '0')).join('');
}
