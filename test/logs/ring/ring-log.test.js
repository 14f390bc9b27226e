// RingLog API: wrap at capacities 1, 2, 3 and a few hundred, evidence,
// the lazy iterator, group commit, options and every error case (zero
// capacity, overflow, header mismatch, oversized payload, second writer,
// closed, poisoned, injected EIO/ENOSPC), on MemoryFileSystem and the real
// file system of the runtime running the test.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as nodefs from 'node:fs';
import { FAILURE_CLASSES, MemoryFileSystem, RingLog, WalError, WalFsWriter } from 'walcore';
import { enc, dec, tempDir } from '../../support/helpers.js';

const DISPOSE = Symbol.dispose ?? Symbol.for('Symbol.dispose');

function memfs() {
  const fs = new MemoryFileSystem();
  fs.mkdir('/d');
  fs.syncDir('/');
  return fs;
}

function throwsCode(fn, code, message) {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof WalError)) throw e;
    assert.is(e.code, code, `${message ?? ''}: ${e.message}`);
    return e;
  }
  assert.unreachable(`${message ?? ''}: expected WalError ${code}`);
}

async function rejectsCode(p, code) {
  try {
    await p;
  } catch (e) {
    assert.instance(e, WalError);
    assert.is(e.code, code);
    return e;
  }
  assert.unreachable(`expected rejection with ${code}`);
}

test('creates and preallocates a file of capacity slots', () => {
  const fs = memfs();
  const log = RingLog.open('/d/r', { capacity: 7, slotSize: 128, fs });
  assert.ok(log.openReport.created);
  assert.is(log.capacity, 7);
  assert.is(log.slotSize, 128);
  assert.is(log.maxPayload, 88);
  assert.is(log.length, 0);
  assert.is(log.nextSequence, 1);
  assert.is(fs.readFile('/d/r').length, 4096 + 7 * 128);
  assert.equal(fs.readFile('/d/r').subarray(4096), new Uint8Array(7 * 128), 'slots are zero-filled');
  assert.equal(fs.list('/d'), ['r'], 'no temp file is left behind');
  log.close();
});

for (const capacity of [1, 2, 3, 257]) {
  test(`capacity ${capacity}: append wraps and overwrites the oldest; replay is oldest to newest`, () => {
    const fs = memfs();
    let log = RingLog.open('/d/r', { capacity, slotSize: 64, fs, bufferSize: capacity % 2 ? 0 : 256 });
    const total = 3 * capacity + 2;
    for (let i = 1; i <= total; i++) {
      assert.is(log.append(enc(`r${i}`)), i);
      const live = Math.min(i, capacity);
      assert.is(log.length, live);
      if (i % 5 === 0 || i === total) {
        assert.equal(log.replayAll().map(dec), Array.from({ length: live }, (_, k) => `r${i - live + k + 1}`));
      }
    }
    assert.is(log.firstSequence, total - capacity + 1);
    log.sync();
    log.close();
    log = RingLog.open('/d/r', { fs });
    assert.ok(log.openReport.clean);
    assert.equal(log.replayRecords().map((r) => r.sequence), Array.from({ length: capacity }, (_, k) => total - capacity + 1 + k));
    assert.equal(dec(log.replayAll().at(-1)), `r${total}`);
    assert.is(log.append(enc('after')), total + 1, 'sequences continue after reopen');
    log.close();
  });
}

test('appendWithFailure stores evidence beside the record, every class round-trips', () => {
  const fs = memfs();
  let log = RingLog.open('/d/r', { capacity: 16, slotSize: 256, fs });
  log.append(enc('plain'));
  const digest = new Uint8Array(64).map((_, i) => i * 3);
  const want = FAILURE_CLASSES.map((failureClass, i) => ({ failureClass, code: [0, -1, 2 ** 31 - 1, -(2 ** 31), 5, 110, 7, 404][i], digest: i % 2 ? digest.subarray(0, i * 8) : undefined }));
  for (const ev of want) log.appendWithFailure(enc(`f-${ev.failureClass}`), ev);
  log.close();
  log = RingLog.open('/d/r', { fs });
  const recs = log.replayRecords();
  assert.is(recs[0].evidence, undefined);
  assert.equal(dec(recs[0].payload), 'plain');
  recs.slice(1).forEach((r, i) => {
    assert.equal(dec(r.payload), `f-${want[i].failureClass}`);
    assert.equal(r.evidence, want[i]);
  });
  assert.equal(FAILURE_CLASSES, ['backend', 'runtime', 'io', 'timeout', 'resource', 'invariant', 'cancelled', 'unknown'], 'the enum is fixed');
  log.close();
});

test('evidence is validated: class, code range, digest size and unknown fields', () => {
  const log = RingLog.open('/d/r', { capacity: 4, slotSize: 256, fs: memfs() });
  assert.throws(() => log.appendWithFailure(enc('x'), { failureClass: 'oops', code: 1 }), (e) => e instanceof RangeError);
  assert.throws(() => log.appendWithFailure(enc('x'), { failureClass: 'io', code: 2 ** 31 }), (e) => e instanceof RangeError);
  assert.throws(() => log.appendWithFailure(enc('x'), { failureClass: 'io', code: 1.5 }), (e) => e instanceof RangeError);
  assert.throws(() => log.appendWithFailure(enc('x'), { failureClass: 'io', code: 1, digest: new Uint8Array(65) }), (e) => e instanceof RangeError);
  assert.throws(() => log.appendWithFailure(enc('x'), { failureClass: 'io', code: 1, digest: [1, 2] }), (e) => e instanceof TypeError);
  assert.throws(() => log.appendWithFailure(enc('x'), { failureClass: 'io', code: 1, extra: 1 }), (e) => e instanceof TypeError);
  assert.throws(() => log.appendWithFailure(enc('x'), null), (e) => e instanceof TypeError);
  assert.is(log.length, 0, 'nothing was appended');
  log.close();
});

test('a payload larger than the slot allows is refused with a clear RangeError', () => {
  const log = RingLog.open('/d/r', { capacity: 2, slotSize: 64, fs: memfs() });
  log.append(new Uint8Array(24)); // exactly maxPayload
  assert.throws(() => log.append(new Uint8Array(25)), (e) => e instanceof RangeError && /25 bytes does not fit a 64-byte slot \(at most 24 bytes\)/.test(e.message));
  assert.throws(() => log.appendWithFailure(new Uint8Array(20), { failureClass: 'io', code: 1, digest: new Uint8Array(5) }), /plus a 5-byte digest/);
  assert.throws(() => log.append('text'), (e) => e instanceof TypeError);
  assert.is(log.length, 1);
  log.close();
});

test('open: zero capacity, capacity overflow, bad options', () => {
  const fs = memfs();
  const e = throwsCode(() => RingLog.open('/d/r', { capacity: 0, fs }), 'ZERO_CAPACITY');
  assert.is(e.path, '/d/r');
  throwsCode(() => RingLog.open('/d/r', { capacity: 2 ** 32, fs }), 'CAPACITY_OVERFLOW', '2^32 slots');
  throwsCode(() => RingLog.open('/d/r', { capacity: 2n ** 40n, fs }), 'CAPACITY_OVERFLOW', 'bigint');
  throwsCode(() => RingLog.open('/d/r', { capacity: 2 ** 32 - 1, slotSize: 1 << 24, fs }), 'CAPACITY_OVERFLOW', 'a 2^56-byte file');
  assert.throws(() => RingLog.open('/d/r', { capacity: -1, fs }), (e) => e instanceof RangeError);
  assert.throws(() => RingLog.open('/d/r', { capacity: 1.5, fs }), (e) => e instanceof RangeError);
  assert.throws(() => RingLog.open('/d/r', { capacity: '3', fs }), (e) => e instanceof TypeError);
  assert.throws(() => RingLog.open('/d/r', { capacity: 3, slotSize: 100, fs }), (e) => e instanceof RangeError);
  assert.throws(() => RingLog.open('/d/r', { capacity: 3, slotSize: 32, fs }), (e) => e instanceof RangeError);
  assert.throws(() => RingLog.open('/d/r', { capacity: 3, capacty: 4, fs }), /unknown option 'capacty'/);
  assert.throws(() => RingLog.open('/d/r', { fs }), (e) => e instanceof TypeError && /pass \{ capacity \}/.test(e.message));
  assert.throws(() => RingLog.open('', { capacity: 1, fs }), (e) => e instanceof TypeError);
  assert.equal(fs.list('/d'), [], 'no failed open leaves a file');
  const log = RingLog.open('/d/r', { capacity: 1, fs }); // and the lock was released every time
  assert.is(log.slotSize, 512, 'default slot size');
  log.close();
});

test('open: the stored geometry wins; a mismatching request is HEADER_MISMATCH', () => {
  const fs = memfs();
  RingLog.open('/d/r', { capacity: 3, slotSize: 128, fs }).close();
  let e = throwsCode(() => RingLog.open('/d/r', { capacity: 4, fs }), 'HEADER_MISMATCH');
  assert.match(e.message, /3 slots of 128 bytes, but 4 slots of 128 bytes were requested/);
  e = throwsCode(() => RingLog.open('/d/r', { capacity: 3, slotSize: 256, fs }), 'HEADER_MISMATCH');
  assert.match(e.message, /but 3 slots of 256 bytes/);
  const log = RingLog.open('/d/r', { fs });
  assert.is(log.capacity, 3);
  assert.is(log.slotSize, 128);
  log.close();
  RingLog.open('/d/r', { capacity: 3, slotSize: 128, fs }).close();
});

test('open: a file that is not a ring is BAD_HEADER (the one header mapping every log shares)', () => {
  const fs = memfs();
  WalFsWriter.open('/d/wal', { fs }).close();
  let e = throwsCode(() => RingLog.open('/d/wal', { fs }), 'BAD_HEADER');
  assert.is(e.reason, 'wrong-kind');
  fs.writeFile('/d/junk', enc('this is not a walcore file at all, just some text bytes that run on for a while'));
  e = throwsCode(() => RingLog.open('/d/junk', { capacity: 2, fs }), 'BAD_HEADER');
  assert.is(e.reason, 'bad-magic');
  fs.writeFile('/d/short', enc('wlcr'));
  throwsCode(() => RingLog.open('/d/short', { fs }), 'BAD_HEADER');
  throwsCode(() => RingLog.open('/d', { fs }), 'BAD_HEADER', 'a directory');
});

test('one writer per ring: a second open is LOCKED until the first closes', () => {
  const fs = memfs();
  const a = RingLog.open('/d/r', { capacity: 2, fs });
  throwsCode(() => RingLog.open('/d/r', { fs }), 'LOCKED');
  a.close();
  RingLog.open('/d/r', { fs }).close();
});

test('close is idempotent, dispose closes, and a closed ring refuses every call', async () => {
  const fs = memfs();
  const log = RingLog.open('/d/r', { capacity: 2, fs });
  log.append(enc('a'));
  log[DISPOSE]();
  log.close();
  assert.is(log.state, 'closed');
  throwsCode(() => log.append(enc('b')), 'CLOSED');
  throwsCode(() => log.appendWithFailure(enc('b'), { failureClass: 'io', code: 1 }), 'CLOSED');
  throwsCode(() => log.sync(), 'CLOSED');
  throwsCode(() => log.replayAll(), 'CLOSED');
  throwsCode(() => log.replayRecords(), 'CLOSED');
  throwsCode(() => [...log.records()], 'CLOSED');
  await rejectsCode(log.syncAsync(), 'CLOSED');
  const again = RingLog.open('/d/r', { fs });
  assert.equal(again.replayAll().map(dec), ['a'], 'close synced the buffered record');
  again.close();
});

test('a failed fsync poisons the ring until reopened; the data synced before survives', async () => {
  const fs = memfs();
  const log = RingLog.open('/d/r', { capacity: 4, fs });
  log.append(enc('durable'));
  log.sync();
  log.append(enc('lost?'));
  fs.injectFault({ op: 'sync' });
  const e = throwsCode(() => log.sync(), 'POISONED');
  assert.is(e.errno, 'EIO');
  assert.is(log.state, 'poisoned');
  assert.is(log.durableSequence, 1);
  throwsCode(() => log.append(enc('x')), 'POISONED');
  throwsCode(() => log.replayAll(), 'POISONED');
  await rejectsCode(log.syncAsync(), 'POISONED');
  log.close(); // releases without syncing
  fs.crash({ mode: 'drop' });
  const again = RingLog.open('/d/r', { fs });
  assert.equal(again.replayAll().map(dec), ['durable']);
  again.close();
});

test('injected EIO on write (write-through): the append throws IO_ERROR but is appended and retried; the ring stays usable', () => {
  const fs = memfs();
  const log = RingLog.open('/d/r', { capacity: 3, slotSize: 64, fs, bufferSize: 0 });
  log.append(enc('one'));
  fs.injectFault({ op: 'write', code: 'EIO', partialBytes: 10 });
  const e = throwsCode(() => log.append(enc('two')), 'IO_ERROR');
  assert.is(e.errno, 'EIO');
  assert.is(log.nextSequence, 3, 'the record was appended (sequence 2) and stays buffered');
  assert.is(log.append(enc('three')), 3, 'this append first retries the write of two');
  assert.equal(log.replayAll().map(dec), ['one', 'two', 'three']);
  log.close();
  const again = RingLog.open('/d/r', { fs });
  assert.equal(again.replayAll().map(dec), ['one', 'two', 'three']);
  again.close();
});

test('injected ENOSPC on a buffered write: sync throws, the records stay buffered, the next sync writes them', () => {
  const fs = memfs();
  const log = RingLog.open('/d/r', { capacity: 8, slotSize: 64, fs });
  for (let i = 0; i < 5; i++) log.append(enc(`b${i}`));
  fs.injectFault({ op: 'write', code: 'ENOSPC', partialBytes: 100 });
  const e = throwsCode(() => log.sync(), 'IO_ERROR');
  assert.is(e.errno, 'ENOSPC');
  assert.is(log.state, 'open');
  assert.is(log.durableSequence, 0);
  log.sync();
  assert.is(log.durableSequence, 5);
  fs.crash({ mode: 'drop' });
  const again = RingLog.open('/d/r', { fs });
  assert.equal(again.replayAll().map(dec), ['b0', 'b1', 'b2', 'b3', 'b4']);
  again.close();
});

test('injected faults during open and creation: typed errors, lock released, no half-made ring', () => {
  const fs = memfs();
  fs.injectFault({ op: 'write', code: 'ENOSPC' });
  let e = throwsCode(() => RingLog.open('/d/r', { capacity: 100, slotSize: 64, fs }), 'IO_ERROR');
  assert.is(e.errno, 'ENOSPC');
  assert.equal(fs.list('/d'), [], 'temp file removed, nothing at the path');
  fs.injectFault({ op: 'rename' });
  throwsCode(() => RingLog.open('/d/r', { capacity: 100, slotSize: 64, fs }), 'IO_ERROR');
  fs.crash({ mode: 'drop' });
  assert.ok(!fs.list('/d').includes('r'));
  RingLog.open('/d/r', { capacity: 3, fs }).close();
  fs.injectFault({ op: 'read' });
  e = throwsCode(() => RingLog.open('/d/r', { fs }), 'IO_ERROR');
  assert.is(e.errno, 'EIO');
  fs.injectFault({ op: 'sync' });
  throwsCode(() => RingLog.open('/d/r', { fs }), 'IO_ERROR');
  const log = RingLog.open('/d/r', { fs });
  log.close();
});

test('syncAsync: concurrent callers share one fsync and resolve once durable', async () => {
  const fs = memfs();
  const log = RingLog.open('/d/r', { capacity: 64, slotSize: 64, fs });
  const waits = [];
  for (let i = 0; i < 20; i++) {
    log.append(enc(`g${i}`));
    waits.push(log.syncAsync());
  }
  const syncsBefore = fs.calls.sync;
  await Promise.all(waits);
  assert.is(fs.calls.sync - syncsBefore, 2, 'one sync() for 20 callers: two fsyncs (the records, then the state record naming them)');
  assert.equal(log.groupCommitStats, { syncs: 1, requests: 20 });
  assert.is(log.durableSequence, 20);
  await log.flushAsync();
  fs.crash({ mode: 'drop' });
  const again = RingLog.open('/d/r', { fs });
  assert.is(again.length, 20);
  again.close();
});

test('append never fsyncs; sync() is the only fsync (two: the records, then the state record naming them)', () => {
  const fs = memfs();
  const log = RingLog.open('/d/r', { capacity: 3, slotSize: 64, fs, bufferSize: 0 });
  const before = fs.calls.sync;
  for (let i = 0; i < 10; i++) log.append(enc(`${i}`));
  assert.is(fs.calls.sync, before);
  log.sync();
  assert.ok(!fs.hasUnsynced('/d/r'), 'when sync() returns, the state record naming the durable point is durable too');
  log.sync(); // nothing new: no more fsyncs
  assert.is(fs.calls.sync, before + 2);
  log.close();
});

test('lazy iterator: reads chunk by chunk, sees the window at its start, refuses overwritten records', () => {
  const fs = memfs();
  const log = RingLog.open('/d/r', { capacity: 5000, slotSize: 1024, fs });
  for (let i = 1; i <= 6000; i++) log.append(enc(`i${i}`));
  const reads = fs.calls.read;
  const it = log.records();
  const firstRec = it.next().value;
  assert.is(firstRec.sequence, 1001);
  assert.ok(fs.calls.read - reads <= 2, 'one chunk (split at the wrap), not the whole ring');
  let n = 1;
  for (const rec of it) { assert.is(rec.sequence, 1001 + n); n++; }
  assert.is(n, 5000);
  assert.is([...log].length, 5000, 'the ring is iterable');
  const it2 = log.records();
  it2.next();
  for (let i = 0; i < 5000; i++) log.append(enc('overwrite'));
  assert.throws(() => { for (const _ of it2) { /* drain */ } }, (e) => e instanceof RangeError);
  log.close();
});

test('large slots: 2 MiB records round-trip, including across the wrap', () => {
  const fs = memfs();
  const slotSize = 2 << 20;
  let log = RingLog.open('/d/r', { capacity: 3, slotSize, fs });
  const big = (n) => new Uint8Array(slotSize - 40).fill(n);
  for (let i = 1; i <= 5; i++) log.append(big(i));
  assert.equal(log.replayAll().map((p) => [p.length, p[0], p[p.length - 1]]), [[slotSize - 40, 3, 3], [slotSize - 40, 4, 4], [slotSize - 40, 5, 5]]);
  log.close();
  log = RingLog.open('/d/r', { fs });
  assert.equal(log.replayRecords().map((r) => r.sequence), [3, 4, 5]);
  log.close();
});

test('real file system: create, append past capacity, sync, reopen', () => {
  const dir = tempDir('ring');
  const path = `${dir}/real.ring`;
  let log = RingLog.open(path, { capacity: 10, slotSize: 64 });
  assert.is(nodefs.statSync(path).size, 4096 + 640);
  for (let i = 0; i < 25; i++) log.append(enc(`x${i}`));
  log.sync();
  throwsCode(() => RingLog.open(path), 'LOCKED');
  log.close();
  log = RingLog.open(path, { capacity: 10 });
  assert.ok(log.openReport.clean);
  assert.equal(log.replayAll().map(dec), Array.from({ length: 10 }, (_, i) => `x${i + 15}`));
  log.close();
  assert.equal(nodefs.readdirSync(dir).sort(), ['real.ring'], 'lock file removed on close');
});

test.run();
