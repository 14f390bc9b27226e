// WalLog: the conformance suite on the in-memory file system (reopening from
// storage between steps) and on the runtime's real file system, then
// WalLog-specific behaviour: segments, footers, reclaimed disk, corruption,
// locking and options.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MemoryFileSystem, WalLog } from 'walcore';
import { tempDir } from '../../support/helpers.js';
import { checkEntries, ents, expectThrow, runRaftLogSuite } from './suite.js';

const memFactory = (opts = {}) => () => {
  const fs = new MemoryFileSystem();
  const open = () => WalLog.open('/raft', { fs, ...opts });
  return { log: open(), reopen: (log) => { log.close(); return open(); }, fs };
};
runRaftLogSuite(test, 'WalLog (memory fs)', memFactory());
runRaftLogSuite(test, 'WalLog (tiny segments)', memFactory({ segmentTargetSize: 4096 }));
let n = 0;
const root = tempDir('raft');
runRaftLogSuite(test, 'WalLog (real fs)', () => {
  const dir = `${root}/log${n++}`;
  return { log: WalLog.open(dir), reopen: (log) => { log.close(); return WalLog.open(dir); } };
});

const big = (i, term, size) => ({ index: i, term, payload: new Uint8Array(size).fill(i & 0xff) });

test('segments roll, sealed ones are opened from their footers, verify() checks every frame', () => {
  const fs = new MemoryFileSystem();
  let log = WalLog.open('/r', { fs, segmentTargetSize: 4096 });
  for (let i = 1; i <= 100; i++) log.append([big(i, 1 + (i >> 5), 200)]);
  log.truncate(90);
  log.append([big(90, 9, 10)]);
  log.sync();
  assert.ok(log.segmentCount > 3, `${log.segmentCount} segments`);
  log.close();
  log = WalLog.open('/r', { fs, segmentTargetSize: 4096 });
  assert.is(log.openReport.footersRead, 0, 'no truncate or mark in these segments: no footer is read at open');
  assert.is(log.openReport.footersDeferred, log.segmentCount - 1);
  assert.is(log.lastIndex(), 90);
  assert.is(log.entry(90).term, 9);
  assert.is(log.entry(37).payload[5], 37);
  const v = log.verify();
  assert.is(v.segments, log.segmentCount);
  assert.ok(v.frames > 100);
  log.close();
});

test('applySnapshot deletes whole segments below it; disk = live data plus at most one segment', () => {
  const fs = new MemoryFileSystem();
  const log = WalLog.open('/r', { fs, segmentTargetSize: 4096 });
  for (let i = 1; i <= 200; i++) log.append([big(i, 1, 100)]);
  log.sync();
  const before = fs.list('/r').length;
  log.applySnapshot({ index: 150, term: 1, data: new Uint8Array(10) });
  const segs = fs.list('/r').filter((x) => x.endsWith('.seg'));
  assert.ok(segs.length < before - 3, `${before} files -> ${segs.length} segments`);
  const bytes = segs.reduce((s, name) => s + fs.readFile(`/r/${name}`).length, 0);
  assert.ok(bytes <= 50 * 148 + 2 * 4096 + 4096, `${bytes} bytes on disk for 50 live entries`);
  log.applySnapshot({ index: 300, term: 2, data: new Uint8Array(10) });
  assert.is(fs.list('/r').filter((x) => x.endsWith('.seg')).length, 1, 'an emptied log keeps one segment');
  log.close();
  const again = WalLog.open('/r', { fs });
  assert.is(again.lastIndex(), 300);
  again.close();
});

test('CRC damage in synced data is CORRUPTED with file and offset; torn tail is cut', () => {
  const fs = new MemoryFileSystem();
  let log = WalLog.open('/r', { fs });
  log.append(ents(1, 5, 1));
  log.sync();
  log.close();
  const name = fs.list('/r').find((x) => x.endsWith('.seg'));
  const bytes = fs.readFile(`/r/${name}`);
  const copy = bytes.slice();
  copy[64 + 64 + 40] ^= 1; // inside entry 1 (after the header and the hard-state frame)
  fs.writeFile(`/r/${name}`, copy);
  const e = expectThrow(() => WalLog.open('/r', { fs }), 'CORRUPTED', 'damaged entry');
  assert.is(e.path, `/r/${name}`);
  assert.is(e.offset, 128);
  // a torn tail: bytes after the last sync that never completed
  fs.writeFile(`/r/${name}`, bytes);
  log = WalLog.open('/r', { fs });
  log.append(ents(6, 8, 1)); // not synced
  fs.crash({ seed: 1, mode: 'keep' }); // the process dies; its writes reached the file
  const end = fs.readFile(`/r/${name}`);
  fs.writeFile(`/r/${name}`, end.subarray(0, end.length - 10)); // entry 8 torn
  log = WalLog.open('/r', { fs });
  assert.is(log.lastIndex(), 5, 'a write is all or nothing: 6..8 went together');
  assert.ok(log.openReport.truncatedBytes > 0);
  log.close();
});

test('deferred footers: a segment of entries only is indexed from the headers at open and read on first access, exactly', () => {
  const fs = new MemoryFileSystem();
  let log = WalLog.open('/r', { fs, segmentTargetSize: 4096 });
  // segment 1: entries 1..3, then 2..3 are replaced (a truncate: its footer is read at open); their dead copies stay in it
  log.append([big(1, 1, 1000), big(2, 1, 1000), big(3, 1, 1000)]);
  log.append([big(2, 2, 10)]);
  // later segments hold entries only: their locators let open skip their footers; 3.. reuse the dead copies' index slots
  for (let i = 3; i <= 30; i++) log.append([big(i, 2 + (i >> 3), 700 + i)]);
  log.setHardState({ term: 5, vote: 1, commit: 20 });
  log.sync();
  log.close();
  log = WalLog.open('/r', { fs, segmentTargetSize: 4096 });
  assert.is(log.openReport.footersRead, 1, 'segment 1 holds a truncate');
  assert.ok(log.openReport.footersDeferred >= 3, `${log.openReport.footersDeferred} footers deferred`);
  const lazyBytes = log.indexBytes;
  assert.equal(log.hardState(), { term: 5, vote: 1, commit: 20 });
  assert.is(log.lastIndex(), 30);
  assert.is(log.lastTerm(), 2 + (30 >> 3));
  for (let i = 3; i <= 30; i++) assert.is(log.termAt(i), 2 + (i >> 3), `termAt(${i})`);
  const all = log.entries(1, 30);
  assert.equal(all.map((e) => [e.index, e.term, e.payload.length, e.payload[0]]),
    [[1, 1, 1000, 1], [2, 2, 10, 2], ...Array.from({ length: 28 }, (_, k) => [k + 3, 2 + ((k + 3) >> 3), 703 + k, (k + 3) & 0xff])]);
  assert.ok(log.indexBytes >= lazyBytes);
  // a truncate into a deferred segment and a reopen stay exact
  log.close();
  log = WalLog.open('/r', { fs, segmentTargetSize: 4096 });
  log.append([big(12, 9, 5)]);
  log.sync();
  log.close();
  log = WalLog.open('/r', { fs, segmentTargetSize: 4096 });
  assert.is(log.lastIndex(), 12);
  assert.equal(log.entries(10, 12).map((e) => [e.index, e.term, e.payload.length]), [[10, 3, 710], [11, 3, 711], [12, 9, 5]]);
  log.verify();
  log.close();
});

test('indexBytes counts the index arrays: 12 B per slot of each 4096-entry chunk, 16 B in a chunk holding a term >= 2^32', () => {
  const fs = new MemoryFileSystem();
  const log = WalLog.open('/r', { fs });
  const e = new Uint8Array(1);
  const batch = [];
  for (let i = 1; i <= 5000; i++) batch.push({ index: i, term: 7, payload: e });
  log.append(batch);
  assert.is(log.indexBytes, 2 * 4096 * 12);
  log.append([{ index: 5001, term: 2 ** 32 + 1, payload: e }]);
  assert.is(log.indexBytes, 2 * 4096 * 12 + 4096 * 4, 'the second chunk\'s terms moved to a Float64Array');
  assert.is(log.termAt(4097), 7);
  assert.is(log.termAt(5000), 7);
  assert.is(log.termAt(5001), 2 ** 32 + 1);
  log.append([{ index: 5002, term: 2 ** 53 - 1, payload: e }]);
  assert.is(log.termAt(5001), 2 ** 32 + 1);
  log.close();
  const again = WalLog.open('/r', { fs });
  assert.is(again.termAt(5001), 2 ** 32 + 1);
  assert.is(again.termAt(4096), 7);
  again.close();
});

test('buffered writes past 1 MiB go out up to a 4 KiB boundary, the rest of a frame with the next write: crashes before sync keep a prefix, sync keeps all', () => {
  for (const mode of ['random', 'drop', 'tear', 'keep']) {
    const fs = new MemoryFileSystem();
    let log = WalLog.open('/r', { fs });
    const entry = (i) => ({ index: i, term: 1, payload: new Uint8Array(1000 + (i % 7) * 333).fill(i & 0xff) });
    for (let i = 1; i <= 1500; i++) log.append([entry(i)]); // ~2.6 MB: flushes cut frames at page boundaries
    log.sync();
    for (let i = 1501; i <= 2500; i++) log.append([entry(i)]);
    fs.crash({ seed: 7, mode });
    log = WalLog.open('/r', { fs });
    const last = log.lastIndex();
    assert.ok(last >= 1500 && last <= 2500, `${mode}: ${last}`);
    const same = (e, i) => e.index === i && e.term === 1 && e.payload.length === entry(i).payload.length && e.payload.every((b) => b === (i & 0xff));
    for (const i of [1, 700, 1500, last]) assert.ok(same(log.entry(i), i), `${mode}: entry ${i}`);
    log.verify();
    for (let i = last + 1; i <= 3000; i++) log.append([entry(i)]);
    log.sync();
    fs.crash({ seed: 8, mode });
    log = WalLog.open('/r', { fs });
    assert.is(log.lastIndex(), 3000, mode);
    assert.ok(log.entries(2990, 3000).every((e, k) => same(e, 2990 + k)), mode);
    log.verify();
    log.close();
  }
});

test('deferred footers: damage in a footer open skipped is CORRUPTED on first access to that segment, and verify() finds it', () => {
  const fs = new MemoryFileSystem();
  let log = WalLog.open('/r', { fs, segmentTargetSize: 4096 });
  for (let i = 1; i <= 40; i++) log.append([big(i, 1, 600)]);
  log.sync();
  log.close();
  const name = fs.list('/r').filter((x) => x.endsWith('.seg')).sort()[1];
  const b = fs.readFile(`/r/${name}`);
  b[b.length - 64 - 40] ^= 1; // inside the footer's last op record (before the 64-byte locator)
  fs.writeFile(`/r/${name}`, b);
  log = WalLog.open('/r', { fs, segmentTargetSize: 4096 });
  assert.is(log.lastIndex(), 40, 'open reads headers and locators only');
  const e = expectThrow(() => log.entries(1, 40), 'CORRUPTED', 'first access');
  assert.is(e.path, `/r/${name}`);
  expectThrow(() => log.verify(), 'CORRUPTED', 'verify');
  log.close();
});

test('entry() of damaged data is CORRUPTED', () => {
  const fs = new MemoryFileSystem();
  const log = WalLog.open('/r', { fs, cacheEntries: 0 });
  log.append(ents(1, 3, 1));
  log.sync();
  const name = fs.list('/r').find((x) => x.endsWith('.seg'));
  const b = fs.readFile(`/r/${name}`);
  b[b.length - 40] ^= 0xff;
  fs.writeFile(`/r/${name}`, b);
  expectThrow(() => log.entry(3), 'CORRUPTED', 'entry 3');
  log.close();
});

test('a second writer is LOCKED; bad options are TypeError/RangeError', () => {
  const fs = new MemoryFileSystem();
  const log = WalLog.open('/r', { fs });
  expectThrow(() => WalLog.open('/r', { fs }), 'LOCKED', 'second writer');
  log.close();
  expectThrow(() => WalLog.open('/r', { fs, segmentTargetSize: 'big' }), TypeError, 'type');
  expectThrow(() => WalLog.open('/r', { fs, segmentTargetSize: 10 }), RangeError, 'range');
  expectThrow(() => WalLog.open('/r', { fs, nope: 1 }), TypeError, 'unknown option');
  expectThrow(() => WalLog.open('', { fs }), TypeError, 'path');
});

test('one fsync per append batch in steady state; hard state rides in the same write', () => {
  const fs = new MemoryFileSystem();
  const log = WalLog.open('/r', { fs });
  log.append(ents(1, 1, 1));
  log.sync();
  const s0 = fs.calls.sync;
  const w0 = fs.calls.write;
  for (let i = 2; i <= 51; i++) {
    log.setHardState({ term: 1, vote: 1, commit: i - 1 });
    log.append(ents(i, i, 1));
    log.sync();
  }
  assert.is(fs.calls.sync - s0, 50, 'fsyncs');
  assert.is(fs.calls.write - w0, 100, 'one data write and one marker per batch');
  log.close();
  const again = WalLog.open('/r', { fs });
  assert.equal(again.hardState(), { term: 1, vote: 1, commit: 50 });
  checkEntries(again, ents(1, 51, 1));
  again.close();
});


runRaftLogSuite(test, 'WalLog (preallocate, tiny segments)', memFactory({ preallocate: true, segmentTargetSize: 4096 }));

test('preallocate: the active segment grows by zeros 1 MiB at a time; sealing and close cut them; a crash leaves them to be cut as a torn tail', () => {
  const fs = new MemoryFileSystem();
  fs.mkdir('/d');
  const size = (name) => fs.readFile(`/d/r/${name}`).length;
  const segs = () => fs.list('/d/r').filter((x) => x.endsWith('.seg')).sort();
  let log = WalLog.open('/d/r', { fs, preallocate: true, segmentTargetSize: 1 << 16 });
  for (let i = 1; i <= 10; i++) log.append([big(i, 1, 100)]);
  log.sync();
  assert.is(size(segs()[0]), 1 << 20, 'the active segment was extended to 1 MiB of zeros');
  for (let i = 11; i <= 1000; i++) log.append([big(i, 1, 100)]);
  log.sync();
  const names = segs();
  assert.ok(names.length > 1, 'rolled');
  for (const n of names.slice(0, -1)) assert.ok(size(n) < 1 << 19, `sealed segment ${n} keeps zeros: ${size(n)} bytes`);
  log.close();
  assert.ok(size(segs().at(-1)) < 1 << 16, 'close cut the zeros');
  log = WalLog.open('/d/r', { fs, preallocate: true, segmentTargetSize: 1 << 16 });
  assert.is(log.openReport.truncatedBytes, 0, 'a clean close leaves nothing to cut');
  assert.is(log.openReport.footersRead + log.openReport.footersDeferred, log.segmentCount - 1);
  for (let i = 1001; i <= 1010; i++) log.append([big(i, 1, 100)]);
  log.sync();
  log.append([big(1011, 1, 100)]); // not synced
  fs.crash({ mode: 'keep' });
  log = WalLog.open('/d/r', { fs, segmentTargetSize: 1 << 16 });
  assert.ok(log.openReport.truncatedBytes > 0, 'the zeros were cut as a torn tail');
  assert.ok(log.lastIndex() >= 1010 && log.lastIndex() <= 1011, `synced entries survive (last ${log.lastIndex()})`);
  assert.is(log.entry(1010).payload[0], 1010 & 0xff);
  log.verify();
  log.close();
  expectThrow(() => WalLog.open('/d/r2', { fs, preallocate: 1 }), TypeError, 'preallocate: 1');
});

test.run();
