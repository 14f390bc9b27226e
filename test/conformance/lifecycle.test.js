// conformance: one lifecycle, every log. The same cases run over every log
// kind, so a fix in the shared lifecycle (host/lifecycle/lifecycle.ts)
// reaches all of them and a log that drifts from it fails here. A new log
// joins by adding one entry to LOGS (all-logs.js).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MemoryFileSystem, WalError } from 'walcore';
import { LOGS } from './all-logs.js';

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

function setup() {
  const fs = new MemoryFileSystem();
  fs.mkdir('/data');
  fs.syncDir('/');
  return { fs, path: '/data/log' };
}

const expectCode = async (fn, code, where) => {
  try {
    await fn();
  } catch (e) {
    assert.instance(e, WalError, `${where}: expected WalError ${code}, got ${e}`);
    assert.is(e.code, code, `${where}: ${e.message}`);
    return;
  }
  assert.unreachable(`${where}: expected ${code}`);
};

for (const kind of LOGS) {
  const t = (name, fn) => test(`${kind.name}: ${name}`, fn);

  t('close is idempotent and every later call is CLOSED', async () => {
    const { fs, path } = setup();
    const log = kind.open(fs, path);
    kind.append(log, 1);
    log.close();
    log.close();
    assert.is(log.state, 'closed');
    await expectCode(() => kind.append(log, 2), 'CLOSED', 'append');
    await expectCode(() => kind.sync(log), 'CLOSED', 'sync');
    await expectCode(() => kind.syncAsync(log), 'CLOSED', 'syncAsync');
  });

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

  t('a syncAsync() pending at close resolves: close synced its data', async () => {
    const { fs, path } = setup();
    const log = kind.open(fs, path);
    kind.append(log, 1);
    const pending = kind.syncAsync(log);
    log.close();
    await pending;
  });

  t('concurrent syncAsync() callers share syncs and all resolve', async () => {
    const { fs, path } = setup();
    const log = kind.open(fs, path);
    const waits = [];
    for (let i = 0; i < 32; i++) {
      kind.append(log, i);
      waits.push(kind.syncAsync(log));
    }
    await Promise.all(waits);
    assert.ok(log.groupCommitStats.syncs < 32, `${log.groupCommitStats.syncs} syncs for 32 callers`);
    log.close();
  });

  t('a second writer is LOCKED until the first closes', () => {
    const { fs, path } = setup();
    const log = kind.open(fs, path);
    try {
      kind.open(fs, path);
      assert.unreachable('a second writer opened');
    } catch (e) {
      assert.is(e.code, 'LOCKED', e.message);
    }
    log.close();
    kind.open(fs, path).close();
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
