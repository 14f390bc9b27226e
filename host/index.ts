/**
 * walcore: durable append-only logs for Node, Deno and Bun. This is the
 * package entry point; README.md documents every export.
 */
export { WalError, ERROR_CODES } from './errors.js';
export type { WalErrorCode, FrameFailure, WalErrorOptions } from './errors.js';
export { crc32c, Core, HOST_FORMAT_VERSION } from './core.js';
export type { CoreConstants } from './core.js';
export type { FileSystem, FileHandle, FileLock, FileStat, OpenFlags } from './fs/types.js';
export { NodeFileSystem, DenoFileSystem, BunFileSystem, defaultFileSystem, detectRuntime } from './fs/runtime.js';
export { MemoryFileSystem, seededRandom } from './fs/memory.js';
export type { CrashOptions, CrashReport, CrashMode, Fault, FaultOp, FaultSpec } from './fs/memory.js';
export { GroupCommit } from './group-commit.js';
export { WalFsWriter } from './wal-fs-writer.js';
export type { WalFsWriterOptions, WalEvent, RepairPolicy, OpenReport, SequenceOf } from './wal-fs-writer.js';
export { WalFsReader } from './wal-fs-reader.js';
export type { WalFsReaderOptions, EventCallback } from './wal-fs-reader.js';
export type { Codec } from './wal-file.js';
export type { SequenceMode } from './sequence.js';
export { SegmentedWal } from './segmented-wal.js';
export type { SegmentedWalOptions, AppendRecord, SegmentInfo, TruncateResult, ReplayPage, SegmentedOpenReport } from './segmented-wal.js';
export type { WalRecord } from './segment-scan.js';
export { KeyRing } from './encryption.js';
export type { KeyEntry } from './encryption.js';
export { RingLog } from './ring-log.js';
export type { RingLogOptions, RingOpenReport, RingRecord, FailureEvidence, FailureClass } from './ring-log.js';
export { FAILURE_CLASSES } from './ring-format.js';
