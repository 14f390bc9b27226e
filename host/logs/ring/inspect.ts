/**
 * Read-only inspection of a RingLog file for tools (the walcore CLI): the
 * header and geometry, both copies of the state record, and the window
 * recovery would derive from the slots (recovery.ts `recover`, which only
 * reads), with what an open would set aside; and a reader of the window's
 * records. Nothing is written and no lock is taken: the "in use" state
 * record, rewriting and zeroing are the writer's open (ring-open.ts).
 */
import type { Core } from '../../core/core.js';
import { WalError, ioError } from '../../errors.js';
import { directoryError } from '../../codec/file-header.js';
import type { FileSystem } from '../../fs/types.js';
import { quietly } from '../../lifecycle/lifecycle.js';
import { type RingFile, type RingState, fileSize, readRingHeader, readRingState } from './ring-file.js';
import { type Recovery, recover } from './recovery.js';
import { readRecords } from './slots.js';
import type { RingRecord } from './types.js';

export interface RingInspection {
  capacity: number;
  slotSize: number;
  salt: number;
  version: number;
  size: number;
  expectedSize: number;
  /** The newer valid state record, undefined when neither copy is valid. */
  state: RingState | undefined;
  /** What recovery derives (undefined when it refuses: see error). */
  recovery: Recovery | undefined;
  /** CORRUPTED (or another WalError) recovery or the size check raised. */
  error: WalError | undefined;
}

/** Open the ring at `path` read-only; the caller closes f.h. */
export function openRingReadOnly(core: Core, fs: FileSystem, path: string): RingFile {
  let st;
  try { st = fs.stat(path); } catch (e) { throw ioError('stat', path, e); }
  if (st?.isDirectory) throw directoryError(path, 'ring');
  let h;
  try { h = fs.open(path); } catch (e) { throw ioError('open', path, e); }
  try {
    return { core, h, path, ...readRingHeader(core, h, path, {}) };
  } catch (e) {
    quietly(() => h.close());
    throw e;
  }
}

/** Header, state and the window recovery would find; damage is returned in `error`, not thrown. */
export function inspectRing(core: Core, fs: FileSystem, path: string): RingInspection {
  const f = openRingReadOnly(core, fs, path);
  try {
    const version = core.out('hdrVersion');
    let size: number;
    try { size = f.h.size(); } catch (e) { throw ioError('stat', path, e); }
    const expectedSize = fileSize(core.c, f);
    const out: RingInspection = { capacity: f.capacity, slotSize: f.slotSize, salt: f.salt, version, size, expectedSize, state: undefined, recovery: undefined, error: undefined };
    if (size !== expectedSize) {
      out.error = new WalError('CORRUPTED', `${path}: the file is ${size} bytes, but ${f.capacity} slots of ${f.slotSize} bytes need ${expectedSize}`,
        { path, offset: Math.min(size, expectedSize), reason: size < expectedSize ? 'incomplete-payload' : 'length-over-bound' });
      return out;
    }
    try {
      out.state = readRingState(f);
      out.recovery = recover(f, out.state);
    } catch (e) {
      if (!(e instanceof WalError) || e.code === 'IO_ERROR') throw e;
      out.error = e;
    }
    return out;
  } finally {
    quietly(() => f.h.close());
  }
}

/** The records [first, next) of the window, in order, with evidence; `each` returns false to stop. */
export function readRingWindow(core: Core, fs: FileSystem, path: string, first: number, next: number, each: (rec: RingRecord) => boolean | void): void {
  const f = openRingReadOnly(core, fs, path);
  try {
    if (next > first) readRecords(f, first, next - first, true, each);
  } finally {
    quietly(() => f.h.close());
  }
}
