// Shared by the async-sync tests of every log (test/logs/*/sync-async.test.js):
// a simulator with a durable /d, a macrotask wait, an awaited WalError code, waiting for an async sync in flight in the
// simulator, and a file system view that counts how handles were synced.
import * as assert from 'uvu/assert';
import { MemoryFileSystem, WalError } from 'walcore';

/** A macrotask later. */
export const immediate = () => new Promise((r) => setTimeout(r, 0));

/** A simulator with a durable directory /d. */
export const memFs = () => {
  const fs = new MemoryFileSystem();
  fs.mkdir('/d');
  fs.syncDir('/');
  return fs;
};

export const rejectsCode = async (p, code, where) => {
  try {
    await p;
  } catch (e) {
    assert.instance(e, WalError, `${where}: expected WalError ${code}, got ${e}`);
    assert.is(e.code, code, `${where}: ${e.message}`);
    return e;
  }
  assert.unreachable(`${where}: expected ${code}`);
};

/** Wait (a macrotask at a time) until the simulator has an async sync in flight. */
export async function untilInFlight(fs) {
  for (let i = 0; i < 100 && fs.pendingAsyncSyncs === 0; i++) await new Promise((r) => setImmediate(r));
  assert.ok(fs.pendingAsyncSyncs > 0, 'no async sync went in flight');
}

/**
 * A view of `base` whose handles record how they were synced and whether
 * close() came while a syncAsync() was pending. Spins a macrotask ticker
 * while a syncAsync() is pending and counts how many ticks ran before it
 * settled: a sync run on the JS thread would settle with none.
 */
export function instrumented(base) {
  const view = { name: base.name, stats: { sync: 0, syncAsync: 0, ticksDuring: 0, syncsWithTicks: 0, closedUnderSync: 0, closes: 0 } };
  for (const m of ['stat', 'rename', 'remove', 'list', 'mkdir', 'syncDir', 'lock']) view[m] = base[m].bind(base);
  view.open = (path, flags) => {
    const h = base.open(path, flags);
    let pending = 0;
    return {
      path: h.path,
      read: (b, p) => h.read(b, p),
      write: (b, p) => h.write(b, p),
      truncate: (s) => h.truncate(s),
      size: () => h.size(),
      sync: () => { view.stats.sync++; h.sync(); },
      syncAsync: h.syncAsync === undefined ? undefined : () => {
        view.stats.syncAsync++;
        pending++;
        let ticks = 0;
        let done = false;
        const tick = () => { if (!done) { ticks++; setImmediate(tick); } };
        setImmediate(tick);
        const settle = () => {
          done = true;
          pending--;
          view.stats.ticksDuring += ticks;
          if (ticks > 0) view.stats.syncsWithTicks++;
        };
        let p;
        try { p = h.syncAsync(); } catch (e) { settle(); throw e; }
        return p.then(settle, (e) => { settle(); throw e; });
      },
      close: (abandon) => { view.stats.closes++; if (pending > 0) view.stats.closedUnderSync++; h.close(abandon); },
      abandonsSync: h.abandonsSync,
    };
  };
  return view;
}
