/**
 * The public API shared by every entry point: host/index.ts (Node, Deno,
 * Bun) and host/browser.ts (the browser bundle) re-export all of it and add
 * what is particular to them (file systems, the default registration, logs
 * that need node:crypto). README.md documents every export.
 */
export { WalError, ERROR_CODES } from './errors.js';
export type { WalErrorCode, FrameFailure, WalErrorOptions } from './errors.js';
export { crc32c } from './core/core.js';
export type { FileSystem, FileHandle, FileLock, FileStat, OpenFlags } from './fs/types.js';
export { defaultFileSystem, registerDefaultFileSystem } from './fs/default.js';
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
export type { RingBatch, RingLogOptions, RingOpenReport, RingRecord, FailureEvidence, FailureClass } from './logs/ring/types.js';
export { FAILURE_CLASSES } from './logs/ring/types.js';
export { WalLog } from './logs/raft/wal-log.js';
export { MemoryRaftLog } from './logs/raft/memory-raft-log.js';
export type { RaftLog, LogEntry, HardState, Snapshot, WalLogOptions, WalLogOpenReport, VerifyReport } from './logs/raft/types.js';
