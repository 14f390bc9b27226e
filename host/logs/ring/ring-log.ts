/**
 * RingLog: a fixed-capacity circular replay log in one preallocated file of
 * `capacity` slots of `slotSize` bytes (docs/ring-log.md, docs/FORMAT.md §10).
 *
 * Lifecycle (host/lifecycle/lifecycle.ts, shared by every log): open()
 * takes the writer lock, creates the file (crash-safely, zero-filled) or
 * recovers the live window from the slots, makes it durable, marks the ring
 * "in use" and syncs (ring-open.ts). Slots that recovery set aside are
 * erased (and synced) just before the first write, not at open, so that a
 * crash before the caller has read openReport reports them again.
 * append() encodes a record into a buffer in core memory (nothing reaches
 * the OS until the buffer fills, the ring wraps, a replay or sync()); once
 * the ring is full each append overwrites the oldest record. sync() writes
 * the buffer, fsyncs, then names the new durable point in the state record
 * and fsyncs again: it is the only acknowledgement of durability and, apart
 * from open, close and that one-time erasure, the only call that fsyncs.
 * close() settles pending syncAsync() calls, syncs, records a clean close
 * (one more fsync) and releases all.
 *
 * Failure contract: a failed write keeps the records appended and buffered,
 * and the next append, read, sync() or close() retries it (positional
 * overwrites are idempotent; with bufferSize 0 too). A failed fsync poisons
 * the ring (POISONED until reopened), because the kernel may have dropped
 * the data; the next open writes the window above the durable point back
 * before it names it durable (ring-open.ts, docs/ring-log.md "A failed
 * fsync"). After a crash, replay yields a gap-free run of sequences holding
 * every record acknowledged by sync() that is among the newest `capacity`
 * appended (recovery finds it from the durable point the state record
 * names); see docs/ring-log.md for the exact statement.
 */
import { Core } from '../../core/core.js';
import { WalError } from '../../errors.js';
import { logFileSystem } from '../../fs/default.js';
import type { FileLock } from '../../fs/types.js';
import { Lifecycle, type LogState, openLocked, quietly } from '../../lifecycle/lifecycle.js';
import { checkOptions, disposeSymbol, pathArg } from '../../lifecycle/options.js';
import { type EncodedEvidence, type RingFile, checkEvidence, checkGeometryOptions, writeState } from './ring-file.js';
import { DEFAULT_SLOT_SIZE, openRingFile } from './ring-open.js';
import { chunkSlots, readBatches, readEach, readPayloads, readRecords, seqOffset, unmarkSlots, zeroSlots } from './slots.js';
import type { Recovery } from './recovery.js';
import type { RingBatch, RingLogOptions, RingOpenReport, RingRecord, FailureEvidence } from './types.js';

export type { FailureClass, FailureEvidence, RingBatch, RingLogOptions, RingOpenReport, RingRecord } from './types.js';

const OPTION_KEYS = ['capacity', 'slotSize', 'fs', 'bufferSize'] as const;

export class RingLog {
  readonly path: string;
  readonly openReport: RingOpenReport;
  readonly #f: RingFile;
  readonly #lock: FileLock;
  readonly #life: Lifecycle;
  readonly #maxBuffered: number;
  readonly #writeThrough: boolean;
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

  private constructor(f: RingFile, lock: FileLock, rec: Recovery, bufferSize: number, report: RingOpenReport) {
    this.path = f.path;
    this.#f = f;
    this.#lock = lock;
    this.#pendingZero = rec.zero;
    this.#first = rec.first;
    this.#next = rec.next;
    this.#durableNext = rec.next;
    this.#writeThrough = bufferSize === 0;
    this.#maxBuffered = Math.max(1, Math.floor(bufferSize / f.slotSize));
    this.openReport = report;
    this.#life = new Lifecycle('ring', f.path, () => this.sync(), f.h.syncAsync === undefined ? undefined : () => this.syncOffThread());
    // Staging only grows, so the append buffer never needs a check per append.
    f.core.ensure(this.#maxBuffered * f.slotSize);
  }

  /** Open the ring at `path`, creating and preallocating it if it does not exist. See the class comment and docs/ring-log.md. */
  static open(path: string, options: RingLogOptions = {}): RingLog {
    const where = 'RingLog.open';
    pathArg(where, path);
    checkOptions(where, options, OPTION_KEYS);
    const core = new Core();
    const { want, bufferSize } = checkGeometryOptions(options, core.c, path, DEFAULT_SLOT_SIZE);
    const fs = logFileSystem(options.fs);
    return openLocked(fs, path, (lock, acquired) => {
      const { f, rec, report } = openRingFile(core, fs, path, want, acquired);
      return new RingLog(f, lock, rec, bufferSize, report);
    });
  }

  /** Number of slots: the most records the ring holds. */
  get capacity(): number { return this.#f.capacity; }
  /** Bytes per slot on disk. */
  get slotSize(): number { return this.#f.slotSize; }
  /** Largest payload + digest a record may have (slotSize - 40). */
  get maxPayload(): number { return this.#f.slotSize - this.#f.core.c.SLOT_HEADER_SIZE; }
  /** Number of live records (at most capacity). */
  get length(): number { return this.#next - this.#first; }
  /** Sequence of the oldest live record (== nextSequence when the ring is empty). */
  get firstSequence(): number { return this.#first; }
  /** Sequence the next append gets. */
  get nextSequence(): number { return this.#next; }
  /** Every record with a sequence at or below this is durable (0 if none). */
  get durableSequence(): number { return this.#durableNext - 1; }
  /** Whether the ring is open, closed, or poisoned by a failed fsync. */
  get state(): LogState { return this.#life.state; }
  /** Group-commit statistics: syncs run and syncAsync() calls they served. */
  get groupCommitStats(): { syncs: number; requests: number } { return this.#life.groupCommitStats; }

  /**
   * Append a record; returns its sequence number. Overwrites the oldest
   * record when the ring is full. Not durable until sync(). The payload is
   * copied; the caller keeps ownership.
   *
   * If this throws a TypeError or RangeError, or IO_ERROR while retrying
   * an earlier failed write (before this record is encoded), nothing was
   * appended. With bufferSize 0 the record is written at once: if that
   * write fails, append throws IO_ERROR but the record IS appended (it has
   * the next sequence, the window moved past the slot it overwrites) and
   * stays buffered; the next append, read, sync() or close() retries the
   * write. It is not undone, because the failed write may already have
   * torn the slot of the record it evicts. Buffered mode behaves the same.
   */
  append(payload: Uint8Array): number {
    return this.appendSlot('append', payload, undefined);
  }

  /** Append a record with failure evidence stored beside it (see FailureEvidence); failures as for append(). */
  appendWithFailure(payload: Uint8Array, evidence: FailureEvidence): number {
    return this.appendSlot('appendWithFailure', payload, checkEvidence(evidence, this.#f.core.c.MAX_DIGEST));
  }

  private appendSlot(op: string, payload: Uint8Array, ev: EncodedEvidence | undefined): number {
    this.#life.live();
    if (!(payload instanceof Uint8Array)) throw new TypeError(`${op}: payload must be a Uint8Array`);
    const f = this.#f;
    const dlen = ev?.digest?.length ?? 0;
    if (payload.length + dlen > this.maxPayload) {
      throw new RangeError(`${op}: a payload of ${payload.length} bytes${dlen ? ` plus a ${dlen}-byte digest` : ''} does not fit a ${f.slotSize}-byte slot (at most ${this.maxPayload} bytes)`);
    }
    const seq = this.#next;
    if (seq > Number.MAX_SAFE_INTEGER) throw new RangeError(`${op}: sequence numbers are exhausted`);
    // Hot path: `(seq - 1) % capacity` is the core's ringSlotIndex (FORMAT.md §R1), kept inline here;
    // test/logs/ring/ring-lifecycle.test.js checks that records land where the core says.
    if (this.#buffered > 0 && (this.#buffered >= this.#maxBuffered || (seq - 1) % f.capacity === 0)) this.writeBuffered();
    const core = f.core;
    if (this.#buffered === 0) this.#bufSeq = seq;
    const at = core.staging + this.#buffered * f.slotSize;
    const body = at + core.c.SLOT_HEADER_SIZE;
    core.u8.set(payload, body);
    if (dlen > 0) core.u8.set(ev!.digest!, body + payload.length);
    // Below 2^32 a sequence is its own low half: no floating-point modulo and division per append.
    // u32 arguments go as `| 0` (the same 32 bits as an i32): in Bun (JSC) a u32 of 2^31 or more is
    // a double, and passing a double as a wasm i32 took ~140 ns more per call, measured: with a
    // random salt, half of all rings appended ~3x slower in Bun.
    const small = seq < 0x100000000;
    const st = core.x.encodeSlot(at, f.slotSize, payload.length, dlen, f.salt | 0, (small ? seq : seq % 2 ** 32) | 0, small ? 0 : Math.floor(seq / 2 ** 32),
      this.#durableNext - 1, ev === undefined ? 0 : ev.cls, ev === undefined ? 0 : ev.code);
    if (st !== f.slotSize) throw new Error(`walcore: encodeSlot refused a checked record (${st})`);
    this.#buffered++;
    this.#next = seq + 1;
    if (this.#next - this.#first > f.capacity) this.#first = this.#next - f.capacity;
    if (this.#writeThrough) this.writeBuffered(); // on failure the record stays appended and buffered (see append)
    return seq;
  }

  /** Hand buffered slots to the OS (not durable). On failure they stay buffered for a retry. */
  private writeBuffered(): void {
    if (this.#buffered === 0) return;
    if (this.#pendingZero.length > 0) this.erasePending();
    const f = this.#f;
    const core = f.core;
    const offset = seqOffset(f, this.#bufSeq);
    try {
      f.h.write(core.u8.subarray(core.staging, core.staging + this.#buffered * f.slotSize), offset);
    } catch (e) {
      throw new WalError('IO_ERROR', `${this.path}: writing ${this.#buffered} slot(s) at offset ${offset} failed; the records stay buffered (appended, not yet written) and the next append, read, sync() or close() retries the write`,
        { path: this.path, offset, cause: e });
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
        step(this.#f, this.#pendingZero);
      } catch (e) {
        throw new WalError('IO_ERROR', `${this.path}: erasing the slots set aside by recovery failed; the next write retries`, { path: this.path, cause: e });
      }
      this.fsync('fsync failed while erasing the slots set aside by recovery');
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
    this.#life.live();
    this.writeBuffered();
    if (this.#durableNext === this.#next) return;
    const next = this.#next;
    this.fsync('fsync failed; durability of recent records is unknown');
    try {
      writeState(this.#f, { clean: false, first: this.#first, next });
    } catch (e) {
      throw new WalError('IO_ERROR', `${this.path}: the records are durable, but writing the state record that names them failed; sync() did not complete and the next sync() retries`,
        { path: this.path, offset: this.#f.core.c.RING_STATE_OFFSET, cause: e });
    }
    this.fsync('fsync of the state record failed');
    this.#durableNext = next;
  }

  /**
   * A failed fsync poisons. Nothing is rolled back: the ring overwrites in
   * place, so there is no durable end to truncate to. The state record on
   * disk still names the last durable point, and the next open writes every
   * window slot above it again before its own fsync (ring-open.ts).
   */
  private fsync(what: string): void {
    this.#life.fsyncOrPoison(() => this.#f.h.sync(), what);
  }

  /**
   * The group commit's sync, with both fsyncs off the JS thread
   * (FileHandle.syncAsync): write the buffer, note the durable point it
   * covers (`next`), await the fdatasync while appends keep buffering, then
   * write the state record naming `next` (encoded after whatever was
   * buffered meanwhile, which staging still holds) and await a second
   * fdatasync before durableSequence advances. Failures as in sync(): a
   * failed fsync poisons (nothing to roll back, see fsync()); a failed state
   * write is IO_ERROR (durable, not acknowledged). The state record is not
   * written when a sync() or close() named a later point meanwhile (it must
   * never go back) or the ring is no longer open.
   */
  private async syncOffThread(): Promise<void> {
    this.#life.live();
    this.writeBuffered();
    if (this.#durableNext === this.#next) return;
    const next = this.#next;
    const h = this.#f.h;
    await this.#life.fsyncOrPoisonAsync(() => h.syncAsync!(), 'fsync failed; durability of recent records is unknown');
    if (this.#life.state !== 'open' || this.#durableNext >= next) return;
    try {
      writeState(this.#f, { clean: false, first: Math.min(this.#first, next), next }, this.#buffered * this.#f.slotSize);
    } catch (e) {
      throw new WalError('IO_ERROR', `${this.path}: the records are durable, but writing the state record that names them failed; the sync did not complete and the next sync retries`,
        { path: this.path, offset: this.#f.core.c.RING_STATE_OFFSET, cause: e });
    }
    await this.#life.fsyncOrPoisonAsync(() => h.syncAsync!(), 'fsync of the state record failed');
    if (next > this.#durableNext) this.#durableNext = next;
  }

  /** Group commit: resolves once every record appended before the call is durable; concurrent callers share one sync, whose fsyncs run off the JS thread (syncOffThread). close() settles it (resolved: close syncs). */
  syncAsync(): Promise<void> {
    return this.#life.syncAsync();
  }

  /** @deprecated The same as syncAsync() (the name every log uses). */
  flushAsync(): Promise<void> {
    return this.syncAsync();
  }

  /** Payloads of the live records, oldest to newest (includes records not yet synced). */
  replayAll(): Uint8Array[] {
    this.#life.live();
    this.writeBuffered();
    const out: Uint8Array[] = [];
    readPayloads(this.#f, this.#first, this.#next - this.#first, out); // the fast path: see readPayloads
    return out;
  }

  /**
   * The fast replay: call `fn(batch)` with the live records, oldest to
   * newest, a chunk of slots at a time, allocating nothing per record (see
   * RingBatch: the batch and its arrays are reused, valid only during the
   * call). Return false from `fn` to stop. Returns how many records were
   * handed out. The window is the one live when the call starts; `fn` may
   * append, but if appends overwrite a record not yet reached, it throws
   * RangeError (as records() does).
   */
  replayBatches(fn: (batch: RingBatch) => boolean | void): number {
    if (typeof fn !== 'function') throw new TypeError('replayBatches: fn must be a function');
    this.#life.live();
    return readBatches(this.#f, this.#first, this.#next - this.#first, (s) => this.beforeChunk(s), fn);
  }

  /**
   * Call `fn(payload, sequence)` for each live record, oldest to newest
   * (built on replayBatches, see readEach). `payload` is a reused view: one
   * view object per payload length, whose bytes are overwritten for the next
   * record, so it is valid only until `fn` returns (copy it with slice() to
   * keep it). Return false to stop. Returns how many records `fn` saw.
   * Appends during the call: as replayBatches.
   */
  replayEach(fn: (payload: Uint8Array, sequence: number) => boolean | void): number {
    if (typeof fn !== 'function') throw new TypeError('replayEach: fn must be a function');
    this.#life.live();
    return readEach(this.#f, this.#first, this.#next - this.#first, (s) => this.beforeChunk(s), fn);
  }

  /** Before each chunk of replayBatches/replayEach: still open, buffer written, record `s` not overwritten. */
  private beforeChunk(s: number): void {
    this.#life.live();
    this.writeBuffered();
    if (s < this.#first) throw new RangeError(`${this.path}: record ${s} was overwritten by appends during replay`);
  }

  /** The live records with sequence and failure evidence, oldest to newest. */
  replayRecords(): RingRecord[] {
    const out: RingRecord[] = [];
    this.readWindow(true, (rec) => { out.push(rec); });
    return out;
  }

  private readWindow(evidence: boolean, each: (rec: RingRecord) => void): void {
    this.#life.live();
    this.writeBuffered();
    readRecords(this.#f, this.#first, this.#next - this.#first, evidence, each);
  }

  /**
   * Lazily iterate the records live when iteration starts, oldest to newest,
   * reading one chunk of slots at a time. Records appended during iteration
   * are not included; if appends overwrite a record not yet reached, the
   * iterator throws RangeError.
   */
  *records(): IterableIterator<RingRecord> {
    this.#life.live();
    const end = this.#next;
    let s = this.#first;
    const per = chunkSlots(this.#f);
    while (s < end) {
      this.#life.live();
      this.writeBuffered();
      if (s < this.#first) throw new RangeError(`${this.path}: record ${s} was overwritten by appends during iteration`);
      const n = Math.min(per, end - s);
      const batch: RingRecord[] = [];
      readRecords(this.#f, s, n, true, (rec) => { batch.push(rec); });
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
   * A syncAsync() still pending is settled first (resolved: this close syncs
   * its records). Idempotent. On a poisoned ring it only releases. If a step
   * fails, the resources are still released and the error is thrown (the
   * next open then recovers as after a crash).
   */
  close(): void {
    const f = this.#f;
    this.#life.close(() => {
      this.sync();
      if (this.#pendingZero.length > 0) this.erasePending(); // a clean ring holds nothing outside its window
      try {
        writeState(f, { clean: true, first: this.#first, next: this.#next });
        f.h.sync();
      } catch (e) {
        this.#life.poison(e, 'recording the clean close failed (the records are durable)');
        throw new WalError('IO_ERROR', `${this.path}: recording the clean close failed (the records are durable)`, { path: this.path, cause: e });
      }
    }, () => {
      quietly(() => f.h.close());
      quietly(() => this.#lock.release());
    });
  }

  [disposeSymbol](): void {
    this.close();
  }
}
