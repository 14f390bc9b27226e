// conformance: one lifecycle, every log. The same cases run over every log
// kind, so a fix in the shared lifecycle (host/lifecycle/lifecycle.ts)
// reaches all of them and a log that drifts from it fails here. A new log
// joins by adding one entry to LOGS (all-logs.js).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MemoryFileSystem, WalError, defaultFileSystem } from 'walcore';
import { LOGS } from './all-logs.js';
import { expectCode, lifecycleCases } from './lifecycle-cases.js';
import { immediate, instrumented, memFs, rejectsCode, untilInFlight } from '../support/async-sync.js';
import { tempDir } from '../support/helpers.js';

const bytes = (s) => new TextEncoder().encode(s);

const FS_METHODS = ['open', 'stat', 'rename', 'remove', 'list', 'mkdir', 'syncDir', 'lock'];
/** A plain FileSystem that forwards to `fs` (whose private fields need `this` to be `fs`). */
function forward(fs) {
  const view = { name: fs.name };
  for (const m of FS_METHODS) view[m] = fs[m].bind(fs);
  return view;
}

/** A view of `fs` that counts the handles it opened and has not seen closed. */
function counting(fs) {
  const view = forward(fs);
  view.live = 0;
  view.open = (path, flags) => {
    const h = fs.open(path, flags);
    view.live++;
    let closed = false;
    const close = h.close.bind(h);
    h.close = () => { if (!closed) { closed = true; view.live--; } close(); };
    return h;
  };
  return view;
}

const realDir = tempDir('lifecycle');
let realN = 0;

function setup() {
  const fs = new MemoryFileSystem();
  fs.mkdir('/data');
  fs.syncDir('/');
  return { fs, path: '/data/log' };
}

for (const kind of LOGS) {
  const t = (name, fn) => test(`${kind.name}: ${name}`, fn);
  for (const [name, run] of lifecycleCases(kind)) t(name, () => { const { fs, path } = setup(); return run(fs, path); });

  t('a failed fsync poisons; every later call is POISONED; close releases; reopen recovers', async () => {
    const { fs, path } = setup();
    const log = kind.open(fs, path);
    kind.append(log, 1);
    kind.sync(log);
    kind.append(log, 2);
    fs.injectFault({ op: 'sync', code: 'EIO' });
    await expectCode(() => kind.sync(log), 'POISONED', 'the failing sync');
    assert.is(log.state, 'poisoned');
    await expectCode(() => kind.append(log, 3), 'POISONED', 'append after');
    await expectCode(() => kind.sync(log), 'POISONED', 'sync after');
    await expectCode(() => kind.syncAsync(log), 'POISONED', 'syncAsync after');
    log.close();
    assert.is(log.state, 'closed');
    const again = kind.open(fs, path); // the lock was released
    kind.append(again, 4);
    kind.sync(again);
    again.close();
  });

  t('syncAsync() runs every fsync off the JS thread (real file system): 50 syncs, the event loop runs during each', async () => {
    const fs = instrumented(defaultFileSystem());
    const path = `${realDir}/${kind.name}-${++realN}`;
    const log = kind.open(fs, path);
    const syncsAtOpen = fs.stats.sync;
    const perSync = kind.fsyncsPerSync ?? 1;
    const appended = [];
    for (let i = 1; i <= 50; i++) {
      kind.append(log, i);
      appended.push(kind.record(i));
      await kind.syncAsync(log);
      if (kind.durable) assert.is(kind.durable(log), i, 'syncAsync() resolved before its record was durable');
    }
    assert.is(fs.stats.sync, syncsAtOpen, 'a group commit synced on the JS thread');
    assert.is(fs.stats.syncAsync, 50 * perSync);
    assert.ok(fs.stats.syncsWithTicks >= 40 * perSync, `the event loop ran during only ${fs.stats.syncsWithTicks} of ${50 * perSync} fdatasyncs`);
    log.close();
    await immediate(); // the lock is released once the last fsync's batch has settled
    assert.equal(kind.read(defaultFileSystem(), path), kind.readOrder ? kind.readOrder(appended) : appended);
  });

  t('a failed async fsync rejects its whole batch and the queue behind it POISONED; nothing it covered is adopted after a crash', async () => {
    for (const mode of ['keep', 'drop', 'random']) {
      const fs = memFs();
      const path = '/d/log';
      const log = kind.open(fs, path);
      kind.append(log, 1);
      await kind.syncAsync(log);
      fs.injectFault({ op: 'sync', code: 'EIO' });
      fs.holdAsyncSyncs(); // the failing fsync stays in flight until every handler is attached
      const batch = [];
      for (let i = 2; i <= 4; i++) {
        kind.append(log, i);
        batch.push(kind.syncAsync(log));
      }
      await untilInFlight(fs);
      kind.append(log, 5);
      const queued = kind.syncAsync(log);
      // Handlers go on every promise at once (Deno reports a rejection left unhandled for a turn).
      const checks = [...batch.map((p) => rejectsCode(p, 'POISONED', 'a waiter of the failed batch')), rejectsCode(queued, 'POISONED', 'a request queued behind the failed fsync')];
      fs.releaseAsyncSyncs();
      for (const e of await Promise.all(checks)) assert.is(e.cause.code, 'EIO');
      assert.is(log.state, 'poisoned');
      await rejectsCode(kind.syncAsync(log), 'POISONED', 'syncAsync after');
      await expectCode(() => kind.append(log, 6), 'POISONED', 'append after');
      if (kind.durable) assert.is(kind.durable(log), 1, 'the durable point moved past the failed fsync');
      log.close();
      fs.crash({ mode });
      const again = kind.open(fs, path); // reopen recovers, without what the failed fsync covered
      kind.append(again, 7);
      await kind.syncAsync(again);
      again.close();
      await immediate();
      // Records 2..5 were never acknowledged. Most logs cut them before poisoning; a log whose entry says
      // failedSyncMayAdopt (the ring) may adopt a prefix of them if reads still show them, after rewriting them.
      const outcome = (k) => {
        const recs = [kind.record(1), ...[2, 3, 4, 5].slice(0, k).map(kind.record), kind.record(7)];
        return JSON.stringify(kind.readOrder ? kind.readOrder(recs) : recs);
      };
      const got = JSON.stringify(kind.read(fs, path));
      const allowed = kind.failedSyncMayAdopt ? [0, 1, 2, 3, 4] : [0];
      assert.ok(allowed.some((k) => got === outcome(k)), `${mode}: after the failed fsync and a crash the log holds ${got}; expected ${outcome(0)}${kind.failedSyncMayAdopt ? ' with a prefix of records 2..5 between' : ''}`);
    }
  });

  t('close() with an async fsync in flight: no handle closed under it, every promise settles, the lock follows', async () => {
    const mem = memFs();
    const fs = instrumented(mem);
    const path = '/d/log';
    const log = kind.open(fs, path);
    kind.append(log, 1);
    mem.holdAsyncSyncs(); // keep it in flight whatever the runtime's timer order
    const inFlight = kind.syncAsync(log);
    await untilInFlight(mem);
    kind.append(log, 2);
    const queued = kind.syncAsync(log);
    const closes = fs.stats.closes;
    log.close(); // synchronous: syncs everything now
    assert.is(log.state, 'closed');
    assert.is(fs.stats.closes, closes, 'a handle was closed while its fsync was in flight');
    await expectCode(() => kind.open(mem, path), 'LOCKED', 'reopened before the in-flight fsync completed');
    await rejectsCode(kind.syncAsync(log), 'CLOSED', 'syncAsync after close');
    mem.releaseAsyncSyncs();
    await inFlight;
    await queued;
    await immediate();
    if (kind.oneHandle) assert.is(fs.stats.closes, closes + 1, 'the handle was not closed once the fsync completed');
    else assert.ok(fs.stats.closes > closes, 'the handles were not closed once the fsync completed');
    assert.is(fs.stats.closedUnderSync, 0);
    mem.crash({ mode: 'drop' });
    if (kind.closedCleanly) assert.ok(kind.closedCleanly(mem, path), 'the state record written after close replaced the clean close');
    const appended = [kind.record(1), kind.record(2)];
    assert.equal(kind.read(mem, path), kind.readOrder ? kind.readOrder(appended) : appended, 'both records survive the power cut');
  });

  t('a failed open leaves no lock and no handle behind', async () => {
    const { fs: mem, path } = setup();
    const fs = counting(mem);
    kind.open(fs, path).close();
    assert.is(fs.live, 0, 'close left a handle open');
    mem.injectFault({ op: 'read', code: 'EIO' });
    await expectCode(() => kind.open(fs, path), 'IO_ERROR', 'open with a failing read');
    mem.clearFaults();
    assert.is(fs.live, 0, 'the failed open left a handle open');
    kind.open(fs, path).close(); // not LOCKED
  });

  t('a lock() that throws a platform error is IO_ERROR', async () => {
    const { fs, path } = setup();
    const broken = forward(fs);
    broken.lock = () => { throw Object.assign(new Error('lock failed'), { code: 'EIO' }); };
    await expectCode(() => kind.open(broken, path), 'IO_ERROR', 'open');
  });

  t('Symbol.dispose closes', async () => {
    const { fs, path } = setup();
    const log = kind.open(fs, path);
    log[Symbol.dispose]();
    assert.is(log.state, 'closed');
    await expectCode(() => kind.append(log, 1), 'CLOSED', 'append after dispose');
  });
}

test.run();
