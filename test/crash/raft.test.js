// WalLog crash tests on the simulator, against MemoryRaftLog as the model.
// 1. A seeded random workload (appends, conflicting appends, truncates, hard
//    states, snapshots, syncs; empty and tiny payloads) with power cuts: at a
//    random mutating file-system call (CrashPointFs) or between operations,
//    unsynced writes kept, dropped or torn. After each reopen the log must
//    equal the model as of the last completed sync() or a later operation
//    boundary: never half an operation, never a lost synced one.
// 2. A power cut before every mutating call of applySnapshot (snapshot file,
//    mark, segment sealing, deletion): the log is the state before or after.
import process from 'node:process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MemoryFileSystem, MemoryRaftLog, WalLog } from 'walcore';
import { hex, rng, seedFor } from '../support/helpers.js';
import { CrashPointFs } from '../support/crash-point-fs.js';

const OPTS = { segmentTargetSize: 4096 };
const MODES = ['random', 'drop', 'tear', 'keep'];

/** A canonical description of everything a RaftLog exposes. */
function stateOf(log) {
  const snap = log.snapshotIndex();
  const last = log.lastIndex();
  const ents = last > snap ? log.entries(snap + 1, last).map((e) => `${e.index}:${e.term}:${e.type}:${hex(e.payload)}`) : [];
  const s = log.snapshot();
  return JSON.stringify({ snap, snapTerm: log.termAt(snap), last, lastTerm: log.lastTerm(), hs: log.hardState(), data: s ? hex(s.data) : null, ents });
}

/** A MemoryRaftLog holding `log`'s state. */
function modelOf(log) {
  const m = new MemoryRaftLog();
  const s = log.snapshot();
  if (s) m.applySnapshot(s);
  const base = log.snapshotIndex();
  if (base > m.snapshotIndex()) {
    // compacted past the snapshot (compact()): filler entries up to the base, then the same compaction
    const term = log.termAt(base);
    const fill = [];
    for (let i = m.lastIndex() + 1; i <= base; i++) fill.push({ index: i, term, payload: new Uint8Array(0) });
    m.append(fill);
    m.compact(base);
  }
  if (log.lastIndex() > log.snapshotIndex()) m.append(log.entries(log.snapshotIndex() + 1, log.lastIndex()));
  const hs = log.hardState();
  if (hs.term > 0 || hs.vote !== null || hs.commit > 0) m.setHardState(hs);
  return m;
}

function payload(r) {
  const x = r.next();
  if (x < 0.2) return new Uint8Array(0);
  if (x < 0.4) return r.bytes(1);
  if (x < 0.95) return r.bytes(r.int(2, 300));
  return r.bytes(r.int(1000, 3000));
}

/** One random valid operation on the model; returns a function doing the same on a RaftLog, and whether it is a sync point. */
function nextOp(r, m) {
  const snap = m.snapshotIndex();
  const last = m.lastIndex();
  const x = r.next();
  if (x < 0.45) {
    const start = r.int(Math.max(snap + 1, last - 3), last + 1);
    const n = r.int(0, 5);
    let term = Math.max(m.termAt(start - 1), m.lastTerm()) + (r.next() < 0.3 ? 1 : 0);
    if (start <= last && r.next() < 0.3) term = m.termAt(start); // partly matching
    const ents = [];
    for (let i = 0; i < n; i++) ents.push({ index: start + i, term, payload: payload(r), type: r.int(0, 3) });
    return { name: `append ${start}+${n}@${term}`, run: (log) => log.append(ents) };
  }
  if (x < 0.53 && last > snap) {
    const from = r.int(snap + 1, last + 1);
    return { name: `truncate ${from}`, run: (log) => log.truncate(from) };
  }
  if (x < 0.63) {
    const hs = m.hardState();
    const term = hs.term + (r.next() < 0.3 ? 1 : 0);
    const vote = term === hs.term && hs.vote !== null ? hs.vote : (r.next() < 0.5 ? null : r.int(0, 4));
    const s = { term, vote, commit: r.int(0, last) };
    return { name: `hardState ${JSON.stringify(s)}`, run: (log) => log.setHardState(s) };
  }
  if (x < 0.82) return { name: 'sync', sync: true, run: (log) => log.sync() };
  if (x < 0.86 && last > snap) {
    const upTo = r.next() < 0.2 ? last : r.int(snap + 1, last);
    return { name: `compact ${upTo}`, sync: true, run: (log) => log.compact(upTo) };
  }
  if (x < 0.92) {
    const index = snap + r.int(1, Math.max(1, last - snap + 2));
    const term = index <= last && r.next() < 0.7 ? m.termAt(index) : m.lastTerm() + r.int(0, 1);
    const data = r.bytes(r.int(0, 50));
    return { name: `snapshot ${index}@${term}`, sync: true, run: (log) => log.applySnapshot({ index, term, data }) };
  }
  return { name: 'crash', crash: true };
}

function reopen(mem, candidates, ctx, opts = OPTS) {
  let log;
  try {
    log = WalLog.open('/r', { fs: mem, ...opts });
  } catch (e) {
    assert.unreachable(`${ctx}: does not open after a crash: ${e.code} ${e.message}`);
  }
  const got = stateOf(log);
  if (!candidates.includes(got)) {
    assert.unreachable(`${ctx}: recovered state is not the last synced state or a later boundary\n got ${got.slice(0, 400)}\n synced ${candidates[0].slice(0, 400)}`);
  }
  return log;
}

// The same workload with preallocated segments (zeros ahead of the writes: a torn tail to recovery).
for (const [label, opts] of [['', OPTS], [' (preallocate)', { ...OPTS, preallocate: true }]]) {
test(`random workload with power cuts matches the model as of the last sync or a later boundary${label}`, () => {
  const seed = seedFor(`raft crash workload${label}`);
  const r = rng(seed);
  for (let life = 0; life < 30; life++) {
    const mem = new MemoryFileSystem();
    let fs = new CrashPointFs(mem);
    let log = WalLog.open('/r', { fs, ...opts });
    let model = new MemoryRaftLog();
    let candidates = [stateOf(model)];
    for (let step = 0; step < 120; step++) {
      const op = nextOp(r, model);
      const ctx = `seed ${seed} life ${life} step ${step} (${op.name})`;
      if (process.env.RAFT_TRACE && life === Number(process.env.RAFT_TRACE)) console.log(ctx, model.snapshotIndex(), model.lastIndex(), fs.ops);
      const cutAt = r.next() < 0.05 ? fs.ops + r.int(1, 6) : Infinity;
      if (op.crash || cutAt !== Infinity) {
        let interrupted = false;
        if (!op.crash) {
          op.run(model);
          candidates.push(stateOf(model));
          fs.crashAt = cutAt;
          try { op.run(log); } catch (e) { if (!fs.crashed) throw e; interrupted = true; }
          if (!interrupted && op.sync) candidates = [stateOf(model)];
        }
        mem.crash({ seed: seed + step, mode: MODES[(life + step) % MODES.length] });
        fs = new CrashPointFs(mem);
        log = reopen(fs, candidates, `${ctx}${interrupted ? ` cut at ${fs.at ?? 'a call'}` : ''}`, opts);
        model = modelOf(log);
        candidates = [stateOf(model)];
        continue;
      }
      op.run(model);
      op.run(log);
      if (op.sync) candidates = [stateOf(model)];
      else candidates.push(stateOf(model));
      if (step % 10 === 0) assert.is(stateOf(log), stateOf(model), `${ctx}: live state`);
    }
    log.close();
    const again = WalLog.open('/r', { fs: mem, ...opts });
    assert.is(stateOf(again), stateOf(model), `seed ${seed} life ${life}: clean close and reopen`);
    again.verify();
    again.close();
  }
});
}

/** A deterministic log of several segments, synced, on `fs`. */
function build(fs) {
  const log = WalLog.open('/r', { fs, ...OPTS });
  for (let i = 1; i <= 60; i++) log.append([{ index: i, term: 1 + (i >> 4), payload: new Uint8Array(i % 5 === 0 ? 0 : 150).fill(i) }]);
  log.setHardState({ term: 4, vote: 2, commit: 40 });
  log.sync();
  return log;
}

for (const [name, snap] of [['inside the log', { index: 45, term: 3 }], ['past the log', { index: 80, term: 7 }]]) {
  test(`a power cut before every mutating call of applySnapshot (${name}) leaves the state before or after`, () => {
    const seed = seedFor(`raft snapshot cut ${name}`);
    const s = { ...snap, data: new Uint8Array([1, 2, 3]) };
    // Count the calls.
    const probe = new CrashPointFs(new MemoryFileSystem());
    const model = modelOf(build(probe));
    const before = stateOf(model);
    const base = probe.ops;
    const log0 = WalLog.open('/r', { fs: new MemoryFileSystem(), ...OPTS });
    log0.close();
    model.applySnapshot(s);
    const after = stateOf(model);
    const p2 = new CrashPointFs(new MemoryFileSystem());
    build(p2).applySnapshot(s);
    const calls = p2.ops - base;
    assert.ok(calls >= 5, `${calls} mutating calls`);
    for (let k = 1; k <= calls; k++) {
      for (const mode of MODES) {
        const mem = new MemoryFileSystem();
        const fs = new CrashPointFs(mem);
        const log = build(fs);
        fs.crashAt = fs.ops + k;
        try { log.applySnapshot(s); assert.unreachable('no cut'); } catch (e) { if (!fs.crashed) throw e; }
        mem.crash({ seed: seed + k, mode });
        const again = reopen(mem, [before, after], `seed ${seed} cut ${k}/${calls} before ${fs.at} mode ${mode}`);
        again.verify();
        // it keeps working
        again.append([{ index: again.lastIndex() + 1, term: again.lastTerm(), payload: new Uint8Array([9]) }]);
        again.sync();
        again.close();
      }
    }
  });
}

for (const [name, upTo] of [['inside the log', 45], ['the whole log', 60]]) {
  test(`a power cut before every mutating call of compact (${name}) leaves the state before or after`, () => {
    const seed = seedFor(`raft compact cut ${name}`);
    const model = modelOf(build(new CrashPointFs(new MemoryFileSystem())));
    const before = stateOf(model);
    model.compact(upTo);
    const after = stateOf(model);
    const probe = new CrashPointFs(new MemoryFileSystem());
    const log0 = build(probe);
    const base = probe.ops;
    log0.compact(upTo);
    const calls = probe.ops - base;
    assert.ok(calls >= 3, `${calls} mutating calls`);
    let sawAfter = 0;
    for (let k = 1; k <= calls; k++) {
      for (const mode of MODES) {
        const mem = new MemoryFileSystem();
        const fs = new CrashPointFs(mem);
        const log = build(fs);
        fs.crashAt = fs.ops + k;
        try { log.compact(upTo); assert.unreachable('no cut'); } catch (e) { if (!fs.crashed) throw e; }
        mem.crash({ seed: seed + k, mode });
        const again = reopen(mem, [before, after], `seed ${seed} cut ${k}/${calls} before ${fs.at} mode ${mode}`);
        if (stateOf(again) === after) sawAfter++;
        again.verify();
        again.append([{ index: again.lastIndex() + 1, term: again.lastTerm(), payload: new Uint8Array([9]) }]);
        again.sync();
        again.close();
        assert.ok(WalLog.open('/r', { fs: mem, ...OPTS }).lastIndex() > upTo - 1, 'reopens after more work');
      }
    }
    assert.ok(sawAfter > 0, 'some cuts come after the compaction is durable');
    // without a cut: the disk holds the live entries plus at most one segment
    const mem = new MemoryFileSystem();
    const log = build(mem);
    log.compact(upTo);
    const segs = mem.list('/r').filter((f) => f.endsWith('.seg'));
    const bytes = segs.reduce((n, f) => n + mem.readFile(`/r/${f}`).length, 0);
    assert.ok(bytes <= (60 - upTo) * 220 + 2 * OPTS.segmentTargetSize, `${bytes} bytes in ${segs.length} segments after compact(${upTo})`);
    log.close();
  });
}

test('a multi-frame write torn mid-way is cut whole at open, so a later write without entries cannot complete it (no phantom entries)', () => {
  // One append of entries 4..9 is one write of 7 frames (hard state + 6 entries, all but the last with RAFT_FLAG_MORE).
  // A power cut tears it at 1 KiB sectors: we look (seeded) for a tear that keeps its first frames whole but not its
  // last. Open must cut the file back to where the write started; else the surviving frames stay in the file, still
  // waiting for a last frame, and the hard-state frame a later sync() writes right after them would complete the
  // write: entries 4.. would reappear after the next reopen (and the torn hard state with them).
  const seed = seedFor('raft torn multi-frame write');
  const sectorSize = 1024;
  const frame = (n) => 32 + 16 + n;
  let found = false;
  for (let k = 0; k < 400 && !found; k++) {
    const mem = new MemoryFileSystem();
    const fs = new CrashPointFs(mem);
    let log = WalLog.open('/r', { fs });
    log.append([1, 2, 3].map((i) => ({ index: i, term: 1, payload: new Uint8Array(100).fill(i) })));
    log.setHardState({ term: 1, vote: 1, commit: 3 });
    log.sync();
    const name = mem.list('/r').find((x) => x.endsWith('.seg'));
    const start = mem.readFile(`/r/${name}`).length - 32; // the sync marker is overwritten by the next write
    log.setHardState({ term: 2, vote: 2, commit: 3 }); // rides in the torn write
    const sizes = [900, 1500, 700, 1200, 800, 1000];
    log.append(sizes.map((n, j) => ({ index: 4 + j, term: 2, payload: new Uint8Array(n).fill(4 + j) })));
    fs.crashAt = fs.ops + 2; // the write goes out, the power is cut before the fsync
    try { log.sync(); assert.unreachable('no cut'); } catch (e) { if (!fs.crashed) throw e; }
    const image = mem.readFile(`/r/${name}`); // what the process wrote (page cache)
    const frameEnds = [start + 64]; // the hard-state frame, then each entry's
    for (const n of sizes) frameEnds.push(frameEnds[frameEnds.length - 1] + frame(n));
    assert.is(image.length, frameEnds[frameEnds.length - 1], 'the whole write reached the page cache');
    mem.crash({ seed: seed + k, mode: 'tear', sectorSize });
    const torn = mem.readFile(`/r/${name}`);
    const intact = (from, to) => torn.length >= to && torn.subarray(from, to).every((b, i) => b === image[from + i]);
    // whole frames that survived from the start of the write (the scan reads them before failing)
    let whole = 0;
    while (whole < frameEnds.length && intact(start, frameEnds[whole])) whole++;
    if (whole < 2 || whole === frameEnds.length) continue; // need >= 1 whole entry frame and a lost last frame
    found = true;
    const ctx = `seed ${seed + k}: ${whole - 1} of 6 entry frames survived whole`;
    log = WalLog.open('/r', { fs: mem });
    assert.is(log.lastIndex(), 3, `${ctx}: no phantom entries`);
    assert.equal(log.hardState(), { term: 1, vote: 1, commit: 3 }, `${ctx}: the torn write's hard state is gone with it`);
    // The recipe: cut where the unfinished write started, fsync, then a 32-byte sync marker there, fsync.
    const after = mem.readFile(`/r/${name}`);
    assert.is(after.length, start + 32, `${ctx}: the file is cut where the unfinished write started (+ a sync marker)`);
    assert.ok(after.subarray(0, start).every((b, i) => b === image[i]), `${ctx}: the synced prefix is untouched`);
    assert.is(log.openReport.truncatedBytes, torn.length - start, ctx);
    // A write that carries no entries, right after the cut.
    log.setHardState({ term: 3, vote: null, commit: 2 });
    log.sync();
    log.close();
    log = WalLog.open('/r', { fs: mem });
    assert.is(log.lastIndex(), 3, `${ctx}: still no phantom entries after a later write`);
    assert.is(log.lastTerm(), 1, ctx);
    assert.equal(log.hardState(), { term: 3, vote: null, commit: 2 }, ctx);
    assert.is(log.entry(4), undefined, ctx);
    log.verify();
    log.append([{ index: 4, term: 3, payload: new Uint8Array([7]) }]);
    log.sync();
    log.close();
    log = WalLog.open('/r', { fs: mem });
    assert.is(log.lastIndex(), 4, ctx);
    assert.equal(log.entry(4).payload, new Uint8Array([7]), ctx);
    log.close();
  }
  assert.ok(found, `seed ${seed}: no tear in 400 tries kept the first frames of the write but not its last`);
});

test('raft-wal #31: crash after a synced suffix truncation and re-append recovers the new suffix', () => {
  for (const mode of MODES) {
    const mem = new MemoryFileSystem();
    let log = WalLog.open('/r', { fs: mem, ...OPTS });
    for (let i = 1; i <= 40; i++) log.append([{ index: i, term: 1, payload: new Uint8Array(200).fill(i) }]);
    log.sync();
    log.truncate(10);
    log.append([{ index: 10, term: 2, payload: new Uint8Array([2]) }]);
    log.sync();
    mem.crash({ seed: 7, mode });
    log = WalLog.open('/r', { fs: mem, ...OPTS });
    assert.is(log.lastIndex(), 10, mode);
    assert.is(log.entry(10).term, 2, mode);
    assert.is(log.entry(9).payload[0], 9, mode);
    log.close();
  }
});

test.run();
