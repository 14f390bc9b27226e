// RingLog on the shared lifecycle (host/lifecycle): close settles pending
// syncAsync() calls, write-through failures keep the record for a retry,
// open errors are typed (missing directory, a user lock() that throws, a
// 0-byte file, wrong option types), and the host's slot arithmetic agrees
// with the core's.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as nodefs from 'node:fs';
import { MemoryFileSystem, RingLog, WalError } from 'walcore';
import { Core } from 'walcore/internals';
import { enc, dec, tempDir } from '../../support/helpers.js';

function memfs() {
  const fs = new MemoryFileSystem();
  fs.mkdir('/d');
  fs.syncDir('/');
  return fs;
}

function throwsCode(fn, code, message) {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof WalError)) throw e;
    assert.is(e.code, code, `${message ?? ''}: ${e.message}`);
    return e;
  }
  assert.unreachable(`${message ?? ''}: expected WalError ${code}`);
}

test('close() resolves a pending syncAsync(): close synced its data', async () => {
  const fs = memfs();
  const log = RingLog.open('/d/r', { capacity: 4, slotSize: 64, fs });
  log.append(enc('a'));
  const p = log.syncAsync();
  const q = log.flushAsync(); // the deprecated alias joins the same group commit
  log.close();
  await p; // rejected with CLOSED before the shared lifecycle
  await q;
  assert.is(log.state, 'closed');
  fs.crash({ mode: 'drop' });
  const again = RingLog.open('/d/r', { fs });
  assert.equal(again.replayAll().map(dec), ['a']);
  again.close();
});

test('bufferSize 0: a failed write over the oldest slot keeps the record appended; clean close and reopen replay exactly the records', () => {
  const fs = memfs();
  const log = RingLog.open('/d/r', { capacity: 2, slotSize: 64, fs, bufferSize: 0 });
  log.append(enc('one'));
  log.append(enc('two'));
  fs.injectFault({ op: 'write', code: 'EIO', partialBytes: 10 }); // tears the slot of 'one'
  const e = throwsCode(() => log.append(enc('three')), 'IO_ERROR');
  assert.is(e.errno, 'EIO');
  assert.match(e.message, /stay buffered .*retries/);
  assert.is(log.nextSequence, 4, 'the record is appended: it has sequence 3');
  assert.is(log.firstSequence, 2, 'and the window moved past the torn slot');
  log.close(); // retries the write, then records a clean close
  const again = RingLog.open('/d/r', { fs });
  assert.ok(again.openReport.clean);
  assert.equal(again.replayRecords().map((r) => [r.sequence, dec(r.payload)]), [[2, 'two'], [3, 'three']]);
  again.close();
});

test('bufferSize 0: the next append retries a failed write; if the retry fails, that append appends nothing', () => {
  const fs = memfs();
  const log = RingLog.open('/d/r', { capacity: 3, slotSize: 64, fs, bufferSize: 0 });
  log.append(enc('a'));
  fs.injectFault({ op: 'write', persist: false });
  throwsCode(() => log.append(enc('b')), 'IO_ERROR');
  const f = fs.injectFault({ op: 'write' });
  throwsCode(() => log.append(enc('c')), 'IO_ERROR', 'the retry of b fails');
  f.remove();
  assert.is(log.nextSequence, 3, 'b appended, c not');
  assert.is(log.append(enc('c')), 3);
  assert.equal(log.replayAll().map(dec), ['a', 'b', 'c']);
  log.sync();
  fs.crash({ mode: 'drop' });
  const again = RingLog.open('/d/r', { fs });
  assert.equal(again.replayAll().map(dec), ['a', 'b', 'c']);
  again.close();
});

test('open in a missing directory or under a file is IO_ERROR (real and memory file systems)', () => {
  const dir = tempDir('ring-open');
  nodefs.writeFileSync(`${dir}/file`, 'x');
  for (const path of [`${dir}/missing/r`, `${dir}/file/r`]) {
    const e = throwsCode(() => RingLog.open(path, { capacity: 2 }), 'IO_ERROR', path);
    assert.is(e.path !== undefined, true);
  }
  const fs = memfs();
  fs.writeFile('/d/file', enc('x'));
  throwsCode(() => RingLog.open('/missing/r', { capacity: 2, fs }), 'IO_ERROR', 'memory: missing dir');
  throwsCode(() => RingLog.open('/d/file/r', { capacity: 2, fs }), 'IO_ERROR', 'memory: parent is a file');
});

test('a user FileSystem whose lock() throws a plain Error: IO_ERROR, with the cause kept', () => {
  const mem = memfs();
  const boom = Object.assign(new Error('boom'), { code: 'EIO' });
  const fs = new Proxy(mem, {
    get(target, key) {
      if (key === 'lock') return () => { throw boom; };
      const v = Reflect.get(target, key, target);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  const e = throwsCode(() => RingLog.open('/d/r', { capacity: 2, fs }), 'IO_ERROR');
  assert.is(e.cause, boom);
  assert.is(e.errno, 'EIO');
  // A WalError from lock() (LOCKED) passes through unchanged.
  const held = RingLog.open('/d/r', { capacity: 2, fs: mem });
  throwsCode(() => RingLog.open('/d/r', { fs: mem }), 'LOCKED');
  held.close();
});

test('a 0-byte file: refused with BAD_HEADER without a geometry, re-created (and reported) with one', () => {
  const fs = memfs();
  fs.writeFile('/d/r', new Uint8Array(0));
  const e = throwsCode(() => RingLog.open('/d/r', { fs }), 'BAD_HEADER');
  assert.not.match(e.message, /does not exist/);
  assert.match(e.message, /0 bytes/);
  assert.equal(fs.readFile('/d/r').length, 0, 'the refused file is left alone');
  const log = RingLog.open('/d/r', { capacity: 3, slotSize: 64, fs });
  assert.equal(log.openReport.created, true);
  assert.equal(log.openReport.replacedEmptyFile, true);
  log.append(enc('x'));
  log.close();
  const again = RingLog.open('/d/r', { fs });
  assert.equal(again.openReport.created, false);
  assert.equal(again.openReport.replacedEmptyFile, false);
  assert.equal(again.replayAll().map(dec), ['x']);
  again.close();
  // A missing file without a geometry is still the TypeError that asks for one.
  assert.throws(() => RingLog.open('/d/none', { fs }), (x) => x instanceof TypeError && /pass \{ capacity \}/.test(x.message));
  // A short file that is not empty is never re-created.
  fs.writeFile('/d/short', new Uint8Array(10));
  throwsCode(() => RingLog.open('/d/short', { capacity: 3, fs }), 'BAD_HEADER');
});

test('wrong types are TypeError, not RangeError: bufferSize and evidence code', () => {
  const fs = memfs();
  assert.throws(() => RingLog.open('/d/r', { capacity: 2, fs, bufferSize: 'big' }), (e) => e instanceof TypeError);
  assert.throws(() => RingLog.open('/d/r', { capacity: 2, fs, bufferSize: -1 }), (e) => e instanceof RangeError);
  assert.throws(() => RingLog.open('/d/r', { capacity: 2, fs, bufferSize: 1.5 }), (e) => e instanceof RangeError);
  const log = RingLog.open('/d/r', { capacity: 2, fs });
  assert.throws(() => log.appendWithFailure(enc('x'), { failureClass: 'io', code: '5' }), (e) => e instanceof TypeError);
  assert.throws(() => log.appendWithFailure(enc('x'), { failureClass: 'io', code: 5n }), (e) => e instanceof TypeError);
  assert.throws(() => log.appendWithFailure(enc('x'), { failureClass: 'io', code: 1.5 }), (e) => e instanceof RangeError);
  assert.throws(() => log.appendWithFailure(enc('x'), { failureClass: 5, code: 1 }), (e) => e instanceof TypeError);
  assert.is(log.length, 0);
  log.close();
});

test('opening a directory is BAD_HEADER', () => {
  const fs = memfs();
  const e = throwsCode(() => RingLog.open('/d', { fs }), 'BAD_HEADER');
  assert.match(e.message, /is a directory/);
});

test('records() is the lazy iterator under its common name; replayAll/replayRecords agree with it', () => {
  const fs = memfs();
  const log = RingLog.open('/d/r', { capacity: 3, slotSize: 64, fs });
  for (let i = 1; i <= 5; i++) log.append(enc(`${i}`));
  assert.equal([...log.records()].map((r) => dec(r.payload)), ['3', '4', '5']);
  assert.equal(log.replayRecords().map((r) => r.sequence), [3, 4, 5]);
  assert.equal(log.replayAll().map(dec), ['3', '4', '5']);
  log.close();
});

test('the host puts each record where the core says its slot is (ringSlotOffset)', () => {
  const core = new Core();
  for (const capacity of [1, 2, 7]) {
    const fs = memfs();
    const slotSize = 64;
    const log = RingLog.open('/d/r', { capacity, slotSize, fs, bufferSize: 3 * slotSize });
    for (let seq = 1; seq <= 3 * capacity + 1; seq++) {
      const payload = new Uint8Array([seq, 0xab, seq]);
      log.append(payload);
      log.sync();
      const at = core.x.ringSlotOffset(seq, 0, capacity, slotSize);
      assert.is(at, 4096 + ((seq - 1) % capacity) * slotSize);
      const bytes = fs.readFile('/d/r').subarray(at + 40, at + 43);
      assert.equal([...bytes], [...payload], `capacity ${capacity}, record ${seq}`);
    }
    log.close();
  }
});

test.run();
