// The key-value index in WebAssembly memory (assembly/kv-index.ts, host/logs/kv-snapshot/kv-index.ts)
// at its edges: forced hash collisions, table growth across sizes, delete then
// reinsert, tombstone churn, arena compaction, empty and 64 KiB keys, UTF-8 byte
// order, and a seeded model test against a Map. Store-level cases check the same
// through apply/reopen (the replay path).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AppendLogSnapshot, WalError, WatchCursor } from 'walcore';
import { KvIndex } from 'walcore/internals';
import { dec, enc, rng, seedFor } from '../../support/helpers.js';
import { memFs } from '../../support/async-sync.js';

const utf8 = new TextEncoder();
const byBytes = (a, b) => Buffer.compare(Buffer.from(utf8.encode(a)), Buffer.from(utf8.encode(b)));
const keysOf = (ix, prefix = '') => [...ix.entries(prefix)].map((e) => e.key);
/** A simulator with a durable /d (test/support/async-sync.js) and the store's path in it. */
const mem = () => ({ fs: memFs(), path: '/d/kv' });
const rev = (n) => WatchCursor.fromRevision(n);

/** Check `ix` holds exactly `model` (key -> [value string, version string]), by get and by range. */
function same(ix, model, what) {
  assert.is(ix.size, model.size, `${what}: size`);
  for (const [k, [v, ver]] of model) {
    const e = ix.entry(k);
    assert.ok(e !== undefined, `${what}: ${JSON.stringify(k)} missing`);
    assert.is(dec(e.value), v, `${what}: value of ${JSON.stringify(k)}`);
    assert.is(dec(e.version), ver, `${what}: version of ${JSON.stringify(k)}`);
  }
  assert.equal(keysOf(ix), [...model.keys()].sort(byBytes), `${what}: key order`);
}

test('every key colliding (hash mask 0): put, overwrite, delete, reinsert, range', () => {
  for (const mask of [0, 0xf]) {
    const ix = new KvIndex();
    ix.setHashMask(mask);
    const model = new Map();
    for (let i = 0; i < 1500; i++) { ix.put(`c${i}`, enc(`v${i}`)); model.set(`c${i}`, [`v${i}`, '']); }
    same(ix, model, `mask ${mask} after puts`);
    for (let i = 0; i < 1500; i += 3) { ix.delete(`c${i}`); model.delete(`c${i}`); }
    for (let i = 1; i < 1500; i += 3) { ix.put(`c${i}`, enc(`w${i}`), enc('r')); model.set(`c${i}`, [`w${i}`, 'r']); }
    assert.is(ix.entry('c0'), undefined);
    assert.is(ix.entry('nope'), undefined);
    same(ix, model, `mask ${mask} after deletes and overwrites`);
    for (let i = 0; i < 1500; i += 3) { ix.put(`c${i}`, enc(`again${i}`)); model.set(`c${i}`, [`again${i}`, '']); }
    same(ix, model, `mask ${mask} after reinserting`);
  }
  assert.throws(() => { const ix = new KvIndex(); ix.put('a', enc('x')); ix.setHashMask(0); }, /not empty/);
});

test('table growth: every key found and no stray key at sizes around each power of two up to 2^17', () => {
  const ix = new KvIndex();
  const checkpoints = new Set([0, 1, 2, 3]);
  for (let p = 2; p <= 17; p++) for (const d of [-1, 0, 1]) checkpoints.add((1 << p) + d);
  const max = Math.max(...checkpoints);
  for (let n = 0; n <= max; n++) {
    if (checkpoints.has(n)) {
      assert.is(ix.size, n, `size at ${n}`);
      const step = Math.max(1, Math.floor(n / 2000)); // sample large sizes
      for (let i = 0; i < n; i += step) assert.is(dec(ix.entry(`g/${i}`).value), String(i), `key ${i} of ${n}`);
      if (n > 0) assert.is(dec(ix.entry(`g/${n - 1}`).value), String(n - 1));
      assert.is(ix.entry(`g/${n}`), undefined, `no key ${n} yet`);
    }
    ix.put(`g/${n}`, enc(String(n)));
  }
  assert.is(keysOf(ix, 'g/6553').length, 1 + 10); // g/6553, g/65530..65539
});

test('reserveKeys: the table sized for an estimate keeps every entry (tombstones too) and takes the rest; smaller estimates change nothing', () => {
  const ix = new KvIndex();
  const model = new Map();
  for (let i = 0; i < 300; i++) { ix.put(`r${i}`, enc(`v${i}`)); model.set(`r${i}`, [`v${i}`, '']); }
  for (let i = 0; i < 300; i += 4) { ix.delete(`r${i}`); model.delete(`r${i}`); }
  ix.reserveKeys(60_000);
  same(ix, model, 'after reserveKeys');
  for (let i = 300; i < 60_000; i++) { ix.put(`r${i}`, enc(`v${i}`)); model.set(`r${i}`, [`v${i}`, '']); }
  same(ix, model, 'after filling the reserved table');
  ix.reserveKeys(10);
  ix.reserveKeys(-5);
  same(ix, model, 'after smaller estimates');
});

test('store: a replay that sizes its table from the first MiB (more keys, overwrites and deletes after it) ends in the same fold', () => {
  const { fs, path } = mem();
  const { store } = AppendLogSnapshot.open(path, { fs, compactThreshold: 1 << 30 });
  const model = new Map();
  const val = (i, r) => enc(`${r}:${i}:`.padEnd(60, 'x'));
  let n = 0;
  // 1.3 MiB of distinct keys, then twice as many new keys per batch, then overwrites and deletes of the early ones.
  for (let b = 0; b < 140; b++) store.apply(Array.from({ length: 100 }, (_, i) => ({ type: 'put', key: `k${b * 100 + i}`, value: val(b * 100 + i, 0) })), rev(++n));
  for (let b = 140; b < 400; b++) store.apply(Array.from({ length: 200 }, (_, i) => ({ type: 'put', key: `k${b * 200 + i}`, value: val(b * 200 + i, 0) })), rev(++n));
  for (let b = 0; b < 60; b++) {
    store.apply(Array.from({ length: 100 }, (_, i) => (i % 3 === 0 ? { type: 'delete', key: `k${b * 100 + i}` } : { type: 'put', key: `k${b * 100 + i}`, value: val(b * 100 + i, 1) })), rev(++n));
  }
  for (const e of store.records()) model.set(e.key, dec(e.value));
  store.close();
  const again = AppendLogSnapshot.open(path, { fs });
  assert.is(again.store.size, model.size);
  for (const [k, v] of model) assert.is(dec(again.store.get(k).value), v, k);
  assert.is(again.store.get('k0'), undefined);
  assert.is(again.cursor.toHex(), rev(n).toHex());
  again.store.close();
});

test('delete then reinsert: the new value and version, size back, range sees it once', () => {
  const ix = new KvIndex();
  ix.put('a', enc('1'), enc('v1'));
  ix.put('b', enc('2'));
  assert.equal(keysOf(ix), ['a', 'b']); // the sorted order now exists: slots are not reused while it does
  ix.delete('a');
  assert.is(ix.entry('a'), undefined);
  assert.is(ix.size, 1);
  ix.delete('a'); // a second delete is a no-op
  assert.is(ix.size, 1);
  ix.put('a', enc('3'), enc('v3'));
  assert.is(ix.size, 2);
  assert.is(dec(ix.entry('a').value), '3');
  assert.is(dec(ix.entry('a').version), 'v3');
  assert.equal(keysOf(ix), ['a', 'b']);
  assert.is(ix.liveBytes, 12 + 1 + 2 + 1 + 12 + 1 + 1);
});

test('tombstone churn: 2M put/delete of the same 4 keys does not grow memory or the live size', () => {
  for (const sortedFirst of [false, true]) {
    const ix = new KvIndex();
    for (let i = 0; i < 1000; i++) ix.put(`keep/${i}`, enc('k'));
    if (sortedFirst) keysOf(ix); // with the sorted order alive tombstones are not reused until a rebuild
    const v = new Uint8Array(100);
    let mem0 = 0;
    for (let round = 0; round < 500_000; round++) {
      const k = `churn/${round & 3}`;
      ix.put(k, v);
      ix.delete(k);
      if (round === 250_000) mem0 = ix.memoryBytes; // past the first arena compactions (every ~8 MiB of waste)
    }
    assert.is(ix.size, 1000);
    let live = 0;
    for (let i = 0; i < 1000; i++) live += 12 + `keep/${i}`.length + 1; // op header, key, 1-byte value
    assert.is(ix.liveBytes, live);
    assert.ok(ix.memoryBytes <= mem0 && mem0 < (64 << 20), `memory grew under churn (sorted first: ${sortedFirst}): ${mem0} -> ${ix.memoryBytes}`);
    assert.is(keysOf(ix, 'churn/').length, 0);
    assert.is(keysOf(ix).length, 1000);
  }
});

test('arena compaction under churn: overwrites with large values keep memory bounded; get and range after it', () => {
  const ix = new KvIndex();
  const seed = seedFor('kv-index compaction');
  const r = rng(seed);
  const model = new Map();
  let peak = 0;
  for (let round = 0; round < 60; round++) {
    for (let i = 0; i < 100; i++) {
      const k = `big/${r.int(0, 199)}`;
      const v = `${round}:${i}:` + 'x'.repeat(r.int(0, 20_000));
      ix.put(k, enc(v), enc(String(round)));
      model.set(k, [v, String(round)]);
    }
    if (round === 20) peak = ix.memoryBytes;
  }
  same(ix, model, `seed ${seed}`);
  // 200 live values of <= 20 KB (< 4 MiB) churned through ~120 MB of writes: compaction keeps memory near its level at round 20.
  assert.ok(ix.memoryBytes <= peak * 2, `seed ${seed}: memory ${ix.memoryBytes} > 2 x ${peak}`);
  // Values over the chunk limit (own blocks) are released at once.
  const huge = new Uint8Array(3 << 20).fill(9);
  for (let i = 0; i < 20; i++) ix.put('huge', huge);
  assert.is(ix.entry('huge').value.length, 3 << 20);
  assert.ok(ix.memoryBytes <= peak * 2 + (8 << 20), `own blocks reused: ${ix.memoryBytes}`);
  ix.delete('huge');
  same(ix, model, `seed ${seed} after the huge value`);
});

test('seeded model test against a Map: random puts, deletes, gets and ranges (small key space, colliding and not)', () => {
  const seed = seedFor('kv-index model');
  const r = rng(seed);
  const alphabet = ['a', 'b', 'z', 'é', '\u00ff', '\ue000', '\ufffd', '😀', '/', ''];
  const randomKey = () => { let s = ''; const n = r.int(0, 4); for (let i = 0; i < n; i++) s += alphabet[r.int(0, alphabet.length - 1)]; return s; };
  for (const mask of [0xffffffff, 7]) {
    const ix = new KvIndex();
    ix.setHashMask(mask);
    const model = new Map();
    for (let step = 0; step < 20_000; step++) {
      const k = randomKey();
      const op = r.int(0, 9);
      if (op < 5) {
        const v = String(step).repeat(r.int(0, 3));
        ix.put(k, enc(v), enc(op === 0 ? 'x' : ''));
        model.set(k, [v, op === 0 ? 'x' : '']);
      } else if (op < 8) {
        ix.delete(k);
        model.delete(k);
      } else if (op === 8) {
        const e = ix.entry(k);
        const m = model.get(k);
        assert.is(e === undefined ? undefined : dec(e.value), m?.[0], `seed ${seed} step ${step}: get ${JSON.stringify(k)}`);
      } else {
        const p = Array.from(randomKey()).slice(0, 2).join('');
        const want = [...model.keys()].filter((x) => x.startsWith(p)).sort(byBytes);
        assert.equal(keysOf(ix, p), want, `seed ${seed} step ${step}: range ${JSON.stringify(p)}`);
      }
    }
    same(ix, model, `seed ${seed} mask ${mask} at the end`);
  }
});

test('iteration: keys created after the call are skipped, deleted ones skipped, overwritten ones current', () => {
  const ix = new KvIndex();
  const big = new Uint8Array(30_000); // 3 entries per 64 KiB page: the walk crosses pages
  for (let i = 0; i < 20; i++) ix.put(`k${String(i).padStart(2, '0')}`, big);
  const it = ix.entries('k');
  assert.is(it.next().value.key, 'k00');
  ix.put('k005', enc('new')); // created after the call: not yielded
  ix.delete('k02');
  ix.put('k03', enc('fresh'));
  ix.put('k19', enc('late'));
  const rest = [...it];
  assert.equal(rest.map((e) => e.key), ['k01', 'k03', 'k04', 'k05', 'k06', 'k07', 'k08', 'k09', 'k10', 'k11', 'k12', 'k13', 'k14', 'k15', 'k16', 'k17', 'k18', 'k19']);
  assert.is(dec(rest[1].value), 'fresh');
  assert.is(dec(rest.at(-1).value), 'late');
  assert.is(keysOf(ix, 'k00').length, 2); // k00, k005 for a new walk
});

test('the u32 creation stamp wraps: ranges begun before, across and after 2^32 creations see every live key', () => {
  const ix = new KvIndex();
  ix.setStamp(2 ** 32 - 3);
  for (const k of ['a', 'b', 'c']) ix.put(k, enc(k)); // born 2^32-2, 2^32-1, then the wrap renumbers
  const before = ix.entries('');
  assert.is(before.next().value.key, 'a');
  for (const k of ['d', 'e']) ix.put(k, enc(k));
  assert.equal(keysOf(ix), ['a', 'b', 'c', 'd', 'e'], 'a range begun after the wrap sees the keys born before it');
  const rest = [...before].map((e) => e.key);
  assert.ok(['b', 'c'].every((k) => rest.includes(k)), `a range begun before the wrap misses none of its keys: ${rest}`);
  ix.delete('b');
  ix.put('b', enc('again'));
  const now = ix.entries('');
  const first = now.next().value.key; // the walk takes its stamp when it starts
  ix.put('f', enc('f'));
  assert.equal([first, ...[...now].map((e) => e.key)], ['a', 'b', 'c', 'd', 'e'], 'created after the walk began: skipped');
  ix.dispose();
});

test('store: empty key and value, multi-byte keys, a 64 KiB key (and 64 KiB + 1 refused), through reopen', () => {
  const { fs, path } = mem();
  let { store } = AppendLogSnapshot.open(path, { fs });
  const k64 = 'é'.repeat(32 * 1024); // 65,536 UTF-8 bytes: the limit
  const kAstral = '😀'.repeat(16 * 1024); // 4 bytes each: 65,536
  store.apply([
    { type: 'put', key: '', value: new Uint8Array(0) },
    { type: 'put', key: 'ключ', value: enc('ru') },
    { type: 'put', key: '\ufeffbom', value: enc('bom') },
    { type: 'put', key: k64, value: enc('long') },
    { type: 'put', key: kAstral, value: enc('astral') },
  ], rev(1));
  try {
    store.apply([{ type: 'put', key: k64 + 'a', value: enc('x') }], rev(2));
    assert.unreachable('a 65,537-byte key was accepted');
  } catch (e) {
    assert.instance(e, RangeError);
    assert.match(e.message, /65537 UTF-8 bytes exceeds the 65536-byte limit/);
  }
  for (let round = 0; round < 2; round++) {
    assert.is(store.size, 5);
    assert.is(store.get('').value.length, 0);
    assert.is(store.get('').version.length, 0);
    assert.is(dec(store.get('ключ').value), 'ru');
    assert.is(dec(store.get('\ufeffbom').value), 'bom'); // a leading U+FEFF is part of the key
    assert.is(store.get('bom'), undefined);
    assert.is(dec(store.get(k64).value), 'long');
    assert.is(dec(store.get(kAstral).value), 'astral');
    assert.is(store.get(k64.slice(1)), undefined);
    assert.equal(store.range('').map((e) => e.key), ['', '\ufeffbom', k64, 'ключ', kAstral].sort(byBytes));
    assert.is(store.range('').map((e) => e.key)[0], '');
    store.close();
    ({ store } = AppendLogSnapshot.open(path, { fs }));
  }
  store.close();
});

test('store: range order is UTF-8 byte order (not UTF-16) after apply, after reopen, after more applies and deletes', () => {
  const seed = seedFor('kv-index byte order');
  const r = rng(seed);
  const chars = ['a', 'z', '\u007f', '\u0080', 'é', '\u07ff', '\u0800', '\ud7ff', '\ue000', '\uffff', '\ufffd', '😀', '\u{10ffff}', '\u{10000}'];
  const key = () => { let s = 'p'; const n = r.int(1, 5); for (let i = 0; i < n; i++) s += chars[r.int(0, chars.length - 1)]; return s; };
  const { fs, path } = mem();
  let { store } = AppendLogSnapshot.open(path, { fs });
  const model = new Set();
  let rv = 1;
  const check = (what) => {
    const want = [...model].sort(byBytes);
    assert.equal(store.range('p').map((e) => e.key), want, `seed ${seed}: ${what}`);
    assert.equal([...store].map((e) => e.key), want, `seed ${seed}: ${what} (iterator)`);
    const sub = want.filter((k) => k.startsWith('p😀'));
    assert.equal(store.range('p😀').map((e) => e.key), sub, `seed ${seed}: ${what} (prefix p😀)`);
  };
  for (let b = 0; b < 20; b++) {
    const batch = [];
    for (let i = 0; i < 50; i++) { const k = key(); model.add(k); batch.push({ type: 'put', key: k, value: enc(k) }); }
    store.apply(batch, rev(rv++));
  }
  check('after applies');
  store.close();
  ({ store } = AppendLogSnapshot.open(path, { fs }));
  check('after reopen');
  for (let b = 0; b < 10; b++) {
    const batch = [];
    for (let i = 0; i < 20; i++) {
      const k = key();
      if (r.int(0, 1) === 0) { model.add(k); batch.push({ type: 'put', key: k, value: enc(k) }); } else { model.delete(k); batch.push({ type: 'delete', key: k }); }
    }
    store.apply(batch, rev(rv++));
    check(`after mixed batch ${b}`); // the sorted order merged incrementally
  }
  store.compact();
  check('after compaction');
  for (const k of model) assert.is(dec(store.get(k).value), k);
  store.close();
});

test('store: close releases the index; an iterator begun before close throws CLOSED, size figures stay readable', () => {
  const { fs, path } = mem();
  const { store } = AppendLogSnapshot.open(path, { fs });
  const batch = [];
  // Values over the 64 KiB range page: every next() reads a new page from the index.
  for (let i = 0; i < 20; i++) batch.push({ type: 'put', key: `c/${String(i).padStart(4, '0')}`, value: new Uint8Array(70_000) });
  store.apply(batch, rev(1));
  const live = store.liveBytes;
  assert.is(live, 20 * (12 + 6 + 70_000));
  const it = store.records('c/');
  assert.is(it.next().value.key, 'c/0000');
  store.close();
  try {
    it.next();
    assert.unreachable('iterating a closed store');
  } catch (e) {
    assert.instance(e, WalError, String(e));
    assert.is(e.code, 'CLOSED');
  }
  assert.is(store.liveBytes, live);
});

test.run();
