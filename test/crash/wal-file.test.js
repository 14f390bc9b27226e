// crash: seeded random workloads on MemoryFileSystem, crashing at random
// points and at every sync, with unsynced writes kept, dropped or torn at
// sector granularity, and with injected EIO/ENOSPC on write, truncate and
// sync. After every crash:
//   - open with 'truncate-partial' must succeed (an ordinary crash never
//     leaves a log that cannot open);
//   - the replay is exactly a prefix of what was appended and contains every
//     event acknowledged by flush();
//   - a strict open either succeeds or fails with TORN_TAIL and a frame
//     reason, never CORRUPTED.
// Replay a failure with WALCORE_SEED=<printed seed>.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MemoryFileSystem, WalError, WalFsReader, WalFsWriter } from 'walcore';
import { rng, seedFor } from '../support/helpers.js';

const PATH = '/data/log.wal';
const MODES = ['random', 'keep', 'drop', 'tear'];
const SECTORS = [16, 512, 4096];
const FRAME_REASONS = ['incomplete-header', 'incomplete-payload', 'bad-magic', 'unsupported-version', 'crc-mismatch', 'length-over-bound', 'salt-mismatch', 'bad-type', 'after-sync-mark'];

/** Payload sizes: many empty and tiny ones (a frame the size of a sync marker), some large. */
function payloadFor(r, seq) {
  const x = r.next();
  const size = x < 0.2 ? 0 : x < 0.35 ? r.int(1, 8) : x < 0.45 ? r.int(600, 5000) : r.int(0, 200);
  const p = new Uint8Array(size);
  for (let i = 0; i < size; i++) p[i] = (seq * 31 + i) & 0xff;
  return p;
}

/** Check the state after a crash against the model; returns the surviving events. */
function verify(mem, log, acked, where, opts = {}) {
  let strictError;
  try {
    WalFsWriter.open(PATH, { ...opts, fs: mem, repair: 'strict' }).close();
  } catch (e) {
    if (!(e instanceof WalError)) throw e;
    strictError = e;
    assert.is(e.code, 'TORN_TAIL', `${where}: strict open: ${e.message}`);
    assert.ok(FRAME_REASONS.includes(e.reason), `${where}: reason ${e.reason}`);
  }
  let w;
  try {
    w = WalFsWriter.open(PATH, { ...opts, fs: mem, repair: 'truncate-partial' });
  } catch (e) {
    assert.unreachable(`${where}: truncate-partial open failed after an ordinary crash: ${e.message}`);
  }
  // With preallocate the open writer's file ends in zeros: a strict reader would call them a torn tail.
  const r = WalFsReader.open(PATH, { fs: mem, strict: !opts.preallocate });
  const got = [...r];
  r.close();
  assert.ok(got.length <= log.length, `${where}: ${got.length} events but only ${log.length} appended (phantom events)`);
  assert.ok(got.length >= acked, `${where}: ${got.length} events survive but ${acked} were acknowledged`);
  for (let i = 0; i < got.length; i++) {
    if (got[i].sequence !== log[i].sequence) assert.unreachable(`${where}: event ${i} has sequence ${got[i].sequence}, expected ${log[i].sequence}`);
    assert.equal(got[i].payload, log[i].payload, `${where}: payload of ${log[i].sequence}`);
  }
  assert.is(w.currentSequence, got.length ? got.at(-1).sequence : 0, `${where}: currentSequence`);
  return { w, survivors: got.length, strictError };
}

/**
 * Run one life of random operations on an open writer. Returns when the
 * budget of operations is spent or the writer is poisoned.
 */
function randomLife(w, r, model, mem, ops) {
  for (let i = 0; i < ops; i++) {
    const x = r.next();
    try {
      if (x < 0.6) {
        const seq = (model.log.at(-1)?.sequence ?? 0) + (r.next() < 0.9 ? 1 : r.int(2, 1000));
        const payload = payloadFor(r, seq);
        w.append({ sequence: seq, payload });
        model.log.push({ sequence: seq, payload });
      } else if (x < 0.85) {
        w.flush();
        model.acked = model.log.length;
      } else if (x < 0.9) {
        mem.injectFault({ op: 'write', code: r.next() < 0.5 ? 'EIO' : 'ENOSPC', partialBytes: r.int(0, 300) });
      } else if (x < 0.93) {
        mem.injectFault({ op: 'write', code: 'ENOSPC', partialBytes: r.int(0, 100) });
        mem.injectFault({ op: 'truncate', code: 'EIO' });
      } else if (x < 0.95) {
        mem.injectFault({ op: 'sync', code: 'EIO' });
      } else {
        try {
          w.close();
          model.acked = model.log.length;
        } catch (e) {
          // close() releases even when its final flush fails; the buffered events are gone.
          assert.ok(['IO_ERROR', 'POISONED'].includes(e.code), e.message);
          assert.is(w.state, 'closed');
        }
        return 'closed';
      }
    } catch (e) {
      if (!(e instanceof WalError)) throw e;
      assert.ok(['IO_ERROR', 'POISONED'].includes(e.code), e.message);
      if (e.code === 'POISONED') return 'poisoned';
    }
  }
  return 'running';
}

// The same workloads with preallocate (zeros written ahead of the frames: a torn tail to recovery), fewer rounds.
for (const [label, opts, rounds] of [['', {}, 120], [' (preallocate)', { preallocate: true }, 15]]) {
test(`random workloads survive random crashes (drop / tear / keep, lost directory entries)${label}`, () => {
  const seed = seedFor(`crash random${label}`);
  const r = rng(seed);
  let crashes = 0;
  let tornSeen = 0;
  for (let round = 0; round < rounds; round++) {
    // The simulator's default models Linux: a failed fsync loses the writes it covered.
    const mem = new MemoryFileSystem();
    mem.mkdir('/data');
    mem.syncDir('/');
    const model = { log: [], acked: 0 };
    for (let life = 0; life < 10; life++) {
      const where = `seed ${seed} round ${round} life ${life}`;
      let w;
      if (life === 0) w = WalFsWriter.open(PATH, { ...opts, fs: mem });
      else {
        const v = verify(mem, model.log, model.acked, where, opts);
        w = v.w;
        if (v.strictError) tornSeen++;
        model.log.length = v.survivors;
        model.acked = v.survivors; // open synced what it kept
      }
      const state = randomLife(w, r, model, mem, r.int(5, 60));
      mem.clearFaults();
      if (state === 'closed') continue;
      mem.crash({ seed: r.int(0, 2 ** 31), mode: MODES[r.int(0, 3)], sectorSize: SECTORS[r.int(0, 2)] });
      crashes++;
    }
  }
  // About half of all lives end in a crash (75 of 150 for 15 rounds, sd ~6); fewer than 3 in 10 means the workload broke.
  assert.ok(crashes > rounds * 3, `only ${crashes} crashes ran`);
  assert.ok(tornSeen > 0, 'the workload never produced a torn tail, so it tested too little');
});

test(`crash right after every sync and right when each sync fails${label}`, () => {
  const seed = seedFor(`crash at every sync${label}`);
  // One deterministic workload; count its syncs.
  const workload = (mem, stopAfterSync, failSync) => {
    const r = rng(seed);
    const model = { log: [], acked: 0 };
    const w = WalFsWriter.open(PATH, { ...opts, fs: mem, bufferSize: 700 });
    const startSyncs = mem.calls.sync;
    if (failSync !== undefined) mem.injectFault({ op: 'sync', nth: failSync, code: 'EIO' });
    for (let i = 0; i < 120; i++) {
      const seq = i + 1;
      const payload = payloadFor(r, seq);
      try {
        w.append({ sequence: seq, payload });
        model.log.push({ sequence: seq, payload });
        if (r.next() < 0.25) { w.flush(); model.acked = model.log.length; }
      } catch (e) {
        assert.is(e.code, 'POISONED');
        break;
      }
      if (stopAfterSync !== undefined && mem.calls.sync - startSyncs >= stopAfterSync) {
        // A few unsynced appends, then the power goes.
        for (let k = 0; k < 3; k++) {
          const s = seq + 1 + k;
          const p = payloadFor(r, s);
          w.append({ sequence: s, payload: p });
          model.log.push({ sequence: s, payload: p });
        }
        try { w.flush(); } catch { /* only the write matters */ }
        break;
      }
    }
    return { model, syncs: mem.calls.sync - startSyncs };
  };
  const probe = new MemoryFileSystem();
  probe.mkdir('/data');
  const total = workload(probe).syncs;
  assert.ok(total >= 10, `workload has only ${total} syncs`);
  let runs = 0;
  for (let k = 1; k <= total; k++) {
    for (const mode of MODES) {
      for (const failing of [false, true]) {
        const mem = new MemoryFileSystem();
        mem.mkdir('/data');
        mem.syncDir('/');
        const { model } = failing ? workload(mem, undefined, k) : workload(mem, k);
        mem.clearFaults();
        mem.crash({ seed: seed + k, mode, sectorSize: 16 });
        const { w } = verify(mem, model.log, model.acked, `seed ${seed} sync ${k} ${mode}${failing ? ' (failed)' : ''}`, opts);
        w.close();
        runs++;
      }
    }
  }
  assert.is(runs, total * 8);
});
}

test('a crash before the new file reached its directory leaves no log, and the next open starts clean', () => {
  const mem = new MemoryFileSystem();
  mem.mkdir('/data'); // never synced: even the directory may vanish
  mem.syncDir('/');
  mem.syncDir('/data');
  const w = WalFsWriter.open(PATH, { fs: mem });
  w.append({ sequence: 1, payload: new Uint8Array([1]) });
  mem.crash({ seed: 9, mode: 'drop', dirMode: 'drop' });
  // The file was created with the atomic recipe (synced before and after rename), so it exists.
  const again = WalFsWriter.open(PATH, { fs: mem });
  assert.is(again.currentSequence, 0);
  again.close();
  assert.equal(mem.list('/data').filter((n) => n.includes('.tmp-')), []);
});

test.run();
