// How the golden SegmentedWal directory in segmented-v1.hex is built, from the
// core's own encoders with fixed salts, a fixed test key and fixed nonces, so
// that every build gives the same bytes. scripts/make-vectors.mjs writes it;
// test/vectors/vectors.test.js checks the committed bytes still equal these;
// test/compat/segmented.test.js opens them with the public API.
import { createCipheriv } from 'node:crypto';

/** The documented test key of the encrypted segment (docs/FORMAT.md §8): id 7, bytes 00 01 .. 1f. */
export const SEG_TEST_KEY_ID = 7;
export const SEG_TEST_KEY = Uint8Array.from({ length: 32 }, (_, i) => i);
/** The fixed nonce prefix of the encrypted segment (two u32s); counters 0, 1, ... */
export const SEG_NONCE_PREFIX = [0x5eed0201, 0x5eed0202];

const U64_MAX = 2n ** 64n - 1n;
const rec = (lsn, recordType, tenantId, vshardId, databaseId, payload) => ({ lsn, recordType, tenantId: BigInt(tenantId), vshardId, databaseId: BigInt(databaseId), payload });

/**
 * The segments, oldest first. `syncAfter`: LSNs after which the active
 * segment was synced (a sync marker, which the next record overwrites); the
 * active segment ends with the marker close() leaves. Sealed segments end with
 * their last record, as a roll leaves them; every mark is the durable offset
 * when the record was framed.
 */
export const SEGMENTS = [
  {
    salt: 0x5eed0101, first: 1, encrypted: false, sealed: true,
    records: [
      rec(1, 1, 1, 0, 1, 'alpha'),
      rec(2, 2, 1, 0, 1, ''), // empty payload: a record is its sub-header alone
      rec(3, 3, 2 ** 32 + 7, 0xffffffff, 2 ** 40 + 1, 'ids above 2^32'),
    ],
  },
  {
    salt: 0x5eed0102, first: 4, encrypted: true, sealed: true,
    records: [
      rec(4, 1, U64_MAX, 9, 2n ** 53n + 1n, 'secret: ids above 2^53'),
      rec(5, 4, 3, 9, 3, ''),
    ],
  },
  {
    salt: 0x5eed0103, first: 6, encrypted: false, sealed: false, syncAfter: [6],
    records: [
      rec(6, 1, 5, 2, 6, 'six'),
      rec(7, 1, 5, 2, 6, 'seven, after a sync'),
    ],
  },
];

/** Every record of the vector, in LSN order. */
export const SEG_RECORDS = SEGMENTS.flatMap((s) => s.records);

export const segmentName = (first) => `wal-${String(first).padStart(20, '0')}.seg`;
const halves = (v) => [Number(BigInt(v) & 0xffffffffn), Number(BigInt(v) >> 32n)];

/** One segment's bytes; also returns each record's frame offset. */
function buildSegment(core, seg) {
  const x = core.x;
  const c = core.c;
  const te = new TextEncoder();
  core.ensure(8192);
  const S = core.staging;
  let at = S;
  at += x.encodeSegmentHeader(at, seg.salt, seg.first, 0, seg.encrypted ? 1 : 0, seg.encrypted ? SEG_TEST_KEY_ID : 0);
  let mark = 64; // the header was durable when the segment was created
  let counter = 0;
  const offsets = [];
  const syncMarker = () => {
    const off = at - S;
    at += x.encodeFrame(at, 0, c.TYPE_SYNC_MARK, seg.salt, 0, 0, off);
    return off;
  };
  for (const r of seg.records) {
    offsets.push(at - S);
    const body = te.encode(r.payload);
    const [tLo, tHi] = halves(r.tenantId);
    const [dLo, dHi] = halves(r.databaseId);
    if (!seg.encrypted) {
      core.u8.set(body, at + 64);
      at += x.encodeRecord(at, body.length, r.recordType, tLo, tHi, r.vshardId, dLo, dHi, seg.salt, r.lsn, 0, mark);
    } else {
      const n = x.encodeEncryptedHeaders(at, body.length + 16, r.recordType, tLo, tHi, r.vshardId, dLo, dHi, SEG_TEST_KEY_ID,
        SEG_NONCE_PREFIX[0], SEG_NONCE_PREFIX[1], counter++, seg.salt, r.lsn, 0, mark);
      const bodyAt = at + x.encryptedBodyOffset();
      const cipher = createCipheriv('aes-256-gcm', SEG_TEST_KEY, core.u8.slice(at + 64, at + 76));
      cipher.setAAD(core.u8.slice(at + 8, bodyAt));
      const ct = cipher.update(body);
      cipher.final();
      core.u8.set(ct, bodyAt);
      core.u8.set(cipher.getAuthTag(), bodyAt + body.length);
      x.sealRecord(at);
      at += n;
    }
    if (seg.syncAfter?.includes(r.lsn)) {
      // flush(): the batch is fsynced, then a marker is written after it; the next record goes over it.
      mark = syncMarker();
      at = S + mark;
    }
  }
  if (!seg.sealed) syncMarker(); // close(): the marker after the last record
  return { bytes: core.u8.slice(S, at), offsets };
}

/** The directory: [{ name, bytes, comments, offsets }] in name order. */
export function buildSegmented(core) {
  return SEGMENTS.map((seg) => {
    const { bytes, offsets } = buildSegment(core, seg);
    const last = seg.records.at(-1).lsn;
    const what = `${seg.sealed ? 'sealed' : 'active'}, ${seg.encrypted ? `AES-256-GCM key id ${SEG_TEST_KEY_ID}` : 'plain'}, salt 0x${seg.salt.toString(16)}, LSNs ${seg.first}..${last}`;
    return { name: segmentName(seg.first), bytes, offsets, comments: [`${what}; records at ${offsets.join(', ')}; ${bytes.length} bytes`] };
  });
}
