// crash: the edges an adversarial review found in the single-file WAL, each
// reproduced the way it happens (a real file with a lost sector spliced in,
// Linux's failed-fsync semantics in the simulator, a failing marker write, a
// file that shrinks under a reader, a write-through append that fails).
// Replay a failure with WALCORE_SEED=<printed seed>.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'node:fs';
import { MemoryFileSystem, WalError, WalFsReader, WalFsWriter } from 'walcore';
import { CrashPointFs } from '../support/crash-point-fs.js';
import { enc, rng, seedFor, tempDir } from '../support/helpers.js';

const PATH = '/data/log.wal';
const dir = tempDir('wfe');
let n = 0;
const fresh = () => `${dir}/e${++n}.wal`;
const seqs = (path, opts) => {
  const r = WalFsReader.open(path, opts);
  try { return [...r].map((e) => e.sequence); } finally { r.close(); }
};
const newMem = (opts) => {
  const mem = new MemoryFileSystem(opts);
  mem.mkdir('/data');
  mem.syncDir('/');
  return mem;
};

test('a stale sync marker never stands in for a lost empty event (real file, lost sector spliced in)', () => {
  // Event 1 is flushed: the file ends with a sync marker at X. Then event 2
  // (an empty payload: a frame exactly the size of the marker) and event 3 are
  // written at X and X + 32 without a sync. Writeback persists event 3's page
  // but not event 2's, so the disk holds the old marker at X, then event 3.
  const p = fresh();
  const w = WalFsWriter.open(p, { bufferSize: 0 });
  w.append({ sequence: 1, payload: enc('one') });
  w.flush();
  const synced = fs.readFileSync(p);
  const X = synced.length - 32; // the marker
  w.append({ sequence: 2, payload: new Uint8Array(0) });
  w.append({ sequence: 3, payload: enc('three') });
  const written = fs.readFileSync(p);
  w.close();
  const crashed = Buffer.from(written);
  synced.copy(crashed, X, X, X + 32); // event 2's bytes lost: the marker is back
  fs.writeFileSync(p, crashed);
  // Never [1, 3]: the marker ends the valid prefix, and what follows it is a torn tail.
  assert.equal(seqs(p), [1]);
  try {
    WalFsWriter.open(p, { repair: 'strict' }).close();
    assert.unreachable('strict open accepted a log with a hole');
  } catch (e) {
    assert.instance(e, WalError);
    assert.is(e.code, 'TORN_TAIL');
    assert.is(e.reason, 'after-sync-mark');
    assert.is(e.offset, X + 32);
  }
  const w2 = WalFsWriter.open(p);
  assert.is(w2.currentSequence, 1);
  assert.is(w2.openReport.truncatedReason, 'after-sync-mark');
  w2.close();
  assert.equal(seqs(p), [1]);
});

test('the same hole cannot appear in the simulator: writes of empty events torn by random crashes', () => {
  const seed = seedFor('wal marker hole');
  for (let i = 0; i < 400; i++) {
    const mem = newMem();
    const w = WalFsWriter.open(PATH, { fs: mem, bufferSize: 0 });
    w.append({ sequence: 1, payload: enc('one') });
    w.flush();
    for (let s = 2; s <= 5; s++) w.append({ sequence: s, payload: new Uint8Array(s % 2 === 0 ? 0 : 3) });
    mem.crash({ seed: seed + i, mode: 'random', sectorSize: 16 });
    const got = seqs(PATH, { fs: mem });
    assert.equal(got, [1, 2, 3, 4, 5].slice(0, got.length), `seed ${seed + i}: replay ${got} is not a prefix`);
    assert.ok(got.length >= 1, `seed ${seed + i}: the flushed event was lost`);
  }
});

test('fsyncgate: after a failed fsync the writer rolls back, so a reopen never adopts bytes that may not be on disk', () => {
  // Linux: a failed fsync marks the dirty pages clean; the data may be gone
  // while reads still show it, and a later fsync succeeds without writing it.
  // The simulator's default models exactly that.
  for (const mode of ['drop', 'random', 'tear']) {
    const mem = newMem();
    const w = WalFsWriter.open(PATH, { fs: mem });
    for (let s = 1; s <= 3; s++) w.append({ sequence: s, payload: enc(`d${s}`) });
    w.flush();
    for (let s = 4; s <= 6; s++) w.append({ sequence: s, payload: enc(`u${s}`) });
    mem.injectFault({ op: 'sync', code: 'EIO' });
    try { w.flush(); assert.unreachable('flush succeeded'); } catch (e) { assert.is(e.code, 'POISONED'); }
    w.close();
    // The documented recovery: reopen. Only durable events may be adopted.
    const w2 = WalFsWriter.open(PATH, { fs: mem });
    assert.is(w2.currentSequence, 3, `${mode}: reopen adopted events a failed fsync covered`);
    w2.append({ sequence: 7, payload: enc('d7') });
    w2.flush(); // event 7's watermark cites the durable end
    mem.crash({ seed: 7, mode });
    // Before the fix: CORRUPTED here in every mode, acknowledged data stranded.
    const w3 = WalFsWriter.open(PATH, { fs: mem, repair: 'strict' });
    assert.is(w3.currentSequence, 7);
    w3.close();
    assert.equal(seqs(PATH, { fs: mem }), [1, 2, 3, 7]);
  }
});

test('a sync-marker write that fails part way is cut on close: a cleanly closed log opens strictly', () => {
  const mem = newMem();
  const w = WalFsWriter.open(PATH, { fs: mem });
  for (let s = 1; s <= 3; s++) w.append({ sequence: s, payload: enc(`e${s}`) });
  // Write 1: the buffer. Write 2: the marker, which fails after 10 bytes.
  mem.injectFault({ op: 'write', nth: 2, code: 'ENOSPC', partialBytes: 10 });
  w.flush(); // durable; the marker is advisory
  w.close();
  const w2 = WalFsWriter.open(PATH, { fs: mem, repair: 'strict' });
  assert.is(w2.currentSequence, 3);
  assert.is(w2.openReport.truncatedBytes, 0);
  w2.close();
});

test('an open leaves nothing unsynced: a power cut right after it never needs repair', () => {
  const seed = seedFor('wal open then crash');
  for (let i = 0; i < 60; i++) {
    const mem = newMem();
    const w = WalFsWriter.open(PATH, { fs: mem });
    for (let s = 1; s <= 4; s++) w.append({ sequence: s, payload: enc(`e${s}`) });
    w.flush();
    mem.crash({ seed: seed + i, mode: 'drop' }); // the flush's marker was not synced: lost
    WalFsWriter.open(PATH, { fs: mem, repair: 'strict' }); // ends with a record: open writes a marker...
    mem.crash({ seed: seed + i, mode: 'tear', sectorSize: 16 }); // ...and a cut right after the open
    const w3 = WalFsWriter.open(PATH, { fs: mem, repair: 'strict' });
    assert.is(w3.currentSequence, 4);
    w3.close();
  }
});

test('a reader whose file shrinks while it classifies a torn tail ends instead of spinning', () => {
  // A restarted writer cuts the torn tail the reader is looking at.
  const mem = newMem();
  const w = WalFsWriter.open(PATH, { fs: mem, bufferSize: 0 });
  for (let s = 1; s <= 3; s++) w.append({ sequence: s, payload: new Uint8Array(3000).fill(s) });
  w.close();
  const h = mem.open(PATH, { write: true });
  const size = h.size();
  h.write(new Uint8Array(40).fill(0xee), size); // a torn tail after the last frame
  let reads = 0;
  let cut = false;
  const shrinking = {
    ...Object.fromEntries(['name', 'stat', 'rename', 'remove', 'list', 'mkdir', 'syncDir', 'lock'].map((k) => [k, typeof mem[k] === 'function' ? mem[k].bind(mem) : mem[k]])),
    open(path, flags) {
      const inner = mem.open(path, flags);
      return {
        read(buf, pos) {
          if (++reads > 10_000) throw new Error('the reader is spinning');
          // The scan read the frames; the first read past them is the classification: cut the file now.
          if (!cut && pos >= size - 32) { cut = true; h.truncate(size - 3000); }
          return inner.read(buf, pos);
        },
        write: (b, p) => inner.write(b, p), truncate: (s) => inner.truncate(s), size: () => inner.size(),
        sync: () => inner.sync(), close: () => inner.close(),
      };
    },
  };
  const r = WalFsReader.open(PATH, { fs: shrinking });
  const got = [...r].map((e) => e.sequence);
  r.close();
  assert.ok(cut, 'the test never cut the file');
  assert.ok(got.length >= 2 && got.length <= 3, `replayed ${got}`);
  h.close();
});

test('bufferSize 0: an append whose write fails appended nothing, and the retry succeeds', () => {
  const mem = newMem();
  const w = WalFsWriter.open(PATH, { fs: mem, bufferSize: 0 });
  w.append({ sequence: 1, payload: enc('a') });
  mem.injectFault({ op: 'write', code: 'EIO', partialBytes: 5 });
  try { w.append({ sequence: 2, payload: enc('b') }); assert.unreachable(); } catch (e) { assert.is(e.code, 'IO_ERROR'); }
  assert.is(w.currentSequence, 1, 'the failed append advanced currentSequence');
  w.append({ sequence: 2, payload: enc('b') }); // the retry is accepted
  w.close();
  assert.equal(seqs(PATH, { fs: mem }), [1, 2]);
});

test('power cut before every mutating call of a workload, each crash mode: opens, a prefix, nothing acknowledged lost', () => {
  const seed = seedFor('wal crash points');
  /** One workload: create, appends (empty and tiny payloads included), flushes, a write-through stretch, close, reopen. */
  const run = (fs, model) => {
    const r = rng(seed);
    let w = WalFsWriter.open(PATH, { fs, bufferSize: 200 });
    for (let i = 0; i < 40; i++) {
      const seq = model.log.length + 1;
      const len = [0, 0, 1, 3, 8, 40, 300][r.int(0, 6)];
      const payload = new Uint8Array(len).fill(seq & 0xff);
      w.append({ sequence: seq, payload });
      model.log.push(payload);
      if (r.next() < 0.25) { w.flush(); model.acked = model.log.length; }
    }
    w.close();
    model.acked = model.log.length;
    w = WalFsWriter.open(PATH, { fs, bufferSize: 0 });
    for (let i = 0; i < 5; i++) {
      const seq = model.log.length + 1;
      w.append({ sequence: seq, payload: new Uint8Array(i % 2) });
      model.log.push(new Uint8Array(i % 2));
    }
    w.flush();
    model.acked = model.log.length;
    w.close();
  };
  const dry = new CrashPointFs(newMem());
  run(dry, { log: [], acked: 0 });
  const total = dry.ops;
  assert.ok(total > 40, `the workload makes only ${total} mutating calls`);
  for (let k = 1; k <= total; k++) {
    for (const mode of ['random', 'drop', 'keep', 'tear']) {
      const mem = newMem();
      const fs = new CrashPointFs(mem, k);
      const model = { log: [], acked: 0 };
      try { run(fs, model); } catch (e) { if (!fs.crashed) throw e; }
      mem.crash({ seed: seed + k, mode, sectorSize: 16 });
      const where = `seed ${seed}, cut before call ${k} (${fs.at}), ${mode}`;
      if (mem.stat(PATH) === undefined) {
        assert.is(model.acked, 0, `${where}: the file vanished with acknowledged events`);
        continue;
      }
      let w;
      try { w = WalFsWriter.open(PATH, { fs: mem }); } catch (e) { assert.unreachable(`${where}: open failed: ${e.code} ${e.message}`); }
      w.close();
      const r = WalFsReader.open(PATH, { fs: mem, strict: true });
      const got = [...r];
      r.close();
      assert.ok(got.length >= model.acked, `${where}: ${got.length} events survive, ${model.acked} acknowledged`);
      assert.ok(got.length <= model.log.length, `${where}: phantom events`);
      got.forEach((e, i) => {
        assert.is(e.sequence, i + 1, `${where}: sequence`);
        assert.equal(e.payload, model.log[i], `${where}: payload of ${i + 1}`);
      });
    }
  }
});

test('fsyncgate at open: a failed fsync while recovering a killed process\'s tail, then a reopen, never adopts bytes that are not on disk', () => {
  for (const mode of ['drop', 'random', 'tear']) {
    const mem = newMem();
    // A process that dies keeps its lock file in the real world; here a no-op lock lets the "next process" open.
    const fs = { name: 'memory' };
    for (const m of ['open', 'stat', 'rename', 'remove', 'list', 'mkdir', 'syncDir']) fs[m] = mem[m].bind(mem);
    fs.lock = (path) => ({ path, release() {} });
    const w = WalFsWriter.open(PATH, { fs, bufferSize: 0 });
    for (let s = 1; s <= 3; s++) w.append({ sequence: s, payload: enc(`d${s}`) });
    w.flush();
    w.append({ sequence: 4, payload: enc('cached4') }); // written, not synced: the process dies here
    w.append({ sequence: 5, payload: new Uint8Array(0) });
    mem.injectFault({ op: 'sync', code: 'EIO' }); // the next open's fsync of that tail fails (Linux: pages marked clean)
    try { WalFsWriter.open(PATH, { fs }); assert.unreachable('open succeeded'); } catch (e) { assert.is(e.code, 'IO_ERROR', e.message); }
    const w2 = WalFsWriter.open(PATH, { fs }); // the next attempt succeeds: it must really write what it adopts
    assert.is(w2.currentSequence, 5);
    w2.append({ sequence: 6, payload: enc('d6') });
    w2.flush();
    mem.crash({ seed: 11, mode });
    const w3 = WalFsWriter.open(PATH, { fs: mem, repair: 'strict' });
    assert.is(w3.currentSequence, 6, `${mode}: acknowledged data lost`);
    w3.close();
    assert.equal(seqs(PATH, { fs: mem }), [1, 2, 3, 4, 5, 6]);
  }
});

test.run();
