// SegmentedWal crash matrix on the simulator: the power is cut before every
// mutating file-system call of a workload with tiny segments (so the cut
// lands inside appends, syncs, rolls, segment creation and truncation), then
// unsynced writes are kept, dropped or torn and unsynced directory entries
// kept or lost (the simulator's default models Linux: a failed fsync loses
// the writes it covered). Payloads are often empty or 1-8 bytes, so frames
// are as short as a record can be. After every cut: the WAL opens, no acknowledged record is
// lost, no phantom or duplicate LSN appears, and LSNs continue without a gap.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MemoryFileSystem, SegmentedWal, WalError } from 'walcore';
import { rng, seedFor } from '../support/helpers.js';
import { CrashPointFs } from '../support/crash-point-fs.js';
import { appendOne, checkReplay, fieldsFor, payloadFor } from '../support/fixtures/segmented-util.js';

const MODES = ['random', 'drop', 'tear', 'keep'];
const DIR_MODES = ['random', 'drop', 'keep'];
const OPTS = { dir: '/db/wal', segmentTargetSize: 300, bufferSize: 256 };

/** Append with the oracle updated first: a record whose append was cut may still reach the disk. */
function add(wal, st, gen, size) {
  const lsn = wal.nextLsn;
  st.oracle.set(lsn, { ...fieldsFor(lsn), payload: payloadFor(lsn, gen, size) });
  appendOne(wal, lsn, gen, size);
}

/** A payload size: a good share empty (20%) or 1-8 bytes (25%), the rest up to 90 bytes. */
function smallSize(r) {
  const y = r.next();
  return y < 0.2 ? 0 : y < 0.45 ? r.int(1, 8) : r.int(9, 90);
}

/** A deterministic mix of appends (many empty and tiny payloads), batches, syncs, rolls and truncations. */
function workload(wal, r, st, gen, steps) {
  for (let i = 0; i < steps; i++) {
    const x = r.next();
    if (x < 0.5) add(wal, st, gen, smallSize(r));
    else if (x < 0.58) {
      const n = r.int(2, 5);
      const first = wal.nextLsn;
      const batch = [];
      for (let j = 0; j < n; j++) {
        const size = smallSize(r);
        st.oracle.set(first + j, { ...fieldsFor(first + j), payload: payloadFor(first + j, gen, size) });
        batch.push({ ...fieldsFor(first + j), payload: payloadFor(first + j, gen, size) });
      }
      wal.appendBatch(batch);
    } else if (x < 0.8) {
      wal.sync();
      st.acked = Math.max(st.acked, wal.durableLsn);
    } else if (x < 0.86) {
      wal.roll();
    } else if (x < 0.94) {
      const cp = r.int(1, wal.nextLsn);
      st.cp = Math.max(st.cp, cp); // a cut truncation may have deleted below cp
      wal.truncateBefore(cp);
    } else {
      add(wal, st, gen, r.int(300, 700)); // larger than a segment
    }
  }
}

/** Reopen after a cut and check everything the WAL promised. Returns the reopened WAL. */
function verify(mem, st, ctx) {
  let wal;
  try {
    wal = SegmentedWal.open({ ...OPTS, fs: mem });
  } catch (e) {
    assert.unreachable(`${ctx}: the WAL does not open after an ordinary crash: ${e.code} ${e.message}`);
  }
  const recs = wal.replay();
  const [first, last] = checkReplay(recs, st.oracle, ctx);
  const need = Math.max(st.cp, 1);
  if (st.acked >= need) {
    assert.ok(recs.length > 0 && first <= need && last >= st.acked,
      `${ctx}: acknowledged LSNs ${need}..${st.acked} must survive, replay has ${first}..${last}`);
  }
  assert.is(wal.nextLsn, recs.length ? last + 1 : wal.activeSegmentFirstLsn, `${ctx}: next LSN continues the log`);
  for (const lsn of [...st.oracle.keys()]) if (lsn >= wal.nextLsn) st.oracle.delete(lsn); // lost: may be re-issued
  return wal;
}

function life(mem, crashAt, r, st, gen, steps) {
  const fs = new CrashPointFs(mem, crashAt);
  let wal;
  try {
    wal = SegmentedWal.open({ ...OPTS, fs });
    workload(wal, r, st, gen, steps);
    wal.sync();
    st.acked = Math.max(st.acked, wal.durableLsn);
    // Every workload ends by deleting sealed segments, so each seed's matrix also cuts
    // the power before a remove (a random workload may roll too rarely to delete any).
    wal.roll();
    const cp = wal.activeSegmentFirstLsn;
    st.cp = Math.max(st.cp, cp);
    wal.truncateBefore(cp);
  } catch (e) {
    if (!fs.crashed) throw e;
  }
  return { fs, wal };
}

test('power cut before every mutating call of a workload, each crash mode: nothing acknowledged lost, no phantom, no gap', () => {
  const seed = seedFor('segmented crash matrix');
  const dry = new MemoryFileSystem();
  const { fs } = life(dry, Infinity, rng(seed), { oracle: new Map(), acked: 0, cp: 0 }, 0, 70);
  const total = fs.ops;
  assert.ok(total > 100, `the workload makes ${total} calls`);
  const where = new Set();
  for (let k = 1; k <= total; k++) for (const mode of MODES) {
    const mem = new MemoryFileSystem();
    const st = { oracle: new Map(), acked: 0, cp: 0 };
    const cut = life(mem, k, rng(seed), st, 0, 70);
    if (!cut.fs.crashed) continue;
    where.add(cut.fs.at.split(' ')[0]);
    const dirMode = DIR_MODES[(k + MODES.indexOf(mode)) % DIR_MODES.length];
    mem.crash({ seed: seed + k, mode, dirMode, sectorSize: 64 });
    const ctx = `seed ${seed}, cut before call ${k} (${cut.fs.at}), mode ${mode}/${dirMode}`;
    let wal = verify(mem, st, ctx);
    // The next life continues the log with new bytes under re-issued LSNs.
    const r2 = rng(seed ^ k);
    for (let i = 0; i < 8; i++) add(wal, st, 1, r2.int(0, 200));
    wal.sync();
    st.acked = wal.durableLsn;
    wal.close();
    wal = verify(mem, st, `${ctx}, second life`);
    wal.close();
  }
  for (const op of ['write', 'sync', 'create', 'rename', 'syncDir', 'remove', 'truncate']) {
    assert.ok(where.has(op), `the matrix cut the power before a ${op} (cut before: ${[...where].join(', ')})`);
  }
});

test('many lives, each cut at a random call: the invariants hold across repeated crashes', () => {
  const seed = seedFor('segmented crash lives');
  const r = rng(seed);
  const mem = new MemoryFileSystem();
  const st = { oracle: new Map(), acked: 0, cp: 0 };
  let crashes = 0;
  for (let gen = 0; gen < 60; gen++) {
    const cut = life(mem, r.int(1, 160), rng(seed + gen), st, gen, 50);
    if (!cut.fs.crashed) {
      try { cut.wal.close(); } catch (e) { if (!cut.fs.crashed) throw e; }
    }
    if (cut.fs.crashed) {
      crashes++;
      mem.crash({ seed: seed + gen, mode: MODES[gen % 4], dirMode: DIR_MODES[gen % 3], sectorSize: 128 });
    }
    verify(mem, st, `seed ${seed}, life ${gen}`).close();
  }
  assert.ok(crashes > 30, `${crashes} lives ended in a crash`);
  assert.ok(st.acked > 100, `${st.acked} records acknowledged over all lives`);
});

test('a torn tail followed by intact records written after the last sync is cut, not reported', () => {
  const mem = new MemoryFileSystem();
  const wal = SegmentedWal.open({ ...OPTS, fs: mem, segmentTargetSize: 1 << 20, bufferSize: 0 });
  const st = { oracle: new Map(), acked: 0, cp: 0 };
  for (let i = 0; i < 5; i++) add(wal, st, 0, 40);
  wal.sync();
  st.acked = wal.durableLsn;
  for (let i = 0; i < 20; i++) add(wal, st, 0, 40); // 20 separate unsynced writes
  const path = wal.listSegments().at(-1).path;
  // Page-cache writeback order: the first unsynced write is lost, later ones persist.
  mem.crash({ seed: 7, mode: 'keep', dirMode: 'keep' });
  const bytes = mem.readFile(path);
  const firstUnsynced = 64 + 5 * (32 + 32 + 40);
  bytes.fill(0, firstUnsynced + 32, firstUnsynced + 40); // damage inside the first unsynced record
  mem.writeFile(path, bytes);
  const again = verify(mem, st, 'torn tail with intact records after it');
  assert.is(again.nextLsn, 6);
  assert.is(again.openReport.truncatedBytes, bytes.length - firstUnsynced);
  again.close();
});

function faultCase(name, fn) {
  test(name, () => {
    const mem = new MemoryFileSystem();
    const st = { oracle: new Map(), acked: 0, cp: 0 };
    fn(mem, st);
    mem.clearFaults();
    mem.crash({ seed: 3, mode: 'drop', dirMode: 'drop' });
    verify(mem, st, name).close();
  });
}

const codeOf = (fn) => { try { fn(); } catch (e) { return e instanceof WalError ? e.code : e.constructor.name; } return 'none'; };

faultCase('ENOSPC writing a new segment during a roll: IO_ERROR, nothing appended, the WAL goes on', (mem, st) => {
  const wal = SegmentedWal.open({ ...OPTS, fs: mem });
  while (wal.listSegments().length < 3) add(wal, st, 0, 50);
  wal.sync();
  st.acked = wal.durableLsn;
  const fault = mem.injectFault({ op: 'write', path: '.tmp-', code: 'ENOSPC', persist: true });
  let next;
  let e;
  for (let i = 0; i < 20 && e === undefined; i++) {
    next = wal.nextLsn;
    st.oracle.set(next, { ...fieldsFor(next), payload: payloadFor(next, 0, 50) });
    try { appendOne(wal, next, 0, 50); } catch (x) { e = x; }
  }
  assert.ok(e instanceof WalError && e.code === 'IO_ERROR' && e.errno === 'ENOSPC', `got ${e?.code} ${e?.message}`);
  assert.is(wal.nextLsn, next, 'the record was not appended');
  assert.is(wal.state, 'open');
  assert.ok(fault.failures >= 1);
  assert.ok(!mem.list('/db/wal').some((n) => n.includes('.tmp-')), 'the temp file was removed');
  fault.remove();
  add(wal, st, 0, 50);
  wal.sync();
  st.acked = wal.durableLsn;
  checkReplay(wal.replay(), st.oracle, 'after ENOSPC');
  wal.close();
});

faultCase('EIO renaming a new segment into place: IO_ERROR, the temp file is gone, the next append rolls', (mem, st) => {
  const wal = SegmentedWal.open({ ...OPTS, fs: mem });
  for (let i = 0; i < 3; i++) add(wal, st, 0, 60);
  wal.sync();
  st.acked = wal.durableLsn;
  const segments = wal.listSegments().length;
  mem.injectFault({ op: 'rename' });
  let code = 'none';
  for (let i = 0; i < 10 && code === 'none'; i++) {
    const lsn = wal.nextLsn;
    code = codeOf(() => add(wal, st, 0, 60));
    if (code !== 'none') assert.is(wal.nextLsn, lsn, 'the record whose roll failed was not appended');
  }
  assert.is(code, 'IO_ERROR');
  assert.is(wal.state, 'open');
  assert.not.ok(mem.list('/db/wal').some((n) => n.includes('.tmp-')));
  add(wal, st, 0, 60);
  assert.ok(wal.listSegments().length > segments, 'the roll happened on the next append');
  wal.sync();
  st.acked = wal.durableLsn;
  wal.close();
});

faultCase('EIO on the directory fsync of a roll poisons the WAL; reopening recovers every synced record', (mem, st) => {
  const wal = SegmentedWal.open({ ...OPTS, fs: mem });
  for (let i = 0; i < 4; i++) add(wal, st, 0, 60);
  wal.sync();
  st.acked = wal.durableLsn;
  mem.injectFault({ op: 'syncDir' });
  const before = wal.nextLsn;
  let code = 'none';
  for (let i = 0; i < 10 && code === 'none'; i++) code = codeOf(() => add(wal, st, 0, 60));
  assert.is(code, 'POISONED');
  assert.ok(wal.nextLsn >= before);
  assert.is(codeOf(() => wal.sync()), 'POISONED');
  assert.is(wal.state, 'poisoned');
  wal.close();
});

faultCase('EIO on fsync poisons; a failed write is rolled back and retried by the next sync', (mem, st) => {
  const wal = SegmentedWal.open({ ...OPTS, fs: mem, segmentTargetSize: 1 << 20 });
  for (let i = 0; i < 3; i++) add(wal, st, 0, 30);
  mem.injectFault({ op: 'write', partialBytes: 40 });
  assert.is(codeOf(() => wal.sync()), 'IO_ERROR');
  assert.is(wal.state, 'open');
  wal.sync(); // the buffered records are written this time
  st.acked = wal.durableLsn;
  assert.is(st.acked, 3);
  add(wal, st, 0, 30);
  mem.injectFault({ op: 'sync' });
  assert.is(codeOf(() => wal.sync()), 'POISONED');
  assert.is(codeOf(() => add(wal, st, 0, 30)), 'POISONED');
  wal.close();
});

faultCase('a failed write whose rollback fails too poisons the WAL', (mem, st) => {
  const wal = SegmentedWal.open({ ...OPTS, fs: mem, segmentTargetSize: 1 << 20 });
  add(wal, st, 0, 30);
  mem.injectFault({ op: 'write' });
  mem.injectFault({ op: 'truncate' });
  assert.is(codeOf(() => wal.sync()), 'POISONED');
  wal.close();
});

faultCase('EIO removing a segment during truncateBefore: IO_ERROR, a suffix remains, the WAL goes on', (mem, st) => {
  const wal = SegmentedWal.open({ ...OPTS, fs: mem });
  while (wal.listSegments().length < 6) add(wal, st, 0, 50);
  wal.sync();
  st.acked = wal.durableLsn;
  const segs = wal.listSegments();
  mem.injectFault({ op: 'remove', nth: 3 });
  const cp = segs[5].firstLsn;
  st.cp = cp;
  assert.is(codeOf(() => wal.truncateBefore(cp)), 'IO_ERROR');
  assert.is(wal.listSegments()[0].firstLsn, segs[2].firstLsn, 'the two oldest are gone, the rest kept');
  assert.is(wal.truncateBefore(cp).segmentsDeleted, 3);
  checkReplay(wal.replay(), st.oracle, 'after failed remove');
  wal.close();
});

faultCase('EIO on the directory fsync after a delete poisons; after a crash the log is a suffix, never a hole', (mem, st) => {
  const wal = SegmentedWal.open({ ...OPTS, fs: mem });
  while (wal.listSegments().length < 6) add(wal, st, 0, 50);
  wal.sync();
  st.acked = wal.durableLsn;
  const segs = wal.listSegments();
  st.cp = segs[4].firstLsn;
  mem.injectFault({ op: 'syncDir', nth: 2 });
  assert.is(codeOf(() => wal.truncateBefore(st.cp)), 'POISONED');
  wal.close();
});

test.run();
