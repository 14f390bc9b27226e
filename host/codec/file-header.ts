/**
 * The 64-byte file header every walcore file starts with (docs/FORMAT.md §2):
 * reading it into the core and the one mapping from a header fault to an
 * error, the same in every log:
 *
 * - UNSUPPORTED_VERSION: a walcore file of a format version this build does
 *   not read.
 * - BAD_HEADER: every other header fault: not a walcore file of the expected
 *   kind (too short, an empty file included; wrong magic; another kind;
 *   unknown flags; a directory), or a header that is damaged (CRC mismatch,
 *   an impossible field). Headers are written once by the crash-safe recipe
 *   before the file gets its name, so no crash can tear one; `reason` says
 *   which fault it was.
 * CORRUPTED is for frames and slots, never for the file header. A log may
 * add its own check after this one (RingLog's geometry: HEADER_MISMATCH when
 * it differs from what the caller asked for).
 */
import type { Core } from '../core/core.js';
import { type FrameFailure, WalError } from '../errors.js';
import type { FileHandle } from '../fs/types.js';

/** Read up to FILE_HEADER_SIZE bytes at offset 0 into core.staging; returns how many were read. */
/** `h` is a checked handle (host/fs/checked.ts): its failures are already IO_ERROR. */
export function loadFileHeader(core: Core, h: FileHandle, _path: string): number {
  const size = core.c.FILE_HEADER_SIZE;
  core.ensure(size);
  return h.read(core.u8.subarray(core.staging, core.staging + size), 0);
}

const KIND_NAMES: Record<number, string> = { 1: 'WAL file', 2: 'segment', 3: 'ring', 4: 'raft segment', 5: 'raft snapshot', 6: 'kv snapshot' };

/** The error for a header whose decode returned `status` (< 0). `what` names the expected kind. */
export function headerError(core: Core, status: number, path: string, what: string, got: number): WalError {
  const c = core.c;
  const reason: FrameFailure = core.failure(status);
  switch (reason) {
    case 'unsupported-version':
      return new WalError('UNSUPPORTED_VERSION', `${path}: written by walcore format version ${core.out('hdrVersion')}, this build reads ${c.FORMAT_VERSION}`, { path, offset: 0, reason });
    case 'header-crc':
    case 'bad-type':
    case 'decode-failure':
      return new WalError('BAD_HEADER', `${path}: the ${what}'s file header is damaged (${reason})`, { path, offset: 0, reason });
    case 'wrong-kind':
      return new WalError('BAD_HEADER', `${path}: a walcore ${KIND_NAMES[core.out('hdrKind')] ?? `file of kind ${core.out('hdrKind')}`}, not a ${what}`, { path, offset: 0, reason });
    case 'incomplete-header':
      return new WalError('BAD_HEADER', `${path}: ${got} bytes, shorter than a walcore file header: not a ${what}`, { path, offset: 0, reason });
    default:
      return new WalError('BAD_HEADER', `${path}: not a walcore ${what} (${reason})`, { path, offset: 0, reason });
  }
}

/**
 * Read and check the file header of a file of `kind` (KIND_* constant);
 * throws the mapped error. On success the core's hdr* outputs hold the
 * header's fields (hdrSalt, hdrP0..2).
 */
export function readFileHeader(core: Core, h: FileHandle, path: string, kind: number, what: string): void {
  const got = loadFileHeader(core, h, path);
  const st = core.x.decodeFileHeader(core.staging, got, kind);
  if (st !== core.c.OK) throw headerError(core, st, path, what, got);
}

/** The error for opening a directory where a log file is expected. */
export function directoryError(path: string, what: string): WalError {
  return new WalError('BAD_HEADER', `${path} is a directory, not a ${what}`, { path, offset: 0 });
}
