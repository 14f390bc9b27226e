// SegmentedWal's recycleSegments on the crash simulator: segments that
// truncateBefore() deletes become free files full of valid frames of their
// old life, a roll reuses one, and the power is cut before every mutating
// call of the next life (unsynced writes kept, dropped or torn in 64-byte
// sectors; unsynced directory entries kept or lost). After every cut the WAL
// opens and replays exactly what it promised: every acknowledged record,
// only records of the new life, none of the stale frames the reused file
// still holds, LSNs contiguous.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { KeyRing, MemoryFileSystem, SegmentedWal, WalError } from 'walcore';
import { rng, seedFor } from '../support/helpers.js';
import { CrashPointFs } from '../support/crash-point-fs.js';
import { appendOne, checkReplay, fieldsFor, payloadFor } from '../support/fixtures/segmented-util.js';

const DIR = '/db/wal';
const OPTS = { dir: DIR, segmentTargetSize: 2048, bufferSize: 0, recycleSegments: 2 };
const MODES = ['random', 'drop', 'tear', 'keep'];
/** The options of the lives below: plain, or encrypted (segment format 2, sealed blocks) for the second run. */
let CUR = OPTS;
const freeFiles = (mem) => mem.list(DIR).filter((n) => n.startsWith('free-'));

function add(wal, st, gen, size) {
  const lsn = wal.nextLsn;
  st.oracle.set(lsn, { ...fieldsFor(lsn), payload: payloadFor(lsn, gen, size) });
  appendOne(wal, lsn, gen, size);
}

/** First life (no crash): fill segments, then delete them into the pool. Returns the state. */
function firstLife(mem) {
  const st = { oracle: new Map(), acked: 0, cp: 0 };
  const wal = SegmentedWal.open({ ...CUR, fs: mem });
  while (wal.listSegments().length < 4) add(wal, st, 0, 60);
  wal.sync();
  wal.roll();
  st.cp = wal.activeSegmentFirstLsn;
  wal.truncateBefore(st.cp);
  st.acked = wal.durableLsn;
  wal.close();
  const free = freeFiles(mem);
  assert.is(free.length, 2, 'two deleted segments were kept for reuse');
  for (const f of free) assert.ok(mem.readFile(`${DIR}/${f}`).length > 1500, `${f} is full of old frames`);
  return st;
}

/** Second life: appends (new payload generation) that roll onto the recycled files, syncing now and then. */
function secondLife(fs, st, r) {
  const wal = SegmentedWal.open({ ...CUR, fs });
  for (let i = 0; i < 60; i++) {
    add(wal, st, 1, r.int(1, 90));
    if (r.next() < 0.3) { wal.sync(); st.acked = Math.max(st.acked, wal.durableLsn); }
  }
  return wal;
}

function verify(mem, st, ctx) {
  let wal;
  try {
    wal = SegmentedWal.open({ ...CUR, fs: mem });
  } catch (e) {
    assert.unreachable(`${ctx}: the WAL does not open after an ordinary crash: ${e.code} ${e.message}`);
  }
  const recs = wal.replay();
  const [first, last] = checkReplay(recs, st.oracle, ctx); // a stale frame would be a phantom or differ
  if (st.acked >= st.cp) assert.ok(recs.length > 0 && first === st.cp && last >= st.acked, `${ctx}: acknowledged ${st.cp}..${st.acked} survive, replay has ${first}..${last}`);
  else if (recs.length > 0) assert.is(first, st.cp, `${ctx}: replay starts at the checkpoint`);
  assert.is(wal.firstRetainedLsn, st.cp, `${ctx}: nothing below the checkpoint reappears`);
  assert.is(wal.nextLsn, recs.length ? last + 1 : st.cp, `${ctx}: next LSN continues the log`);
  for (const lsn of [...st.oracle.keys()]) if (lsn >= wal.nextLsn) st.oracle.delete(lsn);
  return wal;
}

function crashEveryCall(label) {
  const seed = seedFor(`segmented recycle crash${label}`);
  const dry = new MemoryFileSystem();
  const st0 = firstLife(dry);
  const dryFs = new CrashPointFs(dry);
  secondLife(dryFs, st0, rng(seed)).close();
  assert.is(freeFiles(dry).length, 0, 'the second life reused both free files');
  const total = dryFs.ops;
  let staleSeen = 0;
  let cuts = 0;
  for (let k = 1; k <= total; k++) {
    const mode = MODES[k % MODES.length];
    const mem = new MemoryFileSystem();
    const st = firstLife(mem);
    const fs = new CrashPointFs(mem, k);
    try { secondLife(fs, st, rng(seed)).close(); } catch (e) { if (!fs.crashed) throw e; }
    if (!fs.crashed) continue;
    cuts++;
    mem.crash({ seed: seed + k, mode, dirMode: k % 3 === 0 ? 'drop' : 'random', sectorSize: 64 });
    // The scenario is real: the last segment is a reused file with old bytes after the new records.
    const segs = mem.list(DIR).filter((n) => n.startsWith('wal-'));
    const lastBytes = mem.readFile(`${DIR}/${segs.at(-1)}`).length;
    const ctx = `seed ${seed}, cut before call ${k} (${fs.at}), mode ${mode}`;
    const wal = verify(mem, st, ctx);
    if (wal.openReport.truncatedBytes > 0 && lastBytes > 1500) staleSeen++;
    // The next life appends over what recovery cut, and reopens cleanly.
    for (let i = 0; i < 5; i++) add(wal, st, 2, 40);
    wal.sync();
    st.acked = wal.durableLsn;
    wal.close();
    const again = verify(mem, st, `${ctx}, next life`);
    assert.is(again.openReport.truncatedBytes, 0, `${ctx}: a clean close leaves no stale bytes to cut`);
    again.close();
  }
  assert.ok(cuts > 50, `${cuts} power cuts`);
  assert.ok(staleSeen > 10, `${staleSeen} cuts left a reused file whose stale frames recovery had to cut`);
}

test('a recycled file full of valid old frames, power cut before every call of its new life: exactly the durable records, no stale one', () => {
  CUR = OPTS;
  crashEveryCall('');
});

test('the same with encryption: sealed blocks written over a recycled file of old sealed blocks, power cut before every call', () => {
  CUR = { ...OPTS, encryptionRing: new KeyRing({ id: 3, key: new Uint8Array(32).fill(0x3c) }) };
  try {
    crashEveryCall(' encrypted');
  } finally {
    CUR = OPTS;
  }
});

test('reuse: free files are renamed in place of new segments; a sealed reused segment holds exactly its frames', () => {
  const mem = new MemoryFileSystem();
  const st = firstLife(mem);
  const wal = SegmentedWal.open({ ...OPTS, fs: mem });
  while (freeFiles(mem).length > 0) add(wal, st, 1, 60);
  const sealedBefore = wal.listSegments().length;
  while (wal.listSegments().length < sealedBefore + 2) add(wal, st, 1, 60);
  wal.sync();
  for (const s of wal.listSegments().filter((x) => x.sealed)) {
    assert.is(mem.readFile(s.path).length, s.sizeBytes, `${s.path}: the file is exactly its frames`);
  }
  checkReplay(wal.replay(), st.oracle, 'reuse');
  // The pool refills from truncateBefore, never beyond recycleSegments.
  wal.roll();
  const r = wal.truncateBefore(wal.activeSegmentFirstLsn);
  assert.ok(r.segmentsDeleted >= 3, `${r.segmentsDeleted} deleted`);
  assert.is(freeFiles(mem).length, 2);
  wal.close();
  // recycleSegments 0 at the next open removes the free files.
  SegmentedWal.open({ ...OPTS, fs: mem, recycleSegments: 0 }).close();
  assert.is(freeFiles(mem).length, 0);
});

test('recycleSegments: true keeps 4; bad values are TypeError/RangeError', () => {
  const mem = new MemoryFileSystem();
  const wal = SegmentedWal.open({ ...OPTS, fs: mem, recycleSegments: true });
  while (wal.listSegments().length < 7) appendOne(wal, wal.nextLsn, 0, 60);
  wal.roll();
  wal.truncateBefore(wal.activeSegmentFirstLsn);
  assert.is(freeFiles(mem).length, 4);
  wal.close();
  const err = (o) => { try { SegmentedWal.open({ dir: '/x', fs: new MemoryFileSystem(), ...o }).close(); } catch (e) { return e.constructor.name; } return 'none'; };
  assert.is(err({ recycleSegments: -1 }), 'RangeError');
  assert.is(err({ recycleSegments: 1.5 }), 'RangeError');
  assert.is(err({ recycleSegments: '2' }), 'TypeError');
  assert.is(err({ recycleSegments: 3 }), 'none');
});

test('a failed reuse falls back to a fresh segment; nothing is lost', () => {
  const mem = new MemoryFileSystem();
  const st = firstLife(mem);
  const wal = SegmentedWal.open({ ...OPTS, fs: mem });
  mem.injectFault({ op: 'write', path: 'free-', code: 'EIO', persist: true });
  while (wal.listSegments().length < 3) add(wal, st, 1, 60);
  wal.sync();
  st.acked = wal.durableLsn;
  mem.clearFaults();
  assert.is(freeFiles(mem).length, 0, 'the failing free files were dropped');
  checkReplay(wal.replay(), st.oracle, 'fallback');
  wal.close();
  verify(mem, st, 'fallback reopen').close();
  assert.ok(!(st instanceof WalError));
});

test.run();
