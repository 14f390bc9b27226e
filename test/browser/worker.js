// The browser half of test/browser/browser.test.js: runs in a dedicated
// worker in headless Chromium against dist/browser.js (the driver bundles this
// file with esbuild, `walcore` left as an import of /dist/browser.js). Each
// exported call answers one message from the page: { id, fn, args }.
import * as assert from 'uvu/assert';
import { KeyRing, OpfsFileSystem, RingLog, SegmentedWal, WalError, WalFsReader, WalFsWriter, WalLog } from 'walcore';
import { FILE_SYSTEM_CASES } from '../conformance/file-system-cases.js';
import { SHARED_LOGS } from '../conformance/lifecycle-logs.js';
import { lifecycleCases } from '../conformance/lifecycle-cases.js';

const enc = (s) => new TextEncoder().encode(s);
const dec = (b) => new TextDecoder().decode(b);
const b64 = (u8) => { let s = ''; for (let i = 0; i < u8.length; i += 0x8000) s += String.fromCharCode(...u8.subarray(i, i + 0x8000)); return btoa(s); };
const unb64 = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));

const root = () => navigator.storage.getDirectory();
/** A fresh pool in OPFS directory `name` (whatever a previous run left there is removed first). */
async function freshPool(name, capacity = 32) {
  const r = await root();
  await r.removeEntry(name, { recursive: true }).catch(() => {});
  return OpfsFileSystem.open(await r.getDirectoryHandle(name, { create: true }), { capacity });
}
async function pool(name, capacity = 32) {
  return OpfsFileSystem.open(await (await root()).getDirectoryHandle(name, { create: true }), { capacity });
}

async function runCases(cases) {
  const results = [];
  for (const [name, fn] of cases) {
    try {
      await fn();
      results.push({ name, ok: true });
    } catch (e) {
      results.push({ name, ok: false, error: `${e?.stack ?? e}` });
    }
  }
  return results;
}

/** The log kinds the lifecycle suite drives (shared with test/conformance/lifecycle.test.js). */
const LOGS = SHARED_LOGS;

export const api = {
  /** The FileSystem conformance cases over OpfsFileSystem, each in a fresh directory of one pool. */
  async conformance() {
    const fs = await freshPool('walcore-conformance', 64);
    let n = 0;
    const results = await runCases(FILE_SYSTEM_CASES.map(([name, run]) => [name, () => {
      const dir = `/case-${n++}`;
      fs.mkdir(dir);
      run({ fs, root: dir });
    }]));
    fs.close();
    return results;
  },

  async lifecycle() {
    const fs = await freshPool('walcore-lifecycle', 64);
    let n = 0;
    const cases = [];
    for (const kind of LOGS) {
      const t = (name, fn) => cases.push([`${kind.name}: ${name}`, () => fn(`/log-${n++}`)]);
      for (const [name, run] of lifecycleCases(kind)) t(name, (path) => run(fs, path));
    }
    const results = await runCases(cases);
    fs.close();
    return results;
  },

  /** Each log's basic behaviour in OPFS: append, sync, reopen, replay; a torn tail cut through OPFS. */
  async logs() {
    const fs = await freshPool('walcore-logs', 64);
    const results = await runCases([
      ['WalFsWriter: append, flush, reopen, replay; a torn tail (truncated through OPFS) is cut', () => {
        const w = WalFsWriter.open('/a.wal', { fs });
        for (let i = 1; i <= 99; i++) w.append({ sequence: i, payload: enc(`event ${i}`) });
        w.flush();
        const before = fs.stat('/a.wal').size;
        w.append({ sequence: 100, payload: enc('event 100') });
        w.flush();
        w.close();
        assert.equal([...WalFsReader.open('/a.wal', { fs })].map((e) => dec(e.payload)), Array.from({ length: 100 }, (_, i) => `event ${i + 1}`));
        const h = fs.open('/a.wal', { write: true });
        h.truncate(before + 5); // tear the last frame: a crash before its flush completed
        h.sync();
        h.close();
        const again = WalFsWriter.open('/a.wal', { fs });
        assert.ok(again.openReport.truncatedBytes > 0, 'the torn frame was cut');
        assert.is(again.currentSequence, 99);
        again.append({ sequence: 100, payload: enc('again') });
        again.flush();
        again.close();
        const got = [...WalFsReader.open('/a.wal', { fs })];
        assert.is(got.length, 100);
        assert.is(dec(got[99].payload), 'again');
      }],
      ['SegmentedWal: append across segments, sync, reopen, replay, torn tail cut', () => {
        const wal = SegmentedWal.open({ dir: '/seg', fs, segmentTargetSize: 4096 });
        for (let i = 0; i < 299; i++) wal.append(1, 2, 3, 4, enc(`record ${i}`));
        wal.sync();
        const segs = fs.list('/seg').filter((n) => !n.startsWith('.'));
        const last = `/seg/${segs[segs.length - 1]}`;
        const before = fs.stat(last).size;
        wal.append(1, 2, 3, 4, enc('record 299'));
        wal.sync();
        wal.close();
        const reopened = SegmentedWal.open({ dir: '/seg', fs });
        const recs = reopened.replay();
        assert.is(recs.length, 300);
        assert.is(dec(recs[299].payload), 'record 299');
        assert.ok(segs.length > 2, 'rolled into several segments');
        reopened.close();
        const h = fs.open(last, { write: true });
        h.truncate(before + 5); // tear the last record
        h.sync();
        h.close();
        const cut = SegmentedWal.open({ dir: '/seg', fs });
        assert.is(cut.replay().length, 299, 'the torn record is cut');
        cut.close();
      }],
      ['RingLog: append past capacity, sync, reopen, replay the newest', () => {
        const ring = RingLog.open('/r.ring', { capacity: 16, slotSize: 64, fs });
        for (let i = 1; i <= 40; i++) ring.append(enc(`ring ${i}`));
        ring.sync();
        ring.close();
        const again = RingLog.open('/r.ring', { fs });
        assert.ok(again.openReport.clean);
        assert.equal(again.replayRecords().map((r) => r.sequence), Array.from({ length: 16 }, (_, k) => 25 + k));
        again.close();
      }],
      ['WalLog: append, sync, reopen, entries back', () => {
        const log = WalLog.open('/raft', { fs });
        log.append([1, 2, 3].map((index) => ({ index, term: 1, payload: enc(`w${index}`) })));
        log.sync();
        log.close();
        const again = WalLog.open('/raft', { fs });
        assert.is(again.lastIndex(), 3);
        again.close();
      }],
      ['encryption says clearly it is not available in the browser build', () => {
        assert.throws(() => {
          const wal = SegmentedWal.open({ dir: '/enc', fs, encryptionRing: new KeyRing({ id: 1, key: new Uint8Array(32).fill(1) }) });
          wal.append(1, 2, 3, 4, enc('secret'));
          wal.sync();
        }, /not available in the browser build/);
      }],
      ['names and data survive a pool reopen', async () => {
        fs.close();
        const again = await pool('walcore-logs', 64);
        assert.ok(again.list('/').includes('a.wal'));
        assert.is([...WalFsReader.open('/a.wal', { fs: again })].length, 100);
        again.close();
      }],
    ]);
    fs.close();
    return results;
  },

  // ---- two workers

  /** Open the pool `name` and keep it; write a WalFsWriter with `count` flushed events. */
  async hold(name, count) {
    const fs = await freshPool(name);
    const w = WalFsWriter.open('/held.wal', { fs });
    for (let i = 1; i <= count; i++) w.append({ sequence: i, payload: enc(`held ${i}`) });
    w.flush();
    self.held = { fs, w };
    return 'held';
  },
  /** Try to open the pool `name`: 'ok' and the events of /held.wal, or the error code. */
  async tryPool(name) {
    let fs;
    try {
      fs = await pool(name);
    } catch (e) {
      return { code: e.code ?? e.name, message: e.message };
    }
    try {
      return { code: 'ok', events: [...WalFsReader.open('/held.wal', { fs })].length };
    } finally {
      fs.close();
    }
  },

  // ---- cross-environment

  /** Write a WalFsWriter log in OPFS and read its bytes back out (for Node to open). */
  async writeForNode(name, count) {
    const fs = await freshPool(name);
    const w = WalFsWriter.open('/browser.wal', { fs });
    for (let i = 1; i <= count; i++) w.append({ sequence: i, payload: enc(`from the browser ${i}`) });
    w.flush();
    w.close();
    const h = fs.open('/browser.wal');
    const bytes = new Uint8Array(h.size());
    h.read(bytes, 0);
    h.close();
    fs.close();
    return b64(bytes);
  },
  /** Copy a Node-written file into OPFS and replay it with `kind`. */
  async readFromNode(name, kind, b64bytes) {
    const fs = await freshPool(name);
    try {
      const h = fs.open('/node.log', { write: true, create: true });
      h.write(unb64(b64bytes), 0);
      h.sync();
      h.close();
      fs.syncDir('/');
      if (kind === 'wal') return [...WalFsReader.open('/node.log', { fs })].map((e) => dec(e.payload));
      const ring = RingLog.open('/node.log', { fs });
      const out = ring.replayRecords().map((r) => dec(r.payload));
      ring.close();
      return out;
    } finally {
      fs.close();
    }
  },

  /** Buffered append of n x size bytes, one flush, close; then replay. Milliseconds. */
  async bench(n, size) {
    const fs = await freshPool('walcore-bench', 8);
    const payload = new Uint8Array(size).fill(7);
    let t = performance.now();
    const w = WalFsWriter.open('/bench.wal', { fs });
    for (let i = 1; i <= n; i++) w.append({ sequence: i, payload });
    w.flush();
    w.close();
    const appendMs = performance.now() - t;
    t = performance.now();
    let count = 0;
    for (const e of WalFsReader.open('/bench.wal', { fs })) count += e.payload.length === size ? 1 : 0;
    const replayMs = performance.now() - t;
    fs.close();
    await (await root()).removeEntry('walcore-bench', { recursive: true });
    if (count !== n) throw new Error(`replayed ${count} of ${n}`);
    return { appendMs, replayMs };
  },
};

self.onmessage = async ({ data }) => {
  try {
    const result = await api[data.fn](...data.args);
    self.postMessage({ id: data.id, ok: true, result });
  } catch (e) {
    self.postMessage({ id: data.id, ok: false, error: `${e?.stack ?? e}` });
  }
};
self.postMessage('ready');
