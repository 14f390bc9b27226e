/**
 * walcore/internals: the WebAssembly core and other internals for walcore's
 * own tests, vector generator, benchmarks and tools (the CLI). Not part of
 * the stable API: it may change in any release. Bundled with the main entry
 * (shared chunk), so classes such as WalError are the same objects in both.
 */
export { Core, CoreConstants, HOST_FORMAT_VERSION, sharedCore } from './core/core.js';
export type { ConstantName, CoreExports, OutputName } from './core/core.js';
export { checkedFs } from './fs/checked.js';
// The OPFS pool, for walcore's own tests over a fake directory handle (the browser entry exports it publicly).
export { OpfsFileSystem } from './fs/opfs.js';
export { tableRegion as opfsTableRegion } from './fs/opfs-table.js';
// The key-value index in WebAssembly memory, for its own edge-case tests (hash collisions, growth, churn).
export { KvIndex } from './logs/kv-snapshot/kv-index.js';
