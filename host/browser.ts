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
export { WalError, ERROR_CODES } from './errors.js';
export type { WalErrorCode, FrameFailure, WalErrorOptions } from './errors.js';
export { crc32c } from './core/core.js';
export type { FileSystem, FileHandle, FileLock, FileStat, OpenFlags } from './fs/types.js';
export { OpfsFileSystem, TABLE_REGION } from './fs/opfs.js';
export type { OpfsFileSystemOptions, OpfsDirectoryHandle } from './fs/opfs.js';
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
export type { RingLogOptions, RingOpenReport, RingRecord, FailureEvidence, FailureClass } from './logs/ring/types.js';
export { FAILURE_CLASSES } from './logs/ring/types.js';
export { WalLog } from './logs/raft/wal-log.js';
export { MemoryRaftLog } from './logs/raft/memory-raft-log.js';
export type { RaftLog, LogEntry, HardState, Snapshot, WalLogOptions, WalLogOpenReport, VerifyReport } from './logs/raft/types.js';
