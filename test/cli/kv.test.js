// The walcore CLI on AppendLogSnapshot files (kind kv, file header kind 6),
// run as a subprocess in the current runtime: a good store, a torn tail
// (also a multi-frame batch without its last frame) repaired with a backup,
// mid-file corruption (exit 1, refused without --force), dump output checked
// exactly, and files of an unknown kind still refused as before.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'node:fs';
import { AppendLogSnapshot, WalFsWriter, WatchCursor, crc32c } from 'walcore';
import { enc, tempDir } from '../support/helpers.js';
import { flipByte, walcore } from './run-cli.js';


/** Three synced batches: put a (version 1); put b, delete a (version 02); put c. File: header 64, batches at 64, 136, 214, marker at 280, 312 bytes. */
function makeStore(path) {
  const { store } = AppendLogSnapshot.open(path);
  store.apply([{ type: 'put', key: 'a', value: enc('one'), version: new Uint8Array([0, 0, 0, 0, 0, 0, 0, 1]) }], WatchCursor.fromRevision(1), { sync: true });
  store.apply([{ type: 'put', key: 'b', value: enc('two') }, { type: 'delete', key: 'a', version: new Uint8Array([2]) }], WatchCursor.fromRevision(2), { sync: true });
  store.apply([{ type: 'put', key: 'c', value: enc('three') }], WatchCursor.fromRevision(3), { sync: true });
  store.close();
}

const dir = tempDir('cli-kv');

test('kv: inspect and verify a good store', () => {
  const p = `${dir}/good.kv`;
  makeStore(p);
  assert.is(fs.statSync(p).size, 312);
  let r = walcore('inspect', p);
  assert.is(r.code, 0, r.out + r.err);
  assert.match(r.out, /kind\s+kv \(key-value snapshot store: AppendLogSnapshot\)/);
  assert.match(r.out, /generation\s+0\n/);
  assert.match(r.out, /batches\s+3\n/);
  assert.match(r.out, /records\s+4 \(3 puts, 1 deletes\)/);
  assert.match(r.out, /keys\s+2\n/);
  assert.match(r.out, /cursor\s+0000000000000003\n/);
  assert.match(r.out, /size\s+312 B/);
  assert.match(r.out, /last sync marker\s+offset 280/);
  assert.match(r.out, /health\s+ok/);
  r = walcore('inspect', p, '--json');
  const j = JSON.parse(r.out);
  assert.equal([j.kind, j.generation, j.batches, j.records, j.keys, j.cursor, j.sizeBytes, j.validEnd, j.health], ['kv', 0, 3, 4, 2, '0000000000000003', 312, 312, 'ok']);
  assert.match(j.salt.toString(), /^\d+$/);
  r = walcore('verify', p, '--json');
  assert.is(r.code, 0);
  const v = JSON.parse(r.out);
  assert.is(v.ok, true);
  assert.equal(v.problems, []);
  assert.is(v.summary.batches, 3);
});

test('kv: a compacted store shows its generation', () => {
  const p = `${dir}/compacted.kv`;
  makeStore(p);
  const { store } = AppendLogSnapshot.open(p);
  store.compact();
  store.close();
  const r = walcore('inspect', p, '--json');
  assert.is(r.code, 0, r.out + r.err);
  const j = JSON.parse(r.out);
  assert.equal([j.generation, j.keys, j.records, j.cursor], [1, 2, 2, '0000000000000003']);
});

test('kv: dump prints each batch and its ops exactly; --from/--limit count batches; --payload', () => {
  const p = `${dir}/dump.kv`;
  makeStore(p);
  let r = walcore('dump', p, '--payload', 'utf8');
  assert.is(r.code, 0, r.err);
  assert.is(r.out, [
    'offset=64 type=batch batch=1 sequence=1 ops=1 cursor=0000000000000001 length=72',
    'type=put batch=1 key=a version=0000000000000001 length=3 payload="one"',
    'offset=136 type=batch batch=2 sequence=2 ops=2 cursor=0000000000000002 length=78',
    'type=put batch=2 key=b version= length=3 payload="two"',
    'type=delete batch=2 key=a version=02 length=0',
    'offset=214 type=batch batch=3 sequence=3 ops=1 cursor=0000000000000003 length=66',
    'type=put batch=3 key=c version= length=5 payload="three"',
    '',
  ].join('\n'));
  r = walcore('dump', p, '--from', '2', '--limit', '1', '--format', 'jsonl');
  assert.is(r.code, 0);
  assert.equal(r.out.trim().split('\n').map((l) => JSON.parse(l)), [
    { offset: 136, type: 'batch', batch: 2, sequence: 2, ops: 2, cursor: '0000000000000002', length: 78 },
    { type: 'put', batch: 2, key: 'b', version: '', length: 3, payload: '74776f' },
    { type: 'delete', batch: 2, key: 'a', version: '02', length: 0 },
  ]);
  r = walcore('dump', p, '--from', '3', '--format', 'json', '--payload', 'base64');
  assert.equal(JSON.parse(r.out).map((x) => [x.type, x.payload]), [['batch', undefined], ['put', btoa('three')]]);
  r = walcore('dump', p, '--payload', 'none', '--format', 'jsonl', '--from', '9');
  assert.is(r.code, 0);
  assert.is(r.out, '');
});

test('kv: torn tail -> verify 1, repair cuts it into a backup, verify 0', () => {
  const p = `${dir}/torn.kv`;
  makeStore(p);
  const good = fs.readFileSync(p);
  fs.appendFileSync(p, 'half-written frame');
  let r = walcore('verify', p);
  assert.is(r.code, 1);
  assert.match(r.out, new RegExp(`TORN TAIL ${p} offset 312 reason incomplete-header`));
  assert.match(walcore('inspect', p).out, /health\s+torn tail \(repairable\)/);
  r = walcore('repair', p);
  assert.is(r.code, 0, r.out + r.err);
  assert.match(r.out, /torn tail at offset 312/);
  const backup = /backup of the 18 bytes cut: (\S+)/.exec(r.out)?.[1];
  assert.ok(backup, r.out);
  assert.is(fs.readFileSync(backup, 'utf8'), 'half-written frame');
  assert.equal(fs.readFileSync(p), good);
  assert.is(walcore('verify', p).code, 0);
  r = walcore('repair', p);
  assert.is(r.code, 0);
  assert.match(r.out, /nothing to repair/);
  const { store, cursor } = AppendLogSnapshot.open(p);
  assert.is(cursor.toHex(), '0000000000000003');
  assert.equal(store.range('').map((e) => e.key), ['b', 'c']);
  store.close();
});

test('kv: a multi-frame batch without its last frame is a torn tail cut whole from its first frame', () => {
  const p = `${dir}/group.kv`;
  makeStore(p);
  const before = fs.statSync(p).size;
  const { store } = AppendLogSnapshot.open(p);
  const big = new Uint8Array(700 << 10).fill(0x61);
  store.apply([{ type: 'put', key: 'x', value: big }, { type: 'put', key: 'y', value: big }], WatchCursor.fromRevision(4));
  store.close();
  const full = fs.statSync(p).size;
  const start = before - 32; // the batch overwrote the trailing 32-byte sync marker
  fs.truncateSync(p, full - 100); // the second (last) frame loses its end
  let r = walcore('verify', p, '--json');
  assert.is(r.code, 1);
  const v = JSON.parse(r.out);
  assert.is(v.problems.length, 1);
  assert.equal([v.problems[0].offset, v.problems[0].torn], [start, true]);
  assert.match(v.problems[0].message, /the batch whose last frame is missing starts at offset/);
  assert.is(v.summary.batches, 3);
  r = walcore('repair', p);
  assert.is(r.code, 0, r.out + r.err);
  const backup = new RegExp(`backup of the ${full - 100 - start} bytes cut: (\\S+)`).exec(r.out)?.[1];
  assert.ok(backup, r.out);
  assert.is(fs.statSync(backup).size, full - 100 - start);
  assert.is(walcore('verify', p).code, 0);
  const j = JSON.parse(walcore('inspect', p, '--json').out);
  assert.equal([j.batches, j.keys, j.cursor], [3, 2, '0000000000000003']);
});

test('kv: mid-file corruption -> CORRUPTED exit 1, repair refused (file untouched), --force cuts with a backup', () => {
  const p = `${dir}/bad.kv`;
  makeStore(p);
  flipByte(p, 170); // inside batch 2 (frame at 136)
  const before = fs.readFileSync(p);
  let r = walcore('verify', p);
  assert.is(r.code, 1);
  assert.match(r.out, /CORRUPTED .*bad\.kv offset 136 reason crc-mismatch/);
  assert.match(walcore('inspect', p).out, /health\s+CORRUPTED/);
  r = walcore('repair', p);
  assert.is(r.code, 1);
  assert.match(r.out, /Refusing to cut durable data without --force/);
  assert.match(r.out, /would cut bytes 136 \.\. 312 \(176 bytes\)/);
  assert.equal(fs.readFileSync(p), before);
  r = walcore('repair', p, '--force');
  assert.is(r.code, 0, r.out + r.err);
  assert.match(r.out, /--force: cutting bytes 136 \.\. 312 \(176 bytes\)/);
  const backup = /backup of the 176 bytes cut: (\S+)/.exec(r.out)?.[1];
  assert.equal(fs.readFileSync(backup), before.subarray(136));
  assert.is(walcore('verify', p).code, 0);
  r = walcore('dump', p, '--format', 'jsonl', '--payload', 'utf8');
  assert.equal(r.out.trim().split('\n').map((l) => JSON.parse(l)).map((x) => [x.type, x.key ?? x.cursor]), [['batch', '0000000000000001'], ['put', 'a']]);
});

test('kv: a writer holds the store: repair is LOCKED (exit 1), verify works', () => {
  const p = `${dir}/held.kv`;
  makeStore(p);
  const { store } = AppendLogSnapshot.open(p);
  try {
    let r = walcore('verify', p);
    assert.is(r.code, 0, r.out + r.err);
    assert.match(r.out, /writer lock file is present/);
    r = walcore('repair', p);
    assert.is(r.code, 1);
    assert.match(r.err, /LOCKED/);
  } finally {
    store.close();
  }
});

test('unknown kinds are unchanged: one line, exit 1; a kv file is named where another kind is expected', () => {
  const h = new Uint8Array(64);
  const dv = new DataView(h.buffer);
  dv.setUint32(0, 0x72636c77, true);
  dv.setUint16(4, 1, true);
  dv.setUint16(6, 9, true);
  dv.setUint32(8, 0x12345678, true);
  dv.setUint32(60, crc32c(h.subarray(0, 60)), true);
  fs.writeFileSync(`${dir}/kind9.bin`, h);
  const r = walcore('inspect', `${dir}/kind9.bin`);
  assert.is(r.code, 1);
  assert.is(r.err, `walcore: ${dir}/kind9.bin: a walcore file of kind 9, which this walcore does not know\n`);
  const p = `${dir}/other.kv`;
  makeStore(p);
  try {
    WalFsWriter.open(p);
    assert.unreachable('a kv store opened as a WAL file');
  } catch (e) {
    assert.is(e.code, 'BAD_HEADER');
    assert.match(e.message, /a walcore kv snapshot, not a /);
  }
});

test.run();
