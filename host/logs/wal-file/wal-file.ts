/**
 * The single-file WAL format shared by WalFsWriter and WalFsReader:
 * file = header(kind WAL_FILE) frame* (docs/FORMAT.md §2-§5). This module
 * opens and validates such a file; the writer and reader add policy.
 */
import { Core } from '../../core/core.js';
import { WalError, ioError } from '../../errors.js';
import { loadFileHeader } from '../../codec/file-header.js';
import { FrameScanner } from '../../codec/frame-scanner.js';
import type { FileHandle } from '../../fs/types.js';

/** Converts typed events to payload bytes and back. */
export interface Codec<T> {
  encode(value: T): Uint8Array;
  /** Throw to report a payload that cannot be decoded (reported as reason 'decode-failure'). */
  decode(bytes: Uint8Array): T;
}

/** Read and check the file header; returns the file's salt. */
export function readWalHeader(core: Core, h: FileHandle, path: string): number {
  const c = core.c;
  const st = core.x.decodeFileHeader(core.staging, loadFileHeader(core, h, path), c.KIND_WAL_FILE);
  if (st !== c.OK) {
    const reason = core.failure(st);
    if (reason === 'unsupported-version') {
      throw new WalError('UNSUPPORTED_VERSION', `${path}: written by walcore format version ${core.out('hdrVersion')}, this build reads ${c.FORMAT_VERSION}`, { path, offset: 0, reason });
    }
    throw new WalError('BAD_HEADER', `${path}: not a walcore WAL file (${reason})`, { path, offset: 0, reason });
  }
  return core.out('hdrSalt');
}

/** Scanner flags for a WAL file: strictly increasing sequences, ordered watermarks. */
export function walScanFlags(core: Core, emit: boolean): number {
  const c = core.c;
  return c.SCAN_SEQ_STRICT | c.SCAN_MARK | (emit ? c.SCAN_EMIT : 0);
}

/**
 * Validate every frame of an open WAL file, decoding payloads with `codec`
 * when one is given. Returns the scanner positioned after the last valid
 * frame; on failure scanner.failure is set (classify() tells torn from corrupt).
 */
export function scanWalFile<T>(core: Core, h: FileHandle, path: string, salt: number, size: number, codec?: Codec<T>): FrameScanner {
  const c = core.c;
  const scanner = new FrameScanner(core, h, path, salt, c.FILE_HEADER_SIZE, size, walScanFlags(core, codec !== undefined));
  try {
    for (let n = scanner.next(); n > 0; n = scanner.next()) {
      if (codec === undefined) continue;
      for (let i = 0; i < n; i++) {
        const d = core.desc + i * c.DESC_SIZE;
        if ((core.dv.getUint32(d + c.D_TYPE, true) & 0xff) !== c.TYPE_EVENT) continue;
        const rel = core.dv.getUint32(d + c.D_OFFSET, true);
        const start = scanner.batchBase + rel + c.FRAME_HEADER_SIZE;
        try {
          codec.decode(core.u8.slice(start, start + core.dv.getUint32(d + c.D_LEN, true)));
        } catch {
          scanner.fail(scanner.batchOffset + rel, 'decode-failure');
          return scanner;
        }
      }
    }
  } catch (e) {
    throw ioError('read', path, e);
  }
  return scanner;
}
