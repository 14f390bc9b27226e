/**
 * MemoryRaftLog: the RaftLog contract (./types.ts) in RAM, the reference
 * WalLog is tested against. Nothing is durable; sync() only checks that the
 * log is open. Payloads are copied in and out, so callers cannot change
 * stored entries by mutating their arrays.
 */
import { WalError } from '../../errors.js';
import { disposeSymbol } from '../../lifecycle/options.js';
import { checkEntries, checkHardState, checkNat, checkRange, checkSnapshot, checkTruncate, planAppend } from './checks.js';
import type { HardState, LogEntry, RaftLog, Snapshot } from './types.js';

const copy = (e: LogEntry): LogEntry => ({ index: e.index, term: e.term, payload: e.payload.slice(), type: e.type ?? 0 });

export class MemoryRaftLog implements RaftLog {
  #entries: LogEntry[] = [];
  #snap: Snapshot | undefined;
  /** The index and term the log is compacted to (the snapshot's, or above it after compact()). */
  #base = 0;
  #baseTerm = 0;
  #hs: HardState = { term: 0, vote: null, commit: 0 };
  #closed = false;

  private live(): void {
    if (this.#closed) throw new WalError('CLOSED', 'MemoryRaftLog is closed');
  }

  /** Whether close() was called. */
  get state(): 'open' | 'closed' { return this.#closed ? 'closed' : 'open'; }

  snapshotIndex(): number { return this.#base; }
  firstIndex(): number { return this.snapshotIndex() + 1; }
  lastIndex(): number { return this.snapshotIndex() + this.#entries.length; }
  lastTerm(): number { return this.termAt(this.lastIndex())!; }

  termAt(index: number): number | undefined {
    checkNat('termAt', 'index', index);
    const snap = this.snapshotIndex();
    if (index === snap) return this.#baseTerm;
    if (index < snap || index > this.lastIndex()) return undefined;
    return this.#entries[index - snap - 1]!.term;
  }

  entry(index: number): LogEntry | undefined {
    checkNat('entry', 'index', index);
    const snap = this.snapshotIndex();
    if (index <= snap || index > this.lastIndex()) return undefined;
    return copy(this.#entries[index - snap - 1]!);
  }

  entries(from: number, to: number): LogEntry[] {
    this.live();
    const [f, t] = checkRange('entries', this, from, to);
    const snap = this.snapshotIndex();
    if (f <= snap) throw new WalError('COMPACTED', `entries: index ${f} is at or below the snapshot index ${snap}`);
    return this.#entries.slice(f - snap - 1, t - snap).map(copy);
  }

  append(entries: readonly LogEntry[]): void {
    this.live();
    const list = checkEntries('append', entries);
    const plan = planAppend('append', this, list);
    if (plan.truncateFrom !== undefined) this.#entries.length = plan.truncateFrom - this.snapshotIndex() - 1;
    for (let i = plan.start; i < list.length; i++) this.#entries.push(copy(list[i]!));
  }

  truncate(from: number): void {
    this.live();
    const f = checkTruncate('truncate', this, from);
    this.#entries.length = f - this.snapshotIndex() - 1;
  }

  hardState(): HardState { return { ...this.#hs }; }

  setHardState(state: HardState): void {
    this.live();
    this.#hs = checkHardState('setHardState', state, this.#hs);
  }

  sync(): void { this.live(); }

  syncAsync(): Promise<void> {
    try { this.live(); } catch (e) { return Promise.reject(e); }
    return Promise.resolve();
  }

  snapshot(): Snapshot | undefined {
    const s = this.#snap;
    return s === undefined ? undefined : { index: s.index, term: s.term, data: s.data.slice() };
  }

  applySnapshot(snapshot: Snapshot): void {
    this.live();
    const s = checkSnapshot('applySnapshot', snapshot, this.snapshotIndex());
    const keep = s.index <= this.lastIndex() && this.termAt(s.index) === s.term;
    this.#entries = keep ? this.#entries.slice(s.index - this.snapshotIndex()) : [];
    this.#snap = { index: s.index, term: s.term, data: s.data.slice() };
    this.#base = s.index;
    this.#baseTerm = s.term;
  }

  compact(upTo: number): void {
    this.live();
    const u = checkNat('compact', 'upTo', upTo);
    if (u <= this.#base) return;
    if (u > this.lastIndex()) throw new RangeError(`compact: upTo ${u} is beyond lastIndex() = ${this.lastIndex()}`);
    const term = this.termAt(u)!;
    this.#entries = this.#entries.slice(u - this.#base);
    this.#base = u;
    this.#baseTerm = term;
  }

  close(): void { this.#closed = true; }
  [disposeSymbol](): void { this.close(); }
}
