/**
 * Read-only inspection of a single-file WAL for tools (the walcore CLI):
 * validate every frame exactly as open does (FrameScanner, the same flags),
 * classify the first invalid frame (torn tail or corruption, FORMAT.md §5),
 * and stream every valid frame with its header fields. Nothing is written,
 * no lock is taken, so it may run beside a live writer (it then sees a
 * prefix of what that writer had written when each chunk was read).
 */
import type { Core } from '../../core/core.js';
import { ioError } from '../../errors.js';
import { FrameScanner } from '../../codec/frame-scanner.js';
import type { FileHandle, FileSystem } from '../../fs/types.js';
import { openWalHandle, readWalHeader, walScanFlags } from './wal-file.js';

/** A u64 as its two halves. */
export interface U64Halves { lo: number; hi: number }

export interface WalFileInspection {
  size: number;
  salt: number;
  version: number;
  /** Valid frames (events and the sync marker). */
  frames: number;
  events: number;
  firstSequence: U64Halves | undefined;
  lastSequence: U64Halves | undefined;
  /** Offset just after the last valid frame. */
  validEnd: number;
  /** Offset of the sync marker ending the valid prefix, -1 when it ends with an event (or is empty). */
  syncMarker: number;
  /** The durable watermark the last valid frame cites. */
  lastMark: number;
  failure: { offset: number; reason: string; torn: boolean; witness: number } | undefined;
}

/** One valid frame as dump sees it; `payload` is a view valid only until the next frame is asked for. */
export interface WalFileFrame {
  offset: number;
  type: number;
  flags: number;
  length: number;
  seqLo: number;
  seqHi: number;
  mark: number;
  payload: Uint8Array;
}

/** Open `path` read-only and read its header; the caller closes the handle. */
export function openWalFileReadOnly(core: Core, fs: FileSystem, path: string): { h: FileHandle; salt: number; version: number; size: number } {
  const h = openWalHandle(fs, path, {});
  try {
    const salt = readWalHeader(core, h, path);
    let size: number;
    try { size = h.size(); } catch (e) { throw ioError('stat', path, e); }
    return { h, salt, version: core.out('hdrVersion'), size };
  } catch (e) {
    h.close();
    throw e;
  }
}

/**
 * Validate every frame of the WAL file at `path` (no descriptors are emitted:
 * the core checks whole chunks at a time). `progress(done)` is called after
 * each chunk with the offset reached.
 */
export function inspectWalFile(core: Core, fs: FileSystem, path: string, progress?: (done: number, total: number) => void): WalFileInspection {
  const { h, salt, version, size } = openWalFileReadOnly(core, fs, path);
  const c = core.c;
  try {
    // The first event's sequence: one small emitting scan of the first frames.
    let firstSequence: U64Halves | undefined;
    const probe = new FrameScanner(core, h, path, salt, c.FILE_HEADER_SIZE, size, walScanFlags(core, true), 64 << 10);
    const n = probe.next();
    for (let i = 0; i < n; i++) {
      const d = core.desc + i * c.DESC_SIZE;
      if ((core.dv.getUint32(d + c.D_TYPE, true) & 0xff) !== c.TYPE_EVENT) continue;
      firstSequence = { lo: core.dv.getUint32(d + c.D_SEQ_LO, true), hi: core.dv.getUint32(d + c.D_SEQ_HI, true) };
      break;
    }
    const scanner = new FrameScanner(core, h, path, salt, c.FILE_HEADER_SIZE, size, walScanFlags(core, false));
    try {
      while (scanner.next() > 0) progress?.(scanner.pos, size);
    } catch (e) {
      throw ioError('read', path, e);
    }
    progress?.(size, size);
    const endsWithMarker = scanner.lastStart >= 0 && scanner.lastType === c.TYPE_SYNC_MARK;
    const frames = scanner.frames;
    const events = frames - (endsWithMarker ? 1 : 0);
    let failure: WalFileInspection['failure'];
    if (scanner.failure !== undefined) {
      const f = scanner.failure;
      const { torn, witness } = scanner.classify();
      failure = { offset: f.offset, reason: f.reason, torn, witness };
    }
    return {
      size, salt, version, frames, events,
      firstSequence: events > 0 ? firstSequence : undefined,
      lastSequence: events > 0 ? { lo: scanner.seqLo, hi: scanner.seqHi } : undefined,
      validEnd: failure ? failure.offset : scanner.pos,
      syncMarker: endsWithMarker ? scanner.lastStart : -1,
      lastMark: scanner.mark,
      failure,
    };
  } finally {
    h.close();
  }
}

/**
 * Every valid frame of the file in order (events and the sync marker), read
 * in chunks into core memory: constant memory whatever the file's size.
 * Stops at the first invalid frame (inspectWalFile says what it is).
 */
export function* walFileFrames(core: Core, fs: FileSystem, path: string): Generator<WalFileFrame, void, void> {
  const { h, salt, size } = openWalFileReadOnly(core, fs, path);
  const c = core.c;
  try {
    const scanner = new FrameScanner(core, h, path, salt, c.FILE_HEADER_SIZE, size, walScanFlags(core, true));
    const frame: WalFileFrame = { offset: 0, type: 0, flags: 0, length: 0, seqLo: 0, seqHi: 0, mark: 0, payload: new Uint8Array(0) };
    for (;;) {
      let n: number;
      try { n = scanner.next(); } catch (e) { throw ioError('read', path, e); }
      if (n === 0) break;
      const base = scanner.batchBase;
      for (let i = 0; i < n; i++) {
        const dv = core.dv;
        const d = core.desc + i * c.DESC_SIZE;
        const rel = dv.getUint32(d + c.D_OFFSET, true);
        const tf = dv.getUint32(d + c.D_TYPE, true);
        frame.offset = scanner.batchOffset + rel;
        frame.type = tf & 0xff;
        frame.flags = (tf >>> 8) & 0xff;
        frame.length = dv.getUint32(d + c.D_LEN, true);
        frame.seqLo = dv.getUint32(d + c.D_SEQ_LO, true);
        frame.seqHi = dv.getUint32(d + c.D_SEQ_HI, true);
        frame.mark = dv.getFloat64(d + c.D_MARK, true);
        frame.payload = core.u8.subarray(base + rel + c.FRAME_HEADER_SIZE, base + rel + c.FRAME_HEADER_SIZE + frame.length);
        yield frame;
      }
    }
  } finally {
    h.close();
  }
}
