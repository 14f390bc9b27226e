/**
 * The browser build's stand-in for aes-gcm.ts (scripts/build.mjs swaps it
 * in): walcore encrypts synchronously inside append(), and the browser's
 * WebCrypto is asynchronous only, so SegmentedWal encryption is not
 * available in the browser build. Opening an encrypted log fails here.
 */
export const TAG_SIZE = 16;

const unavailable = (): never => {
  throw new Error('walcore: encryption (AES-256-GCM) is not available in the browser build: WebCrypto is asynchronous and walcore encrypts synchronously; open unencrypted logs, or encrypt payloads yourself before append()');
};

export function sealInto(_key: Uint8Array, _nonce: Uint8Array, _aad: Uint8Array, _plain: Uint8Array, _out: Uint8Array): void {
  unavailable();
}

export function openSealed(_key: Uint8Array, _nonce: Uint8Array, _aad: Uint8Array, _sealed: Uint8Array): Uint8Array | undefined {
  return unavailable();
}

export function openBlock(_key: Uint8Array, _nonce: Uint8Array, _aad: Uint8Array, _sealed: Uint8Array): Uint8Array | undefined {
  return unavailable();
}
