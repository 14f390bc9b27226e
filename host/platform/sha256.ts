/**
 * SHA-256 from `node:crypto` `createHash`, which exists in Node, Deno and
 * Bun alike (the export/import manifest of AppendLogSnapshot). Like
 * aes-gcm.ts, a browser build swaps this module for its own.
 */
import { createHash } from 'node:crypto';

/** An incremental SHA-256: update() with chunks, then hex(). */
export interface Sha256 {
  update(bytes: Uint8Array): void;
  /** The digest as 64 lowercase hex digits (ends the hash). */
  hex(): string;
}

export function sha256(): Sha256 {
  const h = createHash('sha256');
  return {
    update: (bytes) => { h.update(bytes); },
    hex: () => h.digest('hex'),
  };
}

/** SHA-256 of `bytes` as 64 lowercase hex digits. */
export function sha256Hex(bytes: Uint8Array): string {
  const h = sha256();
  h.update(bytes);
  return h.hex();
}
