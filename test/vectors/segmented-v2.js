// How the golden SegmentedWal directory of segment format 2 (sealed blocks,
// docs/FORMAT.md §S9) in segmented-v2.hex is built, from the core's own
// encoders with fixed salts, the fixed test key of v1 and fixed nonces.
// scripts/make-vectors.mjs writes it; test/vectors/vectors.test.js checks the
// committed bytes still equal these; test/compat/segmented-v2.test.js opens
// them with the public API.
import { createCipheriv } from 'node:crypto';
import { SEG_TEST_KEY, SEG_TEST_KEY_ID, segmentName } from './segmented.js';

/** The fixed nonce prefix of the v2 blocks (two u32s); counters 0, 1, 2 across the directory (one key: a nonce is never reused). */
export const SEG2_NONCE_PREFIX = [0x5eed0301, 0x5eed0302];

const rec = (lsn, recordType, tenantId, vshardId, databaseId, payload) => ({ lsn, recordType, tenantId: BigInt(tenantId), vshardId, databaseId: BigInt(databaseId), payload });

/**
 * Two format-2 segments: a sealed one of two blocks (3 records, then 1) and
 * the active one with one block of 2 records, synced after it (a sync
 * marker). Every record encrypted under the test key, id 7.
 */
export const SEGMENTS2 = [
  {
    salt: 0x5eed0201, first: 1, sealed: true,
    blocks: [
      [rec(1, 1, 1, 0, 1, 'alpha'), rec(2, 2, 1, 0, 1, ''), rec(3, 3, 2 ** 32 + 7, 0xffffffff, 2 ** 40 + 1, 'ids above 2^32')],
      [rec(4, 1, 2n ** 64n - 1n, 9, 2n ** 53n + 1n, 'secret: ids above 2^53')],
    ],
  },
  {
    salt: 0x5eed0202, first: 5, sealed: false,
    blocks: [[rec(5, 4, 3, 9, 3, 'five'), rec(6, 1, 5, 2, 6, 'six, the last')]],
  },
];

export const SEG2_RECORDS = SEGMENTS2.flatMap((s) => s.blocks.flat());
const halves = (v) => [Number(BigInt(v) & 0xffffffffn), Number(BigInt(v) >> 32n)];

function buildSegment2(core, seg, nonce) {
  const x = core.x;
  const c = core.c;
  const te = new TextEncoder();
  core.ensure(16384);
  const S = core.staging;
  const P = S + 8192; // plaintext staging
  let at = S + x.encodeSegmentHeader(S, seg.salt, seg.first, 0, 2, SEG_TEST_KEY_ID);
  const offsets = [];
  for (const block of seg.blocks) {
    let n = 0;
    for (const r of block) {
      const body = te.encode(r.payload);
      const [tLo, tHi] = halves(r.tenantId);
      const [dLo, dHi] = halves(r.databaseId);
      core.u8.set(body, P + n + 28);
      n += x.encodeInnerRecord(P + n, body.length, r.recordType, tLo, tHi, r.vshardId, dLo, dHi);
    }
    offsets.push(at - S);
    const mark = at - S; // every block was synced before the next was written
    const last = block.at(-1).lsn;
    const size = x.encodeBlockHeaders(at, n, block.length, seg.salt, last, 0, offsets.length === 1 ? 64 : mark, SEG2_NONCE_PREFIX[0], SEG2_NONCE_PREFIX[1], nonce.counter++);
    const cipher = createCipheriv('aes-256-gcm', SEG_TEST_KEY, core.u8.slice(at + 36, at + 48));
    cipher.setAAD(core.u8.slice(at + 8, at + 48));
    core.u8.set(cipher.update(core.u8.slice(P, P + n)), at + 48);
    cipher.final();
    core.u8.set(cipher.getAuthTag(), at + 48 + n);
    x.sealBlock(at);
    at += size;
  }
  if (!seg.sealed) at += x.encodeFrame(at, 0, c.TYPE_SYNC_MARK, seg.salt, 0, 0, at - S); // the marker close() leaves
  return { bytes: core.u8.slice(S, at), offsets };
}

/** The directory: [{ name, bytes, comments, offsets }] in name order. */
export function buildSegmented2(core) {
  const nonce = { counter: 0 };
  return SEGMENTS2.map((seg) => {
    const { bytes, offsets } = buildSegment2(core, seg, nonce);
    const last = seg.blocks.at(-1).at(-1).lsn;
    const what = `${seg.sealed ? 'sealed' : 'active'}, format 2 (sealed blocks) key id ${SEG_TEST_KEY_ID}, salt 0x${seg.salt.toString(16)}, LSNs ${seg.first}..${last}`;
    return { name: segmentName(seg.first), bytes, offsets, comments: [`${what}; blocks at ${offsets.join(', ')}; ${bytes.length} bytes`] };
  });
}
