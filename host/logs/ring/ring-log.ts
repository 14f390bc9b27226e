/**
 * RingLog: a fixed-capacity circular replay log in one preallocated file of
 * `capacity` slots of `slotSize` bytes (docs/ring-log.md, docs/FORMAT.md §10).
 *
 * Lifecycle: open() takes the writer lock, creates the file (crash-safely,
 * zero-filled) or recovers the live window from the slots, makes it
 * durable, marks the ring "in use" and syncs. Slots that recovery set aside
 * are erased (and synced) just before the first write, not at open, so that
 * a crash before the caller has read openReport reports them again.
 * append() encodes a record into a buffer in core memory (nothing reaches
 * the OS until the buffer fills, the ring wraps, a replay or sync()); once
 * the ring is full each append overwrites the oldest record. sync() writes
 * the buffer, fsyncs, then names the new durable point in the state record
 * and fsyncs again: it is the only acknowledgement of durability and, apart
 * from open, close and that one-time erasure, the only call that fsyncs.
 * close() syncs, records a clean close (one more fsync) and releases all.
 *
 * Failure contract: a failed write keeps the buffered records and the next
 * sync() or append() retries it (positional overwrites are idempotent); a
 * failed fsync poisons the ring (POISONED until reopened), because the
 * kernel may have dropped the data. After a crash, replay yields a gap-free
 * run of sequences holding every record acknowledged by sync() that is
 * among the newest `capacity` appended (recovery finds it from the durable
 * point the state record names); see docs/ring-log.md for the exact statement.
 */
import { removeTempFilesOf } from '../../lifecycle/atomic-file.js';
import { Core } from '../../core/core.js';
import { WalError, ioError } from '../../errors.js';
import type { FileHandle, FileLock, FileSystem } from '../../fs/types.js';
import { defaultFileSystem } from '../../fs/default.js';
import { GroupCommit } from '../../lifecycle/group-commit.js';
import { checkOptions, disposeSymbol } from '../../lifecycle/options.js';
import {
  type FailureEvidence, type RingCore, type RingHeader, checkEvidence, checkFileSize, checkGeometryOptions, createRing,
  fileSize, readRingHeader, readRingState, ringCore, writeState,
} from './ring-file.js';
import { type RingRecord, chunkSlots, readRecords, slotOffset, unmarkSlots, zeroSlots } from './slots.js';
import { recover } from './recovery.js';

export interface RingLogOptions {
  /** Number of slots. Required to create a ring; if given for an existing one it must match (HEADER_MISMATCH otherwise). */
  capacity?: number;
  /** Bytes per slot, a multiple of 8 in [64, 2^24]; payload + digest may use slotSize - 40. Default 512 when creating; must match an existing ring if given. */
  slotSize?: number;
  /** File system to use. Default: the current runtime's. */
  fs?: FileSystem;
  /** Bytes of encoded slots buffered before they are written to the file. Default 1 MiB; 0 writes every append at once. */
  bufferSize?: number;
}

/** What open() found and did. */
export interface RingOpenReport {
  /** The file did not exist and was created. */
  created: boolean;
  /** The ring had been closed cleanly, and its slots matched the recorded window exactly. */
  clean: boolean;
  /** Valid records found outside the recovered window, oldest first: set aside (and zeroed) so they can never reappear. */
  discarded: RingRecord[];
  /** A higher run of records was set aside because it may follow a lost unsynced record (docs/ring-log.md "Semantics after a crash"). */
  tookOlderRun: boolean;
  /** Slots holding neither a record nor zeros (torn by a crash, or damaged): they are outside the window. */
  junkSlots: number;
}

export type { RingRecord } from './slots.js';
export type { FailureEvidence, FailureClass } from './ring-file.js';

const OPTION_KEYS = ['capacity', 'slotSize', 'fs', 'bufferSize'] as const;
const DEFAULT_SLOT_SIZE = 512;
type State = 'open' | 'closed' | 'poisoned';

export class RingLog {
  readonly path: string;
  readonly openReport: RingOpenReport;
  readonly #rc: RingCore;
  readonly #h: FileHandle;
  readonly #lock: FileLock;
  readonly #g: RingHeader;
  readonly #maxBuffered: number;
  readonly #writeThrough: boolean;
  readonly #group: GroupCommit;
  #state: State = 'open';
  #poison: unknown;
  /** Live window: sequences [#first, #next). */
  #first: number;
  #next: number;
  /** Every record below this sequence is durable. */
  #durableNext: number;
  /** Buffered slots: `#buffered` records from sequence #bufSeq, encoded back to back in staging. */
  #bufSeq = 0;
  #buffered = 0;
  /** Slots recovery set aside (discarded records, junk): erased durably before the first write. */
  #pendingZero: Array<[number, number]>;

  private constructor(path: string, rc: RingCore, h: FileHandle, lock: FileLock, g: RingHeader, first: number, next: number, bufferSize: number, report: RingOpenReport, pendingZero: Array<[number, number]>) {
    this.path = path;
    this.#pendingZero = pendingZero;
    this.#rc = rc;
    this.#h = h;
    this.#lock = lock;
    this.#g = g;
    this.#first = first;
    this.#next = next;
    this.#durableNext = next;
    this.#writeThrough = bufferSize === 0;
    this.#maxBuffered = Math.max(1, Math.floor(bufferSize / g.slotSize));
    this.openReport = report;
    this.#group = new GroupCommit(() => this.sync());
    // Staging only grows, so the append buffer never needs a check per append.
    rc.core.ensure(this.#maxBuffered * g.slotSize);
  }

  /** Open the ring at `path`, creating and preallocating it if it does not exist. See the class comment. */
  static open(path: string, options: RingLogOptions = {}): RingLog {
    if (typeof path !== 'string' || path.length === 0) throw new TypeError('RingLog.open: path must be a non-empty string');
    checkOptions('RingLog.open', options, OPTION_KEYS);
    const rc = ringCore(new Core());
    const k = rc.k;
    const { want, bufferSize } = checkGeometryOptions(options, k, path, DEFAULT_SLOT_SIZE);
    const fs = options.fs ?? defaultFileSystem();
    const lock = fs.lock(path);
    let h: FileHandle | undefined;
    try {
      let created = false;
      try {
        removeTempFilesOf(fs, path);
        const st = fs.stat(path);
        if (st?.isDirectory) throw new WalError('HEADER_MISMATCH', `${path} is a directory, not a ring`, { path });
        if (st === undefined || st.size === 0) {
          if (want.capacity === undefined) throw new TypeError(`RingLog.open: ${path} does not exist; pass { capacity } to create it`);
          createRing(rc, fs, path, { capacity: want.capacity, slotSize: want.slotSize ?? DEFAULT_SLOT_SIZE });
          created = true;
        }
        h = fs.open(path, { write: true });
      } catch (e) {
        if (e instanceof TypeError) throw e;
        throw ioError('open', path, e);
      }
      const g = readRingHeader(rc, h, path, want);
      checkFileSize(k, g, path);
      let size: number;
      try { size = h.size(); } catch (e) { throw ioError('stat', path, e); }
      if (size !== fileSize(k, g)) {
        throw new WalError('CORRUPTED', `${path}: the file is ${size} bytes, but ${g.capacity} slots of ${g.slotSize} bytes need ${fileSize(k, g)}`,
          { path, offset: Math.min(size, fileSize(k, g)), reason: size < fileSize(k, g) ? 'incomplete-payload' : 'length-over-bound' });
      }
      const state = readRingState(rc, h, path, g.salt);
      const rec = recover(rc, h, path, g, state);
      try {
        // After a process crash the window may hold records only the page cache had: make them
        // durable first, so that neither later marks nor the state record below claim too much.
        if (!rec.clean) h.sync();
        // From here until a clean close, the slots may change: open must not trust the old window.
        // Slots set aside are not erased yet: until the first write they stay on disk, so a crash
        // before the caller has seen openReport.discarded makes the next open report them again.
        writeState(rc, h, g.salt, { clean: false, first: rec.first, next: rec.next });
        h.sync(); // the clean flag is gone for good before any slot changes
      } catch (e) {
        throw ioError('recover', path, e);
      }
      const report: RingOpenReport = { created, clean: rec.clean, discarded: rec.discarded, tookOlderRun: rec.tookOlderRun, junkSlots: rec.junkSlots };
      return new RingLog(path, rc, h, lock, g, rec.first, rec.next, bufferSize, report, rec.zero);
    } catch (e) {
      try { h?.close(); } catch { /* reporting the first error */ }
      lock.release();
      throw e;
    }
  }

  /** Number of slots: the most records the ring holds. */
  get capacity(): number { return this.#g.capacity; }
  /** Bytes per slot on disk. */
  get slotSize(): number { return this.#g.slotSize; }
  /** Largest payload + digest a record may have (slotSize - 40). */
  get maxPayload(): number { return this.#g.slotSize - this.#rc.k.SLOT_HEADER_SIZE; }
  /** Number of live records (at most capacity). */
  get length(): number { return this.#next - this.#first; }
  /** Sequence of the oldest live record (== nextSequence when the ring is empty). */
  get firstSequence(): number { return this.#first; }
  /** Sequence the next append gets. */
  get nextSequence(): number { return this.#next; }
  /** Every record with a sequence at or below this is durable (0 if none). */
  get durableSequence(): number { return this.#durableNext - 1; }
  /** Whether the ring is open, closed, or poisoned by a failed fsync. */
  get state(): State { return this.#state; }
  /** Group-commit statistics: syncs run and syncAsync() calls they served. */
  get groupCommitStats(): { syncs: number; requests: number } { return this.#group.stats; }

  private live(): void {
    if (this.#state === 'open') return;
    if (this.#state === 'closed') throw new WalError('CLOSED', `${this.path}: ring is closed`, { path: this.path });
    throw new WalError('POISONED', `${this.path}: ring is poisoned by a failed fsync; reopen it`, { path: this.path, cause: this.#poison });
  }

  /**
   * Append a record; returns its sequence number. Overwrites the oldest
   * record when the ring is full. Not durable until sync(). The payload is
   * copied; the caller keeps ownership. If this throws, nothing was appended.
   */
  append(payload: Uint8Array): number {
    return this.appendSlot('append', payload, undefined);
  }

  /** Append a record with failure evidence stored beside it (see FailureEvidence). */
  appendWithFailure(payload: Uint8Array, evidence: FailureEvidence): number {
    return this.appendSlot('appendWithFailure', payload, checkEvidence(evidence, this.#rc.k.MAX_DIGEST));
  }

  private appendSlot(op: string, payload: Uint8Array, ev: ReturnType<typeof checkEvidence> | undefined): number {
    this.live();
    if (!(payload instanceof Uint8Array)) throw new TypeError(`${op}: payload must be a Uint8Array`);
    const g = this.#g;
    const dlen = ev?.digest?.length ?? 0;
    if (payload.length + dlen > this.maxPayload) {
      throw new RangeError(`${op}: a payload of ${payload.length} bytes${dlen ? ` plus a ${dlen}-byte digest` : ''} does not fit a ${g.slotSize}-byte slot (at most ${this.maxPayload} bytes)`);
    }
    const seq = this.#next;
    if (seq > Number.MAX_SAFE_INTEGER) throw new RangeError(`${op}: sequence numbers are exhausted`);
    if (this.#buffered > 0 && (this.#buffered >= this.#maxBuffered || (seq - 1) % g.capacity === 0)) this.writeBuffered();
    const { core, r } = this.#rc;
    if (this.#buffered === 0) this.#bufSeq = seq;
    const at = core.staging + this.#buffered * g.slotSize;
    const body = at + this.#rc.k.SLOT_HEADER_SIZE;
    core.u8.set(payload, body);
    if (dlen > 0) core.u8.set(ev!.digest!, body + payload.length);
    const st = r.encodeSlot(at, g.slotSize, payload.length, dlen, g.salt, seq % 2 ** 32, Math.floor(seq / 2 ** 32), this.#durableNext - 1, ev?.cls ?? 0, ev?.code ?? 0);
    if (st !== g.slotSize) throw new Error(`walcore: encodeSlot refused a checked record (${st})`);
    const first = this.#first;
    this.#buffered++;
    this.#next = seq + 1;
    if (this.#next - this.#first > g.capacity) this.#first = this.#next - g.capacity;
    if (this.#writeThrough) {
      try {
        this.writeBuffered();
      } catch (e) {
        this.#buffered--;
        this.#next = seq;
        this.#first = first;
        throw e;
      }
    }
    return seq;
  }

  /** Hand buffered slots to the OS (not durable). On failure they stay buffered for a retry. */
  private writeBuffered(): void {
    if (this.#buffered === 0) return;
    if (this.#pendingZero.length > 0) this.erasePending();
    const core = this.#rc.core;
    const g = this.#g;
    const offset = slotOffset(this.#rc, g, (this.#bufSeq - 1) % g.capacity);
    try {
      this.#h.write(core.u8.subarray(core.staging, core.staging + this.#buffered * g.slotSize), offset);
    } catch (e) {
      throw new WalError('IO_ERROR', `${this.path}: writing ${this.#buffered} slots at offset ${offset} failed; they stay buffered and the next sync() retries`, { path: this.path, offset, cause: e });
    }
    this.#buffered = 0;
  }

  /**
   * Erase the slots recovery set aside and make that durable, before any new
   * slot reaches the file: a new record reusing a set-aside sequence must
   * never be able to join (or reassemble, from torn fragments) the old one.
   * Two steps, each fsynced: first one zero byte over each slot's magic (a
   * one-byte write cannot tear), then zeros over the whole slots. Zeroing
   * in one step is not enough: a power cut during it can tear the erasure
   * itself, and zero sectors can stand in for the zero padding of an old
   * record whose other sectors a torn overwrite had left in the slot,
   * making it valid again. With the magic gone for good first, no mix of
   * sectors can. A failed write leaves them pending (IO_ERROR); a failed
   * fsync poisons.
   */
  private erasePending(): void {
    for (const step of [unmarkSlots, zeroSlots]) {
      try {
        step(this.#rc, this.#h, this.#g, this.#pendingZero);
      } catch (e) {
        throw new WalError('IO_ERROR', `${this.path}: erasing the slots set aside by recovery failed; the next write retries`, { path: this.path, cause: e });
      }
      this.fsync('fsync failed while erasing the slots set aside by recovery; the ring is poisoned');
    }
    this.#pendingZero = [];
  }

  /**
   * Make every appended record durable: write the buffer, fdatasync, then
   * write the new durable point into the state record (both copies) and
   * fdatasync again. Returns when the records, and the record of their
   * durability, are on stable storage: recovery relies on the state record
   * never naming less than a completed sync() (docs/FORMAT.md §R3, §R5).
   * The state record is written only after the first fsync, so it never
   * names a record that is not durable. A failed fsync poisons the ring; a
   * failed write throws IO_ERROR (the records stay buffered, or, if the
   * state record failed, durable but not acknowledged) and the next sync()
   * retries.
   */
  sync(): void {
    this.live();
    this.writeBuffered();
    if (this.#durableNext === this.#next) return;
    const next = this.#next;
    this.fsync('fsync failed; durability of recent records is unknown and the ring is poisoned');
    try {
      writeState(this.#rc, this.#h, this.#g.salt, { clean: false, first: this.#first, next });
    } catch (e) {
      throw new WalError('IO_ERROR', `${this.path}: the records are durable, but writing the state record that names them failed; sync() did not complete and the next sync() retries`,
        { path: this.path, offset: this.#rc.k.RING_STATE_OFFSET, cause: e });
    }
    this.fsync('fsync of the state record failed; the ring is poisoned');
    this.#durableNext = next;
  }

  private fsync(what: string): void {
    try {
      this.#h.sync();
    } catch (e) {
      this.poison(e);
      throw new WalError('POISONED', `${this.path}: ${what}`, { path: this.path, cause: e });
    }
  }

  /** Group commit: resolves once every record appended before the call is durable; concurrent callers share one sync(). */
  syncAsync(): Promise<void> {
    try {
      this.live();
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#group.request();
  }

  /** Alias of syncAsync(), named like WalFsWriter.flushAsync(). */
  flushAsync(): Promise<void> {
    return this.syncAsync();
  }

  private poison(cause: unknown): void {
    this.#state = 'poisoned';
    this.#poison = cause;
  }

  /** Payloads of the live records, oldest to newest (includes records not yet synced). */
  replayAll(): Uint8Array[] {
    const out: Uint8Array[] = [];
    this.readWindow(false, (rec) => { out.push(rec.payload); });
    return out;
  }

  /** The live records with sequence and failure evidence, oldest to newest. */
  replayRecords(): RingRecord[] {
    const out: RingRecord[] = [];
    this.readWindow(true, (rec) => { out.push(rec); });
    return out;
  }

  private readWindow(evidence: boolean, each: (rec: RingRecord) => void): void {
    this.live();
    this.writeBuffered();
    readRecords(this.#rc, this.#h, this.path, this.#g, this.#first, this.#next - this.#first, evidence, each);
  }

  /**
   * Lazily iterate the records live when iteration starts, oldest to newest,
   * reading one chunk of slots at a time. Records appended during iteration
   * are not included; if appends overwrite a record not yet reached, the
   * iterator throws RangeError.
   */
  *records(): IterableIterator<RingRecord> {
    this.live();
    const end = this.#next;
    let s = this.#first;
    const per = chunkSlots(this.#rc, this.#g);
    while (s < end) {
      this.live();
      this.writeBuffered();
      if (s < this.#first) throw new RangeError(`${this.path}: record ${s} was overwritten by appends during iteration`);
      const n = Math.min(per, end - s);
      const batch: RingRecord[] = [];
      readRecords(this.#rc, this.#h, this.path, this.#g, s, n, true, (rec) => { batch.push(rec); });
      s += n;
      yield* batch;
    }
  }

  [Symbol.iterator](): IterableIterator<RingRecord> {
    return this.records();
  }

  /**
   * sync(), then record a clean close (state record + one more fsync) so the
   * next open can verify every slot strictly; release the file and the lock.
   * Idempotent. On a poisoned ring it only releases. If a step fails, the
   * resources are still released and the error is thrown (the next open
   * then recovers as after a crash).
   */
  close(): void {
    if (this.#state === 'closed') return;
    try {
      if (this.#state === 'open') {
        this.sync();
        if (this.#pendingZero.length > 0) this.erasePending(); // a clean ring holds nothing outside its window
        try {
          writeState(this.#rc, this.#h, this.#g.salt, { clean: true, first: this.#first, next: this.#next });
          this.#h.sync();
        } catch (e) {
          this.poison(e);
          throw new WalError('IO_ERROR', `${this.path}: recording the clean close failed (the records are durable)`, { path: this.path, cause: e });
        }
      }
    } finally {
      this.#state = 'closed';
      try { this.#h.close(); } catch { /* nothing more to lose */ }
      this.#lock.release();
    }
  }

  [disposeSymbol](): void {
    this.close();
  }
}
