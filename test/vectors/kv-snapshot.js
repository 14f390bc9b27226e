// How the golden AppendLogSnapshot file in kv-snapshot-v1.hex is built, from
// the core's own encoders with a fixed salt: three batches appended the way
// apply() writes them, a sync after each, then a clean close (sync marker).
// Batch 2 deletes a key of batch 1 and puts a non-ASCII key with a 10-byte
// versionstamp; batch 3 is a group of two frames (KV_FLAG_MORE on the first),
// as apply() writes a batch larger than a frame. Every frame's watermark is
// the end of the previous batch (synced before it was written); the marker's
// is its own offset. scripts/make-vectors.mjs writes it;
// test/vectors/vectors.test.js checks the committed bytes;
// test/compat/kv-snapshot.test.js opens them and does byte surgery.
export const KV_SALT = 0x5eed0601;
export const KV_FILE = 'golden.kv';

const te = new TextEncoder();
const rev = (n) => { const b = new Uint8Array(8); new DataView(b.buffer).setBigUint64(0, BigInt(n), false); return b; };
/** A FoundationDB versionstamp: 8-byte commit version, 2-byte batch order. */
export const KV_VERSIONSTAMP = Uint8Array.of(0x00, 0x00, 0x01, 0x7f, 0x4e, 0x3a, 0x9c, 0x10, 0x00, 0x2a);

/** Batches as written: each a list of frames, each frame a list of ops; the last frame carries the cursor. */
export const KV_BATCHES = [
  { cursor: 1, frames: [[['put', 'app/a', 'apple', rev(1)], ['put', 'app/b', '', rev(1)]]] },
  { cursor: 2, frames: [[['delete', 'app/b', '', rev(2)], ['put', 'ключ', 'значение', KV_VERSIONSTAMP]]] },
  { cursor: 3, frames: [[['put', 'app/c', 'cat', rev(3)]], [['put', 'app/a', 'avocado', rev(3)]]] },
];

/** The fold the file opens to (key order = UTF-8 byte order), and its cursor revision. */
export const KV_LIVE = [['app/a', 'avocado', rev(3)], ['app/c', 'cat', rev(3)], ['ключ', 'значение', KV_VERSIONSTAMP]];
export const KV_CURSOR = 3;

/**
 * Offsets fixed by the builder (checked by vectors.test.js): every frame's
 * start, batch by batch, the sync marker's, and the file size.
 */
export const KV_FRAME_OFFSETS = [[64], [167], [286, 354]];
export const KV_MARKER = 434;
export const KV_SIZE = 466;

export function buildKv(core) {
  const c = core.c;
  const x = core.x;
  core.ensure(4096);
  const S = core.staging;
  let at = S + x.encodeFileHeader(S, c.KIND_KV_SNAPSHOT, KV_SALT, 0, 0, 0);
  let seq = 0;
  let durable = c.FILE_HEADER_SIZE; // the header was synced when the file was created
  for (const { cursor, frames } of KV_BATCHES) {
    for (const [i, ops] of frames.entries()) {
      const last = i === frames.length - 1;
      const cur = last ? rev(cursor) : new Uint8Array(0);
      let q = at + c.FRAME_HEADER_SIZE;
      q += x.encodeKvBatchHeader(q, ops.length, cur.length);
      core.u8.set(cur, q);
      q += cur.length;
      for (const [kind, key, value, version] of ops) {
        const k = te.encode(key);
        const v = te.encode(value);
        const n = x.encodeKvOp(q, kind === 'put' ? c.KV_OP_PUT : c.KV_OP_DELETE, k.length, version.length, v.length);
        core.u8.set(k, q + c.KV_OP_HEADER_SIZE);
        core.u8.set(version, q + c.KV_OP_HEADER_SIZE + k.length);
        core.u8.set(v, q + c.KV_OP_HEADER_SIZE + k.length + version.length);
        q += n;
      }
      const flags = last ? 0 : c.KV_FLAG_MORE << 8;
      at += x.encodeFrame(at, q - at - c.FRAME_HEADER_SIZE, c.TYPE_KV_BATCH | flags, KV_SALT, ++seq, 0, durable);
    }
    durable = at - S; // sync() after the batch
  }
  at += x.encodeFrame(at, 0, c.TYPE_SYNC_MARK, KV_SALT, 0, 0, durable); // close(): the marker after the synced data
  const bytes = core.u8.slice(S, at);
  return [{
    name: KV_FILE,
    bytes,
    comments: [`salt 0x${KV_SALT.toString(16)}, generation 0; batch 1 @64 (cursor 1), batch 2 @167 (cursor 2), batch 3 @286 (KV_FLAG_MORE) + @354 (cursor 3); sync marker @${KV_MARKER}; ${bytes.length} bytes`],
  }];
}
