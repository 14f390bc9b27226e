// kill -9: a child process in this same runtime appends to a WalLog with tiny
// segments (rolling, truncating its unsynced tail, snapshotting and
// compacting, group commit) and prints each acknowledged (last index, term,
// commit); the parent SIGKILLs it at random moments, reopens (taking over
// the dead child's lock) and checks that every acknowledged entry and the
// acknowledged hard state survived, that entries are contiguous with the
// bytes their term's writer wrote, and that the snapshot is intact.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fileURLToPath } from 'node:url';
import { WalLog } from 'walcore';
import { dec, rng, seedFor, tempDir } from '../support/helpers.js';
import { runAndKill } from '../support/kill-harness.js';

const CHILD = fileURLToPath(new URL('../support/fixtures/raft-kill-child.js', import.meta.url));
const payloadText = (index, t) => `${index}:${t}:${'x'.repeat(index % 97)}`;

test('kill -9 at random moments never loses an acknowledged entry or hard state', async () => {
  const seed = seedFor('raft kill -9');
  const r = rng(seed);
  const dir = `${tempDir('raftkill')}/log`;
  /** index -> term of every acknowledged entry (above the compaction point they must survive as they were). */
  const ackedTerm = new Map();
  let acked = 0;
  let totalAcks = 0;
  let snapshotsSeen = 0;
  for (let gen = 0; gen < 6; gen++) {
    const term = gen + 1;
    const { maxAck, acks, start } = await runAndKill(CHILD, [dir, String(gen)], r.int(80, 400));
    const ctx = `seed ${seed} generation ${gen}`;
    assert.ok(start > acked, `${ctx}: child started at ${start}, but ${acked} was acknowledged`);
    const ackedBefore = acked;
    if (acks > 0) {
      for (let i = start; i <= maxAck; i++) ackedTerm.set(i, term);
      acked = Math.max(acked, maxAck);
    }
    totalAcks += acks;
    const log = WalLog.open(dir, { segmentTargetSize: 4096 });
    const hs = log.hardState();
    if (acks > 0) {
      assert.is(hs.term, term, `${ctx}: hard state term`);
      assert.is(hs.vote, 1, `${ctx}: vote`);
      // The child's first acknowledged round committed everything it opened with.
      assert.ok(hs.commit >= ackedBefore, `${ctx}: commit ${hs.commit} below ${ackedBefore}, acknowledged with the first round`);
    }
    assert.ok(log.lastIndex() >= acked, `${ctx}: the log ends at ${log.lastIndex()}, but ${acked} was acknowledged`);
    assert.ok(hs.commit <= log.lastIndex(), `${ctx}: commit ${hs.commit} beyond the log`);
    const first = log.firstIndex();
    let prevTerm = log.termAt(first - 1);
    const seen = log.entries(first, log.lastIndex());
    for (const e of seen) {
      const want = ackedTerm.get(e.index);
      if (want !== undefined && e.term !== want) assert.unreachable(`${ctx}: acknowledged entry ${e.index} has term ${e.term}, acknowledged with ${want}`);
      if (e.term < prevTerm) assert.unreachable(`${ctx}: entry ${e.index} term ${e.term} below ${prevTerm}`);
      if (dec(e.payload) !== payloadText(e.index, e.term)) assert.unreachable(`${ctx}: payload of entry ${e.index} is not what term ${e.term} wrote`);
      if (e.type !== e.index % 3) assert.unreachable(`${ctx}: type of entry ${e.index}`);
      prevTerm = e.term;
    }
    const s = log.snapshot();
    if (s !== undefined) {
      snapshotsSeen++;
      assert.is(dec(s.data), `snap ${s.index}`, `${ctx}: snapshot data`);
      assert.ok(s.index <= log.snapshotIndex(), `${ctx}: snapshot above the compaction point`);
    }
    log.verify();
    // Entries at or below the compaction point are gone; forget them. What a reopen saw is durable
    // (open leaves nothing unsynced): the next generations must keep it too.
    for (const i of ackedTerm.keys()) if (i <= log.snapshotIndex()) ackedTerm.delete(i);
    for (const e of seen) ackedTerm.set(e.index, e.term);
    acked = Math.max(acked, log.lastIndex());
    log.close();
  }
  assert.ok(totalAcks > 0, 'no child ever acknowledged anything: the test tested nothing');
  assert.ok(snapshotsSeen > 0, 'the children installed snapshots');
});

test.run();
