// conformance: hostile bytes after a log's genuine records, in every log.
// Each log is written, synced and closed cleanly (so every record is
// durable), then the bytes after its newest file's genuine content are
// replaced with junk built to look like the log's own structures: slices of
// the file itself (headers, frames, slots) with a byte flipped, packed at
// every stride down to 1 byte, so a plausible header starts almost
// everywhere; or random bytes; or zeros (a preallocated or recycled tail).
// Reopening must, within a time budget (a linear classification of the tail
// needs a tenth of it; a quadratic one takes minutes, as WalFsWriter's did
// before test/format/hostile-tail.test.js), either return exactly the
// genuine records or refuse with a typed WalError; never crash with another
// error, hang, drop a durable record or invent one.
//
// A new log joins through its entry in all-logs.js (dataFile and read).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MemoryFileSystem, WalError } from 'walcore';
import { rng, seedFor } from '../support/helpers.js';
import { LOGS } from './all-logs.js';

const KiB = 1024;
const TAIL = 1024 * KiB;
/** Seconds an open + full read of a log with a 1 MiB hostile tail may take (2 shared cores, three runtimes). */
const BUDGET = 3;
const RECORDS = 40;

const seed = seedFor('hostile-bytes');
const TIMINGS = [];

/** A log with RECORDS records, synced and closed; returns its file system, path and records. */
function genuine(log) {
  const fs = new MemoryFileSystem();
  fs.mkdir('/data');
  fs.syncDir('/');
  const path = '/data/log';
  const l = log.open(fs, path);
  for (let i = 1; i <= RECORDS; i++) {
    log.append(l, i);
    if (i % 7 === 0) log.sync(l);
  }
  log.sync(l);
  l.close();
  return { fs, path, records: log.read(fs, path) };
}

const SHAPES = {
  /** Slices of the genuine file, one byte flipped in most, written over each other at small strides. */
  mutated(src, size, r) {
    const out = new Uint8Array(size);
    let at = 0;
    while (at < size) {
      const len = Math.min(r.int(16, 512), src.length);
      const from = r.int(0, src.length - len);
      const piece = src.slice(from, from + len);
      if (r.next() < 0.9) piece[r.int(0, len - 1)] ^= 1 << r.int(0, 7);
      out.set(piece.subarray(0, Math.min(len, size - at)), at);
      at += r.int(1, Math.min(64, len));
    }
    return out;
  },
  random: (src, size, r) => r.bytes(size),
  zeros: (src, size) => new Uint8Array(size),
};

for (const log of LOGS) {
  for (const [shape, make] of Object.entries(SHAPES)) {
    test(`${log.name}: a ${TAIL / KiB} KiB ${shape} tail after the genuine records: the records, or a typed error, in time`, () => {
      const r = rng(seed ^ (log.name.length * 7919 + shape.length));
      const { fs, path, records } = genuine(log);
      const appended = Array.from({ length: RECORDS }, (_, i) => log.record(i + 1));
      assert.equal(records, log.readOrder ? log.readOrder(appended) : appended, 'the genuine log reads back whole');
      const file = log.dataFile(fs, path);
      const bytes = fs.readFile(file);
      // A file of fixed size (a ring) is overwritten after its records instead of grown.
      const fixed = log.junkFrom !== undefined;
      const keep = fixed ? Math.min(bytes.length, log.junkFrom(RECORDS)) : bytes.length;
      const tail = make(bytes, fixed ? bytes.length - keep : TAIL, r);
      const damaged = new Uint8Array(keep + tail.length);
      damaged.set(bytes.subarray(0, keep));
      damaged.set(tail, keep);
      fs.writeFile(file, damaged);
      const t0 = performance.now();
      let got;
      try {
        got = log.read(fs, path);
      } catch (e) {
        if (!(e instanceof WalError)) throw new Error(`${log.name}/${shape}: not a WalError: ${e?.stack ?? e}`);
        got = e.code;
      }
      const seconds = (performance.now() - t0) / 1000;
      TIMINGS.push(`${log.name}/${shape} ${seconds.toFixed(2)} s${typeof got === 'string' ? ` ${got}` : ''}`);
      assert.ok(seconds < BUDGET, `${log.name}/${shape}: reopen took ${seconds.toFixed(2)} s (budget ${BUDGET} s)`);
      if (typeof got === 'string') {
        assert.ok(['CORRUPTED', 'BAD_HEADER', 'TORN_TAIL'].includes(got), `${log.name}/${shape}: unexpected error code ${got}`);
      } else {
        assert.equal(got, records, `${log.name}/${shape}: exactly the durable records`);
        // Open cut the junk (or left a ring's slots to be overwritten): a second open reads the same.
        const after = fs.stat(file)?.size ?? 0;
        if (!fixed) assert.ok(after < damaged.length, `${log.name}/${shape}: the junk tail was cut (${after} of ${damaged.length} bytes left)`);
        assert.equal(log.read(fs, path), records, `${log.name}/${shape}: a second open`);
      }
    });
  }
}

test.after(() => console.log(`[timings] ${TIMINGS.join('; ')}`));
test.run();
