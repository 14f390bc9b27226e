// AppendLogSnapshot export/import: a round trip, and every kind of bad
// artifact is BAD_ARTIFACT and leaves nothing at the destination: path
// traversal, a swapped hash, an extra or missing file, a truncated or padded
// file, a symlink (real file system), an oversized manifest, unknown fields,
// a wrong backend/generation/schema, a cursor that disagrees with the data.
import * as nodeFs from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AppendLogSnapshot, MemoryFileSystem, WalError, WatchCursor } from 'walcore';
import { dec, enc, tempDir } from '../../support/helpers.js';

const rev = (n) => WatchCursor.fromRevision(n);
const dump = (store) => store.range('').map((e) => `${e.key}=${dec(e.value)}`).join(',');

function source() {
  const fs = new MemoryFileSystem();
  fs.mkdir('/d');
  fs.syncDir('/');
  const { store } = AppendLogSnapshot.open('/d/src', { fs });
  store.apply([{ type: 'put', key: 'a', value: enc('1'), version: rev(1).bytes }, { type: 'put', key: 'b', value: enc('2') }], rev(1));
  store.apply([{ type: 'put', key: 'c', value: enc('3') }], rev(2));
  const manifest = store.exportTo('/d/art');
  return { fs, store, manifest };
}

const readManifest = (fs) => JSON.parse(dec(fs.readFile('/d/art/MANIFEST.json')));
const writeManifest = (fs, m) => fs.writeFile('/d/art/MANIFEST.json', enc(JSON.stringify(m)));

function expectBad(fs, re, art = '/d/art') {
  try {
    AppendLogSnapshot.import(art, '/d/dest', { fs });
  } catch (e) {
    assert.instance(e, WalError, String(e));
    assert.is(e.code, 'BAD_ARTIFACT', e.message);
    assert.match(e.message, re);
    assert.is(fs.stat('/d/dest'), undefined, 'a bad artifact left something at the destination');
    assert.not.ok(fs.list('/d').some((n) => n.startsWith('dest.tmp-')), 'a staged file was left behind');
    return;
  }
  assert.unreachable(`imported a bad artifact (${re})`);
}

test('export writes data/ and MANIFEST.json; import verifies and opens the same fold', () => {
  const { fs, store, manifest } = source();
  assert.equal(Object.keys(manifest), ['schemaVersion', 'backend', 'formatGeneration', 'cursor', 'createdAt', 'files']);
  assert.is(manifest.schemaVersion, 1);
  assert.is(manifest.backend, 'walcore.AppendLogSnapshot');
  assert.is(manifest.cursor, rev(2).toHex());
  assert.equal(fs.list('/d/art'), ['MANIFEST.json', 'data']);
  assert.equal(fs.list('/d/art/data'), ['kv.snapshot']);
  assert.equal(readManifest(fs), manifest);
  assert.is(manifest.files[0].size, fs.readFile('/d/art/data/kv.snapshot').length);
  const { cursor, store: imported } = AppendLogSnapshot.import('/d/art', '/d/dest', { fs });
  assert.ok(cursor.equals(rev(2)));
  assert.is(dump(imported), dump(store));
  imported.apply([{ type: 'put', key: 'd', value: enc('4') }], rev(3));
  imported.close();
  store.close();
});

test('a fold of several MiB (frames across the replay\'s read windows) imports whole, and a flipped byte in its last MiB is caught', () => {
  const fs = new MemoryFileSystem();
  fs.mkdir('/d');
  const { store } = AppendLogSnapshot.open('/d/big', { fs });
  const value = (i) => enc(`${i}:`.padEnd(300, 'v'));
  for (let b = 0; b < 300; b++) store.apply(Array.from({ length: 100 }, (_, i) => ({ type: 'put', key: `key-${b * 100 + i}`, value: value(b * 100 + i) })), rev(b + 1));
  const m = store.exportTo('/d/art');
  assert.ok(m.files[0].size > 9 << 20, `${m.files[0].size} bytes`);
  const { cursor, store: imported } = AppendLogSnapshot.import('/d/art', '/d/dest', { fs });
  assert.is(cursor.toHex(), rev(300).toHex());
  assert.is(imported.size, 30_000);
  for (let i = 0; i < 30_000; i += 997) assert.is(dec(imported.get(`key-${i}`).value), dec(value(i)));
  imported.close();
  store.close();
  const bytes = fs.readFile('/d/art/data/kv.snapshot');
  bytes[bytes.length - 1000] ^= 1;
  fs.writeFile('/d/art/data/kv.snapshot', bytes);
  try { AppendLogSnapshot.import('/d/art', '/d/dest2', { fs }); assert.unreachable(); } catch (e) { assert.is(e.code, 'BAD_ARTIFACT', e.message); assert.match(e.message, /SHA-256/); }
  assert.is(fs.stat('/d/dest2'), undefined);
  assert.equal(fs.list('/d').filter((n) => n.startsWith('dest2')), []);
});

test('the destination must not exist (export and import)', () => {
  const { fs, store } = source();
  try { store.exportTo('/d/art'); assert.unreachable(); } catch (e) { assert.is(e.errno, 'EEXIST', e.message); }
  try { AppendLogSnapshot.import('/d/art', '/d/src', { fs }); assert.unreachable(); } catch (e) { assert.is(e.code, 'LOCKED', e.message); }
  store.close();
  try { AppendLogSnapshot.import('/d/art', '/d/src', { fs }); assert.unreachable(); } catch (e) { assert.is(e.errno, 'EEXIST', e.message); }
});

test('path traversal and non-plain names in the manifest are refused', () => {
  for (const p of ['../src', 'data/../../src', '/d/src', 'data/../MANIFEST.json', 'data/sub/kv.snapshot', 'data/.', 'data/..', 'data\\kv.snapshot', 'other/kv.snapshot']) {
    const { fs } = source();
    const m = readManifest(fs);
    m.files[0].path = p;
    writeManifest(fs, m);
    expectBad(fs, /plain name|exactly/);
  }
});

test('a swapped hash, a truncated file, a padded file are refused', () => {
  let { fs } = source();
  let m = readManifest(fs);
  m.files[0].sha256 = 'ab'.repeat(32);
  writeManifest(fs, m);
  expectBad(fs, /SHA-256/);
  ({ fs } = source());
  const bytes = fs.readFile('/d/art/data/kv.snapshot');
  fs.writeFile('/d/art/data/kv.snapshot', bytes.subarray(0, bytes.length - 10));
  expectBad(fs, /bytes/);
  ({ fs } = source());
  fs.writeFile('/d/art/data/kv.snapshot', Uint8Array.from([...bytes, 0]));
  expectBad(fs, /larger than/);
  // A flipped byte with the manifest's size kept: the hash catches it.
  ({ fs } = source());
  const flipped = bytes.slice();
  flipped[80] ^= 1;
  fs.writeFile('/d/art/data/kv.snapshot', flipped);
  expectBad(fs, /SHA-256/);
});

test('a consistent but forged artifact (hash recomputed) still fails the staged load or the cursor check', async () => {
  const { createHash } = await import('node:crypto');
  let { fs } = source();
  const bytes = fs.readFile('/d/art/data/kv.snapshot');
  const flipped = bytes.slice();
  flipped[100] ^= 1;
  fs.writeFile('/d/art/data/kv.snapshot', flipped);
  let m = readManifest(fs);
  m.files[0].sha256 = createHash('sha256').update(flipped).digest('hex');
  writeManifest(fs, m);
  expectBad(fs, /invalid frame/);
  ({ fs } = source());
  m = readManifest(fs);
  m.cursor = rev(99).toHex();
  writeManifest(fs, m);
  expectBad(fs, /cursor/);
});

test('extra and missing files, unknown fields, wrong schema/backend/generation are refused', () => {
  let { fs } = source();
  fs.writeFile('/d/art/data/extra', enc('x'));
  expectBad(fs, /undeclared file data\/extra/);
  ({ fs } = source());
  fs.writeFile('/d/art/README', enc('x'));
  expectBad(fs, /undeclared entry/);
  ({ fs } = source());
  fs.remove('/d/art/data/kv.snapshot');
  expectBad(fs, /missing/);
  ({ fs } = source());
  fs.remove('/d/art/MANIFEST.json');
  expectBad(fs, /MANIFEST.json is missing/);
  const edits = [
    [(m) => { m.extra = 1; }, /unknown manifest field 'extra'/],
    [(m) => { m.files[0].mode = 420; }, /unknown files field/],
    [(m) => { delete m.createdAt; }, /'createdAt' is missing/],
    [(m) => { m.schemaVersion = 2; }, /schemaVersion/],
    [(m) => { m.backend = 'fjall'; }, /backend/],
    [(m) => { m.formatGeneration = 2; }, /formatGeneration/],
    [(m) => { m.cursor = 'XYZ'; }, /cursor/],
    [(m) => { m.files[0].size = -1; }, /size/],
    [(m) => { m.files.push({ ...m.files[0] }); }, /twice/],
    [(m) => { m.files = []; }, /exactly/],
  ];
  for (const [edit, re] of edits) {
    ({ fs } = source());
    const m = readManifest(fs);
    edit(m);
    writeManifest(fs, m);
    expectBad(fs, re);
  }
  ({ fs } = source());
  fs.writeFile('/d/art/MANIFEST.json', enc('{"schemaVersion": 1,'));
  expectBad(fs, /JSON/);
  ({ fs } = source());
  fs.writeFile('/d/art/MANIFEST.json', enc('[]'));
  expectBad(fs, /object/);
});

test('an oversized manifest is refused before it is parsed', () => {
  const { fs } = source();
  const m = readManifest(fs);
  m.createdAt = `${m.createdAt}${' '.repeat(70_000)}`;
  fs.writeFile('/d/art/MANIFEST.json', enc(JSON.stringify(m)));
  expectBad(fs, /over the 65536-byte limit/);
});

test('real file system: symlinks in the artifact are refused; a clean artifact imports', () => {
  const dir = tempDir('kv-art');
  const { store } = AppendLogSnapshot.open(`${dir}/src.kv`);
  store.apply([{ type: 'put', key: 'k', value: enc('v') }], rev(1));
  store.exportTo(`${dir}/art`);
  store.close();
  const bad = (art, re) => {
    try {
      AppendLogSnapshot.import(art, `${dir}/dest.kv`);
      assert.unreachable('imported');
    } catch (e) {
      assert.is(e.code, 'BAD_ARTIFACT', e.message);
      assert.match(e.message, re);
      assert.not.ok(nodeFs.existsSync(`${dir}/dest.kv`));
    }
  };
  // data/kv.snapshot as a symlink to the (identical) real file elsewhere.
  nodeFs.cpSync(`${dir}/art`, `${dir}/art2`, { recursive: true });
  nodeFs.renameSync(`${dir}/art2/data/kv.snapshot`, `${dir}/outside.snapshot`);
  nodeFs.symlinkSync(`${dir}/outside.snapshot`, `${dir}/art2/data/kv.snapshot`);
  bad(`${dir}/art2`, /symlink/);
  // data/ itself a symlink.
  nodeFs.cpSync(`${dir}/art`, `${dir}/art3`, { recursive: true });
  nodeFs.renameSync(`${dir}/art3/data`, `${dir}/outside-data`);
  nodeFs.symlinkSync(`${dir}/outside-data`, `${dir}/art3/data`);
  bad(`${dir}/art3`, /symlink/);
  const { cursor, store: ok } = AppendLogSnapshot.import(`${dir}/art`, `${dir}/dest.kv`);
  assert.is(cursor.toRevision(), 1n);
  assert.is(dec(ok.get('k').value), 'v');
  ok.close();
});

test.run();
