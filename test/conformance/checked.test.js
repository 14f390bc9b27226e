// checkedFs (internal, exported as _checkedFs): the file layer the logs use
// so that every platform error arrives as WalError('IO_ERROR') carrying the
// path, errno, operation and (read/write/truncate) offset.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MemoryFileSystem, WalError } from 'walcore';
import { checkedFs } from 'walcore/internals';
import { enc } from '../support/helpers.js';

function setup() {
  const mem = new MemoryFileSystem();
  mem.mkdir('/d');
  const fs = checkedFs(mem);
  return { mem, fs };
}
function ioFailure(fn, expect) {
  try { fn(); } catch (e) {
    assert.instance(e, WalError, String(e));
    assert.is(e.code, 'IO_ERROR');
    for (const [k, v] of Object.entries(expect)) assert.is(e[k], v, `${k} of ${e.message}`);
    assert.ok(e.cause && e.cause.code === e.errno, 'cause is the platform error');
    assert.ok(e.message.includes(expect.op) && e.message.includes(expect.path), e.message);
    return e;
  }
  assert.unreachable('no error');
}

test('results pass through unchanged', () => {
  const { fs } = setup();
  assert.is(fs.name, 'memory');
  assert.is(checkedFs(fs), fs);
  const h = fs.open('/d/f', { write: true, create: true });
  assert.is(h.path, '/d/f');
  h.write(enc('hello'), 0);
  h.truncate(4);
  assert.is(h.size(), 4);
  const buf = new Uint8Array(8);
  assert.is(h.read(buf, 1), 3);
  h.sync();
  h.close();
  assert.equal(fs.stat('/d/f'), { size: 4, isDirectory: false });
  assert.is(fs.stat('/d/none'), undefined);
  fs.rename('/d/f', '/d/g');
  assert.equal(fs.list('/d'), ['g']);
  fs.mkdir('/d/e');
  fs.syncDir('/d');
  fs.remove('/d/g');
  fs.lock('/d/x').release();
});

test('handle failures carry path, errno, operation and offset', () => {
  const { mem, fs } = setup();
  const h = fs.open('/d/f', { write: true, create: true });
  mem.injectFault({ op: 'write', code: 'ENOSPC' });
  ioFailure(() => h.write(enc('abc'), 4096), { op: 'write', path: '/d/f', errno: 'ENOSPC', offset: 4096 });
  mem.injectFault({ op: 'truncate' });
  ioFailure(() => h.truncate(77), { op: 'truncate', path: '/d/f', errno: 'EIO', offset: 77 });
  mem.injectFault({ op: 'read' });
  ioFailure(() => h.read(new Uint8Array(1), 5), { op: 'read', path: '/d/f', errno: 'EIO', offset: 5 });
  mem.injectFault({ op: 'size', code: 'EBADF' });
  ioFailure(() => h.size(), { op: 'size', path: '/d/f', errno: 'EBADF', offset: undefined });
  mem.injectFault({ op: 'sync' });
  ioFailure(() => h.sync(), { op: 'sync', path: '/d/f', errno: 'EIO' });
  h.close();
  ioFailure(() => h.size(), { op: 'size', path: '/d/f', errno: 'EBADF' });
});

test('file-system failures carry path, errno and operation', () => {
  const { mem, fs } = setup();
  ioFailure(() => fs.open('/d/missing'), { op: 'open', path: '/d/missing', errno: 'ENOENT' });
  for (const [op, fn, path] of [
    ['stat', () => fs.stat('/d/a'), '/d/a'],
    ['list', () => fs.list('/d'), '/d'],
    ['mkdir', () => fs.mkdir('/d/m'), '/d/m'],
    ['syncDir', () => fs.syncDir('/d'), '/d'],
  ]) {
    mem.injectFault({ op, code: 'EROFS' });
    ioFailure(fn, { op, path, errno: 'EROFS' });
  }
  const e = ioFailure(() => fs.rename('/d/nope', '/d/other'), { op: 'rename', path: '/d/nope', errno: 'ENOENT' });
  assert.ok(e.message.includes('/d/other'));
  ioFailure(() => fs.remove('/d/nope'), { op: 'remove', path: '/d/nope', errno: 'ENOENT' });
});

test('WalErrors (LOCKED) and misuse (TypeError) pass through; a platform lock error becomes IO_ERROR', () => {
  const { fs } = setup();
  const l = fs.lock('/d/x');
  try { fs.lock('/d/x'); assert.unreachable(); } catch (e) { assert.is(e.code, 'LOCKED'); assert.is(e.errno, undefined); }
  l.release();
  assert.throws(() => fs.open('/d/f', { bogus: true }), (e) => e instanceof TypeError);
  const failing = checkedFs({
    name: 'fake',
    lock() { throw Object.assign(new Error('EACCES: no'), { code: 'EACCES' }); },
    open() { return { path: '/p', close() { throw Object.assign(new Error('EIO: close'), { code: 'EIO' }); } }; },
  });
  ioFailure(() => failing.lock('/q'), { op: 'lock', path: '/q', errno: 'EACCES' });
  ioFailure(() => failing.open('/p').close(), { op: 'close', path: '/p', errno: 'EIO' });
});

test.run();
