/**
 * Argument checks and the append plan shared by every RaftLog, so both
 * implementations refuse exactly the same inputs (host/logs/raft/types.ts
 * states the rules): a value of the wrong type is a TypeError, a value of the
 * right type that breaks a rule is a RangeError.
 */
import type { HardState, LogEntry, Snapshot } from './types.js';

/** Largest payload an entry may carry: a frame's 64 MiB minus the 16-byte entry sub-header. */
export const MAX_ENTRY_PAYLOAD = (64 << 20) - 16;

/** A non-negative safe integer (index, term, node id). */
export function checkNat(where: string, name: string, v: unknown): number {
  if (typeof v !== 'number') throw new TypeError(`${where}: ${name} must be a number, got ${typeof v}`);
  if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`${where}: ${name} must be a non-negative integer below 2^53, got ${v}`);
  return v;
}

/** What checkNat() accepts. */
function isNat(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/**
 * Check the shape of every entry and that indexes are consecutive and terms
 * do not decrease within the batch. Returns the same array (nothing is
 * copied: the caller uses it before returning to the user; `type` may be
 * undefined, meaning 0).
 */
export function checkEntries(where: string, entries: unknown): readonly LogEntry[] {
  if (!Array.isArray(entries)) throw new TypeError(`${where}: entries must be an array`);
  let prevIndex = 0;
  let prevTerm = 0;
  for (let i = 0; i < entries.length; i++) {
    const e: unknown = entries[i];
    if (e === null || typeof e !== 'object') throw new TypeError(`${where}: entries[${i}] must be { index, term, payload }`);
    const { index, term, payload, type } = e as Partial<LogEntry>;
    // The names are built only for an error (a template per entry cost ~0.1 µs and garbage on every append).
    if (!isNat(index)) checkNat(where, `entries[${i}].index`, index);
    if (!isNat(term)) checkNat(where, `entries[${i}].term`, term);
    if (index === 0) throw new RangeError(`${where}: entries[${i}].index must be >= 1 (indexes are 1-based)`);
    if (!(payload instanceof Uint8Array)) throw new TypeError(`${where}: entries[${i}].payload must be a Uint8Array`);
    if (payload.length > MAX_ENTRY_PAYLOAD) throw new RangeError(`${where}: entries[${i}].payload of ${payload.length} bytes exceeds the ${MAX_ENTRY_PAYLOAD}-byte limit`);
    if (type !== undefined) {
      if (typeof type !== 'number') throw new TypeError(`${where}: entries[${i}].type must be a number`);
      if (!Number.isInteger(type) || type < 0 || type > 255) throw new RangeError(`${where}: entries[${i}].type must be a u8, got ${type}`);
    }
    if (i > 0) {
      if (index !== prevIndex + 1) throw new RangeError(`${where}: entries must have consecutive indexes (entries[${i}].index is ${index}, expected ${prevIndex + 1})`);
      if (term! < prevTerm) throw new RangeError(`${where}: terms must not decrease (entries[${i}].term ${term} < ${prevTerm})`);
    }
    prevIndex = index!;
    prevTerm = term!;
  }
  return entries as readonly LogEntry[];
}

/** What append() must do: truncate from `truncateFrom` (if defined), then append entries[start..]. */
export interface AppendPlan {
  truncateFrom: number | undefined;
  start: number;
}

/** The view of a log the append plan needs. */
export interface LogView {
  snapshotIndex(): number;
  lastIndex(): number;
  termAt(index: number): number | undefined;
}

/** Raft append semantics (types.ts): skip covered and matching entries, truncate at the first conflict. */
export function planAppend(where: string, log: LogView, entries: readonly LogEntry[]): AppendPlan {
  const snap = log.snapshotIndex();
  const last = log.lastIndex();
  let start = 0;
  while (start < entries.length && entries[start]!.index <= snap) start++;
  if (start === entries.length) return { truncateFrom: undefined, start };
  const first = entries[start]!.index;
  if (first > last + 1) throw new RangeError(`${where}: entries must start at lastIndex() + 1 = ${last + 1} or inside the log, got index ${first}`);
  while (start < entries.length && entries[start]!.index <= last && log.termAt(entries[start]!.index) === entries[start]!.term) start++;
  if (start === entries.length) return { truncateFrom: undefined, start };
  const at = entries[start]!.index;
  const prevTerm = log.termAt(at - 1)!;
  if (entries[start]!.term < prevTerm) throw new RangeError(`${where}: terms must not decrease (entry ${at} has term ${entries[start]!.term}, entry ${at - 1} has term ${prevTerm})`);
  return { truncateFrom: at <= last ? at : undefined, start };
}

export function checkTruncate(where: string, log: LogView, from: unknown): number {
  const f = checkNat(where, 'from', from);
  const snap = log.snapshotIndex();
  if (f <= snap) throw new RangeError(`${where}: cannot truncate from ${f}: entries up to the snapshot index ${snap} are committed`);
  if (f > log.lastIndex() + 1) throw new RangeError(`${where}: from ${f} is beyond lastIndex() + 1 = ${log.lastIndex() + 1}`);
  return f;
}

export function checkHardState(where: string, s: unknown, current: HardState): HardState {
  if (s === null || typeof s !== 'object') throw new TypeError(`${where}: state must be { term, vote, commit }`);
  const { term, vote, commit } = s as Partial<HardState>;
  checkNat(where, 'term', term);
  checkNat(where, 'commit', commit);
  if (vote !== null) checkNat(where, 'vote (a node id, or null)', vote);
  if (term! < current.term) throw new RangeError(`${where}: term must not decrease (${term} < ${current.term})`);
  if (term === current.term && current.vote !== null && vote !== current.vote) {
    throw new RangeError(`${where}: the vote of term ${term} was already cast for ${current.vote}; it cannot change to ${vote}`);
  }
  return { term: term!, vote: vote!, commit: commit! };
}

export function checkSnapshot(where: string, s: unknown, currentIndex: number): Snapshot {
  if (s === null || typeof s !== 'object') throw new TypeError(`${where}: snapshot must be { index, term, data }`);
  const { index, term, data } = s as Partial<Snapshot>;
  checkNat(where, 'index', index);
  checkNat(where, 'term', term);
  if (!(data instanceof Uint8Array)) throw new TypeError(`${where}: data must be a Uint8Array`);
  if (data.length > (64 << 20)) throw new RangeError(`${where}: snapshot data of ${data.length} bytes exceeds the 64 MiB limit`);
  if (index! <= currentIndex) throw new RangeError(`${where}: snapshot index ${index} is not newer than the current snapshot index ${currentIndex}`);
  return { index: index!, term: term!, data };
}

export function checkRange(where: string, log: LogView, from: unknown, to: unknown): [number, number] {
  const f = checkNat(where, 'from', from);
  const t = checkNat(where, 'to', to);
  if (f > t + 1) throw new RangeError(`${where}: from ${f} > to ${t} + 1`);
  if (t > log.lastIndex()) throw new RangeError(`${where}: to ${t} is beyond lastIndex() = ${log.lastIndex()}`);
  return [f, t];
}
