/**
 * Which kind of walcore file is this? A read-only probe of the 64-byte file
 * header (docs/FORMAT.md §2) for tools (the walcore CLI) that must accept
 * any kind: the magic, version and CRC are checked by the core exactly as a
 * log's open checks them, and the kind field is returned instead of being
 * compared with an expected one.
 */
import type { Core } from '../core/core.js';
import type { FrameFailure } from '../errors.js';
import type { FileHandle } from '../fs/types.js';
import { loadFileHeader } from './file-header.js';

export type FileKindProbe =
  | { ok: true; kind: number; version: number; salt: number; p0: number; p1: number; p2: number }
  | { ok: false; reason: FrameFailure; bytes: number; version?: number };

/** Read and check the header of `h`; says its kind and fields, or why it is not a walcore header. */
export function probeFileKind(core: Core, h: FileHandle, path: string): FileKindProbe {
  const c = core.c;
  const got = loadFileHeader(core, h, path);
  const st = core.x.decodeFileHeader(core.staging, got, c.KIND_WAL_FILE);
  if (st !== c.OK && st !== c.ERR_WRONG_KIND) {
    const reason = core.failure(st);
    return reason === 'unsupported-version' ? { ok: false, reason, bytes: got, version: core.out('hdrVersion') } : { ok: false, reason, bytes: got };
  }
  const kind = core.out('hdrKind');
  // The kind-specific fields are decoded only for the kind asked for: decode again as that kind.
  core.x.decodeFileHeader(core.staging, got, kind);
  return { ok: true, kind, version: core.out('hdrVersion'), salt: core.out('hdrSalt'), p0: core.out('hdrP0'), p1: core.out('hdrP1'), p2: core.out('hdrP2') };
}
