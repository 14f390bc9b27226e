/**
 * An appendable frame file (docs/FORMAT.md §3-§5): the write path and the
 * tail recovery shared by every log that appends frames to a file
 * (WalFsWriter's file, SegmentedWal's active segment, and next WalLog and
 * AppendLogSnapshot). The log above owns framing into core staging, buffers
 * and policy; this module owns what happens to the file.
 *
 * - write(): write frames at `end`. A failed write is rolled back (truncate
 *   to the offset before it, fsync) and throws IO_ERROR, the caller keeping
 *   its buffer for a retry; if the rollback fails too, the log is poisoned.
 * - sync(): fdatasync. A failed fsync rolls the file back to the durable end
 *   (truncate + fsync, best effort) and poisons: on Linux a failed fsync
 *   drops the dirty pages' data while reads still show it, so nothing after
 *   the durable end may be adopted by a later open (fsyncgate).
 * - syncAsync(): the same fdatasync off the JS thread (FileHandle.syncAsync,
 *   falling back to sync()). It covers what was written before it started:
 *   `durableEnd` becomes the `end` snapshotted then, never more. Writes go
 *   on meanwhile (always at `end`, at or after the snapshot, so a failed
 *   write's rollback never cuts what the sync covers). A failure rolls back
 *   to the durable end as it was when the sync started (a sync() that ran
 *   concurrently proves nothing: Linux reports a writeback error to only one
 *   of concurrent fsyncs) and poisons, as sync() does.
 * - writeMarker(): an advisory sync marker after the durable data (it only
 *   witnesses; FORMAT.md §5). A marker write that fails part way may leave
 *   bytes after `end`: the tail is then "unknown" and seal()/close() cut it,
 *   so a cleanly closed file never ends in a fragment.
 * - seal(): cut anything after `end`, fdatasync: the file is exactly its
 *   frames and durable (a sealed segment).
 * - preallocate(): write zeros after the frames ahead of time, so the
 *   fdatasync of later writes overwrites allocated blocks without changing
 *   the file's size (faster on ext4: PLATFORM.md). The zeros are a torn
 *   tail to recovery; seal() and finish() cut them.
 * - write-behind (when the log passes its FileSystem): once WRITE_BEHIND bytes
 *   are written past the durable end and the last such start, write() starts
 *   an fdatasync of them off the JS thread through a second handle on the
 *   file, so the disk works while appends go on and the fdatasync that
 *   seals or syncs the file later finds little left to write. At most one
 *   is in flight per file: the next starts only after the last one settled,
 *   which the JS thread learns on an event-loop turn. So a loop that never
 *   yields gets one, not a queue of fdatasyncs that would hold the thread
 *   pool (shared with the application's other async I/O) and run on after
 *   close (measured: a blind one per 4 MiB left ~250 queued after 1 GB, and
 *   a raw write loop run next went 2-10x slower). It changes
 *   nothing that is promised: durableEnd moves only by this handle's own
 *   sync(), seal() or syncAsync(). A failed write-behind fdatasync poisons,
 *   as a failed sync does; and because Linux (since 4.13) reports a
 *   writeback error to every descriptor open on the file, the main handle's
 *   next fdatasync fails too, even before that rejection is seen.
 * - recoverTail(): after a scan, classify the first invalid frame (torn tail
 *   or corruption), cut a torn tail (back to the start of a multi-frame
 *   write whose last frame is missing, when the log names one), drop a
 *   trailing marker from `end`.
 */
import type { Core } from '../core/core.js';
import { type FrameFailure, WalError } from '../errors.js';
import type { FileHandle, FileSystem } from '../fs/types.js';
import type { Lifecycle } from '../lifecycle/lifecycle.js';
import type { FrameScanner } from './frame-scanner.js';

/** preallocateFor() extends a file by zeros to a whole multiple of this many bytes. */
const PREALLOCATE_CHUNK = 1 << 20;
/** Where zeros written ahead of `upTo` end: `upTo` rounded up to a whole PREALLOCATE_CHUNK. */
export const preallocationEnd = (upTo: number): number => Math.ceil(upTo / PREALLOCATE_CHUNK) * PREALLOCATE_CHUNK;

/**
 * Unsynced bytes after which write() starts a write-behind fdatasync. On
 * this VM (one per 4 MiB, not yet bounded to one in flight) 2-8 MiB gave
 * the same buffered WalLog rate, 16 and 32 MiB about half the gain; the
 * seal's fdatasync of a 64 MiB segment went from ~43 to 2.5-10 ms.
 */
export const WRITE_BEHIND = 4 << 20;

/** Write-behind: the file system to open the second handle through, the handle once opened, where the last fdatasync of it started, and whether it is in flight. */
interface WriteBehind { fs: FileSystem; h: FileHandle | undefined; from: number; busy: boolean }

/** What lies after `end` in the file. */
type Tail = 'none' | 'marker' | 'unknown';

export type RepairPolicy = 'strict' | 'truncate-partial';

/** What recoverTail() found. */
export interface RecoveredTail {
  /** Where the next frame goes (a trailing sync marker is overwritten). */
  end: number;
  /** File size after recovery (end, or end + a trailing marker). */
  fileSize: number;
  /** Whether the file ends with a data frame after its header (a fresh marker would witness it). */
  endsWithFrame: boolean;
  /** Bytes cut from a torn tail, and why they were invalid. */
  truncatedBytes: number;
  truncatedReason: string | undefined;
  /**
   * Everything before this offset was durable when the newest kept frame was
   * written (its watermark); bytes after it may exist only in the page cache
   * of a process that died. settle() rewrites them before its fsync.
   */
  knownDurable: number;
}

/**
 * A group of frames written in one write (a log's multi-frame record, e.g.
 * an AppendLogSnapshot batch) whose last frame is missing from the valid
 * prefix: it was never synced whole, so recovery cuts it with the tail.
 */
export interface UnfinishedWrite {
  /** Offset of the group's first frame. */
  start: number;
  /** The reason reported for the cut (truncatedReason, or TORN_TAIL's reason under 'strict'). */
  reason: string;
}

/**
 * Classify and cut the tail after `scanner` ran to completion over a file
 * of `size` bytes. Corruption of durable data is CORRUPTED; a torn tail is
 * TORN_TAIL under 'strict', else cut (not yet synced: FrameFile.settle()
 * syncs once, after writing a marker). `unfinished`, if given, is a write
 * whose last frame is missing: the cut goes back to its start (a torn tail:
 * TORN_TAIL under 'strict').
 */
export function recoverTail(core: Core, h: FileHandle, path: string, scanner: FrameScanner, size: number, repair: RepairPolicy,
  unfinished?: UnfinishedWrite): RecoveredTail {
  let end = scanner.pos;
  let truncatedBytes = 0;
  let truncatedReason: string | undefined;
  const failure = scanner.failure;
  if (failure !== undefined) {
    const { torn } = scanner.classify();
    if (!torn || repair === 'strict') throw scanner.error(torn);
    end = failure.offset;
    truncatedReason = failure.reason;
  }
  const cutUnfinished = unfinished !== undefined && unfinished.start < end;
  if (cutUnfinished) {
    if (repair === 'strict') {
      throw new WalError('TORN_TAIL', `${path}: torn tail (a write whose last frame is missing) at offset ${unfinished.start}`, { path, offset: unfinished.start, reason: unfinished.reason as FrameFailure });
    }
    end = unfinished.start;
    truncatedReason ??= unfinished.reason;
  }
  if (end < size) {
    truncatedBytes = size - end;
    h.truncate(end);
  }
  const fileSize = end;
  const HDR = core.c.FRAME_HEADER_SIZE;
  const endsWithMarker = !cutUnfinished && scanner.lastStart >= 0 && scanner.lastType === core.c.TYPE_SYNC_MARK && scanner.lastStart + HDR === end;
  if (endsWithMarker) end = scanner.lastStart;
  const knownDurable = Math.min(Math.max(scanner.mark, core.c.FILE_HEADER_SIZE), end);
  const endsWithFrame = cutUnfinished ? end > core.c.FILE_HEADER_SIZE : scanner.lastStart >= 0 && !endsWithMarker;
  return { end, fileSize, endsWithFrame, truncatedBytes, truncatedReason, knownDurable };
}

export class FrameFile {
  /** Offset where the next frames go. */
  end: number;
  /** Everything before this offset is durable (a completed fdatasync covered it). */
  durableEnd: number;
  #tail: Tail;
  /** A marker or cut was written after the last fdatasync. */
  #tailUnsynced = false;
  /** Counts writes, markers and cuts, so an async sync knows whether anything changed while it ran. */
  #changes = 0;
  /** The file holds zeros up to here (preallocate()); 0 when nothing was preallocated since the last cut. */
  #allocated = 0;
  /** Write-behind state; undefined when off (no FileSystem given, or the handle cannot abandon a sync). */
  #wb: WriteBehind | undefined;

  /**
   * `end` and `fileSize` as recovery left them (a trailing marker sits in
   * [end, fileSize)); everything before `end` must be durable already, or
   * settle() must run before the first write.
   */
  constructor(private readonly core: Core, readonly h: FileHandle, readonly path: string, readonly salt: number,
    end: number, fileSize: number, private readonly life: Lifecycle,
    /** Where `path` is opened a second time for write-behind (see the file comment); without it, none. */
    fs?: FileSystem) {
    this.end = this.durableEnd = end;
    this.#tail = fileSize > end ? 'marker' : 'none';
    if (fs !== undefined && h.syncAsync !== undefined && h.abandonsSync === true) this.#wb = { fs, h: undefined, from: end, busy: false };
  }

  /** Bytes in the file (end plus a marker after it). */
  get size(): number {
    return this.end + (this.#tail === 'marker' ? this.core.c.FRAME_HEADER_SIZE : 0);
  }

  /**
   * After open: rewrite what may be only in the page cache (from
   * `rewriteFrom`, see rewrite()), fdatasync (covering recovery's cut too),
   * then, when the file ends with a frame, write a marker witnessing the
   * recovered data and fdatasync again, so an open leaves nothing unsynced
   * and a crash right after it needs no repair.
   */
  settle(endsWithFrame: boolean, stagingOff: number, rewriteFrom = this.end): void {
    this.rewrite(rewriteFrom);
    // The recovered data must be durable before a marker may witness it: a marker
    // written first could reach the disk without the tail it vouches for, and a
    // later open would call that tail's damage corruption. So: fsync, marker, fsync.
    this.h.sync();
    if (endsWithFrame) {
      this.writeMarker(stagingOff);
      this.h.sync();
    }
    this.#tailUnsynced = false;
  }

  /**
   * Write [from, end) back with the bytes it holds, so the open's fsync
   * really writes them. After a process crash they may be only in the page
   * cache; if an fsync of them failed earlier (at a previous open), Linux
   * marked those pages clean, and an fsync now would succeed without writing
   * them: rewriting re-dirties them (fsyncgate, for the open path).
   */
  private rewrite(from: number): void {
    if (from >= this.end) return;
    const chunk = new Uint8Array(Math.min(1 << 20, this.end - from));
    for (let pos = from; pos < this.end; pos += chunk.length) {
      const part = chunk.subarray(0, Math.min(chunk.length, this.end - pos));
      const got = this.h.read(part, pos);
      this.h.write(part.subarray(0, got), pos);
    }
  }

  /** Write `bytes` at `end` (not durable). On failure: roll back and throw IO_ERROR, or poison. */
  write(bytes: Uint8Array): void {
    const at = this.end;
    this.#changes++;
    try {
      this.h.write(bytes, at);
    } catch (e) {
      try {
        this.h.truncate(at);
        this.#allocated = 0;
        this.h.sync();
      } catch (e2) {
        throw this.life.poison(e2, `write at offset ${at} failed and rolling it back failed too`, this.path);
      }
      this.#tail = 'none';
      this.#tailUnsynced = false;
      throw new WalError('IO_ERROR', `${this.path}: write at offset ${at} failed and was rolled back; buffered records are kept for the next sync`, { path: this.path, offset: at, cause: e });
    }
    this.end += bytes.length;
    this.#tail = this.#allocated > this.end ? 'unknown' : 'none'; // frames are at least a marker long: it is overwritten
    const wb = this.#wb;
    if (wb !== undefined && !wb.busy && this.end - Math.max(wb.from, this.durableEnd) >= WRITE_BEHIND) this.writeBehind(wb);
  }

  /**
   * Start an fdatasync of what is written so far through the second handle
   * (opened on first use), not awaited. A handle that cannot be opened turns
   * write-behind off (it only ever saves time); a failed fdatasync poisons.
   */
  private writeBehind(wb: WriteBehind): void {
    wb.from = this.end;
    let h = wb.h;
    if (h === undefined) {
      try { h = wb.h = wb.fs.open(this.path); } catch { this.#wb = undefined; return; }
    }
    wb.busy = true;
    h.syncAsync!().then(() => { wb.busy = false; }, (e: unknown) => {
      wb.busy = false;
      if (this.#wb !== wb) return; // sealed or closed since: the main handle's fdatasync covered the file, and reported any error
      this.stopWriteBehind();
      if (this.life.state !== 'open') return;
      try { this.rollbackToDurable(); } catch { /* poisoned either way */ }
      this.life.poison(e, 'a write-behind fsync failed; durability of recent writes is unknown', this.path);
    });
  }

  /**
   * Close the write-behind handle now, even with its fdatasync in flight
   * (abandonSync: its result no longer matters, the main handle's own
   * fdatasync covers the file). Waiting for the settle instead would keep the
   * descriptor, and a deleted segment's cached pages, until an event-loop
   * turn: a synchronous program that deleted the log and wrote 214 MB more
   * then wrote them 6x slower on this VM (new pages faulted in from the host).
   */
  private stopWriteBehind(): void {
    const h = this.#wb?.h;
    this.#wb = undefined;
    if (h !== undefined) try { h.close(true); } catch { /* nothing to lose: it only ever synced */ }
  }

  /** fdatasync if anything was written since the last one; returns whether it synced. */
  sync(): boolean {
    if (this.durableEnd === this.end) return false;
    this.life.fsyncOrPoison(() => this.h.sync(), 'fsync failed; durability of recent writes is unknown', () => this.rollbackToDurable(), this.path);
    this.durableEnd = this.end;
    this.#tailUnsynced = false;
    return true;
  }

  /**
   * sync() off the JS thread (see the file comment); resolves whether it
   * synced. The caller runs one at a time (the group commit does).
   */
  async syncAsync(): Promise<boolean> {
    const h = this.h;
    if (h.syncAsync === undefined) return this.sync();
    if (this.durableEnd === this.end) return false;
    const snapshot = this.end;
    const base = this.durableEnd;
    const changes = this.#changes;
    await this.life.fsyncOrPoisonAsync(() => h.syncAsync!(), 'fsync failed; durability of recent writes is unknown', () => {
      this.h.truncate(base);
      this.h.sync();
    }, this.path);
    if (snapshot > this.durableEnd) this.durableEnd = snapshot;
    if (this.#changes === changes) this.#tailUnsynced = false;
    return true;
  }

  /** After a failed fsync: cut everything not known durable and make that cut durable (best effort). */
  private rollbackToDurable(): void {
    this.#allocated = 0;
    this.h.truncate(this.durableEnd);
    this.h.sync();
  }

  /** Encode a sync marker at core staging offset `off` and write it after `end` (advisory: failures are ignored). */
  writeMarker(off: number): void {
    const core = this.core;
    const c = core.c;
    core.ensure(off + c.FRAME_HEADER_SIZE);
    const at = core.staging + off;
    core.x.encodeFrame(at, 0, c.TYPE_SYNC_MARK, this.salt, 0, 0, this.durableEnd);
    this.#changes++;
    this.#tail = 'unknown'; // even a failed write may have left bytes after `end`
    this.#tailUnsynced = true;
    try {
      this.h.write(core.u8.subarray(at, at + c.FRAME_HEADER_SIZE), this.end);
      this.#tail = 'marker';
    } catch { /* advisory: only the witness is lost; seal() and close() cut what it left */ }
  }

  /**
   * Close path: make the tail clean and durable. A fragment of a failed marker
   * write is cut; a marker written since the last fdatasync is synced.
   */
  finish(): void {
    if (this.#tail === 'unknown' || this.#allocated > this.size) {
      const to = this.#tail === 'marker' ? this.size : this.end;
      this.#changes++;
      this.#tailUnsynced = true;
      try { this.h.truncate(to); } catch (e) { throw this.life.poison(e, 'cutting a failed sync marker or preallocated zeros on close failed', this.path); }
      if (this.#tail === 'unknown') this.#tail = 'none';
      this.#allocated = 0;
    }
    if (this.#tailUnsynced) this.life.fsyncOrPoison(() => this.h.sync(), 'fsync on close failed', undefined, this.path);
    this.#tailUnsynced = false;
  }

  /** Cut anything after `end` and fdatasync: the file becomes sealed (exactly its frames, durable). */
  seal(): void {
    if (this.#tail !== 'none' || this.#allocated > this.end) {
      this.#changes++;
      this.h.truncate(this.end);
      this.#tail = 'none';
      this.#allocated = 0;
    }
    this.life.fsyncOrPoison(() => this.h.sync(), 'fsync while sealing failed', () => this.rollbackToDurable(), this.path);
    this.durableEnd = this.end;
    this.#tailUnsynced = false;
    this.stopWriteBehind();
  }

  /**
   * Write zeros from the file's current size up to `upTo` (nothing if it is
   * that long already), in pieces of at most 1 MiB. They are not synced here
   * (the next fdatasync covers them) and never read as frames: recovery cuts
   * them as a torn tail, seal() and finish() cut them. A failed write
   * leaves the tail unknown (cut the same way) and throws.
   */
  preallocate(upTo: number): void {
    const from = Math.max(this.size, this.#allocated);
    if (upTo <= from) return;
    this.#changes++;
    this.#tailUnsynced = true;
    if (this.#tail === 'none') this.#tail = 'unknown';
    // Set first: #allocated bounds what the file may hold, so a failed write's fragment is cut too.
    this.#allocated = upTo;
    const zeros = new Uint8Array(Math.min(upTo - from, 1 << 20));
    for (let pos = from; pos < upTo; pos += zeros.length) this.h.write(zeros.subarray(0, Math.min(zeros.length, upTo - pos)), pos);
  }

  /**
   * The writers' preallocation step: if the file holds less than `upTo`
   * bytes, write zeros up to preallocationEnd(upTo) (preallocate()).
   */
  preallocateFor(upTo: number): void {
    if (upTo > this.allocated) this.preallocate(preallocationEnd(upTo));
  }

  /** Bytes the file holds (frames, a marker, preallocated zeros). */
  get allocated(): number {
    return Math.max(this.size, this.#allocated);
  }

  close(): void {
    this.stopWriteBehind();
    try { this.h.close(); } catch { /* nothing more to lose */ }
  }
}
