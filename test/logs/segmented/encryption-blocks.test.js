// Sealed blocks (docs/FORMAT.md §S9, segment format 2): an encrypting
// SegmentedWal seals a block of records with one AES-GCM call. Block
// boundaries and replay inside a block; tampering with any byte of a block
// is a typed error and never hands out the block's records; a torn block is
// cut as a torn tail; nonces never seal two different blocks under one key
// across restarts, crashes (LSNs re-written with other bytes) and rotation;
// a retried write is re-sealed under a fresh nonce.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { KeyRing, MemoryFileSystem, SegmentedWal, WalError, crc32c } from 'walcore';
import { hex, rng, seedFor } from '../../support/helpers.js';
import { appendOne, checkReplay, fieldsFor, payloadFor } from '../../support/fixtures/segmented-util.js';

const key = (b) => new Uint8Array(32).fill(b);
const RING = new KeyRing({ id: 7, key: key(7) });
const errOf = (fn) => { try { fn(); } catch (e) { return e; } return undefined; };
const u32 = (b, at) => new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(at, true);

/** Block frames of a segment file or a write's buffer, read by the test itself (FORMAT.md §S9). */
function blocks(bytes) {
  const out = [];
  let p = bytes.length >= 64 && u32(bytes, 0) === 0x72636c77 ? 64 : 0;
  while (p + 32 <= bytes.length && bytes[p + 8] === 0xf7) {
    const len = u32(bytes, p + 4);
    if (p + 32 + len > bytes.length) break;
    if (bytes[p + 10] === 3) {
      out.push({ at: p, len, last: Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(p + 16, true)), count: u32(bytes, p + 32), nonce: hex(bytes.subarray(p + 36, p + 48)) });
    }
    p += 32 + len;
  }
  return out;
}

function fixCrc(bytes, at) {
  const len = u32(bytes, at + 4);
  if (at + 32 + len > bytes.length) return;
  new DataView(bytes.buffer, bytes.byteOffset).setUint32(at, crc32c(bytes.subarray(at + 4, at + 32 + len)), true);
}

function fill(wal, n, oracle, gen = 0, size) {
  for (let i = 0; i < n; i++) {
    const lsn = wal.nextLsn;
    oracle.set(lsn, { ...fieldsFor(lsn), payload: payloadFor(lsn, gen, size) });
    appendOne(wal, lsn, gen, size);
  }
}

test('a buffered write seals its records in blocks of at most 64 KiB and 1024 records; replay starts anywhere inside a block', () => {
  const fs = new MemoryFileSystem();
  const wal = SegmentedWal.open({ dir: '/w', fs, encryptionRing: RING });
  const oracle = new Map();
  fill(wal, 3000, oracle, 0, 100); // 128 B staged each: 512 per 64 KiB block
  fill(wal, 2000, oracle, 0, 0); // 28 B each: the 1024-record bound cuts first
  fill(wal, 1, oracle, 0, 200_000); // larger than a block: a block by itself
  fill(wal, 5, oracle, 0, 10);
  wal.sync();
  const segBytes = fs.readFile(wal.listSegments()[0].path);
  assert.is(u32(segBytes, 24), 2, 'p1 = 2: segment format 2');
  const b = blocks(segBytes);
  assert.equal(b.reduce((s, x) => s + x.count, 0), 5006);
  assert.ok(b.every((x, i) => x.last === (i === 0 ? 0 : b[i - 1].last) + x.count), 'LSNs contiguous across blocks');
  assert.ok(b.every((x) => x.count >= 1 && x.count <= 1024));
  assert.ok(b.every((x) => x.len - 32 <= 64 * 1024 || x.count === 1), 'plaintext within the target unless one record');
  assert.ok(b.some((x) => x.count === 1024) && b.some((x) => x.count === 512), b.map((x) => x.count).join(','));
  assert.ok(b.some((x) => x.count === 1 && x.len > 200_000));
  checkReplay(wal.replay(), oracle, 'all');
  const mid = wal.replayFrom(700);
  assert.is(mid[0].lsn, 700);
  checkReplay(mid, oracle, 'from inside a block');
  const page = wal.replayFromLimit(510, 5);
  assert.equal(page.records.map((r) => r.lsn), [510, 511, 512, 513, 514], 'a page across a block boundary');
  assert.ok(page.hasMore);
  wal.close();
  const again = SegmentedWal.open({ dir: '/w', fs, encryptionRing: RING });
  assert.is(again.nextLsn, 5007, 'recovery finds the next LSN from the last block');
  checkReplay(again.replay(), oracle, 'reopened');
  again.close();
});

test('tampering with any byte of a block (CRC fixed up) is a typed error and none of its records is handed out', () => {
  const fs0 = new MemoryFileSystem();
  const wal = SegmentedWal.open({ dir: '/w', fs: fs0, encryptionRing: RING });
  const oracle = new Map();
  fill(wal, 2, oracle, 0, 6); wal.sync(); // block 1: LSNs 1-2
  fill(wal, 3, oracle, 0, 5); wal.sync(); // block 2: LSNs 3-5
  fill(wal, 2, oracle, 0, 4);
  wal.roll(); // block 3; the segment is sealed
  fill(wal, 1, oracle);
  wal.close();
  const path = '/w/wal-00000000000000000001.seg';
  const clean = fs0.readFile(path);
  const f = blocks(clean)[1];
  assert.equal([f.count, f.last], [3, 5]);
  let decryptFailed = 0;
  for (let i = 0; i < 32 + f.len; i++) {
    const bytes = clean.slice();
    bytes[f.at + i] ^= 1 << (i % 8);
    if (i >= 8) fixCrc(bytes, f.at); // bytes 0-7 are the CRC and the length the CRC is computed over
    const fs = new MemoryFileSystem();
    fs.mkdir('/w');
    for (const name of fs0.list('/w')) fs.writeFile(`/w/${name}`, name.endsWith('0001.seg') ? bytes : fs0.readFile(`/w/${name}`));
    const again = SegmentedWal.open({ dir: '/w', fs, encryptionRing: RING });
    const got = [];
    const e = errOf(() => { for (const r of again.records()) got.push(r.lsn); });
    again.close();
    assert.ok(e instanceof WalError, `byte ${i}: ${e}`);
    assert.ok(e.code === 'DECRYPT_FAILED' || e.code === 'CORRUPTED', `byte ${i}: ${e.code}`);
    assert.is(e.path, path);
    assert.ok(got.every((l) => l < 3), `byte ${i}: no record of the tampered block is handed out (got ${got})`);
    assert.equal(got, [1, 2], `byte ${i}: the block before it is`);
    if (i >= 36) assert.equal([e.code, e.offset], ['DECRYPT_FAILED', f.at], `byte ${i}: nonce, ciphertext and tag fail the GCM tag`);
    if (e.code === 'DECRYPT_FAILED') decryptFailed++;
  }
  assert.ok(decryptFailed >= f.len - 4, `${decryptFailed} DECRYPT_FAILED`);
});

test('a torn block is cut as a torn tail: whole blocks survive, no CORRUPTED, everything synced is kept', () => {
  const seed = seedFor('sealed blocks torn tail');
  const r = rng(seed);
  let cut = 0;
  for (let round = 0; round < 60; round++) {
    const fs = new MemoryFileSystem();
    const wal = SegmentedWal.open({ dir: '/w', fs, bufferSize: r.int(0, 3) === 0 ? 0 : 4096, encryptionRing: RING });
    const oracle = new Map();
    fill(wal, r.int(1, 200), oracle, 0, r.int(0, 300));
    wal.sync();
    const acked = wal.durableLsn;
    fill(wal, r.int(1, 400), oracle, 0, r.int(0, 300)); // written in block writes, never synced
    wal._replaySnapshot(false); // write the buffer (sealing it), without a sync
    const mode = ['tear', 'drop', 'random'][round % 3];
    fs.crash({ seed: seed + round, mode });
    const ctx = `seed ${seed}, round ${round}, ${mode}`;
    const again = SegmentedWal.open({ dir: '/w', fs, encryptionRing: RING });
    if (again.openReport.truncatedBytes > 0) cut++;
    const recs = again.replay();
    const [, last] = checkReplay(recs, oracle, ctx);
    assert.ok(last >= acked, `${ctx}: acknowledged ${acked}, replay ends at ${last}`);
    const seg = fs.readFile(again.listSegments().at(-1).path);
    const b = blocks(seg);
    assert.is(b.length === 0 ? 0 : b.at(-1).last, again.nextLsn - 1, `${ctx}: the log ends with a whole block`);
    again.close();
  }
  assert.ok(cut > 5, `${cut} torn blocks were cut`);
});

/** Records (key id, nonce) of every block written through it, with the bytes each sealed. */
class NonceLog {
  constructor(inner) { this.inner = inner; this.seen = new Map(); this.reuse = []; this.blocks = 0; this.keyOf = new Map(); }
  note(path, buf) {
    const keyId = this.keyOf.get(path);
    for (const f of blocks(buf)) {
      const id = `${keyId}:${f.nonce}`;
      const sealed = hex(buf.subarray(f.at + 8, f.at + 32 + f.len));
      const prev = this.seen.get(id);
      if (prev !== undefined && prev !== sealed) this.reuse.push(`block ending at LSN ${f.last}, ${id}`);
      this.seen.set(id, sealed);
      this.blocks++;
    }
  }
  open(path, flags) {
    const h = this.inner.open(path, flags);
    return { path: h.path, read: (b, p) => h.read(b, p), write: (b, p) => {
      if (p === 0 && b.length >= 64) this.keyOf.set(path.replace(/\.tmp-.*$/, ''), u32(b, 32)); // the segment header names the key id
      else this.note(path, b);
      h.write(b, p);
    }, truncate: (n) => h.truncate(n), size: () => h.size(), sync: () => h.sync(), close: () => h.close() };
  }
  stat(p) { return this.inner.stat(p); }
  rename(a, b) { this.keyOf.set(b, this.keyOf.get(a)); this.inner.rename(a, b); }
  remove(p) { this.inner.remove(p); }
  list(d) { return this.inner.list(d); }
  mkdir(p) { this.inner.mkdir(p); }
  syncDir(p) { this.inner.syncDir(p); }
  lock(p) { return this.inner.lock(p); }
}

test('nonces never seal two different blocks under one key across restarts, crashes that re-issue LSNs, and rotation', () => {
  const seed = seedFor('sealed block nonces');
  const r = rng(seed);
  const mem = new MemoryFileSystem();
  const log = new NonceLog(mem);
  let ring = RING;
  let reissued = 0;
  let maxLsn = 0;
  for (let gen = 0; gen < 40; gen++) {
    if (gen % 10 === 9) ring = ring.rotate({ id: 100 + gen, key: key(100 + gen) });
    const wal = SegmentedWal.open({ dir: '/w', fs: log, segmentTargetSize: 20_000, bufferSize: r.int(0, 2) ? 2048 : 0, encryptionRing: ring });
    if (wal.nextLsn <= maxLsn) reissued++;
    for (let i = 0; i < 60; i++) {
      appendOne(wal, wal.nextLsn, gen, r.int(1, 300));
      if (r.next() < 0.1) wal.sync();
    }
    maxLsn = Math.max(maxLsn, wal.nextLsn - 1);
    wal._replaySnapshot(false); // written, not synced: a crash may drop it and the next generation re-writes those LSNs
    mem.crash({ seed: seed + gen, mode: ['drop', 'tear', 'random'][gen % 3] });
  }
  assert.ok(log.blocks > 200, `${log.blocks} blocks written`);
  assert.ok(reissued > 10, `${reissued} generations re-issued LSNs written before a crash with other bytes`);
  assert.equal(log.reuse, [], `seed ${seed}: a nonce sealed two different blocks`);
  const wal = SegmentedWal.open({ dir: '/w', fs: mem, encryptionRing: ring });
  assert.ok(wal.replay().length > 0);
  wal.close();
});

test('a write that fails is retried under a fresh nonce: the plaintext stays staged, the sealed copy is discarded', () => {
  const fs = new MemoryFileSystem();
  const log = new NonceLog(fs);
  const wal = SegmentedWal.open({ dir: '/w', fs: log, bufferSize: 1 << 20, encryptionRing: RING });
  const oracle = new Map();
  fill(wal, 10, oracle);
  const fault = fs.injectFault({ op: 'write' });
  const e = errOf(() => wal.sync());
  assert.ok(e instanceof WalError, `${e}`);
  fault.remove();
  assert.is(wal.state, 'open', 'a failed write is rolled back, not poisoning');
  wal.sync();
  checkReplay(wal.replay(), oracle, 'after the retry');
  wal.close();
  assert.equal(log.reuse, []);
  assert.ok(log.blocks >= 2, `${log.blocks} block writes (the failed one and its retry)`);
  assert.is(log.seen.size, log.blocks, 'the retry used another nonce than the failed write');
});

test('format 1 stays readable: a format-1 active segment is rolled, new records go to a format-2 segment', () => {
  // Build a format-1 encrypted active segment: the per-record vector path of the core is what format 1 wrote.
  // Here the compat golden directory (test/compat/segmented.test.js) covers reading; this checks the switch.
  const fs = new MemoryFileSystem();
  let wal = SegmentedWal.open({ dir: '/w', fs, encryptionRing: RING });
  const oracle = new Map();
  fill(wal, 3, oracle);
  wal.close();
  const path = '/w/wal-00000000000000000001.seg';
  assert.is(u32(fs.readFile(path), 24), 2);
  wal = SegmentedWal.open({ dir: '/w', fs, encryptionRing: RING.rotate({ id: 8, key: key(8) }) });
  fill(wal, 2, oracle);
  assert.equal(wal.listSegments().map((s) => [s.firstLsn, u32(fs.readFile(s.path), 24)]), [[1, 2], [4, 2]]);
  checkReplay(wal.replay(), oracle, 'both keys');
  wal.close();
});

test.run();
