// SegmentedWal encryption: AES-256-GCM round trip, key ids and rotation,
// wrong keys and tampering as typed errors, and nonces that never repeat
// across rollovers, reopen and crash (including LSNs re-issued after a crash).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { KeyRing, MemoryFileSystem, SegmentedWal, WalError, crc32c } from 'walcore';
import { enc, hex, rng, seedFor } from '../../support/helpers.js';
import { CrashPointFs } from '../../support/crash-point-fs.js';
import { appendOne, checkReplay, equalBytes, fieldsFor, payloadFor } from '../../support/fixtures/segmented-util.js';

const key = (b) => new Uint8Array(32).fill(b);
const RING = new KeyRing({ id: 7, key: key(7) });
const errOf = (fn) => { try { fn(); } catch (e) { return e; } return undefined; };
const codeOf = (fn) => { const e = errOf(fn); return e === undefined ? 'none' : e instanceof WalError ? e.code : e.constructor.name; };

function fill(wal, n, oracle, gen = 0) {
  for (let i = 0; i < n; i++) {
    const lsn = wal.nextLsn;
    oracle.set(lsn, { ...fieldsFor(lsn), payload: payloadFor(lsn, gen) });
    appendOne(wal, lsn, gen);
  }
}

/**
 * Data frames of a segment file (or of a write's buffer), parsed by the test
 * itself (an independent reading of FORMAT.md §9): format-2 sealed blocks
 * (type 3: seq = last LSN, count at 32, nonce at 36, key id from the
 * segment header's p2) and format-1 records (type 2). Sync markers are skipped.
 */
function frames(bytes) {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = [];
  const header = dv.getUint32(0, true) === 0x72636c77;
  const segKey = header ? dv.getUint32(32, true) : undefined;
  let p = header ? 64 : 0;
  while (p + 32 <= bytes.length && bytes[p + 8] === 0xf7) {
    const len = dv.getUint32(p + 4, true);
    if (p + 32 + len > bytes.length) break;
    const type = bytes[p + 10];
    const lsn = Number(dv.getBigUint64(p + 16, true));
    if (type === 3) out.push({ at: p, len, type, lsn, count: dv.getUint32(p + 32, true), keyId: segKey });
    else if (type === 2) out.push({ at: p, len, type, lsn, count: 1, flags: dv.getUint32(p + 56, true), keyId: dv.getUint32(p + 60, true) });
    p += 32 + len;
  }
  return out;
}

function fixCrc(bytes, at) {
  const dv = new DataView(bytes.buffer, bytes.byteOffset);
  const len = dv.getUint32(at + 4, true);
  dv.setUint32(at, crc32c(bytes.subarray(at + 4, at + 32 + len)), true);
}

test('round trip: records are stored encrypted and replay as the plaintext', () => {
  const fs = new MemoryFileSystem();
  const wal = SegmentedWal.open({ dir: '/w', fs, segmentTargetSize: 400, encryptionRing: RING });
  assert.is(wal.encryptionRing, RING);
  const oracle = new Map();
  const secret = enc('the launch codes are 0000 0000 0000');
  wal.append(1, 2, 3, 4, secret);
  oracle.set(1, { recordType: 1, tenantId: 2, vshardId: 3, databaseId: 4, payload: secret });
  fill(wal, 40, oracle);
  wal.close();
  const again = SegmentedWal.open({ dir: '/w', fs, encryptionRing: RING });
  checkReplay(again.replay(), oracle, 'encrypted');
  const segs = again.listSegments();
  assert.ok(segs.length > 3 && segs.every((s) => s.encrypted));
  const first = fs.readFile(segs[0].path);
  assert.not.ok(hex(first).includes(hex(secret.subarray(0, 12))), 'no plaintext on disk');
  assert.is(new TextDecoder().decode(first.subarray(0, 4)), 'wlcr', 'the segment header stays plaintext');
  const f = frames(first);
  assert.ok(f.length > 0 && f.every((x) => x.type === 3 && x.keyId === 7), 'format 2: sealed blocks under key id 7');
  again.close();
});

test('rotation: roll, then a ring with the new current key; old segments replay with the old key kept in the ring', () => {
  const fs = new MemoryFileSystem();
  const wal = SegmentedWal.open({ dir: '/w', fs, segmentTargetSize: 300, encryptionRing: RING });
  const oracle = new Map();
  fill(wal, 10, oracle);
  const rotated = RING.rotate({ id: 8, key: key(8) });
  assert.equal(rotated.keyIds, [7, 8]);
  assert.is(rotated.currentKeyId, 8);
  const e = errOf(() => wal.setEncryptionRing(rotated));
  assert.ok(e instanceof WalError && e.code === 'ENCRYPTION_REFUSED', 'refused once the active segment has records');
  assert.is(wal.encryptionRing, RING, 'the ring is unchanged after a refusal');
  wal.setEncryptionRing(new KeyRing({ id: 7, key: key(7) }, [{ id: 3, key: key(3) }])); // same current key: allowed
  assert.ok(wal.roll());
  wal.setEncryptionRing(rotated);
  fill(wal, 10, oracle);
  checkReplay(wal.replay(), oracle, 'rotated');
  const ids = wal.listSegments().map((s) => frames(fs.readFile(s.path))[0]?.keyId).filter((x) => x !== undefined);
  assert.ok(ids.includes(7) && ids.includes(8));
  wal.close();
  // A ring without the old key cannot read the old segments: UNKNOWN_KEY, never garbage.
  const onlyNew = SegmentedWal.open({ dir: '/w', fs, encryptionRing: new KeyRing({ id: 8, key: key(8) }) });
  const u = errOf(() => onlyNew.replay());
  assert.ok(u instanceof WalError && u.code === 'UNKNOWN_KEY' && u.path.endsWith('.seg') && u.offset >= 64);
  assert.is(onlyNew.replayFrom(onlyNew.listSegments().find((s) => frames(fs.readFile(s.path))[0]?.keyId === 8).firstLsn).length > 0, true);
  onlyNew.close();
});

test('setEncryptionRing on an empty active segment rewrites its header; null turns encryption off the same way', () => {
  const fs = new MemoryFileSystem();
  const wal = SegmentedWal.open({ dir: '/w', fs });
  assert.is(wal.encryptionRing, null);
  wal.setEncryptionRing(RING);
  assert.ok(wal.listSegments()[0].encrypted);
  const oracle = new Map();
  fill(wal, 3, oracle);
  assert.is(codeOf(() => wal.setEncryptionRing(null)), 'ENCRYPTION_REFUSED');
  wal.roll();
  wal.setEncryptionRing(null);
  fill(wal, 3, oracle);
  assert.equal(wal.listSegments().map((s) => s.encrypted), [true, false]);
  assert.is(codeOf(() => wal.replay()), 'UNKNOWN_KEY', 'without a ring the encrypted segment cannot be read');
  checkReplay(wal.replayFrom(4), oracle, 'plain part');
  assert.is(wal.replayFrom(4).length, 3);
  assert.is(codeOf(() => wal.setEncryptionRing({ current: 1 })), 'TypeError');
  wal.close();
});

test('opening without the ring: recovery works, appends to the encrypted segment are refused until a matching ring is set', () => {
  const fs = new MemoryFileSystem();
  let wal = SegmentedWal.open({ dir: '/w', fs, encryptionRing: RING });
  const oracle = new Map();
  fill(wal, 5, oracle);
  wal.close();
  wal = SegmentedWal.open({ dir: '/w', fs });
  assert.is(wal.nextLsn, 6);
  assert.is(codeOf(() => appendOne(wal, 6)), 'ENCRYPTION_REFUSED');
  assert.is(codeOf(() => wal.replay()), 'UNKNOWN_KEY');
  wal.setEncryptionRing(RING); // matches the active segment: allowed although it has records
  fill(wal, 2, oracle);
  checkReplay(wal.replay(), oracle, 'resumed');
  wal.close();
  // Opening with a different current key rolls to a new segment for it.
  wal = SegmentedWal.open({ dir: '/w', fs, encryptionRing: RING.rotate({ id: 9, key: key(9) }) });
  assert.is(wal.activeSegmentFirstLsn, 8);
  fill(wal, 2, oracle);
  checkReplay(wal.replay(), oracle, 'rolled on open');
  wal.close();
});

// Defect 8.12: the segment header's key check value (FORMAT.md §S2) makes a
// wrong key under the same id fail at open (it used to be accepted, and the
// active segment then mixed two keys); a sealed segment fails at replay,
// before any record is decrypted, at offset 0 (the header).
test('a wrong key (same id, other bytes) is DECRYPT_FAILED with path and offset', () => {
  const fs = new MemoryFileSystem();
  const wal = SegmentedWal.open({ dir: '/w', fs, encryptionRing: RING });
  fill(wal, 3, new Map());
  wal.roll();
  fill(wal, 2, new Map());
  wal.close();
  const wrongRing = new KeyRing({ id: 7, key: key(1) });
  const e0 = errOf(() => SegmentedWal.open({ dir: '/w', fs, encryptionRing: wrongRing }));
  assert.ok(e0 instanceof WalError && e0.code === 'DECRYPT_FAILED', `open: got ${e0?.code}`);
  assert.ok(e0.path.endsWith('wal-00000000000000000004.seg'));
  assert.match(e0.message, /key id 7/);
  // The failed open released the lock: a right open works.
  const ok = SegmentedWal.open({ dir: '/w', fs, encryptionRing: RING });
  assert.is(ok.replay().length, 5);
  ok.close();
  // A sealed segment: the active one is rewritten under another key id first.
  const other = SegmentedWal.open({ dir: '/w', fs, encryptionRing: RING.rotate({ id: 9, key: key(9) }) });
  other.close();
  const wrong = SegmentedWal.open({ dir: '/w', fs, encryptionRing: new KeyRing({ id: 9, key: key(9) }, [{ id: 7, key: key(1) }]) });
  const e = errOf(() => wrong.replay());
  assert.ok(e instanceof WalError && e.code === 'DECRYPT_FAILED', `got ${e?.code}`);
  assert.is(e.offset, 0);
  assert.ok(e.path.endsWith('wal-00000000000000000001.seg'));
  wrong.close();
});

test('setEncryptionRing with another key under the active segment\'s key id is DECRYPT_FAILED and changes nothing', () => {
  const fs = new MemoryFileSystem();
  const wal = SegmentedWal.open({ dir: '/w', fs, encryptionRing: RING });
  fill(wal, 3, new Map());
  const e = errOf(() => wal.setEncryptionRing(new KeyRing({ id: 7, key: key(1) })));
  assert.ok(e instanceof WalError && e.code === 'DECRYPT_FAILED', `got ${e?.code}`);
  assert.is(wal.encryptionRing, RING);
  fill(wal, 1, new Map());
  assert.is(wal.replay().length, 4);
  wal.close();
});

function tamper(name, mutate) {
  test(`tampering: ${name} is DECRYPT_FAILED even with a matching CRC`, () => {
    const fs = new MemoryFileSystem();
    const wal = SegmentedWal.open({ dir: '/w', fs, segmentTargetSize: 300, bufferSize: 0, encryptionRing: RING }); // one block per record
    fill(wal, 12, new Map());
    wal.close();
    const path = '/w/wal-00000000000000000001.seg';
    const bytes = fs.readFile(path);
    const f = frames(bytes)[1];
    assert.is(f.type, 3);
    mutate(bytes, f);
    fixCrc(bytes, f.at);
    fs.writeFile(path, bytes);
    const again = SegmentedWal.open({ dir: '/w', fs, encryptionRing: RING });
    const e = errOf(() => again.replay());
    assert.ok(e instanceof WalError && e.code === 'DECRYPT_FAILED', `got ${e?.code} ${e?.message}`);
    assert.is(e.offset, f.at);
    // Without fixing the CRC, the same flip is plain corruption of a sealed segment.
    again.close();
  });
}
tamper('a flipped ciphertext bit', (b, f) => { b[f.at + 48 + 3] ^= 0x10; });
tamper('a flipped tag bit', (b, f) => { b[f.at + 32 + f.len - 1] ^= 0x01; });
tamper('a changed tenantId inside the block (encrypted inner record)', (b, f) => { b[f.at + 48 + 8] ^= 0x01; });
tamper('a changed nonce (AAD)', (b, f) => { b[f.at + 36] ^= 0x80; });

test('records decrypted before one that fails authentication are handed out before DECRYPT_FAILED', () => {
  const fs = new MemoryFileSystem();
  const wal = SegmentedWal.open({ dir: '/w', fs, bufferSize: 0, encryptionRing: RING }); // one block per record
  const oracle = new Map();
  fill(wal, 5, oracle);
  wal.roll(); // sealed: no trailing sync marker
  wal.close();
  const path = '/w/wal-00000000000000000001.seg';
  const b = fs.readFile(path);
  const f = frames(b)[3];
  b[f.at + 48] ^= 0x01; // ciphertext of LSN 4's block, CRC fixed so only the GCM tag catches it
  fixCrc(b, f.at);
  fs.writeFile(path, b);
  const again = SegmentedWal.open({ dir: '/w', fs, encryptionRing: RING });
  const got = [];
  const e = errOf(() => { for (const r of again.records()) got.push(r.lsn); });
  assert.is(e?.code, 'DECRYPT_FAILED');
  assert.equal(got, [1, 2, 3], 'the records of the blocks before the bad one, all in the same chunk');
  assert.equal(again.replayFromLimit(1, 3).records.map((r) => r.lsn), [1, 2, 3]);
  again.close();
});

test('a flipped ciphertext bit without a CRC fix-up is CORRUPTED in a sealed segment', () => {
  const fs = new MemoryFileSystem();
  const wal = SegmentedWal.open({ dir: '/w', fs, segmentTargetSize: 300, bufferSize: 0, encryptionRing: RING });
  fill(wal, 12, new Map());
  wal.close();
  const path = '/w/wal-00000000000000000001.seg';
  const bytes = fs.readFile(path);
  const f = frames(bytes)[1];
  bytes[f.at + 48 + 5] ^= 0x04;
  fs.writeFile(path, bytes);
  const again = SegmentedWal.open({ dir: '/w', fs, encryptionRing: RING });
  const e = errOf(() => again.replay());
  assert.ok(e instanceof WalError && e.code === 'CORRUPTED' && e.offset === f.at && e.reason === 'crc-mismatch');
  again.close();
});

test('KeyRing checks its keys', () => {
  assert.is(codeOf(() => new KeyRing({ id: 1, key: new Uint8Array(16) })), 'RangeError');
  assert.is(codeOf(() => new KeyRing({ id: -1, key: key(1) })), 'RangeError');
  assert.is(codeOf(() => new KeyRing({ id: 1, key: 'k' })), 'TypeError');
  assert.is(codeOf(() => new KeyRing({ id: 1, key: key(1) }, [{ id: 1, key: key(2) }])), 'RangeError');
  const k = key(5);
  const ring = new KeyRing({ id: 2 ** 32 - 1, key: k });
  k.fill(0); // the ring holds its own copy
  assert.ok(ring.has(2 ** 32 - 1));
  const fs = new MemoryFileSystem();
  const wal = SegmentedWal.open({ dir: '/w', fs, encryptionRing: ring });
  wal.append(0, 0, 0, 0, enc('x'));
  assert.ok(equalBytes(wal.replay()[0].payload, enc('x')));
  wal.close();
});

/** Records every (key id, nonce) written to any segment, with the bytes it sealed. */
class NonceLog {
  constructor(inner) { this.inner = inner; this.name = 'nonce-log'; this.seen = new Map(); this.reuse = []; this.count = 0; }
  note(buf) {
    for (const f of frames(buf)) {
      if (f.type !== 3) continue;
      const nonce = hex(buf.subarray(f.at + 36, f.at + 48)); // one key (RING) in this test
      const sealed = hex(buf.subarray(f.at + 8, f.at + 32 + f.len)); // AAD and ciphertext (a retried write repeats them exactly)
      const prev = this.seen.get(nonce);
      if (prev !== undefined && prev !== sealed) this.reuse.push(`block ending at LSN ${f.lsn}, nonce ${nonce}`);
      this.seen.set(nonce, sealed);
      this.count += f.count;
    }
  }
  open(path, flags) {
    const h = this.inner.open(path, flags);
    return { path: h.path, read: (b, p) => h.read(b, p), write: (b, p) => { this.note(b); h.write(b, p); }, truncate: (n) => h.truncate(n), size: () => h.size(), sync: () => h.sync(), close: () => h.close() };
  }
  stat(p) { return this.inner.stat(p); }
  rename(a, b) { this.inner.rename(a, b); }
  remove(p) { this.inner.remove(p); }
  list(d) { return this.inner.list(d); }
  mkdir(p) { this.inner.mkdir(p); }
  syncDir(p) { this.inner.syncDir(p); }
  lock(p) { return this.inner.lock(p); }
}

test('nonces never repeat across rollovers, reopen and crash, also for LSNs re-issued after a crash', () => {
  const seed = seedFor('segmented nonce uniqueness');
  const r = rng(seed);
  const mem = new MemoryFileSystem();
  const log = new NonceLog(mem);
  const lsnSeen = new Map(); // lsn -> generations that wrote it
  let reissued = 0;
  for (let gen = 0; gen < 50; gen++) {
    const cut = new CrashPointFs(log, r.int(5, 150));
    try {
      const wal = SegmentedWal.open({ dir: '/w', fs: cut, segmentTargetSize: 350, bufferSize: 0, encryptionRing: RING });
      for (let i = 0; i < 30; i++) {
        const lsn = wal.nextLsn;
        const gens = lsnSeen.get(lsn) ?? [];
        if (gens.length > 0 && !gens.includes(gen)) reissued++;
        lsnSeen.set(lsn, [...gens, gen]);
        appendOne(wal, lsn, gen, r.int(1, 60));
        if (r.next() < 0.3) wal.sync();
        if (r.next() < 0.05) wal.truncateBefore(Math.max(0, lsn - 5));
      }
      wal.close();
    } catch (e) {
      if (!cut.crashed) throw e;
    }
    mem.crash({ seed: seed + gen, mode: ['drop', 'tear', 'random'][gen % 3], dirMode: 'random' });
  }
  assert.ok(log.count > 300, `${log.count} encrypted records written`);
  assert.ok(reissued > 5, `${reissued} LSNs were re-issued after a crash (the case a nonce derived from the LSN gets wrong)`);
  assert.equal(log.reuse, [], `seed ${seed}: a nonce sealed two different records`);
  // And what survived still decrypts.
  const wal = SegmentedWal.open({ dir: '/w', fs: mem, encryptionRing: RING });
  assert.ok(wal.replay().length > 0);
  wal.close();
});

test('power cut before every call while encryption is switched on, rotated and a header is rewritten', () => {
  const seed = seedFor('segmented encryption crash matrix');
  const ring2 = RING.rotate({ id: 8, key: key(8) });
  const run = (fs, st) => {
    const add = (wal, n) => {
      for (let i = 0; i < n; i++) {
        const lsn = wal.nextLsn;
        st.oracle.set(lsn, { ...fieldsFor(lsn), payload: payloadFor(lsn, st.gen) });
        appendOne(wal, lsn, st.gen);
      }
    };
    const sync = (wal) => { wal.sync(); st.acked = Math.max(st.acked, wal.durableLsn); };
    const wal = SegmentedWal.open({ dir: '/w', fs, segmentTargetSize: 400, encryptionRing: null });
    add(wal, 3); sync(wal);
    wal.roll();
    wal.setEncryptionRing(RING); // the empty active segment's header is rewritten
    add(wal, 6); sync(wal);
    assert.is(codeOf(() => wal.setEncryptionRing(ring2)), 'ENCRYPTION_REFUSED');
    wal.roll();
    wal.setEncryptionRing(ring2);
    add(wal, 6); sync(wal);
    wal.close();
  };
  const dry = new CrashPointFs(new MemoryFileSystem());
  run(dry, { oracle: new Map(), acked: 0, gen: 0 });
  let cuts = 0;
  for (let k = 1; k <= dry.ops; k++) for (const mode of ['drop', 'tear', 'keep', 'random']) {
    const mem = new MemoryFileSystem();
    const cut = new CrashPointFs(mem, k);
    const st = { oracle: new Map(), acked: 0, gen: 0 };
    try { run(cut, st); } catch (e) { if (!cut.crashed) throw e; }
    if (!cut.crashed) continue;
    cuts++;
    mem.crash({ seed: seed + k, mode, dirMode: k % 2 ? 'random' : 'drop' });
    const ctx = `seed ${seed}, cut before call ${k} (${cut.at}), ${mode}`;
    const wal = SegmentedWal.open({ dir: '/w', fs: mem, encryptionRing: ring2, allowPlaintext: true }); // segment 1 is plain
    const recs = wal.replay();
    const [, last] = checkReplay(recs, st.oracle, ctx);
    if (st.acked > 0) assert.ok(recs.length > 0 && recs[0].lsn === 1 && last >= st.acked, `${ctx}: acknowledged ${st.acked}, replay ends at ${last}`);
    st.gen = 1;
    for (const lsn of [...st.oracle.keys()]) if (lsn >= wal.nextLsn) st.oracle.delete(lsn);
    for (let i = 0; i < 3; i++) { const lsn = wal.nextLsn; st.oracle.set(lsn, { ...fieldsFor(lsn), payload: payloadFor(lsn, 1) }); appendOne(wal, lsn, 1); }
    checkReplay(wal.replay(), st.oracle, `${ctx}, after reopen`);
    wal.close();
  }
  assert.ok(cuts > 100, `${cuts} cuts`);
});

test.run();
