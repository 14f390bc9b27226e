// How the golden WalLog directory in raft-v1.hex is built, from the core's own
// encoders with fixed salts (docs/FORMAT.md §11):
//
//   raft-00000000000000000001.seg  sealed: header (base 0), hard state {0, -, 0};
//     write A: hard state {1, vote 1, 0} + entries 1 "a", 2 "bb" (term 1);
//     write B: truncate from 2 + entry 2 "B" (term 2, type 5);
//     index footer (6 ops) + locator.
//   raft-00000000000000000002.seg  active: header (base 2, term 2), hard state {1, 1, 0};
//     write C: snapshot mark (index 1, term 1, last index after 2);
//     write D: hard state {2, vote 1, commit 2} + entries 3 "ccc", 4 "dddd" (term 2);
//     sync marker.
//   snapshot.snap                  index 1, term 1, data "state@1".
//
// Every frame's watermark is the offset where its write starts (everything
// before a write was synced). Opened, it is: snapshot (1, 1, "state@1"),
// entries 2 (term 2, type 5, "B"), 3 "ccc", 4 "dddd", hard state
// { term 2, vote 1, commit 2 }.
// scripts/make-vectors.mjs writes it; test/vectors/vectors.test.js checks the
// committed bytes; test/compat/raft.test.js and test/format/raft.test.js open them.
export const RAFT_SALTS = [0x5eed0401, 0x5eed0402];
export const RAFT_SNAP_SALT = 0x5eed0403;
export const RAFT_SEG1 = 'raft-00000000000000000001.seg';
export const RAFT_SEG2 = 'raft-00000000000000000002.seg';
export const RAFT_SNAP = 'snapshot.snap';

/** What the directory holds when opened. */
export const RAFT_EXPECTED = {
  snapshot: { index: 1, term: 1, data: 'state@1' },
  entries: [
    { index: 2, term: 2, type: 5, payload: 'B' },
    { index: 3, term: 2, type: 0, payload: 'ccc' },
    { index: 4, term: 2, type: 0, payload: 'dddd' },
  ],
  hardState: { term: 2, vote: 1, commit: 2 },
};

/** File offsets of frames the tests poke at, filled by buildRaft(). */
export const RAFT_OFFSETS = {};

const te = new TextEncoder();

/** A frame writer over core staging for one file. */
function fileWriter(core, salt) {
  const c = core.c;
  const x = core.x;
  const S = core.staging;
  let end = c.FILE_HEADER_SIZE;
  let mark = c.FILE_HEADER_SIZE;
  const ops = [];
  return {
    get end() { return end; },
    beginWrite() { mark = end; },
    entry(index, term, text, type = 0, more = false) {
      const p = te.encode(text);
      core.u8.set(p, S + end + c.FRAME_HEADER_SIZE + c.RAFT_ENTRY_HEADER_SIZE);
      ops.push([c.RAFT_OP_ENTRY | (type << 8), end, index, term, 0]);
      const at = end;
      end += x.encodeRaftEntry(S + end, p.length, salt, index, term, type, more ? 1 : 0, mark);
      return at;
    },
    control(type, op, a, b, cc, flags, more = false) {
      ops.push([op | (flags << 8), end, a, b, cc]);
      const at = end;
      end += x.encodeRaftControl(S + end, type, salt, a, b, cc, flags, more ? 1 : 0, mark);
      return at;
    },
    /** Index footer + locator (a sealed segment's end). */
    seal() {
      const n = ops.length;
      const len = n * c.RAFT_OP_SIZE;
      const src = (S + end + c.FRAME_HEADER_SIZE + len + 64 + 7) & ~7;
      core.ensure(src - S + n * 40);
      new Float64Array(core.u8.buffer, src, n * 5).set(ops.flat());
      if (x.encodeRaftOps(src, n, S + end + c.FRAME_HEADER_SIZE) !== c.OK) throw new Error('encodeRaftOps failed');
      const footerAt = end;
      end += x.encodeFrame(S + end, len, c.TYPE_RAFT_FOOTER, salt, 0, 0, mark);
      const locAt = end;
      end += x.encodeRaftControl(S + end, c.TYPE_RAFT_LOCATOR, salt, footerAt, n, 0, 0, 0, mark);
      return { footerAt, locAt, ops: n };
    },
    marker() {
      const at = end;
      end += x.encodeFrame(S + end, 0, c.TYPE_SYNC_MARK, salt, 0, 0, end);
      return at;
    },
    bytes() { return core.u8.slice(S, S + end); },
  };
}

export function buildRaft(core) {
  const c = core.c;
  const x = core.x;
  core.ensure(1 << 16);
  const S = core.staging;
  const HS = c.TYPE_RAFT_HARD_STATE;
  const OHS = c.RAFT_OP_HARD_STATE;
  const VOTE = c.RAFT_HS_VOTE;

  core.u8.fill(0, S, S + (1 << 16));
  x.encodeFileHeader(S, c.KIND_RAFT_SEGMENT, RAFT_SALTS[0], 1, 0, 0);
  const w1 = fileWriter(core, RAFT_SALTS[0]);
  w1.control(HS, OHS, 0, 0, 0, 0);
  w1.beginWrite();
  w1.control(HS, OHS, 1, 1, 0, VOTE, true);
  RAFT_OFFSETS.entry1 = w1.entry(1, 1, 'a', 0, true);
  RAFT_OFFSETS.oldEntry2 = w1.entry(2, 1, 'bb');
  w1.beginWrite();
  RAFT_OFFSETS.truncate = w1.control(c.TYPE_RAFT_TRUNCATE, c.RAFT_OP_TRUNCATE, 2, 0, 0, 0, true);
  RAFT_OFFSETS.entry2 = w1.entry(2, 2, 'B', 5);
  const sealed = w1.seal();
  RAFT_OFFSETS.footer = sealed.footerAt;
  RAFT_OFFSETS.locator = sealed.locAt;
  const seg1 = w1.bytes();

  core.u8.fill(0, S, S + (1 << 16));
  x.encodeFileHeader(S, c.KIND_RAFT_SEGMENT, RAFT_SALTS[1], 2, 2, 2);
  const w2 = fileWriter(core, RAFT_SALTS[1]);
  w2.control(HS, OHS, 1, 1, 0, VOTE);
  w2.beginWrite();
  RAFT_OFFSETS.mark = w2.control(c.TYPE_RAFT_SNAPSHOT, c.RAFT_OP_SNAPSHOT, 1, 1, 2, 0);
  w2.beginWrite();
  RAFT_OFFSETS.writeD = w2.end;
  w2.control(HS, OHS, 2, 1, 2, VOTE, true);
  RAFT_OFFSETS.entry3 = w2.entry(3, 2, 'ccc', 0, true);
  RAFT_OFFSETS.entry4 = w2.entry(4, 2, 'dddd');
  RAFT_OFFSETS.marker = w2.marker();
  const seg2 = w2.bytes();

  core.u8.fill(0, S, S + 256);
  const H = c.FILE_HEADER_SIZE;
  x.encodeFileHeader(S, c.KIND_RAFT_SNAPSHOT, RAFT_SNAP_SALT, 1, 1, 0);
  const data = te.encode('state@1');
  core.u8.set(data, S + H + c.FRAME_HEADER_SIZE);
  const n = x.encodeFrame(S + H, data.length, c.TYPE_RAFT_SNAPSHOT_DATA, RAFT_SNAP_SALT, 1, 0, H);
  const snap = core.u8.slice(S, S + H + n);

  const o = RAFT_OFFSETS;
  return [
    { name: RAFT_SEG1, bytes: seg1, comments: [`sealed, salt 0x${RAFT_SALTS[0].toString(16)}, base 0: hard state @64; write A @128 (hard state, entries 1, 2 @${o.entry1}, @${o.oldEntry2}); write B: truncate 2 @${o.truncate}, entry 2 term 2 type 5 @${o.entry2}; footer @${o.footer} (${sealed.ops} ops); locator @${o.locator}; ${seg1.length} bytes`] },
    { name: RAFT_SEG2, bytes: seg2, comments: [`active, salt 0x${RAFT_SALTS[1].toString(16)}, base 2 term 2: hard state @64; snapshot mark @${o.mark}; write D @${o.writeD} (hard state {2, 1, 2}, entries 3 @${o.entry3}, 4 @${o.entry4}); sync marker @${o.marker}; ${seg2.length} bytes`] },
    { name: RAFT_SNAP, bytes: snap, comments: [`salt 0x${RAFT_SNAP_SALT.toString(16)}, index 1, term 1, data "state@1"; ${snap.length} bytes`] },
  ];
}
