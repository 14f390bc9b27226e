// MemoryRaftLog: the reference RaftLog passes the conformance suite
// (walcore/testing); the suite itself catches broken logs.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MemoryRaftLog } from 'walcore';
import { runRaftLogSuite } from 'walcore/testing';

runRaftLogSuite(test, 'MemoryRaftLog', () => ({ log: new MemoryRaftLog() }));

/** Run every case of the suite over `factory` with a plain collector; returns the names of the failing cases. */
async function failingCases(factory) {
  const cases = [];
  runRaftLogSuite((name, fn) => cases.push({ name, fn }), 'probe', factory);
  const failed = [];
  for (const c of cases) {
    try { await c.fn(); } catch { failed.push(c.name); }
  }
  return { total: cases.length, failed };
}

test('the suite passes the reference with a plain test function (no uvu needed)', async () => {
  const { total, failed } = await failingCases(() => ({ log: new MemoryRaftLog() }));
  assert.ok(total >= 12, `${total} cases`);
  assert.equal(failed, []);
});

test('the suite fails logs that break the contract', async () => {
  class OffByOneTerm extends MemoryRaftLog { lastTerm() { return super.lastTerm() + 1; } }
  class ForgetsHardState extends MemoryRaftLog {
    constructor(hs) { super(); if (hs) this.setHardState(hs); }
  }
  class TruncatesAtTheSnapshot extends MemoryRaftLog { truncate(from) { if (from <= this.snapshotIndex()) return; super.truncate(from); } }
  class CompactIgnored extends MemoryRaftLog { compact() {} }
  class AliasesPayloads extends MemoryRaftLog {
    #p = new Map();
    append(es) { super.append(es); for (const e of es) this.#p.set(e.index, e.payload); }
    entry(i) { const e = super.entry(i); if (e && this.#p.has(i)) e.payload = this.#p.get(i); return e; }
  }
  // A "durable" log whose reopen loses the hard state.
  const lossy = () => ({ log: new ForgetsHardState(), reopen: (log) => { const n = new ForgetsHardState(); n.append(log.entries(log.firstIndex(), log.lastIndex())); return n; } });
  for (const [name, factory] of [
    ['lastTerm off by one', () => ({ log: new OffByOneTerm() })],
    ['hard state lost on reopen', lossy],
    ['truncate at the snapshot accepted', () => ({ log: new TruncatesAtTheSnapshot() })],
    ['compact ignored', () => ({ log: new CompactIgnored() })],
    ['payloads aliased', () => ({ log: new AliasesPayloads() })],
  ]) {
    const { failed } = await failingCases(factory);
    assert.ok(failed.length > 0, `${name}: no case failed`);
  }
});

test.run();
