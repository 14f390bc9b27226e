/**
 * SegmentedWal: a directory of segment files holding records addressed by
 * contiguous LSNs, with automatic rollover, checkpoint truncation, lazy
 * replay and optional AES-256-GCM encryption. docs/segmented-wal.md is the
 * user's guide; docs/FORMAT.md §9 the bytes.
 *
 * Durability: append() buffers in core memory; sync() (or syncAsync(), group
 * commit) writes, fdatasyncs the active segment and is the acknowledgement.
 * A roll writes and syncs the old segment before the new one is created
 * (temp, fsync, rename, directory fsync), so every segment but the last is
 * durable and sealed. A failed fsync, or a failed step after which the files
 * no longer match what the WAL believes, poisons it: every later call throws
 * POISONED until it is reopened (reopening recovers).
 */
import { Core } from '../../core/core.js';
import { KeyRing, NonceSource } from './encryption.js';
import { WalError } from '../../errors.js';
import type { FileLock, FileSystem } from '../../fs/types.js';
import { logFileSystem } from '../../fs/default.js';
import { FrameFile } from '../../codec/frame-file.js';
import { Lifecycle, type LogState, openLocked } from '../../lifecycle/lifecycle.js';
import { disposeSymbol } from '../../lifecycle/options.js';
import { safeArg } from '../../core/u64.js';
import { type SegConsts, segConsts, segmentHeaderFor } from './segment-file.js';
import { type SegmentMeta, type Recovered, createFirstSegment, listSegments, recover } from './recovery.js';
import type { ReplayHost, ReplaySnapshot } from './replay.js';
import { SegmentedReplayApi } from './replay-api.js';
import { checkSegmentKey } from './scan.js';
import { sealStaged } from './sealed-blocks.js';
import {
  type CheckedOptions, type SegmentInfo, type SegmentedAppendRecord, type SegmentedOpenReport, type SegmentedTruncateResult,
  type SegmentedWalOptions, checkOpenOptions,
} from './types.js';
import { FIELDS, type Fields, checkBatch, checkFields, ensureDir, frameSize } from './records.js';
import { AppendBuffer } from './append-buffer.js';
import { SegmentPool } from './recycle.js';
import { deleteSegmentsBelow, makeSegment, segmentInfos } from './segments.js';
import { OffThreadSync } from '../../lifecycle/off-thread-sync.js';
import type { SequenceMode } from '../../core/u64.js';

export type {
  AppendRecord, ReplayPage, SegmentInfo, SegmentedAppendRecord, SegmentedOpenReport, SegmentedRecord, SegmentedReplayPage,
  SegmentedTruncateResult, SegmentedWalOptions, TruncateResult, WalRecord,
} from './types.js';

export class SegmentedWal extends SegmentedReplayApi implements ReplayHost {
  readonly openReport: SegmentedOpenReport;
  readonly #dir: string;
  readonly #fs: FileSystem;
  readonly #core: Core;
  readonly #k: SegConsts;
  readonly #lock: FileLock;
  readonly #life: Lifecycle;
  readonly #target: number;
  readonly #bufferSize: number;
  readonly #ids: SequenceMode;
  readonly #allowPlaintext: boolean;
  readonly #readCores: Core[] = [];
  /** Free files for new segments (recycleSegments; ./recycle.ts). */
  readonly #pool: SegmentPool;
  /** Whether the active segment reuses a recycled file (old bytes lie after its records: cutStale). */
  #recycled = false;
  /** Checked fields of the record append() is encoding (reused: append allocates nothing). */
  readonly #fields: Fields = new Float64Array(FIELDS);
  #segs: SegmentMeta[];
  /** The last segment: the only one written (host/codec/frame-file.ts). */
  #file: FrameFile;
  #ring: KeyRing | null = null;
  #nonce = new NonceSource();
  /** Records in core staging, to be written at #file.end. */
  readonly #buf: AppendBuffer;
  #nextLsn: number;
  #writtenNext: number;
  #durableNext: number;
  /** The group commit's fdatasync off the JS thread (host/lifecycle/off-thread-sync.ts). */
  readonly #offThread: OffThreadSync;

  private constructor(fs: FileSystem, core: Core, lock: FileLock, o: CheckedOptions, r: Recovered, created: number, names: readonly string[]) {
    super();
    this.#dir = o.dir;
    this.#fs = fs;
    this.#core = core;
    this.#k = segConsts(core);
    this.#buf = new AppendBuffer(core, this.#k);
    this.#lock = lock;
    this.#life = new Lifecycle('WAL', o.dir, () => this.sync(), r.handle.syncAsync === undefined ? undefined : () => this.#offThread.run());
    this.#target = o.segmentTargetSize;
    this.#bufferSize = o.bufferSize;
    this.#ids = o.u64;
    this.#allowPlaintext = o.allowPlaintext;
    this.#segs = r.segments;
    this.#pool = new SegmentPool(fs, o.dir, o.recycleSegments, names);
    this.#offThread = new OffThreadSync(fs, o.dir, {
      file: () => this.#file,
      flush: () => { this.live(); this.writeBuffered(); return this.#writtenNext; },
      durable: (next) => { if (next > this.#durableNext) this.#durableNext = next; },
      markIfIdle: (file, end) => {
        if (this.#life.state === 'open' && this.#file === file && file.end === end && file.durableEnd === end) file.writeMarker(this.#buf.bytes);
      },
      segments: () => this.#segs,
    });
    const active = r.segments[r.segments.length - 1]!;
    this.#file = new FrameFile(core, r.handle, active.path, active.header.salt, r.tail.end, r.tail.fileSize, this.#life, fs);
    this.#nextLsn = this.#writtenNext = this.#durableNext = r.nextLsn;
    this.openReport = { truncatedBytes: r.tail.truncatedBytes, truncatedReason: r.tail.truncatedReason, createdSegments: created };
  }

  /**
   * Open the WAL in `options.dir`, creating the directory and first segment
   * when missing, else recovering (see host/logs/segmented/recovery.ts). Takes the
   * writer lock (LOCKED if another writer holds it; another lock failure is
   * IO_ERROR). Throws CORRUPTED when a completed sync's data is damaged; a
   * torn tail is cut (openReport). A failed open releases everything.
   */
  static open(options: SegmentedWalOptions): SegmentedWal;
  static open(dir: string, options?: Omit<SegmentedWalOptions, 'dir'>): SegmentedWal;
  static open(a: string | SegmentedWalOptions, b: Omit<SegmentedWalOptions, 'dir'> = {}): SegmentedWal {
    const o = checkOpenOptions(typeof a === 'string' ? { ...b, dir: a } : a);
    const { dir } = o;
    const ring = o.encryptionRing;
    const fs = logFileSystem(o.fs);
    ensureDir(fs, dir);
    const core = new Core();
    return openLocked(fs, dir, (lock, acquired) => {
      const ctx = { ring: ring ?? null, ids: o.u64 };
      let found = listSegments(fs, dir);
      const created = found.length === 0 ? 1 : 0;
      if (created) found = [createFirstSegment(core, fs, dir, ring ?? null)];
      const r = recover(core, fs, dir, found, ctx);
      let wal: SegmentedWal | undefined;
      acquired.add(r.handle, (h) => (wal === undefined ? h.close() : wal.#file.close()));
      wal = new SegmentedWal(fs, core, lock, o, r, created, fs.list(dir));
      if (ring) wal.checkActiveKey(ring);
      const change = ring !== undefined && !wal.compatible(ring);
      // One fsync covers recovery's cut and the open's marker: an open leaves nothing unsynced.
      wal.#file.settle(r.tail.endsWithFrame && !change, 0, r.tail.knownDurable);
      if (change) {
        if (wal.activeEmpty()) wal.replaceActive(ring);
        else { wal.#ring = ring; wal.rollNow(); }
      }
      wal.#ring = ring ?? null;
      return wal;
    });
  }

  /** The next LSN append() will assign. */
  get nextLsn(): number { return this.#nextLsn; }
  /** Highest LSN known durable: everything recovered at open, then each completed sync(). */
  get durableLsn(): number { return this.#durableNext - 1; }
  /** First LSN of the active segment. */
  get activeSegmentFirstLsn(): number { return this.#segs[this.#segs.length - 1]!.firstLsn; }
  /** The oldest LSN still retained (replay from below it is LSN_NOT_RETAINED). */
  get firstRetainedLsn(): number { return this.#segs[0]!.firstLsn; }
  /** The WAL directory (the one path accessor every log has). */
  get path(): string { return this.#dir; }
  /** The WAL directory (same as `path`). */
  get walDir(): string { return this.#dir; }
  get encryptionRing(): KeyRing | null { return this.#ring; }
  get state(): LogState { return this.#life.state; }
  get groupCommitStats(): { syncs: number; requests: number } { return this.#life.groupCommitStats; }

  private live(): void {
    if (this.#life.state !== 'open') this.#life.live();
  }

  private get active(): SegmentMeta { return this.#segs[this.#segs.length - 1]!; }
  private activeEmpty(): boolean { return this.#nextLsn === this.active.firstLsn; }

  /** Whether new records of `ring` may go into the active segment (same encryption and key). */
  private compatible(ring: KeyRing | null): boolean {
    const h = this.active.header;
    return ring === null ? h.enc === this.#k.SEG_ENC_NONE : h.enc === this.#k.SEG_ENC_SEALED_BLOCKS && h.keyId === ring.currentKeyId;
  }

  /**
   * Append one record; returns its LSN. recordType and vshardId are u32,
   * tenantId and databaseId u64 (number or bigint; see the ids option). The
   * record is buffered, not durable: call sync(). Rolls to a new segment
   * first when the active one has reached segmentTargetSize. If this throws,
   * the record was not appended.
   */
  append(recordType: number | bigint, tenantId: number | bigint, vshardId: number | bigint, databaseId: number | bigint, payload: Uint8Array): number {
    this.live();
    checkFields(recordType, tenantId, vshardId, databaseId, payload, 'append: ', this.#ids, this.#k.MAX_RECORD_BODY, this.#fields, 0);
    this.checkRing();
    const size = frameSize(this.#core, this.#k, payload.length, this.#ring !== null);
    this.prepare(size, 1);
    this.add(this.#nextLsn, this.#fields, 0, payload);
    return this.commit(size, 1);
  }

  /**
   * Append many records with one write into the buffer (and one file write
   * when it fills); returns the first LSN, the rest follow contiguously. All
   * records are checked before any is appended; the batch never straddles
   * segments. If this throws, none was appended.
   */
  appendBatch(records: readonly SegmentedAppendRecord[]): number {
    this.live();
    const parsed = checkBatch(records, this.#ids, this.#k.MAX_RECORD_BODY);
    this.checkRing();
    let total = 0;
    for (const r of records) total += frameSize(this.#core, this.#k, r.payload.length, this.#ring !== null);
    this.prepare(total, records.length);
    for (let i = 0; i < records.length; i++) {
      if (i > 0) this.#buf.reserve(0, this.#file);
      this.add(this.#nextLsn + i, parsed, i * FIELDS, records[i]!.payload);
    }
    return this.commit(total, records.length);
  }

  /** A ring whose key for the active segment's key id is not the key it was written with: DECRYPT_FAILED (defect 8.12). */
  private checkActiveKey(ring: KeyRing): void {
    checkSegmentKey(this.active.path, this.active.header, { ring, allowPlaintext: true });
  }

  private checkRing(): void {
    if (this.compatible(this.#ring)) return;
    throw new WalError('ENCRYPTION_REFUSED', `${this.active.path}: the active segment is ${this.active.header.enc ? `encrypted with key id ${this.active.header.keyId}` : 'plain'}, which the current encryption ring does not match; set a matching ring or roll()`, { path: this.active.path });
  }

  /** Roll if the active segment is full, make room in the buffer for `size` bytes and `count` nonces. */
  private prepare(size: number, count: number): void {
    if (this.#nextLsn + count > Number.MAX_SAFE_INTEGER) throw new RangeError('append: LSNs are exhausted (they are kept below 2^53)');
    if (!this.activeEmpty() && this.#file.end + this.#buf.bytes >= this.#target) this.rollNow();
    if (this.#buf.bytes > 0 && this.#buf.bytes + size > this.#bufferSize) this.writeBuffered();
    this.#buf.reserve(size, this.#file);
    if (this.#ring !== null && !this.#nonce.has(count)) this.#nonce = new NonceSource();
  }

  /** Add one record (room was reserved) to the buffer: plain, or the encryption branch with a ring. */
  private add(lsn: number, f: Fields, i: number, payload: Uint8Array): void {
    if (this.#ring === null) this.#buf.addPlain(lsn, f, i, payload);
    else this.#buf.addEncrypted(lsn, f, i, payload, this.#file, this.#ring, this.#nonce);
  }

  /** Account for `count` encoded records; write when the buffer is full, un-appending them if that fails. */
  private commit(size: number, count: number): number {
    const first = this.#nextLsn;
    this.#nextLsn += count;
    if (this.#buf.bytes >= this.#bufferSize) {
      try {
        this.writeBuffered();
      } catch (e) {
        if (this.#life.state === 'open') { this.#buf.drop(size); this.#nextLsn -= count; }
        throw e;
      }
    }
    return first;
  }

  /** Write buffered frames (not durable). A failed write is rolled back, keeping the buffer, or poisons. */
  private writeBuffered(): void {
    const buf = this.#buf;
    if (buf.bytes === 0) return;
    buf.encodePending(this.#file);
    // sealed-blocks hook (FORMAT.md §S9): an encrypting WAL staged plaintext inner records; seal them into block frames.
    const ring = this.#ring;
    const bytes = ring === null ? buf.view()
      : sealStaged(this.#core, this.#k, buf.bytes, this.#writtenNext, this.#file.salt, this.#file.durableEnd, ring, this.#nonce);
    this.#file.write(bytes);
    buf.clear();
    this.#writtenNext = this.#nextLsn;
  }

  /**
   * Make every appended record durable: write the buffer and fdatasync the
   * active segment (older segments were synced when they were sealed), then
   * write a sync marker (docs/FORMAT.md §S6). A failed fsync poisons.
   */
  sync(): void {
    this.live();
    this.writeBuffered();
    if (!this.#file.sync()) return;
    this.#durableNext = this.#writtenNext;
    this.#file.writeMarker(this.#buf.bytes);
  }

  /** Group commit: resolves once every record appended before the call is durable; callers share one fsync, run off the JS thread where the file system can (host/lifecycle/off-thread-sync.ts). */
  syncAsync(): Promise<void> {
    return this.#life.syncAsync();
  }

  /**
   * Seal the active segment and start a new one (returns false and does
   * nothing when the active segment has no records). New records use the
   * current encryption ring: roll() then setEncryptionRing() rotates keys.
   */
  roll(): boolean {
    this.live();
    if (this.activeEmpty()) return false;
    this.rollNow();
    return true;
  }

  private rollNow(): void {
    this.writeBuffered();
    this.cutStale(this.#file.end);
    this.#file.seal();
    this.active.size = this.#file.end;
    this.#durableNext = this.#writtenNext;
    this.createActive(this.#nextLsn, this.#ring, false);
  }

  /** A recycled active segment: cut the old life's bytes after `at` (a sealed or closed segment is exactly its frames). */
  private cutStale(at: number): void {
    if (!this.#recycled) return;
    this.#file.h.truncate(at);
    this.#recycled = false;
  }

  /** Rewrite the (empty) active segment's header for `ring`, same first LSN. */
  private replaceActive(ring: KeyRing | null): void {
    this.createActive(this.active.firstLsn, ring, true);
  }

  /**
   * Make a segment starting at `firstLsn` for `ring` appear (temp, fsync,
   * rename, directory fsync) and switch to it. A failure before the rename
   * changes nothing (IO_ERROR); after it, the WAL is poisoned.
   */
  private createActive(firstLsn: number, ring: KeyRing | null, replace: boolean): void {
    const k = this.#k;
    const fields = segmentHeaderFor(firstLsn, ring ? k.SEG_ENC_SEALED_BLOCKS : k.SEG_ENC_NONE, ring);
    const seg = makeSegment(this.#core, this.#fs, this.#dir, this.#pool, this.#life, fields, replace);
    const old = this.#file;
    this.#offThread.closeAfterSync(old.path, () => old.close()); // its fsync may be in flight (group commit)
    if (replace) this.#segs[this.#segs.length - 1] = seg.meta;
    else this.#segs.push(seg.meta);
    this.#file = new FrameFile(this.#core, seg.handle, seg.meta.path, seg.meta.header.salt, seg.end, seg.end, this.#life, this.#fs);
    this.#recycled = seg.recycled;
    this.#nonce = new NonceSource();
  }

  /**
   * Set (or with null, clear) the encryption ring. Allowed when the active
   * segment has no records (its header is rewritten to match), or when the
   * ring writes exactly as the active segment already does (same key id);
   * otherwise ENCRYPTION_REFUSED: roll() first to rotate.
   */
  setEncryptionRing(ring: KeyRing | null): void {
    this.live();
    if (ring !== null && !(ring instanceof KeyRing)) throw new TypeError('setEncryptionRing: ring must be a KeyRing or null');
    if (ring !== null) this.checkActiveKey(ring);
    if (!this.compatible(ring)) {
      if (!this.activeEmpty()) {
        throw new WalError('ENCRYPTION_REFUSED', `${this.active.path}: the active segment already has records; roll() before changing the encryption`, { path: this.active.path });
      }
      this.replaceActive(ring);
    }
    this.#ring = ring;
    this.#nonce = new NonceSource();
  }

  /**
   * Delete sealed segments whose records all lie below `checkpointLsn`,
   * oldest first, each removal made durable (directory fsync) before the
   * next, so a crash leaves a suffix of the log, never a hole. The active
   * segment is never deleted.
   */
  truncateBefore(checkpointLsn: number | bigint): SegmentedTruncateResult {
    this.live();
    const cp = safeArg(checkpointLsn, 'truncateBefore: checkpointLsn');
    return deleteSegmentsBelow(this.#fs, this.#dir, this.#segs, cp, this.#pool, this.#life);
  }

  /** Every segment, oldest first. */
  listSegments(): SegmentInfo[] {
    this.live();
    return segmentInfos(this.#segs, this.#nextLsn, this.#file.size, this.#k.SEG_ENC_NONE);
  }

  /** Bytes of all segment files on disk (records still buffered in memory are not counted). */
  totalSizeBytes(): number {
    return this.listSegments().reduce((sum, s) => sum + s.sizeBytes, 0);
  }

  // ---- replay (host/logs/segmented/replay.ts)

  /**
   * @internal ReplayHost: a snapshot of what replay may read. Buffered
   * records are written (not synced) first; with durableOnly nothing is
   * written and the snapshot ends at the durable end (durableLsn).
   */
  _replaySnapshot(durableOnly: boolean): ReplaySnapshot {
    this.live();
    if (!durableOnly) this.writeBuffered();
    return {
      fs: this.#fs, segments: this.#segs.slice(), ring: this.#ring, ids: this.#ids, allowPlaintext: this.#allowPlaintext,
      activeEnd: durableOnly ? this.#file.durableEnd : this.#file.end,
      nextLsn: durableOnly ? this.#durableNext : this.#nextLsn,
    };
  }
  /** @internal A core for one replay (each replay scans in its own core memory). */
  _takeCore(): Core { return this.#readCores.pop() ?? new Core(); }
  /** @internal */
  _returnCore(core: Core): void { if (this.#readCores.length < 2) this.#readCores.push(core); }

  /**
   * Sync, make the sync marker durable, release the files and the lock.
   * Idempotent; pending syncAsync() calls settle first; on a poisoned WAL it
   * only releases.
   */
  close(): void {
    this.#life.close(() => {
      this.sync();
      this.cutStale(this.#file.size);
      this.#file.finish();
    }, () => {
      this.#file.close();
      this.#lock.release();
    });
  }

  [disposeSymbol](): void { this.close(); }
}
