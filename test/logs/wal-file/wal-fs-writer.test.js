// WalFsWriter / WalFsReader behaviour through the public API, on the real
// file system of the runtime and on MemoryFileSystem (faults, crashes).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'node:fs';
import { hostname as hostnameOf } from 'node:os';
import { MemoryFileSystem, WalError, WalFsReader, WalFsWriter } from 'walcore';
import { dec, enc, tempDir } from '../../support/helpers.js';

const dir = tempDir('wfw');
let n = 0;
const fresh = () => `${dir}/w${++n}.wal`;
const events = (path, opts) => {
  const r = WalFsReader.open(path, opts);
  try { return [...r].map((e) => [e.sequence, dec(e.payload)]); } finally { r.close(); }
};
const code = (fn, expected) => {
  try { fn(); } catch (e) {
    assert.instance(e, WalError, `expected WalError ${expected}, got ${e}`);
    assert.is(e.code, expected, e.message);
    return e;
  }
  assert.unreachable(`expected WalError ${expected}`);
};

test('append, flush, close, reopen and replay round-trip', () => {
  const p = fresh();
  const w = WalFsWriter.open(p);
  assert.is(w.currentSequence, 0);
  for (let i = 1; i <= 100; i++) w.append({ sequence: i * 2, payload: enc(`e${i}`) });
  assert.is(w.currentSequence, 200);
  assert.is(w.durableSequence, 0);
  w.flush();
  assert.is(w.durableSequence, 200);
  w.close();
  w.close(); // idempotent
  const got = events(p);
  assert.is(got.length, 100);
  assert.equal(got[0], [2, 'e1']);
  assert.equal(got[99], [200, 'e100']);
  const w2 = WalFsWriter.open(p);
  assert.is(w2.currentSequence, 200);
  w2.append({ sequence: 201, payload: enc('more') });
  w2.close();
  assert.equal(events(p).at(-1), [201, 'more']);
});

test('an empty WAL opens with sequence 0 and replays nothing; close without appends', () => {
  const p = fresh();
  WalFsWriter.open(p).close();
  assert.is(fs.statSync(p).size, 64);
  assert.equal(events(p), []);
  const w = WalFsWriter.open(p);
  assert.is(w.currentSequence, 0);
  w.close();
});

test('sequences must strictly increase and be valid numbers', () => {
  const w = WalFsWriter.open(fresh());
  w.append({ sequence: 5, payload: enc('a') });
  assert.throws(() => w.append({ sequence: 5, payload: enc('b') }), (e) => e instanceof RangeError);
  assert.throws(() => w.append({ sequence: 4, payload: enc('b') }), (e) => e instanceof RangeError);
  assert.throws(() => w.append({ sequence: 1.5, payload: enc('b') }), (e) => e instanceof RangeError);
  assert.throws(() => w.append({ sequence: -1, payload: enc('b') }), (e) => e instanceof RangeError);
  assert.throws(() => w.append({ sequence: 2 ** 53, payload: enc('b') }), (e) => e instanceof RangeError);
  assert.throws(() => w.append({ sequence: 6n, payload: enc('b') }), (e) => e instanceof TypeError);
  assert.throws(() => w.append({ sequence: 6, payload: 'text' }), (e) => e instanceof TypeError);
  assert.throws(() => w.append(null), (e) => e instanceof TypeError);
  assert.is(w.currentSequence, 5);
  w.append({ sequence: Number.MAX_SAFE_INTEGER, payload: enc('max') });
  w.close();
});

test('number sequences across 2^32 (append splits below 2^32 without a modulo) round-trip and stay ordered', () => {
  const p = fresh();
  const w = WalFsWriter.open(p);
  const seqs = [1, 2 ** 32 - 2, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 1, 3 * 2 ** 32 + 7, Number.MAX_SAFE_INTEGER];
  for (const s of seqs) w.append({ sequence: s, payload: enc(`s${s}`) });
  assert.throws(() => w.append({ sequence: 2 ** 32 - 1, payload: enc('x') }), (e) => e instanceof RangeError, 'a smaller number below 2^32 is still refused');
  assert.is(w.currentSequence, Number.MAX_SAFE_INTEGER);
  w.close();
  assert.equal(events(p), seqs.map((s) => [s, `s${s}`]));
  const again = WalFsWriter.open(p);
  assert.is(again.currentSequence, Number.MAX_SAFE_INTEGER);
  again.close();
});

test('bigint mode keeps the full u64 range, and number mode refuses such a log', () => {
  const p = fresh();
  const w = WalFsWriter.open(p, { sequences: 'bigint' });
  w.append({ sequence: 1n, payload: enc('one') });
  w.append({ sequence: 2n ** 32n, payload: enc('2^32') });
  w.append({ sequence: 2n ** 64n - 1n, payload: enc('max') });
  assert.throws(() => w.append({ sequence: 2n ** 64n, payload: enc('x') }), (e) => e instanceof RangeError);
  w.close();
  assert.equal(events(p, { sequences: 'bigint' }).map((e) => e[0]), [1n, 2n ** 32n, 2n ** 64n - 1n]);
  code(() => WalFsWriter.open(p), 'SEQUENCE_OUT_OF_RANGE');
  code(() => events(p), 'SEQUENCE_OUT_OF_RANGE');
  const again = WalFsWriter.open(p, { sequences: 'bigint' });
  assert.is(again.currentSequence, 2n ** 64n - 1n);
  again.close();
});

test('options are checked', () => {
  assert.throws(() => WalFsWriter.open(fresh(), { repiar: 'strict' }), (e) => e instanceof TypeError);
  assert.throws(() => WalFsWriter.open(fresh(), { repair: 'fix-it' }), (e) => e instanceof RangeError);
  assert.throws(() => WalFsWriter.open(fresh(), { bufferSize: -1 }), (e) => e instanceof RangeError);
  assert.throws(() => WalFsWriter.open(fresh(), { sequences: 'string' }), (e) => e instanceof RangeError);
  assert.throws(() => WalFsWriter.open(''), (e) => e instanceof TypeError);
  assert.throws(() => WalFsWriter.open(fresh(), { codec: {} }), (e) => e instanceof TypeError);
  assert.throws(() => WalFsReader.open(fresh(), { copy: true, nope: 1 }), (e) => e instanceof TypeError);
});

test('a codec stores typed events, and a payload it cannot decode fails open with decode-failure', () => {
  const json = { encode: (v) => enc(JSON.stringify(v)), decode: (b) => JSON.parse(dec(b)) };
  const p = fresh();
  const w = WalFsWriter.open(p, { codec: json });
  w.append({ sequence: 1, payload: { op: 'put', key: 'a' } });
  w.append({ sequence: 2, payload: [1, 2, 3] });
  w.close();
  const r = WalFsReader.open(p, { codec: json });
  assert.equal([...r].map((e) => e.payload), [{ op: 'put', key: 'a' }, [1, 2, 3]]);
  r.close();
  const strictCodec = { encode: json.encode, decode: (b) => { const v = json.decode(b); if (Array.isArray(v)) throw new Error('no arrays'); return v; } };
  const e = code(() => WalFsWriter.open(p, { codec: strictCodec, repair: 'truncate-partial' }), 'CORRUPTED');
  assert.is(e.reason, 'decode-failure');
  assert.is(e.offset, 64 + 32 + enc(JSON.stringify({ op: 'put', key: 'a' })).length);
  code(() => [...WalFsReader.open(p, { codec: strictCodec })], 'CORRUPTED');
});

test('a second writer is refused, in-process and from the lock file; close releases it', () => {
  const p = fresh();
  const w = WalFsWriter.open(p);
  const e = code(() => WalFsWriter.open(p), 'LOCKED');
  assert.ok(e.message.includes('pid'));
  w.close();
  WalFsWriter.open(p).close();
  const mem = new MemoryFileSystem();
  const m = WalFsWriter.open('/x.wal', { fs: mem });
  code(() => WalFsWriter.open('/x.wal', { fs: mem }), 'LOCKED');
  m.close();
  WalFsWriter.open('/x.wal', { fs: mem }).close();
});

test('a lock left by a dead process is taken over; a live or foreign one is not', () => {
  const p = fresh();
  WalFsWriter.open(p).close();
  // A pid that cannot exist (above the kernel's pid_max of 2^22).
  fs.writeFileSync(`${p}.lock`, JSON.stringify({ pid: 4194304 + 17, start: null, boot: null, host: hostnameOf(), token: 'dead' }));
  WalFsWriter.open(p).close();
  assert.not.ok(fs.existsSync(`${p}.lock`));
  fs.writeFileSync(`${p}.lock`, JSON.stringify({ pid: 1, start: null, boot: null, host: hostnameOf(), token: 'init' }));
  code(() => WalFsWriter.open(p), 'LOCKED');
  fs.writeFileSync(`${p}.lock`, JSON.stringify({ pid: 4194304 + 17, start: null, boot: null, host: 'another-host', token: 'far' }));
  code(() => WalFsWriter.open(p), 'LOCKED');
  fs.unlinkSync(`${p}.lock`);
  WalFsWriter.open(p).close();
});


test('calls after close throw CLOSED; dispose closes', () => {
  const w = WalFsWriter.open(fresh());
  w[Symbol.dispose]();
  assert.is(w.state, 'closed');
  code(() => w.append({ sequence: 1, payload: enc('x') }), 'CLOSED');
  code(() => w.flush(), 'CLOSED');
});

test('flushAsync: 64 concurrent appenders share syncs and every awaited event survives a crash', async () => {
  const mem = new MemoryFileSystem();
  const w = WalFsWriter.open('/g.wal', { fs: mem });
  let seq = 0;
  const acked = [];
  await Promise.all(Array.from({ length: 64 }, async (_, k) => {
    for (let i = 0; i < 5; i++) {
      const s = ++seq;
      w.append({ sequence: s, payload: enc(`a${k}-${i}`) });
      await w.flushAsync();
      acked.push(s);
    }
  }));
  const stats = w.groupCommitStats;
  assert.is(stats.requests, 320);
  assert.ok(stats.syncs <= 10, `expected shared syncs, got ${stats.syncs}`);
  w.append({ sequence: ++seq, payload: enc('unacknowledged') });
  mem.crash({ seed: 1, mode: 'drop' });
  const got = events('/g.wal', { fs: mem }).map((e) => e[0]);
  for (const s of acked) assert.ok(got.includes(s), `acknowledged ${s} lost`);
  assert.not.ok(got.includes(seq), 'a buffered, never flushed event cannot be on disk');
});

test('a flushAsync() made just before close() resolves: close flushed its data', async () => {
  const mem = new MemoryFileSystem();
  const w = WalFsWriter.open('/c.wal', { fs: mem });
  w.append({ sequence: 1, payload: enc('one') });
  const pending = w.flushAsync();
  w.close();
  await pending;
  mem.crash({ seed: 2, mode: 'drop' });
  assert.equal(events('/c.wal', { fs: mem }), [[1, 'one']]);
  // After close, a new request fails at once.
  await w.flushAsync().then(() => assert.unreachable('flushAsync after close'), (e) => assert.is(e.code, 'CLOSED'));
});

test('a failed write is rolled back and retried by the next flush', () => {
  const mem = new MemoryFileSystem();
  const w = WalFsWriter.open('/r.wal', { fs: mem });
  w.append({ sequence: 1, payload: enc('one') });
  w.flush();
  const before = mem.readFile('/r.wal').length;
  w.append({ sequence: 2, payload: enc('two') });
  w.append({ sequence: 3, payload: enc('three') });
  mem.injectFault({ op: 'write', code: 'ENOSPC', partialBytes: 20 });
  const e = code(() => w.flush(), 'IO_ERROR');
  assert.is(e.errno, 'ENOSPC');
  assert.is(e.offset, before - 32); // the sync marker's place: the logical end
  assert.is(mem.readFile('/r.wal').length, before - 32, 'rolled back to the pre-write offset');
  assert.is(w.state, 'open');
  w.flush();
  w.close();
  assert.equal(events('/r.wal', { fs: mem }), [[1, 'one'], [2, 'two'], [3, 'three']]);
});

test('when the rollback fails too, the writer is poisoned for good', () => {
  const mem = new MemoryFileSystem();
  const w = WalFsWriter.open('/p.wal', { fs: mem });
  w.append({ sequence: 1, payload: enc('one') });
  w.flush();
  w.append({ sequence: 2, payload: enc('two') });
  mem.injectFault({ op: 'write', code: 'EIO', partialBytes: 10 });
  mem.injectFault({ op: 'truncate', code: 'EIO' });
  code(() => w.flush(), 'POISONED');
  assert.is(w.state, 'poisoned');
  code(() => w.append({ sequence: 3, payload: enc('x') }), 'POISONED');
  code(() => w.flush(), 'POISONED');
  return w.flushAsync().then(() => assert.unreachable('flushAsync on a poisoned writer'), (err) => {
    assert.is(err.code, 'POISONED');
    w.close(); // releases without throwing
    mem.clearFaults();
    const again = WalFsWriter.open('/p.wal', { fs: mem, repair: 'truncate-partial' });
    assert.is(again.currentSequence, 1);
    again.close();
  });
});

test('a failed fsync poisons the writer and rejects every waiting flushAsync', async () => {
  const mem = new MemoryFileSystem();
  const w = WalFsWriter.open('/s.wal', { fs: mem });
  w.append({ sequence: 1, payload: enc('one') });
  mem.injectFault({ op: 'sync', code: 'EIO' });
  const results = await Promise.allSettled([w.flushAsync(), w.flushAsync(), w.flushAsync()]);
  assert.equal(results.map((r) => r.status), ['rejected', 'rejected', 'rejected']);
  assert.is(results[0].reason.code, 'POISONED');
  assert.is(w.state, 'poisoned');
  w.close();
});

test('payloads larger than the buffer, empty payloads, and bufferSize 0 (write-through)', () => {
  const p = fresh();
  const big = new Uint8Array(3 << 20).map((_, i) => i * 7);
  const w = WalFsWriter.open(p, { bufferSize: 1024 });
  w.append({ sequence: 1, payload: new Uint8Array(0) });
  w.append({ sequence: 2, payload: big });
  w.append({ sequence: 3, payload: enc('after') });
  w.close();
  const r = WalFsReader.open(p);
  const got = [...r];
  r.close();
  assert.is(got.length, 3);
  assert.is(got[0].payload.length, 0);
  assert.equal(got[1].payload, big);
  const t = fresh();
  const wt = WalFsWriter.open(t, { bufferSize: 0 });
  wt.append({ sequence: 1, payload: enc('through') });
  assert.is(fs.statSync(t).size, 64 + 32 + 7, 'written before any flush');
  wt.close();
});

test('preallocate: zeros ahead of the frames while open, cut by close, cut as a torn tail after a crash', () => {
  const p = fresh();
  const w = WalFsWriter.open(p, { preallocate: true });
  assert.is(fs.statSync(p).size, 1 << 20, 'open wrote the first MiB of zeros');
  for (let i = 1; i <= 100; i++) w.append({ sequence: i, payload: enc(`e${i}`) });
  w.flush();
  assert.is(fs.statSync(p).size, 1 << 20, 'the flush overwrote zeros: the size did not change');
  const big = new Uint8Array(1 << 20).fill(9);
  w.append({ sequence: 101, payload: big });
  w.flush();
  assert.is(fs.statSync(p).size, 2 << 20, 'a write past the zeros extends them by whole MiBs');
  assert.is(events(p).length, 101, 'a reader of the open file ends quietly at the zeros');
  const size = w.size;
  w.close();
  assert.is(fs.statSync(p).size, size + 32, 'close cut the zeros (frames and the sync marker remain)');
  assert.is(events(p, { strict: true }).length, 101);
  assert.throws(() => WalFsWriter.open(fresh(), { preallocate: 1 }), (e) => e instanceof TypeError);

  const mem = new MemoryFileSystem();
  mem.mkdir('/d');
  mem.syncDir('/');
  const m = WalFsWriter.open('/d/p.wal', { fs: mem, preallocate: true });
  for (let i = 1; i <= 10; i++) m.append({ sequence: i, payload: enc(`m${i}`) });
  m.flush();
  m.append({ sequence: 11, payload: enc('unsynced') });
  mem.crash({ mode: 'drop' });
  code(() => WalFsWriter.open('/d/p.wal', { fs: mem, repair: 'strict' }), 'TORN_TAIL');
  const again = WalFsWriter.open('/d/p.wal', { fs: mem, preallocate: true });
  assert.ok(again.openReport.truncatedBytes > 0, 'the zeros were cut as a torn tail');
  assert.is(again.currentSequence, 10);
  again.close();
});

test('a payload over the 64 MiB frame bound is refused before anything is written', () => {
  const w = WalFsWriter.open(fresh());
  assert.throws(() => w.append({ sequence: 1, payload: new Uint8Array((64 << 20) + 1) }), (e) => e instanceof RangeError);
  assert.is(w.currentSequence, 0);
  w.close();
});

test('reader: forEach, copy:false views, offsets, and reading while a writer appends', () => {
  const p = fresh();
  const w = WalFsWriter.open(p);
  for (let i = 1; i <= 1000; i++) w.append({ sequence: i, payload: enc(String(i)) });
  w.flush();
  const r = WalFsReader.open(p, { copy: false });
  let sum = 0;
  let lastOffset = 0;
  const count = r.forEach((seq, payload, offset) => {
    assert.is(Number(dec(payload)), seq);
    assert.ok(offset > lastOffset);
    lastOffset = offset;
    sum += seq;
  });
  assert.is(count, 1000);
  assert.is(sum, 500500);
  r.close();
  for (let i = 1001; i <= 1100; i++) w.append({ sequence: i, payload: enc(String(i)) });
  w.flush();
  assert.is(events(p).length, 1100);
  w.close();
});

test('reader: a torn tail ends replay quietly, or throws TORN_TAIL when strict', () => {
  const p = fresh();
  const w = WalFsWriter.open(p);
  w.append({ sequence: 1, payload: enc('kept') });
  w.close();
  fs.appendFileSync(p, new Uint8Array([0xf7, 1, 2, 3]));
  assert.equal(events(p), [[1, 'kept']]);
  const e = code(() => events(p, { strict: true }), 'TORN_TAIL');
  assert.is(e.reason, 'incomplete-header');
});

test('the sequence must be of the mode\'s type: a number in number mode, a bigint in bigint mode (TypeError)', () => {
  const big = WalFsWriter.open(fresh(), { u64: 'bigint' });
  assert.throws(() => big.append({ sequence: 1, payload: enc('a') }), (e) => e instanceof TypeError);
  assert.is(big.currentSequence, 0n, 'a refused append changed currentSequence');
  big.append({ sequence: 1n, payload: enc('a') });
  big.close();
  const num = WalFsWriter.open(fresh());
  assert.throws(() => num.append({ sequence: 1n, payload: enc('a') }), (e) => e instanceof TypeError);
  num.close();
});

test('wrong option types are TypeError, out-of-range values RangeError; u64 and its alias sequences', () => {
  assert.throws(() => WalFsWriter.open(fresh(), { bufferSize: 'big' }), (e) => e instanceof TypeError);
  assert.throws(() => WalFsWriter.open(fresh(), { bufferSize: 1.5 }), (e) => e instanceof RangeError);
  assert.throws(() => WalFsWriter.open(fresh(), { repair: 5 }), (e) => e instanceof TypeError);
  assert.throws(() => WalFsWriter.open(fresh(), { u64: 5 }), (e) => e instanceof TypeError);
  assert.throws(() => WalFsWriter.open(fresh(), { u64: 'bigint', sequences: 'number' }), (e) => e instanceof TypeError);
  assert.throws(() => WalFsReader.open(fresh(), { strict: 'yes' }), (e) => e instanceof TypeError);
  const p = fresh();
  const w = WalFsWriter.open(p, { u64: 'bigint' });
  w.append({ sequence: 7n, payload: enc('x') });
  w.close();
  assert.equal(events(p, { u64: 'bigint' }).map((e) => e[0]), [7n]);
  assert.equal(events(p, { sequences: 'bigint' }).map((e) => e[0]), [7n]);
});

test('a torn tail reopens without any option (default repair cuts it); strict refuses it', () => {
  const p = fresh();
  const w = WalFsWriter.open(p);
  w.append({ sequence: 1, payload: enc('kept') });
  w.close();
  fs.appendFileSync(p, new Uint8Array(20).fill(7)); // what a crash mid-write leaves
  code(() => WalFsWriter.open(p, { repair: 'strict' }), 'TORN_TAIL');
  const again = WalFsWriter.open(p);
  assert.is(again.openReport.truncatedBytes, 20);
  assert.is(again.currentSequence, 1);
  again.close();
});

test('syncAsync() is the async durability call; flushAsync() is its deprecated alias', async () => {
  const w = WalFsWriter.open(fresh());
  w.append({ sequence: 1, payload: enc('a') });
  await w.syncAsync();
  assert.is(w.durableSequence, 1);
  w.append({ sequence: 2, payload: enc('b') });
  await w.flushAsync();
  assert.is(w.durableSequence, 2);
  w.close();
});

test('a directory is BAD_HEADER for the writer and the reader alike', () => {
  code(() => WalFsWriter.open(dir), 'BAD_HEADER');
  code(() => WalFsReader.open(dir), 'BAD_HEADER');
  const mem = new MemoryFileSystem();
  mem.mkdir('/d');
  code(() => WalFsWriter.open('/d', { fs: mem }), 'BAD_HEADER');
  code(() => WalFsReader.open('/d', { fs: mem }), 'BAD_HEADER');
});

test('missing files and non-WAL files are clear errors', () => {
  code(() => WalFsReader.open(`${dir}/none.wal`), 'IO_ERROR');
  const p = fresh();
  fs.writeFileSync(p, 'this is not a wal file, it is just text that is long enough for a header....');
  const e = code(() => WalFsWriter.open(p), 'BAD_HEADER');
  assert.is(e.reason, 'bad-magic');
  code(() => WalFsWriter.open(dir), 'BAD_HEADER');
  const missing = code(() => WalFsWriter.open(`${dir}/no/such/dir/x.wal`), 'IO_ERROR');
  assert.is(missing.errno, 'ENOENT');
  const m = code(() => WalFsWriter.open('/no/such/dir/x.wal', { fs: new MemoryFileSystem() }), 'IO_ERROR');
  assert.is(m.errno, 'ENOENT');
});

test.run();
