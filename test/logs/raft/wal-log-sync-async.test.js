// WalLog.syncAsync() (FrameFile.syncAsync over FileHandle.syncAsync):
// batching, ordering under crashes, a roll while an fsync is in flight, a
// snapshot that deletes the segment being synced, and a failure after a roll
// sealed its segment. The simulator's
// holdAsyncSyncs()/releaseAsyncSyncs() keep an async sync in flight.
// Every log's 'all fsyncs off the JS thread', 'a failed async fsync poisons
// and nothing it covered is adopted' and 'close() with an async fsync in
// flight' are cases of test/conformance/lifecycle.test.js, run over every log.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { WalLog } from 'walcore';
import { rng, seedFor } from '../../support/helpers.js';
import { immediate, instrumented, memFs, rejectsCode, untilInFlight } from '../../support/async-sync.js';

const entry = (i, term = 1, size = 16) => ({ index: i, term, payload: new Uint8Array(size).fill(i & 0xff) });
const add = (log, size) => { const i = log.lastIndex() + 1; log.append([entry(i, 1, size)]); return i; };
/** Reopen and list [index, first payload byte] of every entry, plus the hard state. */
const recovered = (fs, d, opts = {}) => {
  const log = WalLog.open(d, { fs, ...opts });
  try {
    const first = log.firstIndex();
    const list = log.lastIndex() >= first ? log.entries(first, log.lastIndex()).map((e) => e.index) : [];
    for (const e of list) assert.is(log.entry(e).payload[0], e & 0xff, `entry ${e} payload`);
    return { list, hs: log.hardState(), snap: log.snapshotIndex() };
  } finally { log.close(); }
};

test('syncAsync() resolves only once its own data is durable; appends and hard state made meanwhile join the next fsync', async () => {
  const fs = memFs();
  const log = WalLog.open('/d/w', { fs });
  add(log);
  let secondDone = false;
  const first = log.syncAsync();
  await untilInFlight(fs);
  add(log);
  log.setHardState({ term: 3, vote: 7, commit: 2 });
  const second = log.syncAsync().then(() => { secondDone = true; });
  await first;
  assert.not.ok(secondDone, 'the second request was served by the first fsync');
  fs.crash({ mode: 'drop' }); // what the first fsync covered only
  assert.equal(recovered(fs, '/d/w').list, [1]);
  await second.catch(() => {}); // the crash took the handles away
  log.close();
});

test('ordering: crash at random points while async fsyncs are pending (tiny segments, rolls, truncates, snapshots); the log recovers to a state at or after the last acknowledged one', async () => {
  const seed = seedFor('raft sync-async ordering');
  const r = rng(seed);
  for (let round = 0; round < 25; round++) {
    const fs = memFs();
    const log = WalLog.open('/d/w', { fs, segmentTargetSize: 4096 });
    /** The log's (last index, commit) after every operation, in order; a syncAsync() acknowledges every state up to its call. */
    const history = [{ last: 0, commit: 0 }];
    let acked = 0;
    let stop = false;
    const worker = async () => {
      while (!stop) {
        let pos;
        try {
          const k = r.int(0, 9);
          if (k === 0 && log.lastIndex() > log.firstIndex() + 3) log.truncate(log.lastIndex() - 1);
          else if (k === 1 && log.lastIndex() > log.snapshotIndex() + 5) log.applySnapshot({ index: log.lastIndex() - 2, term: 1, data: new Uint8Array(8) });
          else if (k === 2) log.setHardState({ term: 1, vote: null, commit: Math.min(log.lastIndex(), log.hardState().commit + 1) });
          else add(log, r.int(1, 600));
          history.push({ last: log.lastIndex(), commit: log.hardState().commit });
          pos = history.length - 1;
          await log.syncAsync();
        } catch { return; }
        if (!stop) acked = Math.max(acked, pos);
      }
    };
    const runners = Array.from({ length: r.int(1, 6) }, worker);
    const turns = r.int(1, 40);
    for (let i = 0; i < turns; i++) await immediate();
    if (r.int(0, 1)) await untilInFlight(fs);
    const ackedAtCrash = acked;
    stop = true;
    fs.crash({ seed: seed + round, mode: 'random' });
    await Promise.all(runners);
    const got = recovered(fs, '/d/w', { segmentTargetSize: 4096 });
    const lastGot = got.list.length > 0 ? got.list[got.list.length - 1] : got.snap;
    const match = history.findIndex((h, i) => i >= ackedAtCrash && h.last === lastGot && h.commit === got.hs.commit);
    assert.ok(match >= 0, `round ${round}: recovered (last ${lastGot}, commit ${got.hs.commit}) is no state at or after the acknowledged ${JSON.stringify(history[ackedAtCrash])}`);
    for (let i = 1; i < got.list.length; i++) assert.is(got.list[i], got.list[i - 1] + 1, `round ${round}: a gap in the recovered log`);
  }
});

test('a roll while an async fsync is in flight seals synchronously; a snapshot deleting that segment closes its handle only after the fsync settles', async () => {
  const mem = memFs();
  const fs = instrumented(mem);
  const log = WalLog.open('/d/w', { fs, segmentTargetSize: 4096 });
  add(log, 100);
  mem.holdAsyncSyncs();
  const inFlight = log.syncAsync();
  await untilInFlight(mem);
  for (let i = 0; i < 10; i++) add(log, 1000); // rolls: the segment being synced is sealed
  assert.ok(log.segmentCount > 1, 'rolled');
  log.applySnapshot({ index: log.lastIndex() - 1, term: 1, data: new Uint8Array(4) }); // deletes the sealed segments
  assert.is(fs.stats.closedUnderSync, 0, 'a handle was closed under its fsync');
  const next = log.syncAsync();
  mem.releaseAsyncSyncs();
  await inFlight;
  await next;
  await immediate();
  assert.is(fs.stats.closedUnderSync, 0);
  const last = log.lastIndex();
  log.close();
  mem.crash({ mode: 'drop' });
  const got = recovered(mem, '/d/w');
  assert.equal(got.list, [last]);
});

test('an in-flight async fsync that fails after a roll sealed its segment: POISONED, later segments dropped, the log stays contiguous', async () => {
  for (const mode of ['keep', 'drop', 'random']) {
    const fs = memFs();
    const log = WalLog.open('/d/w', { fs, segmentTargetSize: 4096 });
    add(log, 100);
    await log.syncAsync();
    add(log, 100);
    fs.holdAsyncSyncs();
    const inFlight = log.syncAsync();
    await untilInFlight(fs);
    for (let i = 0; i < 8; i++) add(log, 1000); // rolls
    log.sync();
    fs.injectFault({ op: 'sync', code: 'EIO' });
    const check = rejectsCode(inFlight, 'POISONED', 'the in-flight batch');
    fs.releaseAsyncSyncs();
    await check;
    assert.is(log.state, 'poisoned');
    log.close();
    fs.crash({ mode });
    const got = recovered(fs, '/d/w', { segmentTargetSize: 4096 });
    assert.is(got.list[0], 1, `${mode}: lost the durable entry`);
    for (let i = 1; i < got.list.length; i++) assert.is(got.list[i], got.list[i - 1] + 1, `${mode}: a gap in the recovered log`);
    const again = WalLog.open('/d/w', { fs, segmentTargetSize: 4096 });
    add(again);
    again.sync();
    again.close();
  }
});

test.run();
