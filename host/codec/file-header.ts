/**
 * Reading the 64-byte file header (docs/FORMAT.md §2) into the core's
 * staging memory, shared by every log. Each log decodes it there with the
 * core and maps a failure to its own error policy.
 */
import type { Core } from '../core/core.js';
import { ioError } from '../errors.js';
import type { FileHandle } from '../fs/types.js';

/** Read up to FILE_HEADER_SIZE bytes at offset 0 into core.staging; returns how many were read. */
export function loadFileHeader(core: Core, h: FileHandle, path: string): number {
  const size = core.c.FILE_HEADER_SIZE;
  core.ensure(size);
  try {
    return h.read(core.u8.subarray(core.staging, core.staging + size), 0);
  } catch (e) {
    throw ioError('read', path, e);
  }
}
