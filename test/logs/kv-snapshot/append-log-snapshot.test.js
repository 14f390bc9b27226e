// AppendLogSnapshot behaviour: the fold, ordering, cursors, input checks,
// durability calls, recovery (torn tail, torn multi-frame batch, corruption),
// compaction.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AppendLogSnapshot, MemoryFileSystem, WalError, WatchCursor } from 'walcore';
import { dec, enc, hex, tempDir } from '../../support/helpers.js';

function mem() {
  const fs = new MemoryFileSystem();
  fs.mkdir('/d');
  fs.syncDir('/');
  return { fs, path: '/d/kv' };
}
const rev = (n) => WatchCursor.fromRevision(n);
const put = (key, value, version) => ({ type: 'put', key, value: typeof value === 'string' ? enc(value) : value, ...(version ? { version } : {}) });
const del = (key) => ({ type: 'delete', key });
const dump = (store, prefix = '') => store.range(prefix).map((e) => `${e.key}=${dec(e.value)}`).join(',');
const isType = (C) => (e) => e instanceof C;
function expectCode(fn, code) {
  try { fn(); } catch (e) {
    assert.instance(e, WalError, String(e));
    assert.is(e.code, code, e.message);
    return e;
  }
  assert.unreachable(`expected ${code}`);
}

test('a new store is empty at WatchCursor.none; apply, get, reopen', () => {
  const { fs, path } = mem();
  let { cursor, store } = AppendLogSnapshot.open(path, { fs });
  assert.ok(cursor.isNone);
  assert.ok(store.cursor().equals(WatchCursor.none));
  assert.is(store.get('a'), undefined);
  store.apply([put('a', '1'), put('b', '2'), put('c', '3')], rev(1));
  store.apply([del('b'), put('a', '4')], rev(2), { sync: true });
  assert.is(dec(store.get('a').value), '4');
  assert.is(store.get('b'), undefined);
  assert.is(dump(store), 'a=4,c=3');
  store.close();
  ({ cursor, store } = AppendLogSnapshot.open(path, { fs }));
  assert.is(cursor.toRevision(), 2n);
  assert.is(dump(store), 'a=4,c=3');
  assert.is(store.openReport.batches, 2);
  store.close();
});

test('load(path) opens with the defaults on the real file system', () => {
  const dir = tempDir('kv');
  const path = `${dir}/a.kv`;
  const { store } = AppendLogSnapshot.load(path);
  store.apply([put('x', 'y')], rev(5));
  store.close();
  const again = AppendLogSnapshot.load(path);
  assert.is(again.cursor.toHex(), '0000000000000005');
  assert.is(dec(again.store.get('x').value), 'y');
  again.store.close();
});

test('range is ascending by UTF-8 bytes (surrogate pairs after U+FFFF-range BMP chars), prefix-bounded', () => {
  const { fs, path } = mem();
  const { store } = AppendLogSnapshot.open(path, { fs });
  const keys = ['b', 'a', 'ab', 'a/', '\uE000', '\u{1F600}', '\uFFFD', 'A', '', 'é', 'a\u0000'];
  store.apply(keys.map((k, i) => put(k, String(i))), rev(1));
  const got = store.range('').map((e) => e.key);
  const utf8 = [...keys].sort((x, y) => Buffer.compare(Buffer.from(x, 'utf8'), Buffer.from(y, 'utf8')));
  assert.equal(got, utf8);
  assert.equal(got.slice(-3), ['\uE000', '\uFFFD', '\u{1F600}']);
  assert.equal(store.range('a').map((e) => e.key), ['a', 'a\u0000', 'a/', 'ab']);
  assert.equal(store.range('zz'), []);
  store.close();
});

test('forEachInRange streams in order and stops on false; records() is lazy; the store is iterable', () => {
  const { fs, path } = mem();
  const { store } = AppendLogSnapshot.open(path, { fs });
  const batch = [];
  for (let i = 0; i < 100; i++) batch.push(put(`k/${String(i).padStart(3, '0')}`, `v${i}`));
  batch.push(put('other', 'x'));
  store.apply(batch, rev(1));
  const seen = [];
  store.forEachInRange('k/', (e) => { seen.push(e.key); if (seen.length === 5) return false; });
  assert.equal(seen, ['k/000', 'k/001', 'k/002', 'k/003', 'k/004']);
  const it = store.records('k/');
  assert.is(it.next().value.key, 'k/000');
  store.apply([del('k/001')], rev(2)); // deleted while iterating: skipped
  assert.is(it.next().value.key, 'k/002');
  assert.is([...store].length, 100);
  assert.throws(() => store.forEachInRange('k', 'nope'), isType(TypeError));
  store.close();
});

test('values and versions round-trip exactly: empty, tiny, 8-byte revisions, 10-byte versionstamps; reads return copies', () => {
  const { fs, path } = mem();
  let { store } = AppendLogSnapshot.open(path, { fs });
  const stamp = Uint8Array.from([0, 0, 1, 2, 3, 4, 5, 6, 0xff, 0xfe]);
  const vs = WatchCursor.from(stamp);
  store.apply([
    put('empty', new Uint8Array(0)),
    put('tiny', Uint8Array.of(0), rev(7).bytes),
    put('fdb', enc('x'), stamp),
  ], vs);
  const e = store.get('tiny');
  e.value[0] = 9;
  assert.is(store.get('tiny').value[0], 0, 'a read handed out the stored bytes');
  store.close();
  let cursor;
  ({ cursor, store } = AppendLogSnapshot.open(path, { fs }));
  assert.is(cursor.toHex(), hex(stamp));
  assert.is(store.get('empty').value.length, 0);
  assert.is(store.get('empty').version.length, 0);
  assert.is(hex(store.get('tiny').version), '0000000000000007');
  assert.is(hex(store.get('fdb').version), hex(stamp));
  store.close();
});

test('WatchCursor: none, comparison, hex, revisions', () => {
  assert.ok(WatchCursor.none.isNone);
  assert.is(WatchCursor.none.toHex(), '');
  assert.is(WatchCursor.compare(WatchCursor.none, rev(0)), -1);
  assert.is(rev(255).compare(rev(256)), -1);
  assert.is(rev(2n ** 64n - 1n).toRevision(), 2n ** 64n - 1n);
  assert.is(WatchCursor.fromHex('00ff').compare(WatchCursor.fromHex('00ff00')), -1);
  assert.ok(WatchCursor.fromHex(rev(9).toHex()).equals(rev(9)));
  assert.ok(WatchCursor.from(new Uint8Array(0)) === WatchCursor.none);
  const b = Uint8Array.of(1, 2);
  const c = WatchCursor.from(b);
  b[0] = 7;
  assert.is(c.toHex(), '0102', 'from() copies');
  assert.throws(() => WatchCursor.fromHex('abc'), isType(RangeError));
  assert.throws(() => WatchCursor.from('x'), isType(TypeError));
  assert.throws(() => WatchCursor.from(new Uint8Array(1025)), isType(RangeError));
  assert.throws(() => WatchCursor.fromRevision(-1), isType(RangeError));
  assert.throws(() => rev(1).compare('x'), isType(TypeError));
  assert.throws(() => WatchCursor.from(Uint8Array.of(1)).toRevision(), isType(RangeError));
});

test('a cursor that does not advance is refused unless cursorMustAdvance: false', () => {
  const { fs, path } = mem();
  let { store } = AppendLogSnapshot.open(path, { fs });
  store.apply([put('a', '1')], rev(5));
  assert.throws(() => store.apply([put('a', '2')], rev(5)), (e) => e instanceof RangeError && /does not advance/.test(e.message));
  assert.throws(() => store.apply([put('a', '2')], rev(4)), isType(RangeError));
  assert.throws(() => store.apply([put('a', '2')], WatchCursor.none), isType(RangeError));
  assert.is(dec(store.get('a').value), '1');
  store.close();
  ({ store } = AppendLogSnapshot.open(path, { fs, cursorMustAdvance: false }));
  store.apply([put('a', '3')], rev(5));
  store.apply([put('a', '4')], rev(1));
  assert.is(store.cursor().toRevision(), 1n);
  store.close();
});

test('bad input is a clear TypeError/RangeError and applies nothing', () => {
  const { fs, path } = mem();
  const { store } = AppendLogSnapshot.open(path, { fs });
  store.apply([put('keep', 'v')], rev(1));
  const size = store.fileSize;
  const cases = [
    [[put('a', '1'), { type: 'put', key: 42, value: enc('x') }], TypeError, /key must be a string/],
    [[put('a', '1'), put('bad\uD800', 'x')], RangeError, /not valid Unicode/],
    [[put('a', '1'), put('x'.repeat(65537), 'x')], RangeError, /65536-byte limit/],
    [[put('a', '1'), put('v', new Uint8Array((16 << 20) + 1))], RangeError, /16777216-byte limit/],
    [[put('a', '1'), put('v', 'x', new Uint8Array(65))], RangeError, /64-byte limit/],
    [[put('a', '1'), { type: 'put', key: 'k', value: 'str' }], TypeError, /value must be a Uint8Array/],
    [[put('a', '1'), { type: 'upsert', key: 'k' }], TypeError, /type must be/],
    [[put('a', '1'), null], TypeError, /must be an object/],
    ['nope', TypeError, /batch must be an array/],
  ];
  for (const [batch, C, re] of cases) {
    assert.throws(() => store.apply(batch, rev(2)), (e) => e instanceof C && re.test(e.message), String(re));
  }
  assert.throws(() => store.apply([put('a', '1')], 2), (e) => e instanceof TypeError && /WatchCursor/.test(e.message));
  assert.throws(() => store.apply([put('a', '1')], rev(2).bytes), isType(TypeError));
  assert.throws(() => store.apply([put('a', '1')], rev(2), { sync: 1 }), isType(TypeError));
  assert.throws(() => store.get(1), isType(TypeError));
  assert.throws(() => store.get('\uDC00'), isType(RangeError));
  assert.throws(() => store.range(null), isType(TypeError));
  assert.is(store.get('a'), undefined);
  assert.is(store.fileSize, size, 'a refused batch wrote bytes');
  assert.is(store.cursor().toRevision(), 1n);
  assert.throws(() => AppendLogSnapshot.open(path + '2', { fs, compactThreshold: -1 }), isType(RangeError));
  assert.throws(() => AppendLogSnapshot.open(path + '2', { fs, bogus: 1 }), isType(TypeError));
  assert.throws(() => AppendLogSnapshot.open(42, { fs }), isType(TypeError));
  store.close();
});

test('a key of exactly 65536 UTF-8 bytes and an empty batch (cursor only) are accepted', () => {
  const { fs, path } = mem();
  let { store } = AppendLogSnapshot.open(path, { fs });
  const big = 'é'.repeat(32768);
  store.apply([put(big, 'x')], rev(1));
  store.apply([], rev(2));
  store.close();
  ({ store } = AppendLogSnapshot.open(path, { fs }));
  assert.is(dec(store.get(big).value), 'x');
  assert.is(store.cursor().toRevision(), 2n);
  store.close();
});

test('a batch larger than one frame is a group of frames; reopened whole', () => {
  const { fs, path } = mem();
  let { store } = AppendLogSnapshot.open(path, { fs });
  const batch = [];
  for (let i = 0; i < 40; i++) batch.push(put(`big${i}`, new Uint8Array(100_000).fill(i)));
  store.apply(batch, rev(1), { sync: true });
  store.close();
  ({ store } = AppendLogSnapshot.open(path, { fs }));
  assert.is(store.range('big').length, 40);
  assert.is(store.get('big39').value[99_999], 39);
  store.close();
});

test('a torn multi-frame batch is cut whole: its first frames never show', () => {
  const { fs, path } = mem();
  let { store } = AppendLogSnapshot.open(path, { fs });
  store.apply([put('a', '1')], rev(1), { sync: true });
  const before = store.fileSize - 32; // the trailing marker is overwritten by the next batch
  const batch = [];
  for (let i = 0; i < 30; i++) batch.push(put(`big${i}`, new Uint8Array(100_000)));
  store.apply(batch, rev(2));
  const full = fs.readFile(path);
  store.close();
  // Keep the first frames of the group, lose its last frame (as a power cut may).
  fs.writeFile(path, full.subarray(0, full.length - 50_000));
  let cursor;
  ({ cursor, store } = AppendLogSnapshot.open(path, { fs }));
  assert.is(cursor.toRevision(), 1n);
  assert.is(store.range('big').length, 0);
  assert.is(store.openReport.truncatedBytes, full.length - 50_000 - before);
  store.close();
  fs.writeFile(path, full.subarray(0, full.length - 50_000));
  expectCode(() => AppendLogSnapshot.open(path, { fs, repair: 'strict' }), 'TORN_TAIL');
});

test('a torn tail is cut (and reported); strict refuses it', () => {
  const { fs, path } = mem();
  let { store } = AppendLogSnapshot.open(path, { fs });
  store.apply([put('a', '1')], rev(1), { sync: true });
  store.apply([put('b', '2')], rev(2));
  store.close();
  const full = fs.readFile(path);
  fs.writeFile(path, full.subarray(0, full.length - 40));
  expectCode(() => AppendLogSnapshot.open(path, { fs, repair: 'strict' }), 'TORN_TAIL');
  let cursor;
  ({ cursor, store } = AppendLogSnapshot.open(path, { fs }));
  assert.is(cursor.toRevision(), 1n);
  assert.ok(store.openReport.truncatedBytes > 0);
  assert.is(store.get('b'), undefined);
  store.close();
});

test('damage inside synced data is CORRUPTED with the offset, in every repair mode', () => {
  const { fs, path } = mem();
  let { store } = AppendLogSnapshot.open(path, { fs });
  store.apply([put('a', '1')], rev(1), { sync: true });
  const second = store.fileSize - 32;
  store.apply([put('b', '2')], rev(2), { sync: true });
  store.apply([put('c', '3')], rev(3), { sync: true });
  store.close();
  const bytes = fs.readFile(path);
  bytes[second + 40] ^= 0x55;
  fs.writeFile(path, bytes);
  for (const repair of ['strict', 'truncate-partial']) {
    const e = expectCode(() => AppendLogSnapshot.open(path, { fs, repair }), 'CORRUPTED');
    assert.is(e.offset, second);
  }
});

test('a compacted file: damage anywhere is CORRUPTED (every frame witnesses the ones before it)', () => {
  const { fs, path } = mem();
  let { store } = AppendLogSnapshot.open(path, { fs, compactThreshold: 0 });
  const batch = [];
  for (let i = 0; i < 30; i++) batch.push(put(`k${i}`, new Uint8Array(60_000)));
  store.apply(batch, rev(1));
  store.apply([put('k0', 'x')], rev(2)); // garbage > 0: compacts
  assert.ok(store.compactions >= 1);
  store.close();
  const bytes = fs.readFile(path);
  bytes[bytes.length - 40] ^= 1; // inside the last data frame
  fs.writeFile(path, bytes);
  expectCode(() => AppendLogSnapshot.open(path, { fs }), 'CORRUPTED');
});

test('an intact frame with impossible content is CORRUPTED (decode-failure); another kind is BAD_HEADER', async () => {
  const { fs, path } = mem();
  const { store } = AppendLogSnapshot.open(path, { fs });
  store.close();
  fs.writeFile('/d/not', enc('x'.repeat(100)));
  expectCode(() => AppendLogSnapshot.open('/d/not', { fs }), 'BAD_HEADER');
  fs.mkdir('/d/dir');
  expectCode(() => AppendLogSnapshot.open('/d/dir', { fs }), 'BAD_HEADER');
  const { WalFsWriter } = await import('walcore');
  WalFsWriter.open('/d/wal', { fs }).close();
  const e = expectCode(() => AppendLogSnapshot.open('/d/wal', { fs }), 'BAD_HEADER');
  assert.is(e.reason, 'wrong-kind');
  // A WAL event frame (type 1) with this file's salt inside a KV file: valid CRC, wrong type.
  const { Core } = await import('walcore/internals');
  const core = new Core();
  const kv = fs.readFile(path);
  const salt = new DataView(kv.buffer, kv.byteOffset).getUint32(8, true);
  core.ensure(64);
  const n = core.x.encodeFrame(core.staging, 4, 1, salt, 1, 0, 64);
  const out = new Uint8Array(kv.length + n);
  out.set(kv);
  out.set(core.u8.subarray(core.staging, core.staging + n), kv.length);
  fs.writeFile(path, out);
  const c = expectCode(() => AppendLogSnapshot.open(path, { fs }), 'CORRUPTED');
  assert.is(c.reason, 'decode-failure');
  assert.is(c.offset, 64);
});

test('compaction: the file shrinks to about the live data and reopens to the same fold', () => {
  const { fs, path } = mem();
  let { store } = AppendLogSnapshot.open(path, { fs, compactThreshold: 4096 });
  for (let i = 1; i <= 2000; i++) store.apply([put(`k${i % 10}`, `value-${i}`)], rev(i));
  assert.ok(store.compactions > 10, `${store.compactions} compactions`);
  assert.ok(store.fileSize < 64 + store.liveBytes + 4096 + 1024, `file ${store.fileSize} for ${store.liveBytes} live bytes`);
  const want = dump(store);
  store.close();
  ({ store } = AppendLogSnapshot.open(path, { fs, compactThreshold: 4096 }));
  assert.is(dump(store), want);
  assert.is(store.cursor().toRevision(), 2000n);
  store.compact();
  assert.is(dump(store), want);
  store.close();
});

test('open compacts a file over the threshold', () => {
  const { fs, path } = mem();
  let { store } = AppendLogSnapshot.open(path, { fs });
  for (let i = 1; i <= 200; i++) store.apply([put('k', `value-${i}`)], rev(i));
  const big = store.fileSize;
  store.close();
  ({ store } = AppendLogSnapshot.open(path, { fs, compactThreshold: 100 }));
  assert.ok(store.openReport.compacted);
  assert.ok(store.fileSize < big / 10);
  assert.is(dec(store.get('k').value), 'value-200');
  store.close();
});

test('sync and syncAsync advance durableCursor; group commit shares fsyncs', async () => {
  const { fs, path } = mem();
  const { store } = AppendLogSnapshot.open(path, { fs });
  store.apply([put('a', '1')], rev(1));
  assert.ok(store.durableCursor.isNone);
  store.sync();
  assert.is(store.durableCursor.toRevision(), 1n);
  const waits = [];
  for (let i = 2; i < 20; i++) {
    store.apply([put('a', String(i))], rev(i));
    waits.push(store.syncAsync());
  }
  await Promise.all(waits);
  assert.is(store.durableCursor.toRevision(), 19n);
  assert.ok(store.groupCommitStats.syncs < 18);
  store.close();
  assert.is(store.state, 'closed');
  expectCode(() => store.get('a'), 'CLOSED');
  expectCode(() => store.cursor(), 'CLOSED');
});

test('a failed write applies nothing and the store stays usable', () => {
  const { fs, path } = mem();
  const { store } = AppendLogSnapshot.open(path, { fs });
  store.apply([put('a', '1')], rev(1));
  fs.injectFault({ op: 'write', code: 'ENOSPC' });
  expectCode(() => store.apply([put('b', '2')], rev(2)), 'IO_ERROR');
  assert.is(store.get('b'), undefined);
  assert.is(store.cursor().toRevision(), 1n);
  store.apply([put('b', '3')], rev(2), { sync: true });
  assert.is(dump(store), 'a=1,b=3');
  store.close();
});

test.run();
