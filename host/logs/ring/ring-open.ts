/**
 * RingLog's open path (under the writer lock, see RingLog.open): find or
 * create the file, check its header and size, recover the live window from
 * the slots, and make that window durable before anything names it so.
 *
 * A 0-byte file: the crash-safe creation recipe never leaves one (the file
 * gets its name only when complete), so one is foreign or hand-made. It is
 * refused with BAD_HEADER ("0 bytes ... not a ring") unless a capacity is
 * given; with one, it is replaced by a new ring (crash-safely) and the
 * report says so (created and replacedEmptyFile). A file of any other size
 * is never re-created.
 */
import { Core } from '../../core/core.js';
import { WalError, ioError } from '../../errors.js';
import { directoryError } from '../../codec/file-header.js';
import type { FileHandle, FileSystem } from '../../fs/types.js';
import { removeTempFilesOf } from '../../lifecycle/atomic-file.js';
import type { Acquired } from '../../lifecycle/lifecycle.js';
import { type Geometry, type RingFile, type RingState, checkFileSize, createRing, fileSize, readRingHeader, readRingState, writeState } from './ring-file.js';
import { type Recovery, recover } from './recovery.js';
import { rewriteSlots } from './slots.js';
import type { RingOpenReport } from './types.js';

export const DEFAULT_SLOT_SIZE = 512;

/** Open, check and recover the ring at `path`; the handle is registered on `acquired`. */
export function openRingFile(core: Core, fs: FileSystem, path: string, want: Partial<Geometry>, acquired: Acquired):
  { f: RingFile; rec: Recovery; report: RingOpenReport } {
  const { created, replacedEmptyFile } = findOrCreate(core, fs, path, want);
  let h: FileHandle;
  try {
    h = acquired.add(fs.open(path, { write: true }), (x) => x.close());
  } catch (e) {
    throw ioError('open', path, e);
  }
  const f: RingFile = { core, h, path, ...readRingHeader(core, h, path, want) };
  checkSize(f);
  const state = readRingState(f);
  const rec = recover(f, state);
  makeWindowDurable(f, rec, state);
  const report: RingOpenReport = { created, replacedEmptyFile, clean: rec.clean, discarded: rec.discarded, tookOlderRun: rec.tookOlderRun, junkSlots: rec.junkSlots };
  return { f, rec, report };
}

/** Remove leftovers of the creation recipe, then create the ring if the file is missing (or 0 bytes, with a capacity). */
function findOrCreate(core: Core, fs: FileSystem, path: string, want: Partial<Geometry>): { created: boolean; replacedEmptyFile: boolean } {
  let st;
  try {
    removeTempFilesOf(fs, path);
    st = fs.stat(path);
  } catch (e) {
    throw ioError('open', path, e);
  }
  if (st?.isDirectory) throw directoryError(path, 'ring');
  const empty = st !== undefined && st.size === 0;
  // An existing file is opened as it is: a 0-byte one without a capacity then fails the
  // header check (BAD_HEADER, "0 bytes, shorter than a walcore file header: not a ring").
  if (st !== undefined && !(empty && want.capacity !== undefined)) return { created: false, replacedEmptyFile: false };
  if (want.capacity === undefined) throw new TypeError(`RingLog.open: ${path} does not exist; pass { capacity } to create it`);
  createRing(core, fs, path, { capacity: want.capacity, slotSize: want.slotSize ?? DEFAULT_SLOT_SIZE });
  return { created: true, replacedEmptyFile: empty };
}

/** The file must be exactly as long as its geometry says: CORRUPTED otherwise. */
function checkSize(f: RingFile): void {
  const c = f.core.c;
  checkFileSize(c, f, f.path);
  let size: number;
  try { size = f.h.size(); } catch (e) { throw ioError('stat', f.path, e); }
  const want = fileSize(c, f);
  if (size !== want) {
    throw new WalError('CORRUPTED', `${f.path}: the file is ${size} bytes, but ${f.capacity} slots of ${f.slotSize} bytes need ${want}`,
      { path: f.path, offset: Math.min(size, want), reason: size < want ? 'incomplete-payload' : 'length-over-bound' });
  }
}

/**
 * Make the recovered window durable, then mark the ring "in use" (a state
 * record that is not clean, naming the window) and fsync again.
 *
 * After a crash or a failed fsync the window may hold records that only the
 * page cache has: records a killed writer never synced (dirty pages, which
 * an fsync writes), and records whose fsync failed (pages Linux marked
 * clean without writing them, which no later fsync writes: fsyncgate).
 * Neither can be told apart from durable records by reading, so every
 * window slot above the durable point the state record names is written
 * back with the bytes read (dirtying it again) before the fsync. Only then
 * does the state record name the window. Slots set aside are not erased
 * yet: until the first write they stay on disk, so a crash before the
 * caller has seen openReport.discarded makes the next open report them again.
 */
function makeWindowDurable(f: RingFile, rec: Recovery, state: RingState | undefined): void {
  try {
    if (!rec.clean) {
      const from = Math.max(rec.first, state === undefined ? 1 : state.next);
      if (from < rec.next) rewriteSlots(f, from, rec.next - from);
      f.h.sync();
    }
    writeState(f, { clean: false, first: rec.first, next: rec.next });
    f.h.sync(); // the clean flag is gone for good before any slot changes
  } catch (e) {
    throw ioError('recover', f.path, e);
  }
}
