/**
 * walcore for the browser: the same logs and public API as the package entry
 * (host/index.ts), built into dist/browser.js and chosen by the package.json
 * `browser` export condition. It registers no default file system and
 * imports no `node:*` module: in a dedicated worker, create the OPFS pool and
 * pass it as `{ fs }` (or register it as the default):
 *
 *   const fs = await OpfsFileSystem.open(await navigator.storage.getDirectory());
 *   const wal = WalFsWriter.open('/orders.wal', { fs });
 *
 * Not available here: the posix adapters (NodeFileSystem, DenoFileSystem,
 * BunFileSystem) and SegmentedWal encryption (AES-256-GCM is synchronous in
 * walcore and WebCrypto is asynchronous; the build swaps
 * host/platform/aes-gcm.ts and key-check.ts for modules that throw).
 */
export * from './api.js';
export { OpfsFileSystem } from './fs/opfs.js';
export type { OpfsFileSystemOptions, OpfsDirectoryHandle } from './fs/opfs.js';
