// AppendLogSnapshot and WatchCursor at the edges: revisions around 2^31,
// 2^32, 2^53 and 2^64 - 1 (8 big-endian bytes, so byte order is numeric
// order), the empty key and value, keys at the 64 KiB UTF-8 limit (counted
// in bytes, not UTF-16 units), versions at 64 bytes, and the refusals one
// past each limit. Every accepted value must survive a reopen exactly.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AppendLogSnapshot, MemoryFileSystem, WatchCursor } from 'walcore';
import { codeOf, enc } from '../../support/helpers.js';

function fresh() {
  const fs = new MemoryFileSystem();
  return { fs, store: AppendLogSnapshot.open('/kv', { fs }).store, reopen: (s) => { s.sync(); s.close(); return AppendLogSnapshot.open('/kv', { fs }); } };
}

test('revisions across 2^31, 2^32, 2^53 and up to 2^64 - 1 order numerically and survive a reopen', () => {
  const revs = [2n ** 31n - 1n, 2n ** 31n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 64n - 2n, 2n ** 64n - 1n];
  const cursors = revs.map((r) => WatchCursor.fromRevision(r));
  for (let i = 1; i < cursors.length; i++) assert.is(cursors[i - 1].compare(cursors[i]), -1, `${revs[i - 1]} < ${revs[i]}`);
  for (const [i, r] of revs.entries()) assert.is(cursors[i].toRevision(), r);
  assert.ok(WatchCursor.fromRevision(2 ** 53 - 1).equals(WatchCursor.fromRevision(2n ** 53n - 1n)), 'number and bigint agree');
  let { store, reopen } = fresh();
  for (const [i, c] of cursors.entries()) store.apply([{ type: 'put', key: `r${i}`, value: enc(String(revs[i])), version: c.bytes }], c);
  const opened = reopen(store);
  store = opened.store;
  assert.is(opened.cursor.toRevision(), 2n ** 64n - 1n);
  for (const [i, c] of cursors.entries()) assert.equal([...store.get(`r${i}`).version], [...c.bytes]);
  assert.is(codeOf(() => store.apply([{ type: 'put', key: 'x', value: enc('x') }], cursors.at(-1))), 'RangeError', 'a cursor that does not advance (docs: RangeError)');
  store.close();
});

test('fromRevision refuses what is not a u64 or a safe integer', () => {
  assert.is(codeOf(() => WatchCursor.fromRevision(2 ** 53)), 'RangeError');
  assert.is(codeOf(() => WatchCursor.fromRevision(-1)), 'RangeError');
  assert.is(codeOf(() => WatchCursor.fromRevision(1.5)), 'RangeError');
  assert.is(codeOf(() => WatchCursor.fromRevision(2n ** 64n)), 'RangeError');
  assert.is(codeOf(() => WatchCursor.fromRevision(-1n)), 'RangeError');
  assert.is(codeOf(() => WatchCursor.fromRevision('7')), 'TypeError');
});

test('the empty key and value, keys at the 64 KiB UTF-8 limit, 64-byte versions survive a reopen; one past each limit is refused', () => {
  let { store, reopen } = fresh();
  const ascii = 'a'.repeat(65536);
  const multi = 'é'.repeat(32768); // 2 bytes of UTF-8 each: 65536 bytes in 32768 UTF-16 units
  const ver64 = new Uint8Array(64).map((_, i) => i);
  store.apply([
    { type: 'put', key: '', value: new Uint8Array(0) },
    { type: 'put', key: ascii, value: enc('A') },
    { type: 'put', key: multi, value: enc('M'), version: ver64 },
  ], WatchCursor.fromRevision(1));
  const opened = reopen(store);
  store = opened.store;
  assert.is(store.get('').value.length, 0);
  assert.is(new TextDecoder().decode(store.get(ascii).value), 'A');
  assert.equal([...store.get(multi).version], [...ver64]);
  assert.equal(store.range('').map((e) => e.key.length), [0, 65536, 32768], 'byte order: "" < "a…" < "é…"');
  const c2 = WatchCursor.fromRevision(2);
  assert.is(codeOf(() => store.apply([{ type: 'put', key: ascii + 'a', value: enc('x') }], c2)), 'RangeError', 'key of 65537 bytes');
  assert.is(codeOf(() => store.apply([{ type: 'put', key: multi + 'a', value: enc('x') }], c2)), 'RangeError', 'key of 65537 UTF-8 bytes in 32769 units');
  assert.is(codeOf(() => store.apply([{ type: 'put', key: 'v', value: enc('x'), version: new Uint8Array(65) }], c2)), 'RangeError', 'version of 65 bytes');
  assert.is(codeOf(() => store.apply([{ type: 'put', key: '\ud800', value: enc('x') }], c2)), 'RangeError', 'a lone surrogate has no UTF-8 form (docs: RangeError)');
  assert.is(codeOf(() => store.apply([{ type: 'put', key: 7, value: enc('x') }], c2)), 'TypeError', 'a key that is not a string');
  assert.is(store.size ?? store.range('').length, 3, 'refused batches change nothing');
  assert.ok(store.cursor().equals(WatchCursor.fromRevision(1)));
  store.close();
});

test.run();
