// OpfsFileSystem outside the browser, over a fake OPFS directory
// (test/support/fake-opfs.js): the FileSystem conformance cases, and what the
// real browser cannot show: the name table's crash safety (a torn table write
// keeps the previous table), slot reuse that never harms a durable name, and
// the pool lock. test/browser/ runs the same cases over the real OPFS.
import { suite, test } from 'uvu';
import * as assert from 'uvu/assert';
import { WalFsReader, WalFsWriter } from 'walcore';
import { OpfsFileSystem, TABLE_REGION } from 'walcore/internals';
import { FakeOpfsDirectory } from '../support/fake-opfs.js';
import { FILE_SYSTEM_CASES } from './file-system-cases.js';

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
