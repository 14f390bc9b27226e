// walcore beside the libraries a user would pick instead, in one process,
// interleaved: every run of a workload runs each subject once, in turn, so
// drift on a shared machine hits all of them alike. Started by
// bench/peers/run.mjs (npm run bench:peers) once per runtime; not a
// *.bench.js file, so `npm run bench` never picks it up.
//
//   node bench/peers/peers.mjs                  all workloads, all subjects
//   node bench/peers/peers.mjs --strace-only S  only "durable, sync per record" for subject S, once
//
// Environment: WALCORE_BENCH_RUNS (default 5), WALCORE_PEERS_EVENTS (bulk and
// replay size, default 1000000), WALCORE_PEERS_DURABLE (records synced one by
// one, default 2000; x10 for sync per 100), WALCORE_PEERS_READS (random
// reads, default 10000; SegmentedWal does WALCORE_PEERS_SEG_READS of them,
// default 200, as each is a scan), WALCORE_PEERS_JSON (file to write the
// medians to).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import process from 'node:process';
import { SegmentedWal, WalFsReader, WalFsWriter, WalLog, detectRuntime } from '../../dist/walcore.js';

const require = createRequire(import.meta.url); // peers resolve from bench/peers/node_modules
const runtime = detectRuntime();
const env = (k, d) => Number(process.env[k] ?? d);
const RUNS = env('WALCORE_BENCH_RUNS', 5);
const N = env('WALCORE_PEERS_EVENTS', 1_000_000);
const DURABLE = env('WALCORE_PEERS_DURABLE', 2000);
const DURABLE100 = DURABLE * 10;
const READS = env('WALCORE_PEERS_READS', 10_000);
const SEGMENT = 4 << 20;
const SEG_READS = Math.min(READS, env('WALCORE_PEERS_SEG_READS', 200));
const BATCH = 1000;
const payload = Buffer.alloc(100, 0).map((_, i) => i);
const argv = process.argv.slice(2);
const straceOnly = argv[0] === '--strace-only' ? argv[1] : undefined;

const root = fs.mkdtempSync(path.join(os.tmpdir(), `walcore-peers-${runtime}-`));
process.on('exit', () => fs.rmSync(root, { recursive: true, force: true }));
let seq = 0;
/** A fresh, empty path under the bench directory. */
const fresh = (label) => path.join(root, `${label}-${++seq}`);
const rm = (p) => fs.rmSync(p, { recursive: true, force: true });
const timed = async (fn) => { const t0 = performance.now(); const work = await fn(); return { work, seconds: (performance.now() - t0) / 1000 }; };
const key4 = (i) => { const k = Buffer.allocUnsafe(4); k.writeUInt32BE(i); return k; };

/** Deterministic random indices in [1, N], the same for every subject. */
function randomIndices(n, max) {
  let x = 0x9e3779b9;
  const out = new Array(n);
  for (let i = 0; i < n; i++) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; out[i] = 1 + ((x >>> 0) % max); }
  return out;
}
const indices = randomIndices(READS, N);

// ---------------------------------------------------------------------------
// Subjects. Each workload returns { work, seconds } (only the part that is
// the workload is timed: opening and closing are not, unless said).
// bulk(n): n appends, then one durable sync of everything, timed to the end.
// durable1(n): n appends, each made durable before the next.
// durable100(n): n appends, made durable every 100.
// ref(n) (untimed) builds a store of n records; replay(ref) reads all,
// randomRead(ref) reads READS records by key/index.

const subjects = [];

subjects.push({
  id: 'walcore', label: 'walcore WalFsWriter',
  load: () => WalFsWriter,
  async bulk(n) {
    const p = fresh('wfw');
    const w = WalFsWriter.open(p);
    const r = await timed(() => { for (let i = 1; i <= n; i++) w.append({ sequence: i, payload }); w.flush(); return n; });
    w.close(); rm(p);
    return r;
  },
  async durable1(n) {
    const p = fresh('wfw');
    const w = WalFsWriter.open(p);
    const r = await timed(() => { for (let i = 1; i <= n; i++) { w.append({ sequence: i, payload }); w.flush(); } return n; });
    w.close(); rm(p);
    return r;
  },
  async durable100(n) {
    const p = fresh('wfw');
    const w = WalFsWriter.open(p);
    const r = await timed(() => { for (let i = 1; i <= n; i++) { w.append({ sequence: i, payload }); if (i % 100 === 0) w.flush(); } return n; });
    w.close(); rm(p);
    return r;
  },
  ref(n) {
    const p = fresh('wfw-ref');
    const w = WalFsWriter.open(p);
    for (let i = 1; i <= n; i++) w.append({ sequence: i, payload });
    w.close();
    return p;
  },
  // Full validation, each payload handed out as a copy (the default).
  replay: (p) => timed(() => { const r = WalFsReader.open(p); let bytes = 0; const n = r.forEach((s, v) => { bytes += v.length; }); r.close(); return n; }),
  randomRead: null, // WalFsReader has no random read
});

// WalLog (the Raft log) has the index: entry(i) is one pread of its frame.
// It takes part in the random-read row only (the rows above are WalFsWriter's).
subjects.push({
  id: 'wallog', label: 'walcore WalLog',
  load: () => WalLog,
  ref(n) {
    const d = fresh('wallog-ref');
    const log = WalLog.open(d);
    for (let i = 1; i <= n; i += 1000) {
      const batch = [];
      for (let j = i; j < i + 1000 && j <= n; j++) batch.push({ index: j, term: 1, payload });
      log.append(batch);
    }
    log.sync();
    log.close();
    return d;
  },
  randomRead: (d) => {
    const log = WalLog.open(d);
    return timed(() => {
      let bytes = 0;
      for (const i of indices) bytes += log.entry(i).payload.length;
      return READS;
    }).finally(() => log.close());
  },
});

subjects.push({
  id: 'segwal', label: 'walcore SegmentedWal',
  load: () => SegmentedWal,
  async bulk(n) {
    const d = fresh('seg');
    const wal = SegmentedWal.open({ dir: d, segmentTargetSize: SEGMENT });
    const r = await timed(() => { for (let i = 0; i < n; i++) wal.append(1, 1, 0, 1, payload); wal.sync(); return n; });
    wal.close(); rm(d);
    return r;
  },
  async durable1(n) {
    const d = fresh('seg');
    const wal = SegmentedWal.open({ dir: d, segmentTargetSize: SEGMENT });
    const r = await timed(() => { for (let i = 0; i < n; i++) { wal.append(1, 1, 0, 1, payload); wal.sync(); } return n; });
    wal.close(); rm(d);
    return r;
  },
  async durable100(n) {
    const d = fresh('seg');
    const wal = SegmentedWal.open({ dir: d, segmentTargetSize: SEGMENT });
    const r = await timed(() => { for (let i = 1; i <= n; i++) { wal.append(1, 1, 0, 1, payload); if (i % 100 === 0) wal.sync(); } return n; });
    wal.close(); rm(d);
    return r;
  },
  ref(n) {
    const d = fresh('seg-ref');
    const wal = SegmentedWal.open({ dir: d, segmentTargetSize: SEGMENT });
    const first = wal.nextLsn;
    for (let i = 0; i < n; i++) wal.append(1, 1, 0, 1, payload);
    wal.close();
    return { d, first };
  },
  replay: ({ d }) => {
    const wal = SegmentedWal.open({ dir: d });
    return timed(() => { let n = 0; for (const r of wal.records()) n += r.payload.length === 100 ? 1 : 0; return n; }).finally(() => wal.close());
  },
  // No index: records(lsn) finds the segment by its first LSN and scans it
  // from the start up to lsn (4 MiB segments: up to ~29k records scanned).
  // Slow (a scan per read), so it does the first SEG_READS of the indices.
  randomRead: ({ d, first }) => {
    const wal = SegmentedWal.open({ dir: d });
    return timed(() => {
      let bytes = 0;
      for (const i of indices.slice(0, SEG_READS)) { const it = wal.records(first + i - 1); bytes += it.next().value.payload.length; it.return?.(); }
      return SEG_READS;
    }).finally(() => wal.close());
  },
});

subjects.push({
  id: 'lmdb', label: 'lmdb',
  async load() { const lib = require('lmdb'); const p = fresh('probe'); await lib.open({ path: p }).close(); rm(p); return lib; },
  open(p) { return this.lib.open({ path: p, keyEncoding: 'uint32', encoding: 'binary' }); },
  // lmdb's own fast path: async puts, batched into transactions by lmdb; flushed = all synced.
  async bulk(n) {
    const p = fresh('lmdb'); const db = this.open(p);
    const r = await timed(async () => { for (let i = 1; i <= n; i++) db.put(i, payload); await db.flushed; return n; });
    await db.close(); rm(p);
    return r;
  },
  // putSync outside a transaction: one synchronous transaction per record, synced before it returns.
  async durable1(n) {
    const p = fresh('lmdb'); const db = this.open(p);
    const r = await timed(() => { for (let i = 1; i <= n; i++) db.putSync(i, payload); return n; });
    await db.close(); rm(p);
    return r;
  },
  async durable100(n) {
    const p = fresh('lmdb'); const db = this.open(p);
    const r = await timed(() => { for (let i = 1; i <= n; i += 100) db.transactionSync(() => { for (let j = i; j < i + 100; j++) db.putSync(j, payload); }); return n; });
    await db.close(); rm(p);
    return r;
  },
  async ref(n) {
    const p = fresh('lmdb-ref'); const db = this.open(p);
    for (let i = 1; i <= n; i += BATCH) db.transactionSync(() => { for (let j = i; j < i + BATCH && j <= n; j++) db.putSync(j, payload); });
    await db.close();
    return p;
  },
  async replay(p) {
    const db = this.open(p);
    const r = await timed(() => { let n = 0; for (const { value } of db.getRange()) n += value.length === 100 ? 1 : 0; return n; });
    await db.close();
    return r;
  },
  async randomRead(p) {
    const db = this.open(p);
    const r = await timed(() => { let bytes = 0; for (const i of indices) bytes += db.get(i).length; return indices.length; });
    await db.close();
    return r;
  },
});

subjects.push({
  id: 'sqlite', label: 'better-sqlite3',
  load: () => { const D = require('better-sqlite3'); new D(':memory:').close(); return D; }, // the addon loads on first use
  open(p, synchronous) {
    const db = new this.lib(p);
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${synchronous}`);
    db.exec('CREATE TABLE IF NOT EXISTS log (id INTEGER PRIMARY KEY, v BLOB NOT NULL)');
    return db;
  },
  // WAL + synchronous=NORMAL (commits not synced), a transaction per 1000
  // rows, then wal_checkpoint(FULL), which syncs the WAL and the database.
  async bulk(n) {
    const p = fresh('sqlite'); const db = this.open(p, 'NORMAL');
    const ins = db.prepare('INSERT INTO log (id, v) VALUES (?, ?)');
    const batch = db.transaction((from, to) => { for (let j = from; j < to; j++) ins.run(j, payload); });
    const r = await timed(() => { for (let i = 1; i <= n; i += BATCH) batch(i, Math.min(i + BATCH, n + 1)); db.pragma('wal_checkpoint(FULL)'); return n; });
    db.close(); rm(p); rm(`${p}-wal`); rm(`${p}-shm`);
    return r;
  },
  // WAL + synchronous=FULL: every autocommit INSERT syncs the WAL.
  async durable1(n) {
    const p = fresh('sqlite'); const db = this.open(p, 'FULL');
    const ins = db.prepare('INSERT INTO log (id, v) VALUES (?, ?)');
    const r = await timed(() => { for (let i = 1; i <= n; i++) ins.run(i, payload); return n; });
    db.close(); rm(p); rm(`${p}-wal`); rm(`${p}-shm`);
    return r;
  },
  async durable100(n) {
    const p = fresh('sqlite'); const db = this.open(p, 'FULL');
    const ins = db.prepare('INSERT INTO log (id, v) VALUES (?, ?)');
    const batch = db.transaction((from) => { for (let j = from; j < from + 100; j++) ins.run(j, payload); });
    const r = await timed(() => { for (let i = 1; i <= n; i += 100) batch(i); return n; });
    db.close(); rm(p); rm(`${p}-wal`); rm(`${p}-shm`);
    return r;
  },
  ref(n) {
    const p = fresh('sqlite-ref'); const db = this.open(p, 'NORMAL');
    const ins = db.prepare('INSERT INTO log (id, v) VALUES (?, ?)');
    db.transaction(() => { for (let i = 1; i <= n; i++) ins.run(i, payload); })();
    db.close();
    return p;
  },
  replay(p) {
    const db = this.open(p, 'NORMAL');
    const stmt = db.prepare('SELECT v FROM log ORDER BY id').pluck();
    return timed(() => { let n = 0; for (const v of stmt.iterate()) n += v.length === 100 ? 1 : 0; return n; }).finally(() => db.close());
  },
  randomRead(p) {
    const db = this.open(p, 'NORMAL');
    const stmt = db.prepare('SELECT v FROM log WHERE id = ?').pluck();
    return timed(() => { let bytes = 0; for (const i of indices) bytes += stmt.get(i).length; return indices.length; }).finally(() => db.close());
  },
});

subjects.push({
  id: 'level', label: 'classic-level',
  async load() { const lib = require('classic-level'); const p = fresh('probe'); const db = new lib.ClassicLevel(p); await db.open(); await db.close(); rm(p); return lib; },
  async open(p) { const db = new this.lib.ClassicLevel(p, { keyEncoding: 'buffer', valueEncoding: 'buffer' }); await db.open(); return db; },
  // Batches of 1000 without sync, the last one with { sync: true } (syncs LevelDB's log).
  async bulk(n) {
    const p = fresh('level'); const db = await this.open(p);
    const r = await timed(async () => {
      for (let i = 1; i <= n; i += BATCH) {
        const ops = [];
        for (let j = i; j < i + BATCH && j <= n; j++) ops.push({ type: 'put', key: key4(j), value: payload });
        await db.batch(ops, { sync: i + BATCH > n });
      }
      return n;
    });
    await db.close(); rm(p);
    return r;
  },
  async durable1(n) {
    const p = fresh('level'); const db = await this.open(p);
    const r = await timed(async () => { for (let i = 1; i <= n; i++) await db.put(key4(i), payload, { sync: true }); return n; });
    await db.close(); rm(p);
    return r;
  },
  async durable100(n) {
    const p = fresh('level'); const db = await this.open(p);
    const r = await timed(async () => {
      for (let i = 1; i <= n; i += 100) {
        const ops = [];
        for (let j = i; j < i + 100; j++) ops.push({ type: 'put', key: key4(j), value: payload });
        await db.batch(ops, { sync: true });
      }
      return n;
    });
    await db.close(); rm(p);
    return r;
  },
  async ref(n) {
    const p = fresh('level-ref'); const db = await this.open(p);
    for (let i = 1; i <= n; i += BATCH) {
      const ops = [];
      for (let j = i; j < i + BATCH && j <= n; j++) ops.push({ type: 'put', key: key4(j), value: payload });
      await db.batch(ops);
    }
    await db.close();
    return p;
  },
  // values() iterator read 1000 at a time with nextv().
  async replay(p) {
    const db = await this.open(p);
    const r = await timed(async () => {
      const it = db.values();
      let n = 0;
      for (let vs; (vs = await it.nextv(1000)).length > 0;) for (const v of vs) n += v.length === 100 ? 1 : 0;
      await it.close();
      return n;
    });
    await db.close();
    return r;
  },
  // getSync (abstract-level 3), one key at a time.
  async randomRead(p) {
    const db = await this.open(p);
    const r = await timed(() => { let bytes = 0; for (const i of indices) bytes += db.getSync(key4(i)).length; return indices.length; });
    await db.close();
    return r;
  },
});

subjects.push({
  id: 'aaol', label: 'async-append-only-log',
  async load() { const lib = require('async-append-only-log'); const p = fresh('probe'); const log = lib(p, { writeTimeout: 1 }); await new Promise((res, rej) => log.close((e) => (e ? rej(e) : res()))); rm(p); return lib; },
  // writeTimeout is a debounce before blocks are written (default 250 ms; 0
  // means the default): 1 ms is the smallest. Every block write is fsynced.
  open(p) { return this.lib(p, { writeTimeout: 1 }); },
  cb: (fn) => new Promise((res, rej) => fn((err, v) => (err ? rej(err) : res(v)))),
  drain(log) { return new Promise((res) => log.onDrain(res)); },
  async close(log, p) { await this.cb((cb) => log.close(cb)); if (p) rm(p); },
  async bulk(n) {
    const p = fresh('aaol'); const log = this.open(p);
    const r = await timed(async () => {
      for (let i = 1; i <= n; i += BATCH) { const arr = []; for (let j = i; j < i + BATCH && j <= n; j++) arr.push(payload); await this.cb((cb) => log.append(arr, cb)); }
      await this.drain(log);
      return n;
    });
    await this.close(log, p);
    return r;
  },
  async durable1(n) {
    const p = fresh('aaol'); const log = this.open(p);
    const r = await timed(async () => { for (let i = 1; i <= n; i++) { await this.cb((cb) => log.append(payload, cb)); await this.drain(log); } return n; });
    await this.close(log, p);
    return r;
  },
  async durable100(n) {
    const p = fresh('aaol'); const log = this.open(p);
    const arr = new Array(100).fill(payload);
    const r = await timed(async () => { for (let i = 1; i <= n; i += 100) { await this.cb((cb) => log.append(arr, cb)); await this.drain(log); } return n; });
    await this.close(log, p);
    return r;
  },
  // Appends of 1000 (single appends of 1M records took minutes), then the
  // offset of every record, which its random read needs, from a stream.
  async ref(n) {
    const p = fresh('aaol-ref'); const log = this.open(p);
    for (let i = 1; i <= n; i += BATCH) { const arr = []; for (let j = i; j < i + BATCH && j <= n; j++) arr.push(payload); await this.cb((cb) => log.append(arr, cb)); }
    await this.drain(log);
    const offsets = [0];
    await new Promise((resolve, reject) => log.stream({ values: false }).pipe({ paused: false, write(o) { offsets.push(o); }, end(err) { if (err && err !== true) reject(err); else resolve(); } }));
    await this.close(log);
    if (offsets.length !== n + 1) throw new Error(`aaol ref: ${offsets.length - 1} offsets`);
    return { p, offsets };
  },
  async replay({ p }) {
    const log = this.open(p);
    const r = await timed(() => new Promise((resolve, reject) => {
      let n = 0;
      log.stream({ offsets: false }).pipe({ paused: false, write(v) { n += v.length === 100 ? 1 : 0; }, end(err) { if (err && err !== true) reject(err); else resolve(n); } });
    }));
    await this.close(log);
    return r;
  },
  async randomRead({ p, offsets }) {
    const log = this.open(p);
    await this.drain(log); // waits for the log to load
    const r = await timed(async () => { let bytes = 0; for (const i of indices) bytes += (await this.cb((cb) => log.get(offsets[i], cb))).length; return indices.length; });
    await this.close(log);
    return r;
  },
});

// ---------------------------------------------------------------------------
// Load the peers; one that does not load in this runtime is reported, not fatal.
const loaded = [];
for (const s of subjects) {
  if (straceOnly && s.id !== straceOnly) continue;
  try {
    s.lib = await s.load();
    loaded.push(s);
  } catch (e) {
    const reason = String(e?.message ?? e).split('\n')[0];
    console.log(`peer ${s.label} does not load in ${runtime}: ${reason}`);
  }
}

if (straceOnly) {
  // One pass of the per-record durable workload (strace counts the syncs).
  const s = loaded[0];
  if (!s) process.exit(3);
  const r = await s.durable1(DURABLE);
  console.log(`${s.id} durable1 ${DURABLE}: ${(r.work / r.seconds).toFixed(0)}/s`);
  process.exit(0);
}

const median = (xs) => { const t = [...xs].sort((a, b) => a - b); const m = t.length >> 1; return t.length % 2 ? t[m] : (t[m - 1] + t[m]) / 2; };
const ratio = (x) => (x >= 0.1 ? x.toFixed(2) : x.toPrecision(2));
const fmt = (r) => (r >= 1e6 ? `${(r / 1e6).toFixed(2)} M` : r >= 1e3 ? `${(r / 1e3).toFixed(1)} k` : `${r.toFixed(0)} `);

const workloads = [
  { id: 'bulk', name: `bulk append ${N / 1e6}M x 100 B, one sync at the end`, run: (s) => s.bulk?.(N), ref: 'walcore' },
  { id: 'durable1', name: `durable, sync per record (${DURABLE} x 100 B)`, run: (s) => s.durable1?.(DURABLE), ref: 'walcore' },
  { id: 'durable100', name: `durable, sync per 100 records (${DURABLE100} x 100 B)`, run: (s) => s.durable100?.(DURABLE100), ref: 'walcore' },
  { id: 'replay', name: `replay all ${N / 1e6}M x 100 B`, run: (s, refs) => s.replay?.(refs.get(s.id)), ref: 'walcore' },
  { id: 'random', name: `random read by key/index (${READS} of ${N / 1e6}M)`, run: (s, refs) => s.randomRead?.(refs.get(s.id)), ref: 'wallog' },
];

console.log(`\n# peers in ${runtime} (${process.versions.bun ? `bun ${process.versions.bun}` : process.versions.deno ? `deno ${process.versions.deno}` : `node ${process.version}`}), ${os.cpus().length} cores, ${os.cpus()[0]?.model ?? ''}; median of ${RUNS} runs, rates in records/s [min-max]`);
const refs = new Map();
const results = [];
for (const w of workloads) {
  if (w.id === 'replay') {
    // Untimed: one reference store of N records per subject, for replay and random read.
    for (const s of loaded) refs.set(s.id, await s.ref(N));
  }
  const rates = new Map(loaded.map((s) => [s.id, []]));
  for (let i = 0; i < RUNS; i++) {
    for (const s of loaded) {
      const r = await w.run(s, refs);
      if (r) {
        if (r.work !== (w.id === 'random' ? (s.id === 'segwal' ? SEG_READS : READS) : w.id.startsWith('durable') ? (w.id === 'durable1' ? DURABLE : DURABLE100) : N)) throw new Error(`${s.label} ${w.id}: did ${r.work} records`);
        rates.get(s.id).push(r.work / r.seconds);
      }
    }
  }
  const row = { workload: w.name, id: w.id, ref: w.ref, subjects: {} };
  for (const s of loaded) {
    const xs = rates.get(s.id);
    if (xs.length) row.subjects[s.id] = { label: s.label, median: median(xs), min: Math.min(...xs), max: Math.max(...xs), runs: xs };
  }
  results.push(row);
  process.stdout.write(`(${w.id} done)\n`);
}

// One table of medians, one of ratios (walcore / peer).
const peers = loaded.filter((s) => !['walcore', 'segwal', 'wallog'].includes(s.id));
const cell = (x) => (x ? `${fmt(x.median)}[${fmt(x.min).trim()}-${fmt(x.max).trim()}]` : 'n/a');
console.log(`\n| ${runtime} | ${loaded.map((s) => s.label).join(' | ')} |\n|---|${loaded.map(() => '---:').join('|')}|`);
for (const r of results) console.log(`| ${r.workload} | ${loaded.map((s) => cell(r.subjects[s.id])).join(' | ')} |`);
console.log(`\n| ${runtime}: walcore / peer (medians) | walcore API | ${peers.map((s) => s.label).join(' | ')} |\n|---|---|${peers.map(() => '---:').join('|')}|`);
for (const r of results) {
  const ref = r.subjects[r.ref];
  const api = r.ref === 'walcore' ? 'WalFsWriter/Reader' : 'WalLog entry(i)';
  console.log(`| ${r.workload} | ${api} | ${peers.map((s) => (ref && r.subjects[s.id] ? `${ratio(ref.median / r.subjects[s.id].median)}x` : 'n/a')).join(' | ')} |`);
}
if (process.env.WALCORE_PEERS_JSON) {
  fs.writeFileSync(process.env.WALCORE_PEERS_JSON, JSON.stringify({ runtime, versions: process.versions, runs: RUNS, N, DURABLE, READS, date: new Date().toISOString(), cpu: os.cpus()[0]?.model, results }, null, 1));
}
