// RingLog's allocation-free replays, replayBatches() and replayEach(): the
// same records in the same order as replayAll()/replayRecords() (variable
// lengths, evidence, several chunks, the wrap), the documented lifetime of
// the reused buffer, early stop, appends during the callback, damaged slots
// and bad arguments.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MemoryFileSystem, RingLog, WalError } from 'walcore';
import { dec, enc, rng, seedFor } from '../../support/helpers.js';

function memfs() {
  const fs = new MemoryFileSystem();
  fs.mkdir('/d');
  fs.syncDir('/');
  return fs;
}

/** Every record replayBatches hands out, as [sequence, payload copy]. */
function viaBatches(log) {
  const out = [];
  const n = log.replayBatches((b) => {
    for (let i = 0; i < b.count; i++) out.push([b.firstSequence + i, b.bytes.slice(b.offsets[i], b.offsets[i] + b.lengths[i])]);
  });
  assert.is(n, out.length, 'returns the number of records handed out');
  return out;
}

function viaEach(log) {
  const out = [];
  const n = log.replayEach((payload, seq) => { out.push([seq, payload.slice()]); });
  assert.is(n, out.length, 'returns the number of records seen');
  return out;
}

test('replayBatches and replayEach agree with replayRecords: random lengths, evidence, several chunks, across the wrap', () => {
  const seed = seedFor('ring replay-fast');
  const rand = rng(seed);
  const fs = memfs();
  // 1 KiB slots: 4096 per chunk, so 5000 live records take two chunks, and the wrap splits one.
  const log = RingLog.open('/d/r', { capacity: 5000, slotSize: 1024, fs });
  for (let i = 1; i <= 7321; i++) {
    const p = rand.bytes(rand.int(0, log.maxPayload - 64));
    if (i % 97 === 0) log.appendWithFailure(p, { failureClass: 'io', code: i, digest: new Uint8Array(32).fill(i & 0xff) });
    else log.append(p);
  }
  const want = log.replayRecords().map((r) => [r.sequence, r.payload]);
  assert.is(want.length, 5000, `seed ${seed}`);
  assert.equal(viaBatches(log), want, `seed ${seed}`);
  assert.equal(viaEach(log), want, `seed ${seed}`);
  log.sync();
  log.close();
  const again = RingLog.open('/d/r', { fs });
  assert.equal(viaEach(again), want, `after reopen, seed ${seed}`);
  again.close();
});

test('an empty ring hands out nothing; one record is one batch', () => {
  const log = RingLog.open('/d/r', { capacity: 4, slotSize: 64, fs: memfs() });
  assert.is(log.replayBatches(() => assert.unreachable('no batch for an empty ring')), 0);
  assert.is(log.replayEach(() => assert.unreachable('no record for an empty ring')), 0);
  log.append(enc('only'));
  const batches = [];
  log.replayBatches((b) => { batches.push([b.count, b.firstSequence, dec(b.bytes.subarray(b.offsets[0], b.offsets[0] + b.lengths[0]))]); });
  assert.equal(batches, [[1, 1, 'only']], 'buffered records are included');
  log.close();
});

test('lifetime: the batch, its buffer and the payload view are reused, so a kept view changes under the caller', () => {
  const log = RingLog.open('/d/r', { capacity: 10000, slotSize: 64, fs: memfs() });
  for (let i = 1; i <= 10000; i++) log.append(enc(`rec${String(i).padStart(5, '0')}`));
  const seen = [];
  log.replayBatches((b) => { seen.push([b, b.bytes.buffer, b.offsets, b.lengths]); });
  assert.ok(seen.length >= 3, 'several chunks');
  for (const [b, buf, off, len] of seen) {
    assert.ok(b === seen[0][0] && buf === seen[0][1] && off === seen[0][2] && len === seen[0][3], 'one batch object and one buffer for the whole call');
  }
  let first;
  const views = new Set();
  log.replayEach((p, seq) => { if (seq === 1) first = p; views.add(p); });
  assert.is(views.size, 1, 'replayEach hands out one view per payload length');
  assert.is(dec(first), 'rec10000', 'the view of record 1 now shows the last record: copy what you keep');
  log.close();
});

test('returning false stops at once; the count says how far it got', () => {
  const log = RingLog.open('/d/r', { capacity: 9000, slotSize: 64, fs: memfs() });
  for (let i = 1; i <= 9000; i++) log.append(enc(`${i}`));
  let calls = 0;
  assert.is(log.replayBatches(() => { calls++; return false; }), 4096, 'the first chunk only');
  assert.is(calls, 1);
  const seqs = [];
  assert.is(log.replayEach((p, seq) => { seqs.push(seq); return seq < 3; }), 3);
  assert.equal(seqs, [1, 2, 3]);
  log.close();
});

test('appends during the callback: the window is the one at the start; overwriting an unread record is RangeError', () => {
  const log = RingLog.open('/d/r', { capacity: 9000, slotSize: 64, fs: memfs() });
  for (let i = 1; i <= 5000; i++) log.append(enc(`${i}`));
  let last = 0;
  log.replayEach((p, seq) => { if (seq % 1000 === 0) log.append(enc('more')); last = seq; });
  assert.is(last, 5000, 'records appended during the replay are not included');
  assert.is(log.nextSequence, 5006);
  let got = 0;
  assert.throws(() => log.replayBatches((b) => {
    got += b.count;
    for (let i = 0; i < 9000; i++) log.append(enc('overwrite'));
  }), (e) => e instanceof RangeError && /overwritten/.test(e.message));
  assert.is(got, 4096, 'the first chunk was handed out before the overwrite was noticed');
  log.close();
});

test('a damaged slot is CORRUPTED after the records before it were handed out', () => {
  const fs = memfs();
  const log = RingLog.open('/d/r', { capacity: 100, slotSize: 64, fs });
  for (let i = 1; i <= 50; i++) log.append(enc(`${i}`));
  log.sync();
  const h = fs.open('/d/r', { write: true });
  h.write(new Uint8Array([0xee]), 4096 + 20 * 64 + 50); // inside record 21's slot
  h.close();
  const seqs = [];
  try {
    log.replayEach((p, seq) => { seqs.push(seq); });
    assert.unreachable('expected CORRUPTED');
  } catch (e) {
    if (!(e instanceof WalError)) throw e;
    assert.is(e.code, 'CORRUPTED');
  }
  assert.equal(seqs, Array.from({ length: 20 }, (_, i) => i + 1));
  log.close();
});

test('bad arguments are TypeError; a closed ring is CLOSED', () => {
  const log = RingLog.open('/d/r', { capacity: 4, slotSize: 64, fs: memfs() });
  assert.throws(() => log.replayBatches(undefined), (e) => e instanceof TypeError);
  assert.throws(() => log.replayEach({}), (e) => e instanceof TypeError);
  log.close();
  assert.throws(() => log.replayBatches(() => {}), (e) => e instanceof WalError && e.code === 'CLOSED');
  assert.throws(() => log.replayEach(() => {}), (e) => e instanceof WalError && e.code === 'CLOSED');
});

test.run();
