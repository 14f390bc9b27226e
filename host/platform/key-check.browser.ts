/**
 * The browser build's stand-in for key-check.ts (see aes-gcm.browser.ts):
 * HMAC-SHA-256 is asynchronous in WebCrypto, and a key check value is only
 * needed for encryption, which the browser build does not offer.
 */
export function keyCheckValue(_key: Uint8Array): [number, number] {
  throw new Error('walcore: encryption (AES-256-GCM) is not available in the browser build: WebCrypto is asynchronous and walcore encrypts synchronously; open unencrypted logs, or encrypt payloads yourself before append()');
}
