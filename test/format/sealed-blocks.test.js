// Sealed blocks, segment format 2 (docs/FORMAT.md §S9): the H3/B1 test
// vectors encoded by the core, checked against the independent CRC-32C
// oracle and an independent AES-GCM encryption, replayed by the WAL, and
// quoted in FORMAT.md; a format-1 reader's view (p1 = 2 is refused by the
// header rules of earlier versions: the version marker is p1).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as nodefs from 'node:fs';
import { createCipheriv } from 'node:crypto';
import { KeyRing, MemoryFileSystem, SegmentedWal, WalError } from 'walcore';
import { Core } from 'walcore/internals';
import { CRC32C, dec, enc, fromHex, hex } from '../support/helpers.js';

const V = {
  H3: '776c637201000200d4c3b2a1000000000500000001000000020000000000000007000000000000000000000000000000000000000000000000000000bf03b330',
  PLAIN: '01000000ffffffffffffffffffffffff000000000000000006000000736563726574020000000400000003000000000000000500000000000000020000006869',
  B1: '5b8909ce60000000f7010300d4c3b2a106000000010000004000000000000000020000000102030405060708090000000b13bd4f000822285e424b64fa3607c91a764637e6bfefdd850cad1fa87ad81cfaff3e2bbf594ffc0a83c95afdd1704c410e0ccbe842035d9804f2a49cc579fb3147e551de6267ccd88d913c1802dfbd',
};
const KEY7 = new Uint8Array(32).fill(7);
const u32 = (b, at) => new DataView(b.buffer, b.byteOffset).getUint32(at, true);

test('vectors: the core lays out exactly the documented bytes; the block encrypts independently to them', () => {
  const core = new Core();
  const x = core.x;
  const S = core.staging;
  assert.is(x.encodeSegmentHeader(S, 0xa1b2c3d4, 5, 1, 2, 7), 64);
  assert.is(hex(core.u8.subarray(S, S + 64)), V.H3);
  assert.ok(x.encodeSegmentHeader(S, 1, 1, 0, 3, 7) < 0, 'p1 = 3 is unknown');
  const P = S + 256;
  core.u8.set(enc('secret'), P + 28);
  let off = x.encodeInnerRecord(P, 6, 1, 0xffffffff, 0xffffffff, 0xffffffff, 0, 0);
  core.u8.set(enc('hi'), P + off + 28);
  off += x.encodeInnerRecord(P + off, 2, 2, 3, 0, 4, 5, 0);
  assert.is(hex(core.u8.subarray(P, P + off)), V.PLAIN);
  assert.is(x.splitBlock(P, off), off);
  assert.is(core.out('outBlockCount'), 2);
  const F = S + 1024;
  assert.is(x.encodeBlockHeaders(F, off, 2, 0xa1b2c3d4, 6, 1, 64, 0x04030201, 0x08070605, 9), 32 + 16 + off + 16);
  const b1 = fromHex(V.B1);
  assert.is(hex(core.u8.subarray(F + 4, F + 48)), hex(b1.subarray(4, 48)), 'headers (before the CRC)');
  // Independent encryption: node:crypto over the documented plaintext, nonce and AAD.
  const c = createCipheriv('aes-256-gcm', KEY7, b1.subarray(36, 48));
  c.setAAD(b1.subarray(8, 48));
  const ct = c.update(fromHex(V.PLAIN));
  c.final();
  assert.is(hex(ct) + hex(c.getAuthTag()), hex(b1.subarray(48)));
  core.u8.set(b1.subarray(48), F + 48);
  x.sealBlock(F);
  assert.is(hex(core.u8.subarray(F, F + b1.length)), V.B1);
});

test('vectors: CRCs agree with the independent CRC-32C oracle', () => {
  const h = fromHex(V.H3);
  assert.is(CRC32C.buf(h.subarray(0, 60)) >>> 0, u32(h, 60));
  const b = fromHex(V.B1);
  assert.is(CRC32C.buf(b.subarray(4)) >>> 0, u32(b, 0));
});

test('vectors: a segment of the documented bytes replays as the documented records; without the key it is UNKNOWN_KEY', () => {
  const fs = new MemoryFileSystem();
  fs.mkdir('/v');
  fs.writeFile(`/v/wal-${String(2 ** 32 + 5).padStart(20, '0')}.seg`, fromHex(V.H3 + V.B1));
  let wal = SegmentedWal.open({ dir: '/v', fs, ids: 'bigint', encryptionRing: new KeyRing({ id: 7, key: KEY7 }) });
  assert.is(wal.nextLsn, 2 ** 32 + 7);
  assert.equal(wal.replay().map((r) => ({ ...r, payload: dec(r.payload) })), [
    { lsn: 2 ** 32 + 5, recordType: 1, tenantId: 2n ** 64n - 1n, vshardId: 0xffffffff, databaseId: 0n, payload: 'secret' },
    { lsn: 2 ** 32 + 6, recordType: 2, tenantId: 3n, vshardId: 4, databaseId: 5n, payload: 'hi' },
  ]);
  assert.equal(wal.replayFrom(2 ** 32 + 6).map((r) => dec(r.payload)), ['hi'], 'from inside the block');
  wal.close();
  wal = SegmentedWal.open({ dir: '/v', fs });
  const e = (() => { try { wal.replay(); } catch (err) { return err; } })();
  assert.ok(e instanceof WalError && e.code === 'UNKNOWN_KEY' && e.offset === 64, `${e?.code}`);
  wal.close();
});

test('FORMAT.md §S9 quotes H3 and B1', () => {
  const doc = nodefs.readFileSync(new URL('../../docs/FORMAT.md', import.meta.url), 'utf8');
  const blocks = [...doc.matchAll(/```\n([0-9a-f \n]+)```/g)].map((m) => m[1].replace(/[\s]/g, ''));
  for (const [name, v] of [['H3', V.H3], ['B1', V.B1]]) assert.ok(blocks.includes(v), `${name} is quoted as a code block`);
});

test.run();
