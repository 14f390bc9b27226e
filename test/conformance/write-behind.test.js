// Write-behind (host/codec/frame-file.ts), for every log whose active file
// is sealed at a roll (WalLog, SegmentedWal): once 4 MiB are written past the
// durable end, the file starts an fdatasync of them through a second handle,
// off the JS thread, so the fdatasync sealing the segment (or the next sync)
// finds little left. It promises nothing: these cases check that it runs,
// that its handle is closed, that a failure poisons and nothing after the
// last sync is adopted (also when the main handle meets the error first, as
// Linux reports it to every descriptor), and that a failure settling after
// the segment was sealed by the main handle's own fdatasync changes nothing.
// A log that writes behind joins by adding an entry to WRITERS.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as nodeFs from 'node:fs';
import { SegmentedWal, WalLog, WalError } from 'walcore';
import { tempDir } from '../support/helpers.js';
import { immediate, instrumented, memFs } from '../support/async-sync.js';

const MIB = 1 << 20;
const KIB = (i) => new Uint8Array(1024).fill(i & 0xff);

/**
 * open(fs, path, segmentTargetSize?), fill(log, bytes) appends 1 KiB records (buffered) until about `bytes` more are
 * in the log and returns how many it holds, count(fs, path) reopens and returns how many records survive (checking
 * the first and last; the last index or LSN), segments(log) counts its segments.
 */
const opts = (fs, segmentTargetSize) => ({ ...(fs === undefined ? {} : { fs }), ...(segmentTargetSize === undefined ? {} : { segmentTargetSize }) });
const WRITERS = [
  {
    name: 'WalLog',
    open: (fs, path, segmentTargetSize) => WalLog.open(path, opts(fs, segmentTargetSize)),
    fill(log, bytes) {
      let i = log.lastIndex();
      for (const end = i + Math.ceil(bytes / 1072); i < end;) { i++; log.append([{ index: i, term: 1, payload: KIB(i) }]); }
      return i;
    },
    count(fs, path) {
      const log = WalLog.open(path, opts(fs));
      try {
        const n = log.lastIndex();
        for (const i of [1, n]) if (n >= 1) assert.is(log.entry(i).payload[0], i & 0xff, `entry ${i}`);
        return n;
      } finally { log.close(); }
    },
    segments: (log) => log.segmentCount,
  },
  {
    name: 'SegmentedWal',
    open: (fs, path, segmentTargetSize) => SegmentedWal.open({ dir: path, ...opts(fs, segmentTargetSize) }),
    fill(log, bytes) {
      const n = Math.ceil(bytes / 1072);
      for (let k = 0; k < n; k++) log.append(1, 2, 3, 4, KIB(log.nextLsn));
      return log.nextLsn - 1;
    },
    count(fs, path) {
      const log = SegmentedWal.open({ dir: path, ...opts(fs) });
      try {
        const rs = log.replay();
        rs.forEach((r, k) => { if (k === 0 || k === rs.length - 1) assert.is(r.payload[0], r.lsn & 0xff, `record ${r.lsn}`); });
        return rs.length === 0 ? 0 : rs[rs.length - 1].lsn;
      } finally { log.close(); }
    },
    segments: (log) => log.listSegments().length,
  },
];

/** A view of `base` whose syncAsync() promises settle only after release(), though the real sync completed. */
function gated(base) {
  let release;
  const gate = new Promise((r) => { release = r; });
  const view = { name: base.name, release: () => release() };
  for (const m of ['stat', 'rename', 'remove', 'list', 'mkdir', 'syncDir', 'lock']) view[m] = base[m].bind(base);
  view.open = (path, flags) => {
    const h = base.open(path, flags);
    return {
      path: h.path, read: (b, p) => h.read(b, p), write: (b, p) => h.write(b, p), truncate: (n) => h.truncate(n), size: () => h.size(),
      sync: () => h.sync(), close: (abandon) => h.close(abandon), abandonsSync: h.abandonsSync,
      syncAsync: () => { const p = h.syncAsync(); p.catch(() => {}); return gate.then(() => p); },
    };
  };
  return view;
}

for (const W of WRITERS) {
const test = suite(`write-behind: ${W.name}`);
const fill = (log, bytes) => W.fill(log, bytes);
const entriesAfterReopen = (fs, d) => W.count(fs, d);

test('buffered appends past 4 MiB start an fdatasync through a second handle; none below it, one at a time; the handle is closed with the log', async () => {
  const fs = instrumented(memFs());
  const log = W.open(fs, '/d/w');
  fill(log, 3 * MIB);
  assert.is(fs.stats.syncAsync, 0, 'nothing written behind below 4 MiB');
  fill(log, 2 * MIB);
  assert.is(fs.stats.syncAsync, 1, 'one write-behind fdatasync once 4 MiB were written');
  fill(log, 5 * MIB);
  assert.is(fs.stats.syncAsync, 1, 'no second one while the first is in flight (as far as the JS thread knows: no turn yet)');
  await immediate();
  await immediate();
  fill(log, 1.2 * MIB); // the next write-out of the 1 MiB buffer
  assert.is(fs.stats.syncAsync, 2, 'after a turn saw it settle, the next write past 4 MiB starts the next');
  const closesBefore = fs.stats.closes;
  await immediate();
  log.close();
  assert.ok(fs.stats.closes >= closesBefore + 2, 'the write-behind handle is closed with the segment');
});

test('what a write-behind fdatasync covered survives a crash (it really synced), though only sync() promises it', async () => {
  const fs = memFs();
  const log = W.open(fs, '/d/w');
  const written = fill(log, 5.5 * MIB); // about 4.5 MiB of it written out (1 MiB stays buffered), 4 MiB of that behind
  await immediate(); // the write-behind completes on a later macrotask
  fill(log, MIB / 2);
  fs.crash({ mode: 'drop' });
  const n = entriesAfterReopen(fs, '/d/w');
  const covered = Math.floor((4 * MIB) / 1072);
  assert.ok(n >= covered - 2 && n < written, `recovered ${n}: the write-behind covered at least about ${covered} of ${written}`);
});

test('a failed write-behind fdatasync poisons the log; after a crash nothing after the last sync() is adopted', async () => {
  const fs = memFs();
  const log = W.open(fs, '/d/w');
  const synced = fill(log, MIB);
  log.sync();
  fs.injectFault({ op: 'sync' });
  fill(log, 6 * MIB);
  await immediate();
  await immediate();
  assert.is(log.state, 'poisoned');
  assert.throws(() => fill(log, 1024), (e) => e instanceof WalError && e.code === 'POISONED');
  log.close();
  fs.crash({ mode: 'keep' }); // even unsynced writes kept where the model allows: the lost ones must not come back
  const n = entriesAfterReopen(fs, '/d/w');
  assert.is(n, synced, 'exactly the synced entries');
});

test('a write-behind failure the main handle meets first: sync() fails (the error is reported to every descriptor), nothing is acknowledged', async () => {
  const mem = memFs();
  const fs = gated(mem);
  const log = W.open(fs, '/d/w');
  const synced = fill(log, MIB);
  log.sync();
  mem.injectFault({ op: 'sync' });
  fill(log, 6 * MIB);
  assert.is(mem.pendingAsyncSyncs, 1, 'a write-behind is in flight');
  while (mem.pendingAsyncSyncs > 0) await immediate(); // it failed in the file system; its promise has not settled
  assert.ok(mem.list('/d/w').some((f) => mem.hasLostWrites(`/d/w/${f}`)), 'the failed fdatasync lost dirty writes');
  assert.is(log.state, 'open', 'the log has not heard of it yet');
  try { log.sync(); assert.unreachable('sync() succeeded after a failed write-behind'); } catch (e) { assert.is(e.code, 'POISONED'); assert.is(e.cause?.code, 'EIO'); }
  fs.release();
  await immediate();
  log.close();
  mem.crash({ mode: 'keep' });
  assert.is(entriesAfterReopen(mem, '/d/w'), synced);
});

test('a write-behind failure that settles after the segment was sealed by its own fdatasync changes nothing', async () => {
  const fs = memFs();
  const log = W.open(fs, '/d/w', 6 * MIB);
  fs.holdAsyncSyncs();
  fill(log, 5.5 * MIB);
  assert.is(fs.pendingAsyncSyncs, 1, 'a write-behind is in flight');
  const sealedBefore = W.segments(log);
  fill(log, 2 * MIB); // rolls: the segment is sealed (fdatasync through the main handle)
  assert.is(W.segments(log), sealedBefore + 1);
  fs.injectFault({ op: 'sync' });
  fs.releaseAsyncSyncs();
  await immediate();
  await immediate();
  assert.is(log.state, 'open', 'the sealed segment is durable by its own fdatasync');
  const last = fill(log, 1024);
  log.sync();
  log.close();
  fs.crash({ mode: 'drop' });
  assert.is(entriesAfterReopen(fs, '/d/w'), last);
});

test('real file system: close() releases every descriptor at once, write-behind ones with an fdatasync in flight too', async () => {
  if (!nodeFs.existsSync('/proc/self/fd')) return;
  const dir = tempDir('write-behind');
  const count = () => nodeFs.readdirSync('/proc/self/fd').length;
  const before = count();
  // (Deno's adapter does not write behind: FileHandle.abandonsSync is false there.)
  const log = W.open(undefined, `${dir}/w`, 8 * MIB);
  const last = fill(log, 30 * MIB); // three rolls, a write-behind in flight in each segment (this loop never yields)
  log.close();
  assert.is(count(), before, 'every descriptor released by close() itself, none left to an fdatasync in flight');
  assert.is(W.count(undefined, `${dir}/w`), last);
  nodeFs.rmSync(dir, { recursive: true, force: true });
});

test.run();
}
