// SegmentedWal beside the raw file API doing the same I/O in the same
// process: 1M buffered appends of 100 B with 4 MiB segments, replay,
// encrypted vs plain (appends and replay), buffered appends beside
// WalFsWriter, and sync per record with recycled segments beside raw
// append+fdatasync and overwrite+fdatasync loops.
// WALCORE_BENCH_ONLY=<text> runs only the rows whose name contains it.
import * as fs from 'node:fs';
import { KeyRing, SegmentedWal, WalFsWriter } from 'walcore';
import { benchDir, compare as compareAll } from './lib.js';

const ONLY = process.env.WALCORE_BENCH_ONLY;
const compare = (spec) => (ONLY === undefined || spec.name.includes(ONLY) ? compareAll(spec) : undefined);

const dir = benchDir('seg');
const N = Number(process.env.WALCORE_BENCH_EVENTS ?? 1_000_000);
const NENC = Math.max(1000, Math.floor(N / 5));
const SEGMENT = 4 << 20;
const payload = new Uint8Array(100).map((_, i) => i * 3);
const ring = new KeyRing({ id: 1, key: new Uint8Array(32).fill(0x5a) });
const secondsSince = (t0) => (performance.now() - t0) / 1000;

/** Append n records to a fresh WAL; timed: the appends and the final sync (open and close are not). */
function appendRun(name, n, encryptionRing = null, segmentTargetSize = SEGMENT) {
  const d = `${dir}/${name}`;
  fs.rmSync(d, { recursive: true, force: true });
  const wal = SegmentedWal.open({ dir: d, segmentTargetSize, encryptionRing });
  const t0 = performance.now();
  for (let i = 0; i < n; i++) wal.append(7, 42, i & 63, 1, payload);
  wal.sync();
  const seconds = secondsSince(t0);
  wal.close();
  return { work: n, seconds };
}

/** Raw baseline: the same on-disk bytes written in 1 MiB batches with fs.writeSync, then one fdatasync. */
function rawWrite(path, bytes) {
  const fd = fs.openSync(path, 'w');
  const t0 = performance.now();
  for (let off = 0; off < bytes.length; off += 1 << 20) fs.writeSync(fd, bytes, off, Math.min(1 << 20, bytes.length - off), off);
  fs.fdatasyncSync(fd);
  const seconds = secondsSince(t0);
  fs.closeSync(fd);
  return seconds;
}

/** Raw baseline: read every segment file in 1 MiB chunks with fs.readSync, touching nothing. */
function rawRead(d) {
  const buf = new Uint8Array(1 << 20);
  let total = 0;
  for (const name of fs.readdirSync(d)) {
    const fd = fs.openSync(`${d}/${name}`, 'r');
    for (let pos = 0, n; (n = fs.readSync(fd, buf, 0, buf.length, pos)) > 0;) { pos += n; total += n; }
    fs.closeSync(fd);
  }
  return total;
}

/** Stream every record with the lazy iterator (full validation, payload copies, decryption). */
function replayRun(d, encryptionRing = null) {
  const wal = SegmentedWal.open({ dir: d, encryptionRing });
  const t0 = performance.now();
  let n = 0;
  for (const r of wal.records()) n += r.payload.length === 100 ? 1 : 0;
  const seconds = secondsSince(t0);
  wal.close();
  return { work: n, seconds };
}

// Reference logs (untimed): their bytes are what the raw baselines write and read.
appendRun('ref', N);
appendRun('ref-enc', NENC, ring);
const refBytes = (d) => {
  const parts = fs.readdirSync(d).map((n) => fs.readFileSync(`${d}/${n}`));
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let off = 0;
  for (const p of parts) { out.set(p, off); off += p.length; }
  return out;
};
const plainBytes = refBytes(`${dir}/ref`);
console.log(`# ${N} records in ${fs.readdirSync(`${dir}/ref`).length} segments, ${(plainBytes.length / 1e6).toFixed(1)} MB`);

compare({
  name: `append ${N / 1e6}M x 100 B, 4 MiB segments, buffered`, unit: 'records/s',
  subject: () => appendRun('a', N),
  baseline: () => ({ work: N, seconds: rawWrite(`${dir}/raw.bin`, plainBytes) }),
  baselineName: 'fs.writeSync 1 MiB',
});
compare({
  name: `replay ${N / 1e6}M x 100 B, lazy iterator`, unit: 'records/s',
  subject: () => replayRun(`${dir}/ref`),
  baseline: () => { const t0 = performance.now(); rawRead(`${dir}/ref`); return { work: N, seconds: secondsSince(t0) }; },
  baselineName: 'fs.readSync 1 MiB',
});
compare({
  name: `append ${NENC / 1e3}k x 100 B, AES-256-GCM vs plain`, unit: 'records/s', runs: 3,
  subject: () => appendRun('e', NENC, ring),
  baseline: () => appendRun('p', NENC),
  baselineName: 'plain SegmentedWal',
});
compare({
  name: `replay ${NENC / 1e3}k x 100 B, AES-256-GCM vs plain`, unit: 'records/s', runs: 3,
  subject: () => replayRun(`${dir}/ref-enc`, ring),
  baseline: () => replayRun(`${dir}/p`),
  baselineName: 'plain SegmentedWal',
});

// SegmentedWal beside WalFsWriter on the same records (n x 100 B payloads,
// buffered, one final sync/flush timed in both): the cost of segments,
// record headers and rolls over the single-file WAL.
/** WalFsWriter: the same payloads appended buffered, then flush(); timed like appendRun. */
function wfwRun(n) {
  const p = `${dir}/w.wal`;
  fs.rmSync(p, { force: true });
  const w = WalFsWriter.open(p);
  const t0 = performance.now();
  for (let i = 1; i <= n; i++) w.append({ sequence: i, payload });
  w.flush();
  const seconds = secondsSince(t0);
  w.close();
  return { work: n, seconds };
}
compare({
  name: `append ${N / 1e6}M x 100 B, default (64 MiB) segments vs WalFsWriter`, unit: 'records/s',
  subject: () => appendRun('d', N, null, 64 << 20), // the default size (undefined would take appendRun's 4 MiB default)
  baseline: () => wfwRun(N),
  baselineName: 'WalFsWriter',
});
compare({
  name: `append ${N / 1e6}M x 100 B, 4 MiB segments vs WalFsWriter`, unit: 'records/s',
  subject: () => appendRun('a4', N),
  baseline: () => wfwRun(N),
  baselineName: 'WalFsWriter',
});

// ---- Sealed blocks (FORMAT.md §S9): encrypted SegmentedWal rows (issue 12, encryption slow path).
// Kept in one function so they merge apart from the rows above.
const nodeCrypto = await import('node:crypto');
function sealedBlockRows() {
  const { createCipheriv, createDecipheriv } = nodeCrypto;
  const key = new Uint8Array(32).fill(0x5a);
  const BLOCK = 64 << 10;
  const INNER = 28 + payload.length; // bytes one record takes in a block's plaintext
  const perBlock = Math.floor(BLOCK / INNER);
  const plain = new Uint8Array(N * INNER);
  const nonce = new Uint8Array(12);
  const aad = new Uint8Array(40);
  /** Raw: the same plaintext bytes sealed with one createCipheriv per 64 KiB block, written in 1 MiB batches, one fdatasync. */
  function rawSealWrite() {
    const fd = fs.openSync(`${dir}/raw-enc.bin`, 'w');
    const out = new Uint8Array(1 << 20);
    let used = 0;
    let pos = 0;
    const t0 = performance.now();
    for (let off = 0, ctr = 0; off < plain.length; off += perBlock * INNER, ctr++) {
      new DataView(nonce.buffer).setUint32(8, ctr, true);
      const c = createCipheriv('aes-256-gcm', key, nonce);
      c.setAAD(aad);
      const body = c.update(plain.subarray(off, Math.min(plain.length, off + perBlock * INNER)));
      c.final();
      const tag = c.getAuthTag();
      if (used + 48 + body.length + 16 > out.length) { fs.writeSync(fd, out, 0, used, pos); pos += used; used = 0; }
      used += 48;
      out.set(body, used); used += body.length;
      out.set(tag, used); used += 16;
    }
    fs.writeSync(fd, out, 0, used, pos);
    fs.fdatasyncSync(fd);
    const seconds = secondsSince(t0);
    fs.closeSync(fd);
    return { work: N, seconds };
  }
  /** Raw: read the sealed file (rawSealWrite's) back in 1 MiB chunks into a buffer allocated once, and open every block with one createDecipheriv. */
  let rawBuf;
  function rawReadOpen() {
    const size = fs.statSync(`${dir}/raw-enc.bin`).size;
    if (rawBuf?.length !== size) rawBuf = new Uint8Array(size); // allocated untimed, once
    const buf = rawBuf;
    const t0 = performance.now();
    const fd = fs.openSync(`${dir}/raw-enc.bin`, 'r');
    for (let p = 0, n; (n = fs.readSync(fd, buf, p, Math.min(1 << 20, buf.length - p), p)) > 0;) p += n;
    fs.closeSync(fd);
    let n = 0;
    for (let off = 0, ctr = 0; off < buf.length; ctr++) {
      const len = Math.min(perBlock * INNER, N * INNER - ctr * perBlock * INNER);
      new DataView(nonce.buffer).setUint32(8, ctr, true);
      const d = createDecipheriv('aes-256-gcm', key, nonce);
      d.setAAD(aad);
      d.setAuthTag(buf.subarray(off + 48 + len, off + 64 + len));
      const p = d.update(buf.subarray(off + 48, off + 48 + len));
      d.final();
      n += p.length / INNER;
      off += 64 + len;
    }
    return { work: n, seconds: secondsSince(t0) };
  }
  compare({
    name: `append ${N / 1e6}M x 100 B, AES-256-GCM sealed blocks vs plain SegmentedWal`, unit: 'records/s',
    subject: () => appendRun('sb-e', N, ring),
    baseline: () => appendRun('sb-p', N),
    baselineName: 'plain SegmentedWal',
  });
  if (createCipheriv) {
    compare({
      name: `append ${N / 1e6}M x 100 B, AES-256-GCM sealed blocks vs raw createCipheriv per 64 KiB + write`, unit: 'records/s',
      subject: () => appendRun('sb-e', N, ring),
      baseline: rawSealWrite,
      baselineName: 'raw createCipheriv loop',
    });
  }
  compare({
    name: `replay ${N / 1e6}M x 100 B, AES-256-GCM sealed blocks vs plain SegmentedWal`, unit: 'records/s',
    subject: () => replayRun(`${dir}/sb-e`, ring),
    baseline: () => replayRun(`${dir}/sb-p`),
    baselineName: 'plain SegmentedWal',
  });
  if (createDecipheriv) {
    compare({
      name: `replay ${N / 1e6}M x 100 B, AES-256-GCM sealed blocks vs raw read + createDecipheriv per 64 KiB`, unit: 'records/s',
      subject: () => replayRun(`${dir}/sb-e`, ring),
      baseline: rawReadOpen,
      baselineName: 'raw createDecipheriv loop',
    });
  }
}
sealedBlockRows();
// ---- end of the sealed-block rows

// Sync per record (append 100 B, sync(), repeat) with recycleSegments: the
// WAL's segments are reused files, so each fdatasync overwrites blocks the
// file has instead of growing it. Beside the raw loop a user would write
// (pwrite at the end of a growing file + fdatasync) and, for honesty, the raw
// loop over a preallocated file (pwrite over written zeros + fdatasync),
// which is what recycling turns the WAL's I/O into. The raw loops write
// 164 B per record, the size of the WAL's frame.
const MSYNC = Number(process.env.WALCORE_BENCH_SYNCS ?? 2000);
const SYNC_SEGMENT = 1 << 20;

/** Timed: MSYNC append+sync() pairs. Untimed setup: with `recycle`, fill, delete and reuse segments so the active one is a recycled file. */
function syncRun(recycle) {
  const d = `${dir}/sync`;
  fs.rmSync(d, { recursive: true, force: true });
  const wal = SegmentedWal.open({ dir: d, segmentTargetSize: SYNC_SEGMENT, recycleSegments: recycle ? 4 : 0 });
  if (recycle) {
    while (wal.listSegments().length < 4) wal.append(7, 42, 1, 1, payload);
    wal.roll();
    wal.truncateBefore(wal.activeSegmentFirstLsn);
    wal.append(7, 42, 1, 1, payload);
    wal.roll(); // onto a recycled file
    wal.truncateBefore(wal.activeSegmentFirstLsn);
  }
  wal.sync();
  const t0 = performance.now();
  for (let i = 0; i < MSYNC; i++) {
    wal.append(7, 42, i & 63, 1, payload);
    wal.sync();
  }
  const seconds = secondsSince(t0);
  wal.close();
  return { work: MSYNC, seconds };
}

const frame = new Uint8Array(164).map((_, i) => i);
/** Raw: MSYNC x (pwrite 164 B at the end + fdatasync); `overwrite` first writes and syncs zeros over the whole range (untimed). */
function rawSyncRun(overwrite) {
  const p = `${dir}/raw-sync.bin`;
  fs.rmSync(p, { force: true });
  const fd = fs.openSync(p, 'w+');
  if (overwrite) {
    fs.writeSync(fd, new Uint8Array(MSYNC * frame.length + 4096), 0, MSYNC * frame.length + 4096, 0);
    fs.fsyncSync(fd);
  }
  const t0 = performance.now();
  for (let i = 0; i < MSYNC; i++) {
    fs.writeSync(fd, frame, 0, frame.length, i * frame.length);
    fs.fdatasyncSync(fd);
  }
  const seconds = secondsSince(t0);
  fs.closeSync(fd);
  return { work: MSYNC, seconds };
}
compare({
  name: `sync per record, recycled segments vs raw append+fdatasync`, unit: 'records/s',
  subject: () => syncRun(true),
  baseline: () => rawSyncRun(false),
  baselineName: 'pwrite append + fdatasync',
});
compare({
  name: `sync per record, recycled segments vs raw overwrite+fdatasync`, unit: 'records/s',
  subject: () => syncRun(true),
  baseline: () => rawSyncRun(true),
  baselineName: 'pwrite overwrite + fdatasync',
});
compare({
  name: `sync per record, new segments vs raw append+fdatasync`, unit: 'records/s',
  subject: () => syncRun(false),
  baseline: () => rawSyncRun(false),
  baselineName: 'pwrite append + fdatasync',
});
