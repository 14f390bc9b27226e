// AppendLogSnapshot.syncAsync() (FrameFile.syncAsync -> FileHandle.syncAsync,
// GroupCommit), on the simulator and the real file system: batching, ordering
// under crashes (every batch whose syncAsync() resolved survives, the fold is
// exactly the batches up to the cursor), close() with a real fdatasync in
// flight, and compaction held back while one is in flight.
// Every log's 'all fsyncs off the JS thread', 'a failed async fsync poisons
// and nothing it covered is adopted' and 'close() with an async fsync in
// flight' are cases of test/conformance/lifecycle.test.js, run over every log.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AppendLogSnapshot, WatchCursor } from 'walcore';
import { enc, rng, seedFor, tempDir } from '../../support/helpers.js';
import { immediate, memFs, untilInFlight } from '../../support/async-sync.js';
import { batchOf, foldAt, foldLines } from '../../support/fixtures/kv-kill-batches.js';

const dir = tempDir('kvsa');
let n = 0;
const rev = (r) => WatchCursor.fromRevision(r);
const put = (key, value) => ({ type: 'put', key, value: enc(value) });
const revOf = (cursor) => (cursor.isNone ? 0 : Number(cursor.toRevision()));
/** The store holds exactly batches 1..cursor of kv-kill-batches.js. */
function assertFoldAtCursor(store, ctx) {
  const at = revOf(store.cursor());
  assert.equal(foldLines(store.range('').map((e) => [e.key, e])), foldLines(foldAt(at)), `${ctx}: the fold is not exactly batches 1..${at}`);
  return at;
}

test('syncAsync() resolves only once its own batch is durable; batches applied meanwhile join the next fsync', async () => {
  const fs = memFs();
  const { store } = AppendLogSnapshot.open('/d/kv', { fs });
  store.apply([put('a', '1')], rev(1));
  let firstDone = false;
  const first = store.syncAsync().then(() => { firstDone = true; });
  await untilInFlight(fs);
  store.apply([put('a', '2')], rev(2));
  let secondDone = false;
  const second = store.syncAsync().then(() => { secondDone = true; });
  assert.ok(store.durableCursor.isNone, 'durable before the fsync completed');
  await first;
  assert.is(revOf(store.durableCursor), 1, 'durableCursor is what the fsync covered');
  assert.not.ok(secondDone, 'the second request was served by the first fsync');
  await second;
  assert.is(revOf(store.durableCursor), 2);
  assert.is(store.groupCommitStats.syncs, 2);
  assert.ok(firstDone);
  store.close();
});

test('ordering: power cuts at random points while async fsyncs are pending; every batch whose syncAsync() resolved survives, whole', async () => {
  const seed = seedFor('kv sync-async ordering');
  const r = rng(seed);
  for (let round = 0; round < 20; round++) {
    const fs = memFs();
    const { store } = AppendLogSnapshot.open('/d/kv', { fs, compactThreshold: r.int(0, 1) ? 1 << 30 : 8 << 10 });
    let next = 0;
    let acked = 0;
    let stop = false;
    const applier = async () => {
      while (!stop) {
        const b = ++next;
        try {
          store.apply(batchOf(b), rev(b));
          await store.syncAsync();
        } catch { return; } // the power cut killed the store
        if (!stop) acked = Math.max(acked, b);
      }
    };
    const runners = Array.from({ length: r.int(1, 6) }, applier);
    const turns = r.int(1, 30);
    for (let i = 0; i < turns; i++) await immediate();
    if (r.int(0, 1)) await untilInFlight(fs);
    const ackedAtCut = acked;
    stop = true;
    fs.crash({ seed: seed + round, mode: 'random' });
    await Promise.all(runners);
    const reopened = AppendLogSnapshot.open('/d/kv', { fs });
    const at = assertFoldAtCursor(reopened.store, `seed ${seed} round ${round}`);
    assert.ok(at >= ackedAtCut, `seed ${seed} round ${round}: batch ${ackedAtCut} was acknowledged, reopened at ${at}`);
    reopened.store.close();
  }
});

test('compaction waits while an async fsync is in flight (it would swap the file under it), then runs; nothing is lost', async () => {
  const fs = memFs();
  const { store } = AppendLogSnapshot.open('/d/kv', { fs, compactThreshold: 4 << 10 });
  fs.holdAsyncSyncs();
  store.apply(batchOf(1), rev(1));
  const inFlight = store.syncAsync();
  await untilInFlight(fs);
  let b = 1;
  while (store.fileSize < 64 << 10) store.apply(batchOf(++b), rev(b)); // far over the threshold
  assert.is(store.compactions, 0, 'compacted under an fsync in flight');
  try { store.compact(); assert.unreachable('compact() under an fsync in flight'); } catch (e) { assert.is(e.code, 'IO_ERROR'); }
  fs.releaseAsyncSyncs();
  await inFlight;
  store.apply(batchOf(++b), rev(b));
  assert.is(store.compactions, 1, 'the first apply after the fsync compacts');
  assert.is(revOf(store.durableCursor), b, 'compaction made everything durable');
  fs.crash({ mode: 'drop' });
  const again = AppendLogSnapshot.open('/d/kv', { fs });
  assert.is(assertFoldAtCursor(again.store, 'compaction'), b);
  again.store.close();
});

test('close() with a real fdatasync in flight: the queued request resolves, the store reopens complete', async () => {
  const path = `${dir}/s${++n}.kv`;
  const { store } = AppendLogSnapshot.open(path);
  store.apply(batchOf(1), rev(1));
  const inFlight = store.syncAsync();
  await new Promise((r) => setImmediate(r));
  store.apply(batchOf(2), rev(2));
  const queued = store.syncAsync();
  store.close();
  await Promise.all([inFlight, queued]);
  await immediate();
  const again = AppendLogSnapshot.open(path);
  assert.is(assertFoldAtCursor(again.store, 'real'), 2);
  again.store.close();
});

test.run();
