// AppendLogSnapshot crash tests on the simulator, against a plain Map as the model.
// 1. A seeded random workload (batches of puts/deletes with empty and tiny
//    values, syncs, compactions through a tiny threshold, explicit compact())
//    with power cuts at a random mutating call (CrashPointFs) or between
//    operations, unsynced writes kept, dropped or torn. After each reopen the
//    store must equal the model after some batch between the last
//    acknowledged one (sync, { sync: true }, compaction) and the last one
//    attempted: never half a batch, never a lost acknowledged one; its
//    cursor must be that batch's.
// 2. A power cut before every mutating call of compact(): the store reopens
//    to the state before or after (identical folds), never anything else.
// 3. A power cut before every mutating call of exportTo() and of import():
//    the destination is absent or complete (import of an export verifies).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AppendLogSnapshot, MemoryFileSystem, WatchCursor } from 'walcore';
import { hex, rng, seedFor } from '../support/helpers.js';
import { CrashPointFs } from '../support/crash-point-fs.js';

const MODES = ['random', 'drop', 'tear', 'keep'];
const rev = (n) => WatchCursor.fromRevision(n);

const stateOf = (store) => JSON.stringify([store.cursor().toHex(), store.range('').map((e) => [e.key, hex(e.value), hex(e.version)])]);
const modelState = (map, r) => JSON.stringify([r === 0 ? '' : rev(r).toHex(), [...map.entries()].sort((a, b) => Buffer.compare(Buffer.from(a[0]), Buffer.from(b[0]))).map(([k, v]) => [k, hex(v.value), hex(v.version)])]);

function value(r) {
  const x = r.next();
  if (x < 0.25) return new Uint8Array(0);
  if (x < 0.5) return r.bytes(1);
  if (x < 0.97) return r.bytes(r.int(2, 200));
  return r.bytes(r.int(2000, 6000));
}

function randomBatch(r, n) {
  const batch = [];
  for (let i = 0; i < n; i++) {
    const key = `k${r.int(0, 30)}${r.next() < 0.1 ? '\u{1F600}' : ''}`;
    if (r.next() < 0.25) batch.push({ type: 'delete', key });
    else batch.push({ type: 'put', key, value: value(r), version: r.next() < 0.5 ? r.bytes(8) : r.bytes(r.int(0, 10)) });
  }
  return batch;
}

function applyModel(map, batch) {
  const m = new Map(map);
  for (const u of batch) {
    if (u.type === 'put') m.set(u.key, { value: u.value, version: u.version ?? new Uint8Array(0) });
    else m.delete(u.key);
  }
  return m;
}

test('model-based: random batches, syncs, compactions and power cuts', () => {
  const seed = seedFor('kv-snapshot model');
  const r = rng(seed);
  const mem = new MemoryFileSystem();
  mem.mkdir('/w');
  mem.syncDir('/');
  const path = '/w/fold.kv';
  const opts = (fs) => ({ fs, compactThreshold: r.int(0, 3) === 0 ? 0 : r.int(200, 20_000) });
  // states[i] = model after i batches (revision i); acked = index a crash must keep at least.
  let states = [new Map()];
  let acked = 0;
  let revision = 0;
  let crashes = 0;
  for (let round = 0; round < 60; round++) {
    const fs = new CrashPointFs(mem, r.next() < 0.7 ? r.int(1, 60) : Infinity);
    let store;
    try {
      ({ store } = AppendLogSnapshot.open(path, opts(fs)));
    } catch (e) {
      if (!fs.crashed) throw e;
    }
    if (store !== undefined) {
      // What open found must be a state between acked and the last attempted.
      const got = stateOf(store);
      let at = -1;
      for (let i = states.length - 1; i >= acked; i--) if (modelState(states[i], i) === got) { at = i; break; }
      assert.ok(at >= 0, `seed ${seed} round ${round}: reopened state is not one of batches ${acked}..${states.length - 1}: ${got.slice(0, 300)}`);
      states = states.slice(0, at + 1);
      revision = at;
      // Opening leaves nothing unsynced: what it showed is now the floor.
      acked = at;
      try {
        for (let op = 0; op < 25 && !fs.crashed; op++) {
          const x = r.next();
          if (x < 0.75) {
            const batch = randomBatch(r, r.int(0, 6));
            const next = applyModel(states[states.length - 1], batch);
            const sync = r.next() < 0.3;
            states.push(next); // attempted: a crash may keep it
            store.apply(batch, rev(revision + 1), { sync });
            revision++;
            if (sync) acked = revision;
          } else if (x < 0.9) {
            store.sync();
            acked = revision;
          } else {
            store.compact();
            acked = revision;
          }
          assert.is(stateOf(store), modelState(states[states.length - 1], revision), `seed ${seed}: live state`);
        }
        if (!fs.crashed && r.next() < 0.3) { store.close(); acked = revision; }
      } catch (e) {
        if (!fs.crashed) throw e;
      }
    }
    if (!fs.crashed && store !== undefined && store.state !== 'closed' && r.next() < 0.5) {
      try {
        store.close();
        acked = revision;
      } catch (e) {
        if (!fs.crashed) throw e;
      }
    }
    if (fs.crashed || store === undefined || store.state !== 'closed' || r.next() < 0.3) {
      crashes++;
      mem.crash({ seed: seed + round, mode: MODES[round % MODES.length] });
    }
    // A store left open by a crash is dead with its handles; its lock was released by crash().
  }
  assert.ok(crashes > 10);
});

/** A store with synced data and one unsynced batch, on a CrashPointFs; returns the states a crash may show. */
function prepared(crashAt) {
  const mem = new MemoryFileSystem();
  mem.mkdir('/w');
  mem.syncDir('/');
  const fs = new CrashPointFs(mem);
  const { store } = AppendLogSnapshot.open('/w/kv', { fs });
  for (let i = 1; i <= 20; i++) store.apply([{ type: 'put', key: `k${i % 6}`, value: new Uint8Array(i).fill(i), version: rev(i).bytes }], rev(i));
  store.sync();
  const synced = stateOf(store);
  store.apply([{ type: 'delete', key: 'k1' }, { type: 'put', key: 'new', value: new Uint8Array(0) }], rev(21));
  const full = stateOf(store);
  fs.crashAt = fs.ops + crashAt;
  return { mem, fs, store, synced, full };
}

test('compaction: a power cut before every mutating call leaves the old file or the new one', () => {
  const probe = prepared(Infinity);
  const before = probe.fs.ops;
  probe.store.compact();
  const calls = probe.fs.ops - before;
  assert.ok(calls >= 5, `compact made ${calls} mutating calls`);
  let sawNew = 0;
  for (let k = 1; k <= calls; k++) {
    for (const mode of MODES) {
      const { mem, fs, store, synced, full } = prepared(k);
      try {
        store.compact();
        assert.unreachable('compact survived the power cut');
      } catch (e) {
        assert.ok(fs.crashed, `call ${k}: ${e}`);
      }
      mem.crash({ seed: k, mode });
      const again = AppendLogSnapshot.open('/w/kv', { fs: mem });
      const got = stateOf(again.store);
      assert.ok(got === synced || got === full, `power cut before ${fs.at} (${mode}): neither the old nor the new state`);
      if (again.store.compactions === 0 && mem.list('/w').some((n) => n.includes('.tmp-'))) assert.unreachable('temp file left after open');
      if (got === full) sawNew++;
      again.store.close();
    }
  }
  assert.ok(sawNew > 0, 'no crash point kept the compacted file');
});

test('export: a power cut before every mutating call leaves no artifact or a complete one', () => {
  const probe = prepared(Infinity);
  const before = probe.fs.ops;
  probe.store.exportTo('/w/art');
  const calls = probe.fs.ops - before;
  let complete = 0;
  for (let k = 1; k <= calls; k++) {
    for (const mode of MODES) {
      const { mem, fs, store, full } = prepared(k);
      assert.throws(() => store.exportTo('/w/art'));
      assert.ok(fs.crashed);
      mem.crash({ seed: k * 7, mode, dirMode: mode === 'keep' ? 'keep' : 'random' });
      if (mem.stat('/w/art') === undefined) continue;
      const { store: imported } = AppendLogSnapshot.import('/w/art', '/w/imported', { fs: mem });
      assert.is(stateOf(imported), full, `power cut before ${fs.at} (${mode})`);
      imported.close();
      complete++;
    }
  }
  assert.ok(complete > 0);
});

test('import: a power cut before every mutating call leaves nothing at the destination or the whole store', () => {
  const setup = () => {
    const { mem, store, full } = prepared(Infinity);
    store.exportTo('/w/art');
    store.close();
    return { mem, full };
  };
  const { mem: m0 } = setup();
  const probe = new CrashPointFs(m0);
  AppendLogSnapshot.import('/w/art', '/w/dest', { fs: probe }).store.close();
  const calls = probe.ops;
  let whole = 0;
  for (let k = 1; k <= calls; k++) {
    for (const mode of MODES) {
      const { mem, full } = setup();
      const fs = new CrashPointFs(mem, k);
      assert.throws(() => AppendLogSnapshot.import('/w/art', '/w/dest', { fs }));
      mem.crash({ seed: k * 13, mode, dirMode: mode === 'keep' ? 'keep' : 'random' });
      if (mem.stat('/w/dest') === undefined) {
        // A retry succeeds (leftover staged files are removed).
        const { store } = AppendLogSnapshot.import('/w/art', '/w/dest', { fs: mem });
        assert.is(stateOf(store), full);
        store.close();
        assert.not.ok(mem.list('/w').some((n) => n.startsWith('dest.tmp-')), 'staged file left behind');
        continue;
      }
      const { store } = AppendLogSnapshot.open('/w/dest', { fs: mem });
      assert.is(stateOf(store), full, `power cut before ${fs.at} (${mode})`);
      store.close();
      whole++;
    }
  }
  assert.ok(whole > 0);
});

test('fsyncgate at open: a failed fsync while recovering a killed process\'s tail, then a reopen, never adopts bytes that are not on disk', () => {
  for (const mode of ['drop', 'random', 'tear']) {
    const mem = new MemoryFileSystem();
    mem.mkdir('/w');
    mem.syncDir('/');
    // A process that dies keeps its lock file in the real world; here a no-op lock lets the "next process" open.
    const fs = { name: 'memory' };
    for (const m of ['open', 'stat', 'rename', 'remove', 'list', 'mkdir', 'syncDir']) fs[m] = mem[m].bind(mem);
    fs.lock = (path) => ({ path, release() {} });
    const path = '/w/fold.kv';
    const { store } = AppendLogSnapshot.open(path, { fs });
    store.apply([{ type: 'put', key: 'a', value: new Uint8Array([1]) }], rev(1), { sync: true });
    store.apply([{ type: 'put', key: 'b', value: new Uint8Array([2]) }], rev(2)); // written, not synced: the process dies here
    store.apply([{ type: 'delete', key: 'a' }], rev(3));
    mem.injectFault({ op: 'sync', code: 'EIO' }); // the next open's fsync of that tail fails (Linux: pages marked clean)
    try { AppendLogSnapshot.open(path, { fs }); assert.unreachable('open succeeded'); } catch (e) { assert.is(e.code, 'IO_ERROR', e.message); }
    const again = AppendLogSnapshot.open(path, { fs }); // the next attempt succeeds: it must really write what it adopts
    assert.is(again.cursor.toRevision(), 3n);
    again.store.apply([{ type: 'put', key: 'c', value: new Uint8Array([3]) }], rev(4), { sync: true });
    mem.crash({ seed: 11, mode });
    const last = AppendLogSnapshot.open(path, { fs: mem, repair: 'strict' });
    assert.is(last.cursor.toRevision(), 4n, `${mode}: acknowledged data lost`);
    assert.equal(last.store.range('').map((e) => e.key), ['b', 'c']);
    last.store.close();
  }
});

test.run();
