/**
 * WalLog's write path: frames staged in core memory (entries, truncate,
 * hard state, snapshot marks), the write buffer, sync, rolling to a new
 * segment (index footer + locator, fdatasync, new segment by the atomic
 * recipe) and deleting segments below the snapshot. The index is updated
 * once a write is taken (writeStaged).
 */
import { FrameFile } from '../../codec/frame-file.js';
import type { Core } from '../../core/core.js';
import { WalError, ioError } from '../../errors.js';
import type { FileSystem } from '../../fs/types.js';
import { type Lifecycle, quietly } from '../../lifecycle/lifecycle.js';
import { OffThreadSync } from '../../lifecycle/off-thread-sync.js';
import { join } from '../../platform/path.js';
import { type LogIndex, applyOp } from './log-index.js';
import { CHUNK_OPS, CHUNK_SHIFT, OP_F64S, OP_SLOTS, type OpList, offsetOf, opFlagsOf } from './op-list.js';
import { type SegmentMeta, createSegment, segmentName } from './segments.js';
import type { HardState, LogEntry } from './types.js';

/** Buffered frames are written out once they reach this many bytes (and at every sync, roll and read of them). */
const FLUSH_AT = 1 << 20;
/**
 * A flush for FLUSH_AT writes the buffer up to a multiple of this in the
 * file and keeps the rest (part of a frame; under 4 KiB) buffered, so the
 * buffered writes after the first start and end on page boundaries: with
 * writes that start and end mid-page, the fdatasync sealing a 64 MiB segment
 * took ~2.5 ms (~5%) longer on this VM's ext4 (median of 7).
 */
const FLUSH_ALIGN = 4096;
/** Ops per segment before it rolls (its footer stays well below a frame's 64 MiB). */
const MAX_OPS = 1 << 20;

export class RaftWriter {
  file: FrameFile;
  hs: HardState;
  /** The hard state changed since it was last written. */
  hsPending = false;
  /**
   * Frames written by append/truncate and not yet in the file: core staging
   * [0, #pendLen), bound for the active segment at file.end. A new write is
   * staged right after them, so it joins the buffer without a copy; whoever
   * else uses core staging (reads, snapshot file, footer) flushes first.
   */
  #pendLen = 0;
  /** The group commit's fsync off the JS thread (syncOffThread). */
  readonly #offThread: OffThreadSync;

  constructor(
    readonly core: Core, readonly fs: FileSystem, readonly dir: string, readonly life: Lifecycle, readonly idx: LogIndex,
    readonly ops: OpList, readonly segs: SegmentMeta[], file: FrameFile, hs: HardState, readonly target: number,
    /** Called when a write may have replaced entries (truncate, conflicting append, snapshot). */
    readonly invalidate: () => void,
    /** Extend the active segment with zeros ahead of the writes (WalLogOptions.preallocate). */
    readonly preallocate = false,
  ) {
    this.file = file;
    this.hs = hs;
    this.#offThread = new OffThreadSync(fs, dir, {
      file: () => this.file,
      flush: () => {
        this.life.live();
        if (this.hsPending) this.writeStaged(this.stageHardState(this.start(64), false), false);
        this.flush();
        return 0;
      },
      durable: () => {},
      markIfIdle: (f, end) => {
        if (this.life.state === 'open' && this.file === f && f.end === end && f.durableEnd === end && this.#pendLen === 0) f.writeMarker(0);
      },
      segments: () => this.segs,
    });
  }

  get active(): SegmentMeta { return this.segs[this.segs.length - 1]!; }
  /** Bytes buffered and not yet written. */
  get pending(): number { return this.#pendLen; }

  /** A write is being staged: its ops start at #stagedFrom. */
  #staging = false;
  #stagedFrom = 0;

  /**
   * Start staging a write of at most `bytes` bytes; returns the staging
   * offset to stage its first frame at (after the buffered frames; the
   * buffer is written out first if it would pass FLUSH_AT). writeStaged()
   * ends it.
   */
  start(bytes: number): number {
    if (this.#pendLen > 0 && this.#pendLen + bytes > FLUSH_AT) this.#flushAligned();
    this.core.ensure(this.#pendLen + bytes);
    this.#stagedFrom = this.ops.count;
    this.#staging = true;
    return this.#pendLen;
  }

  /** Encode an entry frame at staging offset `buf`; records its op. Returns the new offset. */
  stageEntry(buf: number, e: LogEntry, more: boolean): number {
    const core = this.core;
    const c = core.c;
    const at = core.staging + buf;
    core.u8.set(e.payload, at + c.FRAME_HEADER_SIZE + c.RAFT_ENTRY_HEADER_SIZE);
    const n = core.x.encodeRaftEntry(at, e.payload.length, this.file.salt, e.index, e.term, e.type ?? 0, more ? 1 : 0, this.file.durableEnd);
    this.ops.push(c.RAFT_OP_ENTRY, e.type ?? 0, this.file.end + buf, e.index, e.term, 0);
    return buf + n;
  }

  stageControl(buf: number, type: number, op: number, a: number, b: number, cc: number, flags: number, more: boolean): number {
    const core = this.core;
    const n = core.x.encodeRaftControl(core.staging + buf, type, this.file.salt, a, b, cc, flags, more ? 1 : 0, this.file.durableEnd);
    this.ops.push(op, flags, this.file.end + buf, a, b, cc);
    return buf + n;
  }

  /** Stage the hard state if it changed since it was last written (`more`: frames of the same write follow). */
  stageHardState(buf: number, more: boolean): number {
    if (!this.hsPending) return buf;
    const c = this.core.c;
    const hs = this.hs;
    return this.stageControl(buf, c.TYPE_RAFT_HARD_STATE, c.RAFT_OP_HARD_STATE, hs.term, hs.vote ?? 0, hs.commit, hs.vote === null ? 0 : c.RAFT_HS_VOTE, more);
  }

  /**
   * Take the frames staged since start() (up to staging offset `end`) as one
   * write, then apply their ops to the index. They join the write buffer
   * (written out with one pwrite at the next sync, roll, read, or once
   * FLUSH_AT bytes are buffered); a write larger than FLUSH_AT goes out at
   * once. On a failure nothing is applied (a failure writing out earlier
   * buffered writes poisons: they were already applied).
   */
  writeStaged(end: number, invalidate: boolean): void {
    const core = this.core;
    const ops = this.ops;
    const first = this.#staging ? this.#stagedFrom : ops.count;
    this.#staging = false;
    if (this.#pendLen === 0 && end > FLUSH_AT) {
      try {
        this.extend(end);
        this.file.write(core.u8.subarray(core.staging, core.staging + end));
      } catch (e) {
        ops.count = first;
        throw e;
      }
    } else {
      this.#pendLen = end;
    }
    this.hsPending = false;
    if (invalidate) this.invalidate();
    const num = this.active.num;
    const idx = this.idx;
    const ENTRY = core.c.RAFT_OP_ENTRY;
    for (let i = first; i < ops.count;) {
      const base = i & ~(CHUNK_OPS - 1);
      const d = ops.chunks[i >> CHUNK_SHIFT]!;
      const to = Math.min(ops.count, base + CHUNK_OPS);
      for (let n = i, j = (i - base) * OP_SLOTS; n < to; n++, j += OP_SLOTS) {
        const p = d[j]!;
        const op = opFlagsOf(p) & 255;
        const offset = offsetOf(p);
        const err = op === ENTRY ? idx.push(d[j + 1]!, d[j + 2]!, num, offset) : applyOp(core, idx, op, d[j + 1]!, d[j + 2]!, ops.c(n), num, offset, idx.snapIndex);
        if (err !== undefined) throw this.life.poison(new Error(err), 'internal error applying a written op');
      }
      i = to;
    }
  }

  /** Write the buffered frames to the active segment (one pwrite). A failure poisons: their ops are already applied. */
  flush(): void {
    if (this.#pendLen === 0) return;
    this.#writeOut(this.#pendLen);
    this.#pendLen = 0;
  }

  /**
   * Write the buffered bytes up to the last FLUSH_ALIGN boundary in the
   * file (one pwrite; it may end inside a frame, whose rest stays buffered
   * and goes with the next write: nothing buffered is durable before sync()
   * writes it all anyway, and recovery cuts a torn frame). The rest moves to
   * the start of core staging. A failure poisons, as flush().
   */
  #flushAligned(): void {
    const n = this.#pendLen;
    const cut = n - (this.file.end + n) % FLUSH_ALIGN;
    if (cut <= 0) { this.flush(); return; }
    this.#writeOut(cut);
    const core = this.core;
    core.u8.copyWithin(core.staging, core.staging + cut, core.staging + n);
    this.#pendLen = n - cut;
  }

  /** Write the first `n` buffered bytes at the file's end. */
  #writeOut(n: number): void {
    const core = this.core;
    try {
      this.extend(n);
      this.file.write(core.u8.subarray(core.staging, core.staging + n));
    } catch (e) {
      this.#pendLen = 0;
      if (e instanceof WalError && e.code === 'POISONED') throw e;
      throw this.life.poison(e, 'writing buffered entries failed after they were appended', this.file.path);
    }
  }

  /** With preallocation: make sure zeros are in place for `bytes` more at the end (a chunk at a time). */
  private extend(bytes: number): void {
    if (this.preallocate) this.file.preallocateFor(this.file.end + bytes);
  }

  /** Write a pending hard state and the buffer, fdatasync the active segment, then an advisory sync marker. */
  sync(): void {
    if (this.hsPending) this.writeStaged(this.stageHardState(this.start(64), false), false);
    this.flush();
    if (this.file.sync()) this.file.writeMarker(0);
  }

  /**
   * The group commit's sync off the JS thread (host/lifecycle/off-thread-sync.ts):
   * write a pending hard state and the buffer, await the active segment's
   * fdatasync while appends keep buffering, then a sync marker if nothing was
   * written meanwhile (as sync() does). The old handle of a segment a roll
   * sealed stays open for reads; reclaim() closes it once its fsync has settled.
   */
  syncOffThread(): Promise<void> {
    return this.#offThread.run();
  }

  /** Seal the active segment first when `bytes` more would pass the target size. */
  maybeRoll(bytes: number, ops: number): void {
    if (this.ops.count <= 1) return; // only the hard state it was created with
    if (this.file.end + this.#pendLen + bytes > this.target || this.ops.count + ops > MAX_OPS) this.roll();
  }

  /**
   * Seal the active segment (index footer + locator, fdatasync) and create
   * the next one (header with the current last index and term, and the
   * current hard state) by the atomic recipe. A failure before the new
   * segment's rename is IO_ERROR (the log keeps writing the old segment);
   * after it, the log is poisoned.
   */
  roll(): void {
    this.flush();
    const core = this.core;
    const c = core.c;
    const file = this.file;
    const ops = this.ops;
    const n = ops.count;
    const len = n * c.RAFT_OP_SIZE;
    const locAt = c.FRAME_HEADER_SIZE + len;
    const total = locAt + c.FRAME_HEADER_SIZE + c.RAFT_CONTROL_SIZE;
    // The op records are encoded a chunk at a time from a scratch after the footer (not from one unpacked copy of
    // every op, 40 B each: at 62k ops that was 2.5 MiB more of core memory to grow, whose first touch costs ~14 µs per
    // 4 KiB page on this VM, plus its copy).
    let src = total;
    core.ensure(src + 8 + CHUNK_OPS * OP_F64S * 8);
    while ((core.staging + src) % 8 !== 0) src++;
    const scratch = new Float64Array(core.u8.buffer, core.staging + src, CHUNK_OPS * OP_F64S);
    // Entries and hard states only: the locator says so and counts the entries, and open need not read the footer.
    let entries = 0;
    let pure = true;
    let bad = false;
    ops.unpack(0, scratch, (count, first) => {
      for (let j = 0; j < count * OP_F64S; j += OP_F64S) {
        const op = scratch[j]! & 255;
        if (op === c.RAFT_OP_ENTRY) entries++;
        else if (op !== c.RAFT_OP_HARD_STATE) pure = false;
      }
      if (core.x.encodeRaftOps(core.staging + src, count, core.staging + c.FRAME_HEADER_SIZE + first * c.RAFT_OP_SIZE) !== c.OK) bad = true;
    });
    if (bad) throw new Error('walcore: bad op in the footer');
    const footerAt = file.end;
    core.x.encodeFrame(core.staging, len, c.TYPE_RAFT_FOOTER, file.salt, 0, 0, file.durableEnd);
    core.x.encodeRaftControl(core.staging + locAt, c.TYPE_RAFT_LOCATOR, file.salt, footerAt, n, pure ? entries : 0, pure ? c.RAFT_LOC_ENTRIES : 0, 0, file.durableEnd);
    file.write(core.u8.subarray(core.staging, core.staging + total));
    file.seal();
    const old = this.active;
    const num = old.num + 1;
    const segPath = join(this.dir, segmentName(num));
    const created = createSegment(core, this.fs, this.dir, num, this.idx.lastIndex, this.idx.lastTerm, this.hs);
    try { this.fs.syncDir(this.dir); } catch (e) { throw this.life.poison(e, 'directory fsync after creating a segment failed'); }
    let h;
    try { h = this.fs.open(segPath, { write: true }); } catch (e) { throw this.life.poison(e, 'opening a new segment failed', segPath); }
    this.segs.push({ num, path: segPath, salt: created.salt, base: this.idx.lastIndex, baseTerm: this.idx.lastTerm, h });
    this.file = new FrameFile(core, h, segPath, created.salt, created.size, created.size, this.life, this.fs);
    ops.reset();
    const hs = this.hs;
    ops.push(c.RAFT_OP_HARD_STATE, hs.vote === null ? 0 : c.RAFT_HS_VOTE, c.FILE_HEADER_SIZE, hs.term, hs.vote ?? 0, hs.commit);
    this.hsPending = false;
  }

  /** Delete segments whose entries all lie at or below the snapshot, oldest first, each removal durable before the next. */
  reclaim(): void {
    const segs = this.segs;
    while (segs.length > 1 && segs[1]!.base <= this.idx.snapIndex) {
      const s = segs[0]!;
      const h = s.h;
      s.h = undefined;
      // A handle whose fsync is in flight (syncOffThread) is closed once it has settled.
      if (h !== undefined) this.#offThread.closeAfterSync(s.path, () => quietly(() => h.close()));
      try { this.fs.remove(s.path); } catch (e) { throw ioError('remove', s.path, e); }
      segs.shift();
      try { this.fs.syncDir(this.dir); } catch (e) { throw this.life.poison(e, 'directory fsync after deleting a segment failed'); }
    }
  }
}
