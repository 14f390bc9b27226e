// The FileSystem conformance cases, shared by test/conformance/file-system.test.js
// (every runtime's real adapter and MemoryFileSystem, under uvu) and the
// browser run (OpfsFileSystem in a dedicated worker, test/browser/worker.js).
// Each case gets a fresh { fs, root }: `root` is an existing empty directory.
// Browser-safe: imports nothing but uvu/assert and walcore.
import * as assert from 'uvu/assert';
import { WalError } from 'walcore';

const enc = (s) => new TextEncoder().encode(s);
const dec = (b) => new TextDecoder().decode(b);
const errCode = (fn) => {
  try { fn(); } catch (e) { return e.code; }
  return 'no error';
};

/** [name, ({ fs, root }) => void] */
export const FILE_SYSTEM_CASES = [
  ['names itself', ({ fs, root }) => {
    assert.ok(['node', 'deno', 'bun', 'memory', 'opfs'].includes(fs.name));
  }],

  ['open: ENOENT without create, EEXIST with exclusive, flags checked', ({ fs, root }) => {
    assert.is(errCode(() => fs.open(`${root}/missing`)), 'ENOENT');
    fs.open(`${root}/a`, { write: true, create: true }).close();
    assert.is(errCode(() => fs.open(`${root}/a`, { write: true, create: true, exclusive: true })), 'EEXIST');
    assert.throws(() => fs.open(`${root}/a`, { writ: true }), (e) => e instanceof TypeError);
    assert.throws(() => fs.open(`${root}/a`, { create: true }), (e) => e instanceof TypeError);
    assert.throws(() => fs.open(`${root}/a`, { exclusive: true, write: true }), (e) => e instanceof TypeError);
  }],

  ['positional write and read, short read at end of file, gaps read as zeros', ({ fs, root }) => {
    const h = fs.open(`${root}/f`, { write: true, create: true });
    h.write(enc('hello'), 0);
    h.write(enc('world'), 10);
    assert.is(h.size(), 15);
    const buf = new Uint8Array(20);
    assert.is(h.read(buf, 0), 15);
    assert.is(dec(buf.subarray(0, 5)), 'hello');
    assert.equal([...buf.subarray(5, 10)], [0, 0, 0, 0, 0]);
    assert.is(dec(buf.subarray(10, 15)), 'world');
    assert.is(h.read(new Uint8Array(4), 13), 2);
    assert.is(h.read(new Uint8Array(4), 15), 0);
    assert.is(h.read(new Uint8Array(4), 100), 0);
    h.write(enc('J'), 0);
    const one = new Uint8Array(5);
    h.read(one, 0);
    assert.is(dec(one), 'Jello');
    h.close();
  }],

  ['truncate shrinks and grows with zeros; sync succeeds; size reflects unsynced writes', ({ fs, root }) => {
    const h = fs.open(`${root}/t`, { write: true, create: true });
    h.write(new Uint8Array(100).fill(9), 0);
    h.truncate(10);
    assert.is(h.size(), 10);
    h.truncate(20);
    const b = new Uint8Array(20);
    h.read(b, 0);
    assert.equal([...b.subarray(8, 12)], [9, 9, 0, 0]);
    h.sync();
    h.close();
    assert.is(fs.stat(`${root}/t`).size, 20);
  }],

  ['a read-only handle refuses writes; a closed handle refuses everything; close is idempotent', ({ fs, root }) => {
    fs.open(`${root}/r`, { write: true, create: true }).close();
    const ro = fs.open(`${root}/r`);
    assert.is(errCode(() => ro.write(enc('x'), 0)), 'EBADF');
    ro.close();
    ro.close();
    assert.is(errCode(() => ro.read(new Uint8Array(1), 0)), 'EBADF');
    assert.is(errCode(() => ro.size()), 'EBADF');
  }],

  ['close(abandonSync): the handle is closed at once even with a syncAsync() in flight, whose promise still settles', ({ fs, root }) => {
    const h = fs.open(`${root}/ab`, { write: true, create: true });
    h.write(enc('abc'), 0);
    // Whether close(true) can let go at once: Deno's node:fs keeps a descriptor until its async op settles.
    assert.is(h.abandonsSync, fs.name === 'deno' ? false : fs.name === 'opfs' ? undefined : true);
    const pending = h.syncAsync === undefined ? undefined : h.syncAsync();
    h.close(true);
    h.close(true);
    assert.is(errCode(() => h.read(new Uint8Array(1), 0)), 'EBADF');
    const again = fs.open(`${root}/ab`);
    const b = new Uint8Array(3);
    again.read(b, 0);
    assert.is(dec(b), 'abc');
    again.close();
    if (pending === undefined) return undefined;
    // Resolves or rejects (EBADF where the descriptor was gone before the pool thread ran): either way it settles.
    return pending.then(() => 'resolved', (e) => e.code).then((how) => assert.ok(how === 'resolved' || how === 'EBADF', `settled: ${how}`));
  }],

  ['stat, list (sorted), mkdir (recursive, idempotent), rename (replaces), remove', ({ fs, root }) => {
    assert.is(fs.stat(`${root}/nothing`), undefined);
    fs.mkdir(`${root}/d/e/f`);
    fs.mkdir(`${root}/d/e/f`);
    assert.ok(fs.stat(`${root}/d/e`).isDirectory);
    for (const n of ['b', 'c', 'a']) {
      const h = fs.open(`${root}/d/${n}`, { write: true, create: true });
      h.write(enc(n), 0);
      h.close();
    }
    assert.equal(fs.list(`${root}/d`), ['a', 'b', 'c', 'e']);
    fs.rename(`${root}/d/a`, `${root}/d/b`);
    assert.equal(fs.list(`${root}/d`), ['b', 'c', 'e']);
    const h = fs.open(`${root}/d/b`);
    const buf = new Uint8Array(1);
    h.read(buf, 0);
    h.close();
    assert.is(dec(buf), 'a');
    fs.remove(`${root}/d/b`);
    assert.is(errCode(() => fs.remove(`${root}/d/b`)), 'ENOENT');
    assert.is(errCode(() => fs.list(`${root}/nope`)), 'ENOENT');
    assert.is(errCode(() => fs.rename(`${root}/nope`, `${root}/x`)), 'ENOENT');
    fs.syncDir(`${root}/d`);
    assert.is(errCode(() => fs.syncDir(`${root}/nope`)), 'ENOENT');
  }],

  ['an open handle keeps working across a rename of its file', ({ fs, root }) => {
    const h = fs.open(`${root}/before`, { write: true, create: true });
    h.write(enc('abc'), 0);
    fs.rename(`${root}/before`, `${root}/after`);
    h.write(enc('d'), 3);
    h.sync();
    h.close();
    assert.is(fs.stat(`${root}/after`).size, 4);
  }],

  ['lock is exclusive until released, then can be taken again', ({ fs, root }) => {
    const target = `${root}/locked.wal`;
    const l = fs.lock(target);
    try {
      fs.lock(target);
      assert.unreachable('second lock granted');
    } catch (e) {
      assert.instance(e, WalError);
      assert.is(e.code, 'LOCKED');
    }
    l.release();
    l.release();
    fs.lock(target).release();
  }],

];
