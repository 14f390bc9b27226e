/**
 * walcore: durable append-only logs for Node, Deno and Bun. This is the
 * package entry point; README.md documents every export.
 */
export { WalError, ERROR_CODES } from './errors.js';
export type { WalErrorCode, FrameFailure, WalErrorOptions } from './errors.js';
export { crc32c } from './core/core.js';
export type { FileSystem, FileHandle, FileLock, FileStat, OpenFlags } from './fs/types.js';
import { registerDefaultFileSystem } from './fs/default.js';
import { posixFileSystemForRuntime } from './fs/runtime.js';

// This entry serves Node, Deno and Bun: their default file system is the posix one.
registerDefaultFileSystem(posixFileSystemForRuntime);

export { NodeFileSystem, DenoFileSystem, BunFileSystem } from './fs/runtime.js';
export { defaultFileSystem } from './fs/default.js';
export { detectRuntime } from './platform/runtime.js';
export { MemoryFileSystem, seededRandom } from './fs/memory.js';
export type { CrashOptions, CrashReport, CrashMode, FailedSyncMode, Fault, FaultOp, FaultSpec, MemoryFileSystemOptions } from './fs/memory.js';
export { GroupCommit } from './lifecycle/group-commit.js';
export { WalFsWriter } from './logs/wal-file/wal-fs-writer.js';
export type { WalFsWriterOptions, WalFsEvent, WalEvent, RepairPolicy, WalFsOpenReport, OpenReport, SequenceOf, Codec } from './logs/wal-file/types.js';
export { WalFsReader } from './logs/wal-file/wal-fs-reader.js';
export type { WalFsReaderOptions, EventCallback } from './logs/wal-file/wal-fs-reader.js';
export type { SequenceMode } from './core/u64.js';
export { SegmentedWal } from './logs/segmented/segmented-wal.js';
export type {
  SegmentedWalOptions, SegmentedRecord, SegmentedAppendRecord, SegmentedTruncateResult, SegmentedReplayPage, SegmentInfo, SegmentedOpenReport,
  WalRecord, AppendRecord, TruncateResult, ReplayPage,
} from './logs/segmented/types.js';
export { KeyRing } from './logs/segmented/encryption.js';
export type { KeyEntry } from './logs/segmented/encryption.js';
export { RingLog } from './logs/ring/ring-log.js';
export type { RingLogOptions, RingOpenReport, RingRecord, FailureEvidence, FailureClass } from './logs/ring/types.js';
export { FAILURE_CLASSES } from './logs/ring/types.js';
export { WalLog } from './logs/raft/wal-log.js';
export { MemoryRaftLog } from './logs/raft/memory-raft-log.js';
export type { RaftLog, LogEntry, HardState, Snapshot, WalLogOptions, WalLogOpenReport, VerifyReport } from './logs/raft/types.js';
export { AppendLogSnapshot } from './logs/kv-snapshot/append-log-snapshot.js';
export { WatchCursor } from './logs/kv-snapshot/watch-cursor.js';
export { EtcdFollower } from './logs/kv-snapshot/etcd-follower.js';
export type {
  EtcdFollowerOptions, EtcdApplyInfo, EtcdFollowerStats, EtcdClientLike, EtcdWatchBuilderLike, EtcdWatcherLike, EtcdWatchResponseLike, EtcdRangeBuilderLike, EtcdKeyValueLike,
} from './logs/kv-snapshot/etcd-follower.js';
export type {
  SnapshotStore, KvUpdate, KvEntry, KvApplyOptions, AppendLogSnapshotOptions, KvOpenReport, ExportManifest, ExportedFile, OpenedSnapshot,
} from './logs/kv-snapshot/types.js';
