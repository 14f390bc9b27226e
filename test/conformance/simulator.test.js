// MemoryFileSystem as a model of Linux: a failed fsync marks the dirty pages
// clean ("fsyncgate"), so the writes it covered may be lost in a crash even
// if a later fsync, on any descriptor, succeeds; and the simulator itself
// loads without node:fs.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MemoryFileSystem } from 'walcore';
import { dec, enc } from '../support/helpers.js';

const t = suite('MemoryFileSystem: a failed sync');

const syncFails = (h) => {
  try { h.sync(); } catch (e) { assert.is(e.code, 'EIO'); return; }
  assert.unreachable('sync succeeded');
};
function setup(options) {
  const mem = new MemoryFileSystem(options);
  mem.mkdir('/d');
  const h = mem.open('/d/f', { write: true, create: true });
  h.sync();
  mem.syncDir('/');
  mem.syncDir('/d');
  return { mem, h };
}

t('by default, writes a failed sync covered stay readable but are no longer dirty, and a later sync does not save them', () => {
  const { mem, h } = setup();
  h.write(enc('abc'), 0);
  mem.injectFault({ op: 'sync' });
  syncFails(h);
  assert.is(dec(mem.readFile('/d/f')), 'abc', 'the page cache still holds them');
  assert.not.ok(mem.hasUnsynced('/d/f'), 'no longer dirty');
  assert.ok(mem.hasLostWrites('/d/f'));
  h.sync(); // succeeds, like a second fsync on Linux
  mem.crash({ mode: 'drop' });
  assert.is(mem.readFile('/d/f').length, 0, 'a failed sync lost them for good');
  assert.not.ok(mem.hasLostWrites('/d/f'));
});

t('a later successful sync makes later writes durable, on top of the lost ones', () => {
  const { mem, h } = setup();
  h.write(enc('abc'), 0);
  mem.injectFault({ op: 'sync' });
  syncFails(h);
  h.write(enc('xyz'), 3);
  h.write(enc('B'), 1);
  h.sync();
  mem.crash({ mode: 'drop' });
  assert.equal([...mem.readFile('/d/f')], [0, 'B'.charCodeAt(0), 0, ...enc('xyz')]);
});

t('a failed sync on one descriptor loses the writes made through another, and that one is told once', () => {
  const { mem, h } = setup();
  const other = mem.open('/d/f', { write: true });
  h.write(enc('abc'), 0);
  mem.injectFault({ op: 'sync' });
  syncFails(other);
  syncFails(h); // Linux >= 4.13 (errseq_t): every descriptor open at the failure reports it once
  h.sync();
  other.sync();
  mem.crash({ mode: 'drop' });
  assert.is(mem.readFile('/d/f').length, 0);
});

t('an error reported through another handle: this handle still writes its dirty data, then reports EIO; a handle opened after is not told', () => {
  const { mem, h } = setup();
  const bystander = mem.open('/d/f', { write: true });
  const failing = mem.open('/d/f');
  h.write(enc('abc'), 0);
  mem.injectFault({ op: 'sync' });
  syncFails(failing);
  const late = mem.open('/d/f', { write: true });
  h.write(enc('xyz'), 3);
  syncFails(h);
  assert.not.ok(mem.hasUnsynced('/d/f'), 'the sync that reported the earlier error wrote the new writes');
  late.sync();
  failing.sync();
  syncFails(bystander);
  bystander.sync();
  mem.crash({ mode: 'drop' });
  assert.equal([...mem.readFile('/d/f')], [0, 0, 0, ...enc('xyz')], 'abc was lost by the failed sync, xyz made durable by the one that reported it');
});

t('syncAsync() reports an error met through another handle the same way (once, after writing)', async () => {
  const { mem, h } = setup();
  const other = mem.open('/d/f');
  h.write(enc('abc'), 0);
  mem.injectFault({ op: 'sync' });
  syncFails(other);
  h.write(enc('xyz'), 3);
  let code;
  await h.syncAsync().catch((e) => { code = e.code; });
  assert.is(code, 'EIO');
  await h.syncAsync();
  mem.crash({ mode: 'drop' });
  assert.equal([...mem.readFile('/d/f')], [0, 0, 0, ...enc('xyz')]);
});

t("failedSync: 'keep' reports a failure only to the handle that met it", () => {
  const { mem, h } = setup({ failedSync: 'keep' });
  const other = mem.open('/d/f');
  h.write(enc('abc'), 0);
  mem.injectFault({ op: 'sync' });
  syncFails(other);
  h.sync();
});

t('in a crash, each lost write is kept, dropped or torn like any unsynced one (seeded)', () => {
  const outcomes = new Set();
  for (let seed = 1; seed <= 40; seed++) {
    const { mem, h } = setup();
    h.write(new Uint8Array(2048).fill(7), 0);
    mem.injectFault({ op: 'sync' });
    syncFails(h);
    h.sync();
    const report = mem.crash({ seed });
    assert.is(report.lostOps, 1);
    assert.is(report.writesKept + report.writesDropped + report.writesTorn, 1);
    const bytes = mem.readFile('/d/f');
    outcomes.add(bytes.length === 0 ? 'dropped' : bytes.every((b) => b === 7) ? 'kept' : 'torn');
  }
  assert.equal([...outcomes].sort(), ['dropped', 'kept', 'torn']);
  const { mem, h } = setup();
  h.write(enc('abc'), 0);
  mem.injectFault({ op: 'sync' });
  syncFails(h);
  mem.crash({ mode: 'keep' });
  assert.is(dec(mem.readFile('/d/f')), 'abc');
});

t("failedSync: 'keep' models the old, non-Linux behaviour: the writes stay pending and a later sync saves them", () => {
  const { mem, h } = setup({ failedSync: 'keep' });
  h.write(enc('abc'), 0);
  mem.injectFault({ op: 'sync' });
  syncFails(h);
  assert.ok(mem.hasUnsynced('/d/f'));
  assert.not.ok(mem.hasLostWrites('/d/f'));
  h.sync();
  mem.crash({ mode: 'drop' });
  assert.is(dec(mem.readFile('/d/f')), 'abc');
});

t('failedSync is checked', () => {
  assert.throws(() => new MemoryFileSystem({ failedSync: 'maybe' }), (e) => e instanceof RangeError);
  assert.throws(() => new MemoryFileSystem({ failedSyncs: 'drop' }), (e) => e instanceof TypeError);
  assert.is(new MemoryFileSystem().failedSync, 'drop');
});

t('a sync on a closed handle is EBADF and loses nothing', () => {
  const { mem, h } = setup();
  h.write(enc('abc'), 0);
  const other = mem.open('/d/f');
  other.close();
  let code = 'no error';
  try { other.sync(); } catch (e) { code = e.code; }
  assert.is(code, 'EBADF');
  assert.ok(mem.hasUnsynced('/d/f'));
  h.sync();
  mem.crash({ mode: 'drop' });
  assert.is(dec(mem.readFile('/d/f')), 'abc');
});

t.run();

const load = suite('MemoryFileSystem: no node: imports');

load('host/fs/memory.ts and everything it imports use no node: module', () => {
  const root = fileURLToPath(new URL('../../host/', import.meta.url));
  const seen = new Set();
  const visit = (rel) => {
    if (seen.has(rel)) return;
    seen.add(rel);
    const src = fs.readFileSync(`${root}${rel}`, 'utf8');
    for (const m of src.matchAll(/^(?:import|export)\s[^;]*?from\s+'([^']+)'/gm)) {
      const spec = m[1];
      assert.not.ok(spec.startsWith('node:'), `${rel} imports ${spec}`);
      if (!spec.startsWith('.')) continue;
      const parts = rel.split('/').slice(0, -1);
      for (const p of spec.replace(/\.js$/, '.ts').split('/')) {
        if (p === '..') parts.pop();
        else if (p !== '.') parts.push(p);
      }
      visit(parts.join('/'));
    }
  };
  visit('fs/memory.ts');
  assert.ok(seen.has('fs/memory-file.ts'));
});

load.run();
