// The group commit's fsync off the JS thread: FileHandle.syncAsync() on the
// real file system (fs.fdatasync in the thread pool) and on the simulator,
// and WalFsWriter.syncAsync() over it: batching, ordering under crashes, and
// close() with an fsync in flight that fails or is real.
// Every log's 'all fsyncs off the JS thread', 'a failed async fsync poisons
// and nothing it covered is adopted' and 'close() with an async fsync in
// flight' are cases of test/conformance/lifecycle.test.js, run over every log.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as nodeFs from 'node:fs';
import { WalFsReader, WalFsWriter, defaultFileSystem } from 'walcore';
import { dec, enc, rng, seedFor, tempDir } from '../../support/helpers.js';
import { immediate, instrumented, memFs, rejectsCode, untilInFlight } from '../../support/async-sync.js';

const dir = tempDir('wsa');
let n = 0;
const fresh = () => `${dir}/s${++n}.wal`;
const replay = (fs, path) => {
  const r = WalFsReader.open(path, { fs });
  try { return [...r].map((e) => [e.sequence, dec(e.payload)]); } finally { r.close(); }
};
/** Open file descriptors of this process (Linux), or undefined. */
const openFds = () => { try { return nodeFs.readdirSync('/proc/self/fd').length; } catch { return undefined; } };


// ---- the file layer

test('posix FileHandle.syncAsync(): fdatasync in the thread pool; the event loop runs while it does', async () => {
  const fs = instrumented(defaultFileSystem());
  const h = fs.open(`${dir}/raw-${++n}`, { write: true, create: true });
  for (let i = 0; i < 50; i++) {
    h.write(enc(`record ${i}\n`), i * 10);
    await h.syncAsync();
  }
  h.close();
  assert.is(fs.stats.syncAsync, 50);
  assert.ok(fs.stats.syncsWithTicks >= 40, `the event loop ran during only ${fs.stats.syncsWithTicks} of 50 fdatasyncs`);
});

test('posix: close() while syncAsync() is pending keeps the descriptor open until the fdatasync completes', async () => {
  const fs = defaultFileSystem();
  const h = fs.open(`${dir}/raw-${++n}`, { write: true, create: true });
  h.write(enc('data'), 0);
  const before = openFds();
  const p = h.syncAsync();
  h.close();
  try { h.write(enc('x'), 0); assert.unreachable('write after close'); } catch (e) { assert.is(e.code, 'EBADF'); }
  const during = openFds(); // Deno may hold one more descriptor while its fdatasync op runs
  if (before !== undefined) assert.ok(during >= before, `the descriptor was closed under the fdatasync (${before} -> ${during})`);
  await p; // still resolves
  await immediate();
  if (before !== undefined) assert.ok(openFds() <= during - 1 && openFds() <= before - 1, `the descriptor was not closed after the fdatasync (${before}, ${during} -> ${openFds()})`);
  h.close(); // idempotent
});

test('simulator syncAsync(): completes on a later macrotask and covers only the writes made before the call', async () => {
  const fs = memFs();
  const h = fs.open('/d/f', { write: true, create: true });
  h.write(enc('AAAA'), 0);
  const p = h.syncAsync();
  assert.is(fs.pendingAsyncSyncs, 1);
  h.write(enc('BBBB'), 4);
  await Promise.resolve();
  assert.is(fs.pendingAsyncSyncs, 1, 'settled in a microtask');
  await p;
  assert.is(fs.pendingAsyncSyncs, 0);
  assert.ok(fs.hasUnsynced('/d/f'), 'the write after the call became durable');
  fs.crash({ mode: 'drop' });
  assert.is(dec(fs.readFile('/d/f')), 'AAAA');
});

test('simulator syncAsync(): a crash while it is pending treats its writes as unsynced and rejects it', async () => {
  const fs = memFs();
  const h = fs.open('/d/f', { write: true, create: true });
  h.sync();
  h.write(enc('AAAA'), 0);
  const p = h.syncAsync();
  fs.crash({ mode: 'drop' });
  try { await p; assert.unreachable('resolved after a crash'); } catch (e) { assert.is(e.code, 'EBADF'); }
  assert.is(fs.readFile('/d/f').length, 0);
});

test('simulator syncAsync(): an injected sync fault rejects it and (drop) loses its writes, as sync() does', async () => {
  const fs = memFs();
  const h = fs.open('/d/f', { write: true, create: true });
  h.write(enc('AAAA'), 0);
  fs.injectFault({ op: 'sync', code: 'EIO' });
  try { await h.syncAsync(); assert.unreachable('a failing sync resolved'); } catch (e) { assert.is(e.code, 'EIO'); }
  assert.ok(fs.hasLostWrites('/d/f'));
  h.sync(); // a later sync succeeds and proves nothing
  fs.crash({ mode: 'drop' });
  assert.is(fs.readFile('/d/f').length, 0);
});

// ---- WalFsWriter

test('syncAsync() resolves only once its own data is durable; appends made meanwhile join the next fsync', async () => {
  const fs = memFs();
  const w = WalFsWriter.open('/d/w', { fs });
  w.append({ sequence: 1, payload: enc('a') });
  let firstDone = false;
  const first = w.syncAsync().then(() => { firstDone = true; });
  await untilInFlight(fs);
  w.append({ sequence: 2, payload: enc('b') });
  let secondDone = false;
  const second = w.syncAsync().then(() => { secondDone = true; });
  assert.is(w.durableSequence, 0, 'durable before the fsync completed');
  await first;
  assert.is(w.durableSequence, 1, 'durableSequence is what the fsync covered');
  assert.not.ok(secondDone, 'the second request was served by the first fsync');
  await second;
  assert.is(w.durableSequence, 2);
  assert.is(w.groupCommitStats.syncs, 2);
  assert.ok(firstDone);
  w.close();
});

test('ordering: crash at random points while async fsyncs are pending; every event whose syncAsync() resolved survives', async () => {
  const seed = seedFor('sync-async ordering');
  const r = rng(seed);
  for (let round = 0; round < 20; round++) {
    const fs = memFs();
    const w = WalFsWriter.open('/d/w', { fs, bufferSize: r.int(0, 1) ? 0 : 1 << 20, preallocate: r.int(0, 1) === 1 });
    let seq = 0;
    const acked = [];
    let stop = false;
    const appender = async () => {
      while (!stop) {
        const s = ++seq;
        try {
          w.append({ sequence: s, payload: enc(`e${s}`) });
          await w.syncAsync();
        } catch { return; } // the crash killed the writer
        if (!stop) acked.push(s);
      }
    };
    const runners = Array.from({ length: r.int(1, 8) }, appender);
    // Let some syncs complete, then crash while one is in flight (or, some rounds, right after one resolved).
    const turns = r.int(1, 30);
    for (let i = 0; i < turns; i++) await immediate();
    if (r.int(0, 1)) await untilInFlight(fs);
    const ackedAtCrash = acked.slice();
    stop = true;
    fs.crash({ seed: seed + round, mode: 'random' });
    await Promise.all(runners);
    const w2 = WalFsWriter.open('/d/w', { fs });
    const max = ackedAtCrash.length ? Math.max(...ackedAtCrash) : 0;
    assert.ok(w2.currentSequence >= max, `round ${round}: acknowledged ${max}, recovered ${w2.currentSequence}`);
    w2.close();
    const got = replay(fs, '/d/w').map(([s]) => s);
    const set = new Set(got);
    for (const s of ackedAtCrash) assert.ok(set.has(s), `round ${round}: acknowledged event ${s} lost`);
    for (let i = 1; i < got.length; i++) assert.is(got[i], got[i - 1] + 1, `round ${round}: a gap in the recovered log`);
  }
});

test('close() with an async fsync in flight that then fails: its batch and the requests close synced reject POISONED; nothing adopted', async () => {
  const mem = memFs();
  const w = WalFsWriter.open('/d/w', { fs: mem });
  w.append({ sequence: 1, payload: enc('a') });
  await w.syncAsync();
  w.append({ sequence: 2, payload: enc('b') });
  mem.holdAsyncSyncs(); // keep it in flight whatever the runtime's timer order
  const inFlight = w.syncAsync();
  await untilInFlight(mem);
  w.append({ sequence: 3, payload: enc('c') });
  const queued = w.syncAsync();
  w.close(); // its own sync succeeds; the in-flight one fails after it
  mem.injectFault({ op: 'sync', code: 'EIO' });
  mem.releaseAsyncSyncs();
  await Promise.all([rejectsCode(inFlight, 'POISONED', 'the in-flight batch'), rejectsCode(queued, 'POISONED', 'a request close synced')]);
  await immediate();
  mem.crash({ mode: 'keep' });
  const w2 = WalFsWriter.open('/d/w', { fs: mem });
  assert.is(w2.currentSequence, 1);
  w2.close();
});

test('close() with a real fdatasync in flight (posix): the queued request resolves, the file is complete', async () => {
  const p = fresh();
  const w = WalFsWriter.open(p);
  w.append({ sequence: 1, payload: enc('a') });
  const inFlight = w.syncAsync();
  await new Promise((r) => setImmediate(r)); // the group commit has started its fdatasync
  w.append({ sequence: 2, payload: enc('b') });
  const queued = w.syncAsync();
  w.close();
  await Promise.all([inFlight, queued]);
  await immediate();
  const again = WalFsWriter.open(p); // the lock was released
  assert.is(again.currentSequence, 2);
  again.close();
});

test.run();
