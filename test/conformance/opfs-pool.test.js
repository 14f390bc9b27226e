// OpfsFileSystem outside the browser, over a fake OPFS directory
// (test/support/fake-opfs.js): the FileSystem conformance cases, and what the
// real browser cannot show: the name table's crash safety (a torn table write
// keeps the previous table), slot reuse that never harms a durable name, and
// the pool lock. test/browser/ runs the same cases over the real OPFS.
import { suite, test } from 'uvu';
import * as assert from 'uvu/assert';
import { crc32c, WalFsReader, WalFsWriter } from 'walcore';
import { OpfsFileSystem, opfsTableRegion } from 'walcore/internals';
import { FakeOpfsDirectory } from '../support/fake-opfs.js';
import { FILE_SYSTEM_CASES } from './file-system-cases.js';

const TABLE_REGION = opfsTableRegion();
const conf = suite('FileSystem opfs (fake directory)');
for (const [name, run] of FILE_SYSTEM_CASES) {
  conf(name, async () => {
    const fs = await OpfsFileSystem.open(new FakeOpfsDirectory(), { capacity: 8 });
    fs.mkdir('/root');
    run({ fs, root: '/root' });
  });
}
conf.run();

const enc = (s) => new TextEncoder().encode(s);
const code = async (fn) => { try { await fn(); } catch (e) { return e.code; } return 'no error'; };

test('names survive a reopen only once syncDir made them durable', async () => {
  const dir = new FakeOpfsDirectory();
  let fs = await OpfsFileSystem.open(dir, { capacity: 4 });
  fs.mkdir('/d');
  const h = fs.open('/d/a', { write: true, create: true });
  h.write(enc('durable'), 0);
  h.sync();
  h.close();
  fs.syncDir('/d');
  fs.open('/d/b', { write: true, create: true }).close(); // never syncDir'd
  fs.close();
  fs = await OpfsFileSystem.open(dir.crash(), { capacity: 4 });
  assert.equal(fs.list('/d'), ['a']);
  assert.is(fs.stat('/d/a').size, 7);
  fs.close();
});

test('a torn table write keeps the previous table (rename is atomic)', async () => {
  const dir = new FakeOpfsDirectory();
  let fs = await OpfsFileSystem.open(dir, { capacity: 4 });
  fs.open('/tmp', { write: true, create: true }).close();
  fs.syncDir('/');
  fs.rename('/tmp', '/final');
  dir.tearNextWrite('walcore-table', 20); // header and a few body bytes, then the write fails
  assert.is(await code(() => fs.syncDir('/')), 'EBADF');
  assert.is(await code(() => fs.rename('/final', '/x')), 'EIO', 'the pool refuses name changes after a failed table write');
  fs.close();
  fs = await OpfsFileSystem.open(dir.crash(), { capacity: 4 });
  assert.equal(fs.list('/'), ['tmp'], 'the previous table');
  fs.close();
});

test('both table copies are used in turn; the newest valid one wins', async () => {
  const dir = new FakeOpfsDirectory();
  let fs = await OpfsFileSystem.open(dir, { capacity: 4 });
  for (const n of ['a', 'b', 'c']) {
    fs.open(`/${n}`, { write: true, create: true }).close();
    fs.syncDir('/');
  }
  fs.close();
  const table = dir.files.get('walcore-table');
  assert.ok(table.flushed.length > TABLE_REGION, 'the second copy is written');
  // Damage the newest copy: the older one (without 'c') is taken.
  const gen = (at) => new DataView(table.flushed.buffer).getUint32(at + 4, true);
  const newest = gen(0) > gen(TABLE_REGION) ? 0 : TABLE_REGION;
  table.flushed[newest + 17] ^= 0xff;
  fs = await OpfsFileSystem.open(dir.crash(), { capacity: 4 });
  assert.equal(fs.list('/'), ['a', 'b']);
  fs.close();
});

// The bytes of a table copy as FORMAT.md §13 lays them out, built here by hand.
const u32 = (v) => { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, v, true); return b; };
const cat = (...parts) => { const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0)); let at = 0; for (const p of parts) { out.set(p, at); at += p.length; } return out; };
function tableCopy(generation, bodyText) {
  const body = enc(bodyText);
  const genLen = cat(u32(generation), u32(body.length));
  return cat(enc('WCT1'), genLen, u32(crc32c(body, crc32c(genLen))), body);
}
function tableFile(copy0, copy1) {
  const bytes = new Uint8Array(TABLE_REGION + copy1.length);
  bytes.set(copy0, 0);
  bytes.set(copy1, TABLE_REGION);
  return bytes;
}
async function openWithTable(bytes, capacity = 4) {
  const dir = new FakeOpfsDirectory();
  (await OpfsFileSystem.open(dir, { capacity })).close();
  const f = dir.files.get('walcore-table');
  f.bytes = bytes.slice();
  f.flushed = bytes.slice();
  return OpfsFileSystem.open(dir.crash(), { capacity });
}

test('golden: a new pool writes copy 1 (generation 1) and then copy 0 (generation 2), laid out as FORMAT.md §13 says', async () => {
  const dir = new FakeOpfsDirectory();
  (await OpfsFileSystem.open(dir, { capacity: 2 })).close();
  const body = '{"slots":2,"entries":[]}';
  const file = dir.files.get('walcore-table').flushed;
  assert.equal([...file], [...tableFile(tableCopy(2, body), tableCopy(1, body))]);
  // The bytes FORMAT.md §13 prints.
  const hex = (b) => [...b].map((x) => x.toString(16).padStart(2, '0')).join(' ');
  assert.is(hex(file.subarray(0, 16)), '57 43 54 31 02 00 00 00 18 00 00 00 5b 4f b4 cb');
  assert.is(hex(file.subarray(TABLE_REGION, TABLE_REGION + 16)), '57 43 54 31 01 00 00 00 18 00 00 00 06 3e 5f 8d');
  assert.is(TABLE_REGION, 256 * 1024);
});

test('a hand-built table opens; its names and directories are the pool', async () => {
  const body = '{"slots":4,"entries":[["/d",-1],["/d/x",3]]}';
  const fs = await openWithTable(tableFile(tableCopy(8, body), tableCopy(7, '{"slots":4,"entries":[]}')));
  assert.equal(fs.list('/'), ['d']);
  assert.equal(fs.list('/d'), ['x']);
  fs.close();
});

test('generations wrap at 2^32: generation 0 is newer than 2^32 - 1', async () => {
  const older = '{"slots":4,"entries":[["/old",0]]}';
  const newer = '{"slots":4,"entries":[["/new",1]]}';
  let fs = await openWithTable(tableFile(tableCopy(0, newer), tableCopy(2 ** 32 - 1, older)));
  assert.equal(fs.list('/'), ['new']);
  // The next write goes to copy 1 with generation 1, and wins on the next open.
  fs.open('/next', { write: true, create: true }).close();
  fs.syncDir('/');
  fs.close();
  fs = await openWithTable(tableFile(tableCopy(2 ** 31, newer), tableCopy(2 ** 31 - 1, older)));
  assert.equal(fs.list('/'), ['new'], 'ordinary order around 2^31');
  fs.close();
});

test('a copy with a valid checksum that is not a table is CORRUPTED; two damaged copies are CORRUPTED; copy 0 never written is an unfinished creation', async () => {
  const good = '{"slots":4,"entries":[]}';
  for (const bad of ['not json', '{"slots":4}', '{"slots":4,"entries":[["/a","x"]]}', '{"slots":-1,"entries":[]}', '{"slots":4,"entries":[["/a",-2]]}']) {
    assert.is(await code(() => openWithTable(tableFile(tableCopy(9, bad), tableCopy(8, good)))), 'CORRUPTED', bad);
  }
  const damaged0 = tableCopy(4, good);
  damaged0[20] ^= 1;
  const damaged1 = tableCopy(3, good);
  damaged1[8] ^= 1; // the length: over the copy's bytes
  assert.is(await code(() => openWithTable(tableFile(damaged0, damaged1))), 'CORRUPTED');
  // Only copy 0 damaged: copy 1 is taken.
  const fs = await openWithTable(tableFile(damaged0, tableCopy(3, '{"slots":4,"entries":[["/kept",0]]}')));
  assert.equal(fs.list('/'), ['kept']);
  fs.close();
  // Copy 0 never written (zeros): copy 1 is taken when valid; when it is torn too, the pool's creation was cut short and it starts empty.
  const only1 = await openWithTable(tableFile(new Uint8Array(16), tableCopy(1, '{"slots":4,"entries":[["/one",0]]}')));
  assert.equal(only1.list('/'), ['one']);
  only1.close();
  const torn1 = tableCopy(1, '{"slots":4,"entries":[["/ghost",0]]}');
  torn1[torn1.length - 1] ^= 1;
  const fresh = await openWithTable(tableFile(new Uint8Array(16), torn1));
  assert.equal(fresh.list('/'), []);
  fresh.close();
});

test('a removed file keeps its slot until the removal is durable; a full pool is ENOSPC', async () => {
  const dir = new FakeOpfsDirectory();
  const fs = await OpfsFileSystem.open(dir, { capacity: 2 });
  for (const n of ['a', 'b']) {
    const h = fs.open(`/${n}`, { write: true, create: true });
    h.write(enc(n.repeat(10)), 0);
    h.sync();
    h.close();
  }
  fs.syncDir('/');
  assert.is(await code(() => fs.open('/c', { write: true, create: true })), 'ENOSPC');
  fs.remove('/a');
  // The slot of /a is free only once the table saying so is durable: open persists it first.
  const h = fs.open('/c', { write: true, create: true });
  assert.is(h.size(), 0);
  h.close();
  fs.close();
  const again = await OpfsFileSystem.open(dir.crash(), { capacity: 2 });
  assert.equal(again.list('/'), ['b'], '/c was never syncDir-ed, the removal of /a was');
  again.close();
});

test('a slot with an open handle is never reused', async () => {
  const fs = await OpfsFileSystem.open(new FakeOpfsDirectory(), { capacity: 1 });
  const h = fs.open('/a', { write: true, create: true });
  fs.remove('/a');
  fs.syncDir('/');
  assert.is(await code(() => fs.open('/b', { write: true, create: true })), 'ENOSPC');
  h.write(enc('still mine'), 0);
  h.close();
  fs.open('/b', { write: true, create: true }).close();
  fs.close();
});

test('a second pool on the same directory is LOCKED until the first closes', async () => {
  const dir = new FakeOpfsDirectory();
  const fs = await OpfsFileSystem.open(dir, { capacity: 2 });
  assert.is(await code(() => OpfsFileSystem.open(dir, { capacity: 2 })), 'LOCKED');
  fs.close();
  (await OpfsFileSystem.open(dir, { capacity: 2 })).close();
});

test('a pool opened with a larger capacity keeps its files; a closed pool refuses calls', async () => {
  const dir = new FakeOpfsDirectory();
  let fs = await OpfsFileSystem.open(dir, { capacity: 1 });
  const wal = WalFsWriter.open('/x.wal', { fs });
  wal.append({ sequence: 1, payload: enc('one') });
  wal.flush();
  wal.close();
  fs.close();
  assert.is(await code(() => fs.stat('/x.wal')), 'EBADF');
  fs = await OpfsFileSystem.open(dir, { capacity: 3 });
  assert.is(fs.capacity, 3);
  assert.equal([...WalFsReader.open('/x.wal', { fs })].map((e) => e.sequence), [1]);
  fs.close();
  fs = await OpfsFileSystem.open(dir, { capacity: 1 });
  assert.is(fs.capacity, 3, 'a pool never shrinks');
  fs.close();
});

test.run();
