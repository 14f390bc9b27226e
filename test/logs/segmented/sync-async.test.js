// SegmentedWal.syncAsync() (FrameFile.syncAsync over FileHandle.syncAsync):
// batching, ordering under crashes, a roll while an fsync is in flight, and a
// failure after a roll sealed its segment.
// The simulator's holdAsyncSyncs()/releaseAsyncSyncs() keep an async
// sync in flight deterministically.
// Every log's 'all fsyncs off the JS thread', 'a failed async fsync poisons
// and nothing it covered is adopted' and 'close() with an async fsync in
// flight' are cases of test/conformance/lifecycle.test.js, run over every log.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SegmentedWal } from 'walcore';
import { dec, enc, rng, seedFor } from '../../support/helpers.js';
import { immediate, instrumented, memFs, rejectsCode, untilInFlight } from '../../support/async-sync.js';

const add = (wal, text) => wal.append(1, 2, 3, 4, enc(text));
const replay = (fs, d) => {
  const wal = SegmentedWal.open({ dir: d, fs });
  try { return wal.replay().map((r) => [r.lsn, dec(r.payload)]); } finally { wal.close(); }
};


test('syncAsync() resolves only once its own data is durable; appends made meanwhile join the next fsync', async () => {
  const fs = memFs();
  const wal = SegmentedWal.open({ dir: '/d/w', fs });
  add(wal, 'a');
  let secondDone = false;
  const first = wal.syncAsync();
  await untilInFlight(fs);
  add(wal, 'b');
  const second = wal.syncAsync().then(() => { secondDone = true; });
  assert.is(wal.durableLsn, 0, 'durable before the fsync completed');
  await first;
  assert.is(wal.durableLsn, 1, 'durableLsn is what the fsync covered');
  assert.not.ok(secondDone, 'the second request was served by the first fsync');
  await second;
  assert.is(wal.durableLsn, 2);
  assert.is(wal.groupCommitStats.syncs, 2);
  wal.close();
  fs.crash({ mode: 'drop' });
  assert.equal(replay(fs, '/d/w'), [[1, 'a'], [2, 'b']]);
});

test('ordering: crash at random points while async fsyncs are pending (small segments, rolls); every acknowledged record survives, LSNs contiguous', async () => {
  const seed = seedFor('segmented sync-async ordering');
  const r = rng(seed);
  for (let round = 0; round < 20; round++) {
    const fs = memFs();
    const wal = SegmentedWal.open({ dir: '/d/w', fs, segmentTargetSize: r.int(0, 1) ? 256 : 1 << 20, bufferSize: r.int(0, 1) ? 0 : 1 << 16 });
    const acked = [];
    let stop = false;
    const appender = async () => {
      while (!stop) {
        let lsn;
        try {
          lsn = add(wal, `record ${round}`);
          await wal.syncAsync();
        } catch { return; }
        if (!stop) acked.push(lsn);
      }
    };
    const runners = Array.from({ length: r.int(1, 8) }, appender);
    const turns = r.int(1, 30);
    for (let i = 0; i < turns; i++) await immediate();
    if (r.int(0, 1)) await untilInFlight(fs);
    const ackedAtCrash = acked.slice();
    stop = true;
    fs.crash({ seed: seed + round, mode: 'random' });
    await Promise.all(runners);
    const got = replay(fs, '/d/w').map(([lsn]) => lsn);
    const set = new Set(got);
    for (const lsn of ackedAtCrash) assert.ok(set.has(lsn), `round ${round}: acknowledged record ${lsn} lost`);
    for (let i = 1; i < got.length; i++) assert.is(got[i], got[i - 1] + 1, `round ${round}: a gap in the recovered log`);
  }
});

test('a roll while an async fsync is in flight seals synchronously and closes the old handle only after the fsync settles', async () => {
  const mem = memFs();
  const fs = instrumented(mem);
  const wal = SegmentedWal.open({ dir: '/d/w', fs });
  add(wal, 'a');
  mem.holdAsyncSyncs();
  const inFlight = wal.syncAsync();
  await untilInFlight(mem);
  add(wal, 'b');
  const closes = fs.stats.closes;
  assert.ok(wal.roll(), 'rolled');
  assert.is(wal.durableLsn, 2, 'the seal made the old segment durable');
  assert.is(wal.listSegments().length, 2);
  assert.is(fs.stats.closedUnderSync, 0, 'the old handle was closed under its fsync');
  add(wal, 'c');
  const next = wal.syncAsync();
  mem.releaseAsyncSyncs();
  await inFlight;
  await immediate();
  assert.is(fs.stats.closedUnderSync, 0);
  assert.ok(fs.stats.closes > closes, 'the old handle was never closed');
  await next;
  assert.is(wal.durableLsn, 3);
  wal.close();
  mem.crash({ mode: 'drop' });
  assert.equal(replay(mem, '/d/w'), [[1, 'a'], [2, 'b'], [3, 'c']]);
});

test('an in-flight async fsync that fails after a roll sealed its segment: POISONED, later segments dropped, LSNs stay contiguous', async () => {
  for (const mode of ['keep', 'drop', 'random']) {
    const fs = memFs();
    const wal = SegmentedWal.open({ dir: '/d/w', fs });
    add(wal, 'durable');
    await wal.syncAsync();
    add(wal, 'in flight');
    fs.holdAsyncSyncs();
    const inFlight = wal.syncAsync();
    await untilInFlight(fs);
    add(wal, 'sealed');
    wal.roll(); // its seal succeeds, but proves nothing once the in-flight fsync fails
    add(wal, 'next segment');
    wal.sync();
    fs.injectFault({ op: 'sync', code: 'EIO' });
    const check = rejectsCode(inFlight, 'POISONED', 'the in-flight batch');
    fs.releaseAsyncSyncs();
    await check;
    assert.is(wal.state, 'poisoned');
    wal.close();
    fs.crash({ mode });
    const got = replay(fs, '/d/w');
    assert.equal(got[0], [1, 'durable'], `${mode}: lost the durable record`);
    for (let i = 1; i < got.length; i++) assert.is(got[i][0], got[i - 1][0] + 1, `${mode}: a gap in the recovered log`);
    const again = SegmentedWal.open({ dir: '/d/w', fs });
    add(again, 'after');
    again.sync();
    again.close();
  }
});

test.run();
