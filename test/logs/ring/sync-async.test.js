// RingLog.syncAsync(): the group commit's two fsyncs (records, then the
// state record naming them): batching, ordering under crashes, and a failure
// of either fsync (the ring's own rule: a reopen may adopt what it covered,
// rewriting it first). The simulator's
// holdAsyncSyncs()/releaseAsyncSyncs() keep an async sync in flight
// deterministically.
// Every log's 'all fsyncs off the JS thread', 'a failed async fsync poisons
// and nothing it covered is adopted' and 'close() with an async fsync in
// flight' are cases of test/conformance/lifecycle.test.js, run over every log.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RingLog, WalError } from 'walcore';
import { dec, enc, rng, seedFor } from '../../support/helpers.js';
import { immediate, memFs, rejectsCode, untilInFlight } from '../../support/async-sync.js';

const GEOMETRY = { capacity: 16, slotSize: 64 };
const replay = (fs, path) => {
  const ring = RingLog.open(path, { fs });
  try { return ring.replayRecords().map((r) => [r.sequence, dec(r.payload)]); } finally { ring.close(); }
};


test('syncAsync() resolves once its records and the state record naming them are durable; appends meanwhile join the next sync', async () => {
  const fs = memFs();
  const ring = RingLog.open('/d/r', { ...GEOMETRY, fs });
  ring.append(enc('a'));
  let secondDone = false;
  const first = ring.syncAsync();
  await untilInFlight(fs);
  ring.append(enc('b')); // buffered in staging while the state record is encoded after it
  const second = ring.syncAsync().then(() => { secondDone = true; });
  assert.is(ring.durableSequence, 0, 'durable before the fsyncs completed');
  await first;
  assert.is(ring.durableSequence, 1, 'durableSequence is what the sync covered');
  assert.not.ok(secondDone, 'the second request was served by the first sync');
  await second;
  assert.is(ring.durableSequence, 2);
  assert.is(ring.groupCommitStats.syncs, 2);
  // Crash without close: recovery finds the durable point in the state record the async sync wrote.
  fs.crash({ mode: 'drop' });
  assert.equal(replay(fs, '/d/r'), [[1, 'a'], [2, 'b']]);
});

test('ordering: crash at random points while async fsyncs are pending (the ring wraps); every acknowledged record among the newest capacity survives, gap-free', async () => {
  const seed = seedFor('ring sync-async ordering');
  const r = rng(seed);
  for (let round = 0; round < 20; round++) {
    const fs = memFs();
    const ring = RingLog.open('/d/r', { ...GEOMETRY, fs, bufferSize: r.int(0, 1) ? 0 : 1 << 10 });
    let acked = 0;
    let stop = false;
    const appender = async () => {
      while (!stop) {
        let s;
        try {
          s = ring.append(enc(`record ${round}`));
          await ring.syncAsync();
        } catch { return; }
        if (!stop && s > acked) acked = s;
      }
    };
    const runners = Array.from({ length: r.int(1, 8) }, appender);
    const turns = r.int(1, 30);
    for (let i = 0; i < turns; i++) await immediate();
    if (r.int(0, 1)) await untilInFlight(fs);
    const ackedAtCrash = acked;
    const nextAtCrash = ring.nextSequence;
    stop = true;
    fs.crash({ seed: seed + round, mode: 'random' });
    await Promise.all(runners);
    const got = replay(fs, '/d/r').map(([s]) => s);
    for (let i = 1; i < got.length; i++) assert.is(got[i], got[i - 1] + 1, `round ${round}: a gap in the recovered ring`);
    const newest = got.length ? got[got.length - 1] : 0;
    assert.ok(newest >= ackedAtCrash, `round ${round}: acknowledged ${ackedAtCrash}, recovered up to ${newest}`);
    if (ackedAtCrash > 0) {
      const want = Math.min(ackedAtCrash, Math.max(1, nextAtCrash - GEOMETRY.capacity)); // acknowledged and among the newest capacity appended
      assert.ok(got.length > 0 && got[0] <= want, `round ${round}: acknowledged records from ${want} lost (first ${got[0]})`);
    }
  }
});

test('a failed async fsync (records or state record) rejects its batch POISONED and later calls are POISONED; reopen recovers', async () => {
  for (const nth of [1, 2]) {
    for (const mode of ['keep', 'drop', 'random']) {
      const fs = memFs();
      const ring = RingLog.open('/d/r', { ...GEOMETRY, fs });
      ring.append(enc('durable'));
      await ring.syncAsync();
      fs.injectFault({ op: 'sync', code: 'EIO', nth });
      fs.holdAsyncSyncs();
      const batch = [];
      for (let i = 0; i < 3; i++) { ring.append(enc(`lost${i}`)); batch.push(ring.syncAsync()); }
      await untilInFlight(fs);
      ring.append(enc('queued'));
      const queued = ring.syncAsync();
      const checks = [...batch.map((p) => rejectsCode(p, 'POISONED', 'a waiter of the failed batch')), rejectsCode(queued, 'POISONED', 'a request queued behind it')];
      fs.releaseAsyncSyncs();
      if (nth === 2) { await untilInFlight(fs); fs.releaseAsyncSyncs(); }
      for (const e of await Promise.all(checks)) assert.is(e.cause.code, 'EIO');
      assert.is(ring.state, 'poisoned');
      assert.is(ring.durableSequence, 1);
      await rejectsCode(ring.syncAsync(), 'POISONED', 'syncAsync after');
      try { ring.append(enc('x')); assert.unreachable('append after poison'); } catch (e) { assert.is(e.code, 'POISONED'); }
      ring.close();
      fs.crash({ mode });
      const got = replay(fs, '/d/r');
      assert.equal(got[0], [1, 'durable'], `nth ${nth}, ${mode}: lost the durable record`);
      for (let i = 1; i < got.length; i++) assert.is(got[i][0], got[i - 1][0] + 1, `nth ${nth}, ${mode}: a gap`);
    }
  }
});

test.run();
