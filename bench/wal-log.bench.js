// WalLog (Raft log storage) beside the raw file API doing the same I/O in the
// same process: durable batches, buffered append, durable single entries
// with p99, small batches, random and sequential reads, open time at two
// sizes, verify(), RAM per entry, RSS after open (a child process), disk
// after a snapshot. Every figure of issue 9's Benchmark bullet is printed
// with its baseline, ratio, goal and verdict, and the 1-minute load average
// (the machine is shared: read ratios, not absolute rates).
//
//   node bench/run.mjs --runtime node wal-log
//   WALCORE_BENCH_ENTRIES=1000000 node bench/run.mjs --runtime node wal-log   (full size; default 200k)
//   WALCORE_BENCH_ONLY=sync,buffered node bench/run.mjs --runtime node wal-log   (some sections: sync single buffered small read open rss disk)
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import process from 'node:process';
import { WalLog } from 'walcore';
import { runtimeCommand } from '../scripts/runtimes.mjs';
import { setImmediate } from 'node:timers';
import { RUNS, benchDir, compare, compareAsync, median, runtime } from './lib.js';

// ---- child mode: open a log (or nothing) and print the RSS, for the RSS row
if (process.env.WALCORE_BENCH_RSS_CHILD !== undefined) {
  const dir = process.env.WALCORE_BENCH_RSS_CHILD;
  let log;
  if (dir !== '') log = WalLog.open(dir);
  globalThis.gc?.();
  console.log(JSON.stringify({ rss: process.memoryUsage().rss, entries: log ? log.lastIndex() : 0, indexBytes: log ? log.indexBytes : 0 }));
  log?.close();
  process.exit(0);
}

const dir = benchDir('raft');
const N = Number(process.env.WALCORE_BENCH_ENTRIES ?? 200_000);
const KIB = new Uint8Array(1024).map((_, i) => i * 13);
const B100 = new Uint8Array(100).map((_, i) => i * 7);
/** Bytes one entry takes on disk: frame header 32 + entry sub-header 16 + payload. */
const frameBytes = (payload) => 32 + 16 + payload;
const secondsSince = (t0) => (performance.now() - t0) / 1000;
const p99 = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(s.length * 0.99))]; };
let seq = 0;
const fresh = (name) => { const p = `${dir}/${name}-${seq++}`; return p; };
const rmrf = (p) => fs.rmSync(p, { recursive: true, force: true });
const load = () => `load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`;
const line = (s) => console.log(`| ${runtime.padEnd(4)} | ${s} [${load()}]`);
/** Print a compare() row's goal and verdict. */
const goal = (row, ok, text) => line(`  -> ${row.name}: ${ok ? 'met' : 'NOT met'} (goal ${text}; ratio ${row.ratio.toFixed(2)}x)`);
/** WALCORE_BENCH_ONLY=sync,single,buffered,small,read,open,rss,disk runs only those sections (while iterating). */
const ONLY = process.env.WALCORE_BENCH_ONLY?.split(',');
const on = (section) => ONLY === undefined || ONLY.includes(section);
line(`wal-log bench: ${N} entries (WALCORE_BENCH_ENTRIES; the issue's figures are for 1,000,000), ${RUNS} runs, medians`);

/** Build a log of `n` entries of `payload` (untimed); returns its directory. */
function makeLog(n, payload, opts = {}) {
  const p = fresh('log');
  const log = WalLog.open(p, opts);
  const batch = [];
  for (let i = 1; i <= n; i++) {
    batch.push({ index: i, term: 1, payload });
    if (batch.length === 256 || i === n) { log.append(batch); batch.length = 0; }
  }
  log.close();
  return p;
}

/**
 * What a hand-written log does per record: copy its payload into the batch
 * buffer behind a 48-byte header (length and index written; no CRC: the
 * checksum is part of what the subject pays for).
 */
function copyRecord(batch, dv, at, payload, index) {
  dv.setUint32(at, payload.length, true);
  dv.setUint32(at + 8, index, true);
  batch.set(payload, at + 48);
  return at + frameBytes(payload.length);
}

/**
 * The durable baseline: per batch of `perBatch` records, copy each into a
 * batch buffer, writeSync it, fdatasync (growing file).
 */
function rawDurable(batches, perBatch, payload) {
  const p = fresh('raw');
  const fd = fs.openSync(p, 'w');
  const buf = new Uint8Array(perBatch * frameBytes(payload.length));
  const dv = new DataView(buf.buffer);
  let pos = 0;
  let index = 0;
  const lat = [];
  const t0 = performance.now();
  for (let b = 0; b < batches; b++) {
    const t1 = performance.now();
    let at = 0;
    for (let k = 0; k < perBatch; k++) at = copyRecord(buf, dv, at, payload, ++index);
    fs.writeSync(fd, buf, 0, at, pos);
    fs.fdatasyncSync(fd);
    lat.push(performance.now() - t1);
    pos += at;
  }
  const seconds = secondsSince(t0);
  fs.closeSync(fd);
  rmrf(p);
  return { seconds, lat };
}

/**
 * The buffered baseline's writer: add(i) copies record i into a 1 MiB batch
 * buffer, writeSync-ing it when the next record would not fit. With
 * `segment`, a segmented log's roll: when the file would pass `segment`
 * bytes, the rest of the batch is written, the file fdatasynced and closed,
 * and a new file started (as the subject seals a segment with an
 * fdatasync). end() writes the rest; its close and the removal are untimed,
 * like the subject's close().
 */
function rawWriter(payload, segment = Infinity) {
  const dirp = fresh('rawbuf');
  fs.mkdirSync(dirp);
  const rec = frameBytes(payload.length);
  const buf = new Uint8Array(1 << 20);
  const dv = new DataView(buf.buffer);
  let files = 0;
  let fd = fs.openSync(`${dirp}/${files++}`, 'w');
  let pos = 0;
  let at = 0;
  return {
    add(i) {
      if (pos + at + rec > segment) {
        fs.writeSync(fd, buf, 0, at, pos);
        fs.fdatasyncSync(fd);
        fs.closeSync(fd);
        fd = fs.openSync(`${dirp}/${files++}`, 'w');
        pos = at = 0;
      } else if (at + rec > buf.length) {
        fs.writeSync(fd, buf, 0, at, pos);
        pos += at;
        at = 0;
      }
      at = copyRecord(buf, dv, at, payload, i);
    },
    end() { if (at > 0) fs.writeSync(fd, buf, 0, at, pos); },
    cleanup() { fs.closeSync(fd); rmrf(dirp); },
  };
}

/** The buffered baseline: `n` records through rawWriter(); returns the seconds taken. */
function rawBuffered(n, payload, segment = Infinity) {
  const w = rawWriter(payload, segment);
  const t0 = performance.now();
  for (let i = 1; i <= n; i++) w.add(i);
  w.end();
  const seconds = secondsSince(t0);
  w.cleanup();
  return seconds;
}

// 1. append + sync() in batches of 1, 16 and 256 entries of 1 KiB.
for (const [batch, count] of on('sync') ? [[1, 400], [16, 200], [256, 40]] : []) {
  let p;
  let log;
  const row = compare({
    name: `append+sync ${batch} x 1 KiB per sync`, unit: 'entries/s',
    setup: () => { log?.close(); if (p) rmrf(p); p = fresh('sync'); log = WalLog.open(p); log.append([{ index: 1, term: 1, payload: KIB }]); log.sync(); },
    subject: () => {
      const t0 = performance.now();
      let next = 2;
      for (let b = 0; b < count; b++) {
        const es = [];
        for (let k = 0; k < batch; k++) es.push({ index: next++, term: 1, payload: KIB });
        log.append(es);
        log.sync();
      }
      return { work: count * batch, seconds: secondsSince(t0) };
    },
    baseline: () => ({ work: count * batch, seconds: rawDurable(count, batch, KIB).seconds }),
    baselineName: 'copy+writeSync+fdatasync',
  });
  goal(row, row.ratio >= 0.9, '>= 0.9x raw');
  log.close();
  rmrf(p);
}

// 2. Durable single entries: rate and p99 latency of append+sync, beside a raw write+fdatasync
// (growing file), with and without the preallocate option (runs alternate, same load).
if (on('single')) {
  const count = Number(process.env.WALCORE_BENCH_SYNCS ?? 1000);
  const r = { plain: { rates: [], p99s: [] }, pre: { rates: [], p99s: [] }, raw: { rates: [], p99s: [] } };
  for (let run = 0; run < RUNS; run++) {
    for (const [key, preallocate] of [['plain', false], ['pre', true]]) {
      const p = fresh('one');
      const log = WalLog.open(p, { preallocate });
      const lat = [];
      const t0 = performance.now();
      for (let i = 1; i <= count; i++) {
        const t1 = performance.now();
        log.append([{ index: i, term: 1, payload: KIB }]);
        log.sync();
        lat.push(performance.now() - t1);
      }
      r[key].rates.push(count / secondsSince(t0));
      r[key].p99s.push(p99(lat));
      log.close();
      rmrf(p);
    }
    const raw = rawDurable(count, 1, KIB);
    r.raw.rates.push(count / raw.seconds);
    r.raw.p99s.push(p99(raw.lat));
  }
  const rate = (k) => median(r[k].rates);
  const lat = (k) => median(r[k].p99s);
  for (const [k, label] of [['plain', 'durable single 1 KiB entries'], ['pre', 'durable single 1 KiB entries, preallocate']]) {
    const met = rate(k) >= 6500 && lat(k) < 0.5;
    line(`${label}: ${rate(k).toFixed(0)}/s, p99 ${lat(k).toFixed(3)} ms | raw writeSync+fdatasync ${rate('raw').toFixed(0)}/s, p99 ${lat('raw').toFixed(3)} ms | ratio ${(rate(k) / rate('raw')).toFixed(2)}x, p99 ratio ${(lat(k) / lat('raw')).toFixed(2)}x | ${met ? 'met' : 'NOT met'} (goal >= 6.5k/s, p99 < 0.5 ms)`);
  }
}

// 3. Buffered append of NB x 1 KiB (no sync; close untimed) vs a raw loop copying each record into a
// 1 MiB batch and writing it when full (fdatasync + new file at each segment boundary, as a roll does).
// NB is N unless WALCORE_BENCH_BUFFERED says otherwise. Not the issue's 1,000,000 by default: on this
// VM a run that writes 1 GB leaves the next loop in the same process writing into page cache the guest
// must fault in from the host (a raw loop after a 1M-entry WalLog run: 0.5-1.4M entries/s, alone 5.3M),
// so those rows measured the hypervisor's memory, not the code.
const NB = Number(process.env.WALCORE_BENCH_BUFFERED ?? N);
for (const target of on('buffered') ? [64 << 20, 1 << 30] : []) {
  let p;
  const row = compare({
    name: `append ${NB / 1e6}M x 1 KiB buffered, ${target >> 20} MiB segs`, unit: 'entries/s',
    setup: () => { if (p) rmrf(p); p = fresh('buf'); },
    subject: () => {
      const log = WalLog.open(p, { segmentTargetSize: target });
      const t0 = performance.now();
      for (let i = 1; i <= NB; i++) log.append([{ index: i, term: 1, payload: KIB }]);
      const seconds = secondsSince(t0);
      log.close();
      return { work: NB, seconds };
    },
    baseline: () => ({ work: NB, seconds: rawBuffered(NB, KIB, target) }),
    baselineName: `copy into 1 MiB + writeSync${target < NB * frameBytes(1024) ? `, fdatasync+new file/${target >> 20} MiB` : ''}`,
    runs: Math.min(RUNS, 3),
  });
  goal(row, row.ratio >= 0.7, '>= 0.7x raw batched write');
  rmrf(p);
}

// 3b. The same with an event-loop turn (setImmediate) every 1,000 appends, as appends arriving from
// the network would give, on both sides. Only then can the log learn that its write-behind fdatasync
// (host/codec/frame-file.ts: one in flight at a time) finished and start the next, so a roll's seal
// finds little left; in the loop above it gets one per segment.
if (on('buffered')) {
  const target = 64 << 20;
  const turn = () => new Promise((r) => setImmediate(r));
  /** The raw loop of rawBuffered() with the same turns. */
  const rawTurns = async () => {
    const w = rawWriter(KIB, target);
    const t0 = performance.now();
    for (let i = 1; i <= NB; i++) {
      w.add(i);
      if (i % 1000 === 0) await turn();
    }
    w.end();
    const seconds = secondsSince(t0);
    w.cleanup();
    return { work: NB, seconds };
  };
  let p;
  const row = await compareAsync({
    name: `append ${NB / 1e6}M x 1 KiB buffered, 64 MiB segs, a turn per 1,000`, unit: 'entries/s',
    setup: () => { if (p) rmrf(p); p = fresh('bufturn'); },
    subject: async () => {
      const log = WalLog.open(p, { segmentTargetSize: target });
      const t0 = performance.now();
      for (let i = 1; i <= NB; i++) {
        log.append([{ index: i, term: 1, payload: KIB }]);
        if (i % 1000 === 0) await turn();
      }
      const seconds = secondsSince(t0);
      log.close();
      await turn();
      return { work: NB, seconds };
    },
    baseline: rawTurns,
    baselineName: 'the raw loop with the same turns',
    runs: Math.min(RUNS, 3),
  });
  goal(row, row.ratio >= 0.7, '>= 0.7x raw batched write');
  rmrf(p);
}

// 4. Batches of 100 x 100 B: buffered, and with a sync per batch.
if (on('small')) {
  const batches = Math.max(100, Math.floor(N / 100));
  let p;
  for (const durable of [false, true]) {
    const nb = durable ? Math.min(batches, 300) : batches;
    const row = compare({
      name: `append 100 x 100 B batches${durable ? ' + sync each' : ', buffered'}`, unit: 'entries/s',
      setup: () => { if (p) rmrf(p); p = fresh('b100'); },
      subject: () => {
        const log = WalLog.open(p);
        let next = 1;
        const t0 = performance.now();
        for (let b = 0; b < nb; b++) {
          const es = new Array(100);
          for (let k = 0; k < 100; k++) es[k] = { index: next++, term: 1, payload: B100 };
          log.append(es);
          if (durable) log.sync();
        }
        const seconds = secondsSince(t0);
        log.close();
        return { work: nb * 100, seconds };
      },
      baseline: durable
        ? () => ({ work: nb * 100, seconds: rawDurable(nb, 100, B100).seconds })
        : () => ({ work: nb * 100, seconds: rawBuffered(nb * 100, B100) }),
      baselineName: durable ? 'copy+writeSync+fdatasync/batch' : 'copy into 1 MiB + writeSync',
    });
    if (!durable) goal(row, row.walcore >= 500_000, `>= 0.5M entries/s (got ${(row.walcore / 1e6).toFixed(2)}M)`);
  }
  rmrf(p);
}

// 5. Reads over a log of N x 1 KiB in the page cache.
const big = ['read', 'open', 'rss', 'disk'].some(on) ? makeLog(N, KIB) : undefined;
const segFiles = () => fs.readdirSync(big).filter((f) => f.endsWith('.seg')).map((f) => `${big}/${f}`);
const bigBytes = big === undefined ? 0 : segFiles().reduce((s, f) => s + fs.statSync(f).size, 0);
if (on('read')) {
  const log = WalLog.open(big);
  let x = 12345;
  const rnd = () => { x = (Math.imul(x, 1103515245) + 12345) >>> 0; return x; };
  const reads = 200_000;
  const files = segFiles().map((f) => fs.openSync(f, 'r'));
  const perSeg = Math.floor(((64 << 20) - 64) / frameBytes(1024));
  const rbuf = new Uint8Array(frameBytes(1024));
  const rr = compare({
    name: `random entry(i) over ${N / 1e6}M x 1 KiB`, unit: 'reads/s',
    subject: () => { let s = 0; for (let k = 0; k < reads; k++) s += log.entry(1 + (rnd() % N)).payload.length; return s > 0 ? reads : 0; },
    baseline: () => {
      for (let k = 0; k < reads; k++) {
        const i = rnd() % N;
        fs.readSync(files[Math.min(files.length - 1, Math.floor(i / perSeg))], rbuf, 0, rbuf.length, 128 + (i % perSeg) * rbuf.length);
      }
      return reads;
    },
    baselineName: 'readSync 1 KiB at random',
  });
  goal(rr, rr.walcore >= 1e6, `>= 1,000,000 reads/s (got ${(rr.walcore / 1e3).toFixed(0)}k)`);
  for (const f of files) fs.closeSync(f);
  /** Raw: read every segment file in 1 MiB chunks, touching nothing. */
  const rawScan = () => {
    const buf = new Uint8Array(1 << 20);
    let total = 0;
    for (const f of segFiles()) {
      const fd = fs.openSync(f, 'r');
      for (let n, pos = 0; (n = fs.readSync(fd, buf, 0, buf.length, pos)) > 0; pos += n) total += n;
      fs.closeSync(fd);
    }
    return total;
  };
  const sq = compare({
    name: `sequential entries(from, to), 4096 per call`, unit: 'B/s',
    subject: () => {
      let bytes = 0;
      for (let f = 1; f <= N; f += 4096) for (const e of log.entries(f, Math.min(N, f + 4095))) bytes += e.payload.length + 48;
      return bytes;
    },
    baseline: rawScan,
    baselineName: 'readSync 1 MiB',
  });
  goal(sq, sq.walcore >= 1e9, `>= 1 GB/s (got ${(sq.walcore / 1e9).toFixed(2)} GB/s)`);
  const vr = compare({ name: `verify() ${(bigBytes / 1e9).toFixed(2)} GB`, unit: 'B/s', subject: () => log.verify().bytes, baseline: rawScan, baselineName: 'readSync 1 MiB', runs: 3 });
  goal(vr, vr.walcore >= 1e9, `>= 1 GB/s (got ${(vr.walcore / 1e9).toFixed(2)} GB/s)`);
  const perEntry = log.indexBytes / log.lastIndex();
  line(`RAM: indexBytes ${log.indexBytes} for ${log.lastIndex()} entries = ${perEntry.toFixed(2)} B/entry (capacity, every segment's index) vs ${frameBytes(1024)} B/entry on disk (payloads held in RAM, as the original did): ratio ${(perEntry / frameBytes(1024)).toFixed(3)}x | ${perEntry <= 16 ? 'met' : 'NOT met'} (goal <= 16)`);
  log.close();
}

// 6. Open time at two sizes (median of RUNS opens each).
if (on('open')) {
  const small = makeLog(Math.floor(N / 4), KIB);
  // Alternate the two sizes, so both see the same load.
  const times = [[], []];
  let seen;
  for (let r = 0; r < Math.max(5, RUNS); r++) {
    [small, big].forEach((p, k) => {
      const t0 = performance.now();
      const log = WalLog.open(p);
      times[k].push(performance.now() - t0);
      if (k === 1) seen = { ...log.openReport, indexBytes: log.indexBytes };
      log.close();
    });
  }
  const [ts, tb] = times.map(median);
  const newest = (p) => { const f = fs.readdirSync(p).filter((x) => x.endsWith('.seg')).sort().pop(); return fs.statSync(`${p}/${f}`).size; };
  line(`open ${N} x 1 KiB entries (${fs.readdirSync(big).length} files): ${tb.toFixed(1)} ms median | open of ${Math.floor(N / 4)} entries ${ts.toFixed(1)} ms | ratio ${(tb / ts).toFixed(2)}x (1.00x = independent of length) | ${tb < 100 ? 'met' : 'NOT met'} (goal < 100 ms, independent of length)`);
  line(`  open of ${N}: footers read ${seen.footersRead}, deferred ${seen.footersDeferred}, index ${(seen.indexBytes / 2 ** 20).toFixed(1)} MiB resident after open; newest segment scanned: ${(newest(big) / 2 ** 20).toFixed(1)} MiB (${Math.floor(N / 4)}: ${(newest(small) / 2 ** 20).toFixed(1)} MiB)`);
  rmrf(small);
}

// 7. RSS after open, in a child process, minus an empty process's RSS.
if (on('rss')) {
  const [cmd, ...pre] = runtimeCommand(runtime);
  const child = (target) => {
    const r = spawnSync(cmd, [...pre, new URL(import.meta.url).pathname], { env: { ...process.env, WALCORE_BENCH_RSS_CHILD: target }, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`rss child failed: ${r.stderr}`);
    return JSON.parse(r.stdout.trim().split('\n').pop());
  };
  const empty = median([0, 1, 2].map(() => child('').rss));
  const opened = [0, 1, 2].map(() => child(big));
  const rss = median(opened.map((o) => o.rss));
  const above = (rss - empty) / 2 ** 20;
  line(`RSS after open of ${opened[0].entries} x 1 KiB: ${above.toFixed(1)} MiB above an empty process (${(empty / 2 ** 20).toFixed(0)} MiB; baseline), ${(above * 2 ** 20 / (opened[0].entries * frameBytes(1024))).toFixed(3)}x of the log's bytes | ${above < 64 ? 'met' : 'NOT met'} (goal < 64 MiB for 1M, target 32)`);
}

// 8. Disk after a snapshot: live entries plus at most one segment.
if (on('disk')) {
  const log = WalLog.open(big);
  const at = Math.floor(N * 0.9);
  log.applySnapshot({ index: at, term: 1, data: new Uint8Array(1024) });
  const onDisk = fs.readdirSync(big).reduce((s, f) => s + fs.statSync(`${big}/${f}`).size, 0);
  const live = (N - at) * frameBytes(1024) + 1024;
  line(`disk after snapshot at ${at} of ${N}: ${(onDisk / 2 ** 20).toFixed(1)} MiB for ${(live / 2 ** 20).toFixed(1)} MiB live (baseline), ratio ${(onDisk / live).toFixed(2)}x (${log.segmentCount} segments; goal: live + at most one 64 MiB segment = ${((live + (64 << 20)) / 2 ** 20).toFixed(1)} MiB) ${onDisk <= live + (64 << 20) + 4096 ? 'met' : 'NOT met'}`);
  log.close();
}
if (big !== undefined) rmrf(big);
