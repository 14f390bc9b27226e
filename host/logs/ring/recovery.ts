/**
 * Recovery: derive a ring's live window from its slots (docs/FORMAT.md
 * §R5). The window is always a gap-free run of consecutive sequences.
 *
 * Clean open (the state record says the ring was closed cleanly): nothing
 * after that close touched the slots, so the window the record names must be
 * exactly what the slots hold. Any difference is CORRUPTED: damage in data a
 * completed sync made durable.
 *
 * After a crash: the state record (not clean) names the durable point D,
 * and it is never below the last completed sync() (sync() makes it durable
 * before it returns). Every record at or below D that is among the newest
 * `capacity` appended is therefore intact, and they all lie in the run that
 * holds record D: that run is the window, whatever lies above it (records
 * written after the last sync, beyond a lost one: 10, 11, 12 appended after
 * a sync at 10, 11 lost) is set aside. Record D itself is missing only when
 * an unsynced append overwrote it (then nothing at or below D is owed) or
 * the slot was damaged. Then, as when no state record survives, take the
 * run T with the highest sequence. Its records carry marks (the highest
 * sequence known durable when each was written). If T starts at sequence 1,
 * or the record just before T was known durable (T.seq - 1 <= its mark, or
 * <= D), the record before it can only be missing because an unsynced append
 * overwrote it, so T is the newest lineage: the window is T. Otherwise T may
 * be records written after the last sync that outlived an earlier unsynced
 * record: if the run L holding T's mark exists, the window is L and T is
 * discarded.
 * A discarded run is zeroed durably before the ring's first new write, so a
 * later crash can never resurrect it, and its records are handed to the
 * caller in the open report: nothing leaves silently. Junk slots (torn or
 * damaged) are zeroed as well, so no fragment of a set-aside record can
 * recombine with a torn write of the record that later reuses its sequence.
 */
import { WalError } from '../../errors.js';
import { type Run, type RingRecord, readRecords, scanRuns, seqIndex, slotOffset, slotReason } from './slots.js';
import type { RingFile, RingState } from './ring-file.js';

export interface Recovery {
  /** Oldest live sequence and next sequence to assign (window = [first, next)). */
  first: number;
  next: number;
  /** Valid slots outside the window: zero them before appending (slot index, count). */
  zero: Array<[number, number]>;
  /** The records of those slots, oldest first. */
  discarded: RingRecord[];
  /** True when the state record proved a clean close (and the slots matched it). */
  clean: boolean;
  /** True when a higher run was set aside because it may follow a lost unsynced record. */
  tookOlderRun: boolean;
  /** Slots that held neither a valid record nor zeros (torn, foreign, damaged). */
  junkSlots: number;
}

const end = (r: Run): number => r.seq + r.len;

export function recover(f: RingFile, state: RingState | undefined): Recovery {
  const { runs, junkRanges, junk } = scanRuns(f);
  if (state?.clean) return checkClean(f, state, runs, junkRanges, junk);
  let window: Run | undefined;
  let tookOlderRun = false;
  const holding = (s: number): Run | undefined => runs.find((r) => r.seq <= s && s < end(r));
  if (runs.length > 0) {
    let top = runs[0]!;
    for (const r of runs) if (end(r) > end(top)) top = r;
    // The state record (written at open and by every sync() before it returns) names the durable point.
    const durable = state ? state.next - 1 : 0;
    window = durable >= 1 ? holding(durable) : undefined;
    if (window === undefined) {
      const known = Math.max(top.mark, durable);
      window = top;
      if (top.seq > 1 && top.seq - 1 > known && top.mark >= 1) window = holding(top.mark) ?? top;
    }
    tookOlderRun = window !== top;
  }
  const first = window?.seq ?? Math.max(1, state?.next ?? 1);
  const next = window ? end(window) : first;
  const others = runs.filter((r) => r !== window).sort((a, b) => a.seq - b.seq);
  const discarded: RingRecord[] = [];
  for (const r of others) {
    readRecords(f, r.seq, r.len, true, (rec) => { discarded.push(rec); });
  }
  // Junk is zeroed too: it may hold fragments of a set-aside record whose
  // sequence will be reused, and a torn write of the new record over such
  // fragments must never reassemble the old one.
  const zero: Array<[number, number]> = [...others.map((r): [number, number] => [r.index, r.len]), ...junkRanges];
  return { first, next, zero, discarded, clean: false, tookOlderRun, junkSlots: junk };
}

/** A cleanly closed ring must hold exactly the window its state record names. */
function checkClean(f: RingFile, state: RingState, runs: Run[], junkRanges: Array<[number, number]>, junk: number): Recovery {
  const { core, path } = f;
  const r = core.x;
  if (state.next - state.first > f.capacity) {
    throw new WalError('CORRUPTED', `${path}: the state record names ${state.next - state.first} records, more than the ${f.capacity} slots`, { path, offset: f.core.c.RING_STATE_OFFSET });
  }
  const sorted = [...runs].sort((a, b) => a.seq - b.seq);
  let cursor = state.first;
  for (const run of sorted) {
    if (run.seq <= cursor && cursor < end(run) && cursor < state.next) cursor = Math.min(end(run), state.next);
  }
  if (cursor < state.next) {
    // Record `cursor` is missing: say what its slot holds instead.
    const index = seqIndex(f, cursor);
    core.ensure(f.slotSize);
    try { f.h.read(core.u8.subarray(core.staging, core.staging + f.slotSize), slotOffset(f, index)); } catch { /* reported below */ }
    const st = r.ringCheckSlot(core.staging, f.slotSize, index, f.capacity, f.salt);
    const reason = st === core.c.OK ? 'sequence-order' : slotReason(f, st);
    const what = st === core.c.OK ? 'holds another record' : st === f.core.c.RING_EMPTY ? 'is empty' : `is damaged (${reason})`;
    throw new WalError('CORRUPTED', `${path}: the ring was closed cleanly with records ${state.first}..${state.next - 1}, but slot ${index} (record ${cursor}) ${what}`,
      { path, offset: slotOffset(f, index), reason });
  }
  for (const run of sorted) {
    if (run.seq < state.first || end(run) > state.next) {
      const seq = run.seq < state.first ? run.seq : Math.max(run.seq, state.next);
      const index = seqIndex(f, seq);
      throw new WalError('CORRUPTED', `${path}: the ring was closed cleanly with records ${state.first}..${state.next - 1}, but slot ${index} holds record ${seq}`,
        { path, offset: slotOffset(f, index), reason: 'sequence-order' });
    }
  }
  // Junk outside the window (damage in unused slots since the close) holds no record; it is zeroed.
  return { first: state.first, next: state.next, zero: junkRanges, discarded: [], clean: true, tookOlderRun: false, junkSlots: junk };
}
