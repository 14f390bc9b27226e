/**
 * The single-file WAL format shared by WalFsWriter and WalFsReader:
 * file = header(kind WAL_FILE) frame* (docs/FORMAT.md §2-§5). This module
 * opens and validates such a file; the writer and reader add policy.
 */
import type { Core } from '../../core/core.js';
import { directoryError, readFileHeader } from '../../codec/file-header.js';
import { FrameScanner } from '../../codec/frame-scanner.js';
import type { FileHandle, FileSystem, OpenFlags } from '../../fs/types.js';
import type { Codec } from './types.js';

const WHAT = 'WAL file';

/** Open `path` for a WAL, refusing a directory the same way for writer and reader (BAD_HEADER). */
export function openWalHandle(fs: FileSystem, path: string, flags: OpenFlags): FileHandle {
  if (fs.stat(path)?.isDirectory) throw directoryError(path, WHAT);
  return fs.open(path, flags);
}

/** Read and check the file header; returns the file's salt. */
export function readWalHeader(core: Core, h: FileHandle, path: string): number {
  readFileHeader(core, h, path, core.c.KIND_WAL_FILE, WHAT);
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
  return scanner;
}
