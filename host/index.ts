/**
 * walcore: durable append-only logs for Node, Deno and Bun. This is the
 * package entry point: the shared API (host/api.ts), the posix file systems
 * registered as the default, and the logs that need node:crypto beyond
 * AES-GCM (AppendLogSnapshot's SHA-256 manifests). README.md documents every
 * export.
 */
import { registerDefaultFileSystem } from './fs/default.js';
import { posixFileSystemForRuntime } from './fs/runtime.js';

// This entry serves Node, Deno and Bun: their default file system is the posix one.
registerDefaultFileSystem(posixFileSystemForRuntime);

export * from './api.js';
export { NodeFileSystem, DenoFileSystem, BunFileSystem } from './fs/runtime.js';
export { AppendLogSnapshot } from './logs/kv-snapshot/append-log-snapshot.js';
export { WatchCursor } from './logs/kv-snapshot/watch-cursor.js';
export { EtcdFollower } from './logs/kv-snapshot/etcd-follower.js';
export type {
  EtcdFollowerOptions, EtcdApplyInfo, EtcdFollowerStats, EtcdClientLike, EtcdWatchBuilderLike, EtcdWatcherLike, EtcdWatchResponseLike, EtcdRangeBuilderLike, EtcdKeyValueLike,
} from './logs/kv-snapshot/etcd-follower.js';
export type {
  SnapshotStore, KvUpdate, KvEntry, KvApplyOptions, AppendLogSnapshotOptions, KvOpenReport, ExportManifest, ExportedFile, OpenedSnapshot,
} from './logs/kv-snapshot/types.js';
