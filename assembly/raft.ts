// WalLog (Raft log storage) bytes, docs/FORMAT.md §11: the entry sub-header,
// the 32-byte control payload (truncate, hard state, snapshot mark, footer
// locator) and the op records of a sealed segment's index footer. Numeric
// ABI: u64 values travel as f64 below 2^53 (a stored value at or above 2^53
// is refused with ERR_BAD_RECORD); the host keeps them as JS numbers.

import {
  D_OFFSET, D_TYPE, DESC_SIZE, ERR_ARGUMENT, ERR_BAD_RECORD, F_FLAGS, F_LEN, RAFT_FLAG_MORE, F_SEQ, F_TYPE, FRAME_HEADER_SIZE, OK,
  TYPE_RAFT_ENTRY, TYPE_RAFT_FOOTER, TYPE_RAFT_HARD_STATE, TYPE_RAFT_LOCATOR, TYPE_RAFT_SNAPSHOT, TYPE_RAFT_TRUNCATE, TYPE_SYNC_MARK,
} from "./constants";
import { encodeFrame } from "./frame";

// ---- §11.3 Entry sub-header (start of a TYPE_RAFT_ENTRY frame's payload)
export const RAFT_ENTRY_HEADER_SIZE: u32 = 16;
export const RE_TERM: u32 = 0; // u64 term
export const RE_TYPE: u32 = 8; // u8 entry type (the application's)
// bytes 9..16 reserved, zero

// ---- §11.4 Control payload (truncate, hard state, snapshot mark, locator)
export const RAFT_CONTROL_SIZE: u32 = 32;
export const RC_A: u32 = 0; // u64
export const RC_B: u32 = 8; // u64
export const RC_C: u32 = 16; // u64
export const RC_FLAGS: u32 = 24; // u32
// bytes 28..32 reserved, zero
/** Hard state flags: a vote is present (b is its node id). */
export const RAFT_HS_VOTE: u32 = 1;
/** Snapshot mark flags: a compaction without snapshot data (WalLog.compact); no snapshot file covers it. */
export const RAFT_SNAP_COMPACT: u32 = 1;
/** Locator flags: the segment's ops are entries and hard states only; c is the number of entries (open need not read the footer). */
export const RAFT_LOC_ENTRIES: u32 = 1;

// ---- §11.5 Op records (index footer): 32 bytes each
export const RAFT_OP_SIZE: u32 = 32;
export const RO_OP: u32 = 0; // u8 op (RAFT_OP_*)
export const RO_FLAGS: u32 = 1; // u8 flags (hard state: RAFT_HS_VOTE; entry: the entry type)
// bytes 2..4 reserved, zero
export const RO_OFFSET: u32 = 4; // u32 frame offset in the segment
export const RO_A: u32 = 8; // u64
export const RO_B: u32 = 16; // u64
export const RO_C: u32 = 24; // u64
export const RAFT_OP_ENTRY: u32 = 1; // a = index, b = term
export const RAFT_OP_TRUNCATE: u32 = 2; // a = from
export const RAFT_OP_HARD_STATE: u32 = 3; // a = term, b = vote, c = commit
export const RAFT_OP_SNAPSHOT: u32 = 4; // a = index, b = term
/** Unpacked op: 5 f64 per op in memory: [op | flags << 8, offset, a, b, c]. */
export const RAFT_OP_F64S: u32 = 5;

const MAX_SAFE: u64 = 0x1fffffffffffff;

// ---- outputs of decodeRaftFrame
export let raftType: u32 = 0;
export let raftA: f64 = 0;
export let raftB: f64 = 0;
export let raftC: f64 = 0;
export let raftFlags: u32 = 0;
/** Entry body: offset from the frame start, and length. */
export let raftBody: u32 = 0;
export let raftBodyLen: u32 = 0;
/** The frame carries RAFT_FLAG_MORE: more frames of the same write follow it. */
export let raftMore: u32 = 0;

/**
 * Encode an entry frame at ptr; the host has copied the body to
 * ptr + 32 + 16. Returns the frame size.
 */
export function encodeRaftEntry(ptr: usize, bodyLen: u32, salt: u32, index: f64, term: f64, etype: u32, more: u32, mark: f64): u32 {
  const p = ptr + FRAME_HEADER_SIZE;
  store<u64>(p + RE_TERM, <u64>term);
  store<u64>(p + RE_TYPE, <u64>(etype & 0xff)); // type byte and 7 reserved zeros
  const idx = <u64>index;
  return encodeFrame(ptr, RAFT_ENTRY_HEADER_SIZE + bodyLen, TYPE_RAFT_ENTRY | (more ? RAFT_FLAG_MORE << 8 : 0), salt, <u32>idx, <u32>(idx >> 32), mark);
}

/** Encode a control frame (type 0x90..0x94) with the 32-byte payload (a, b, c, flags). Returns the frame size. */
export function encodeRaftControl(ptr: usize, type: u32, salt: u32, a: f64, b: f64, c: f64, flags: u32, more: u32, mark: f64): u32 {
  const p = ptr + FRAME_HEADER_SIZE;
  store<u64>(p + RC_A, <u64>a);
  store<u64>(p + RC_B, <u64>b);
  store<u64>(p + RC_C, <u64>c);
  store<u32>(p + RC_FLAGS, flags);
  store<u32>(p + RC_FLAGS + 4, 0);
  return encodeFrame(ptr, RAFT_CONTROL_SIZE, type | (more ? RAFT_FLAG_MORE << 8 : 0), salt, 0, 0, mark);
}

function safe(v: u64): bool {
  return v <= MAX_SAFE;
}

/**
 * Decode a frame already validated by scanFrames (CRC checked) at ptr:
 * an entry (outputs raftA = index, raftB = term, raftFlags = entry type,
 * raftBody/raftBodyLen) or a control frame (raftA..C, raftFlags). Returns OK,
 * or ERR_BAD_RECORD for a frame that breaks a rule of §11 (wrong length,
 * non-zero reserved bytes, unknown flags, a value at or above 2^53), or
 * ERR_ARGUMENT for a type this function does not decode.
 */
export function decodeRaftFrame(ptr: usize): i32 {
  const type = <u32>load<u8>(ptr + F_TYPE);
  const len = load<u32>(ptr + F_LEN);
  const p = ptr + FRAME_HEADER_SIZE;
  raftType = type;
  const fflags = <u32>load<u8>(ptr + F_FLAGS);
  if ((fflags & ~RAFT_FLAG_MORE) != 0) return ERR_BAD_RECORD;
  raftMore = fflags;
  if (type == TYPE_RAFT_ENTRY) {
    if (len < RAFT_ENTRY_HEADER_SIZE) return ERR_BAD_RECORD;
    const seq = load<u64>(ptr + F_SEQ);
    const term = load<u64>(p + RE_TERM);
    const rest = load<u64>(p + RE_TYPE) >> 8;
    if (rest != 0 || seq == 0 || !safe(seq) || !safe(term)) return ERR_BAD_RECORD;
    raftA = <f64>seq;
    raftB = <f64>term;
    raftC = 0;
    raftFlags = <u32>load<u8>(p + RE_TYPE);
    raftBody = FRAME_HEADER_SIZE + RAFT_ENTRY_HEADER_SIZE;
    raftBodyLen = len - RAFT_ENTRY_HEADER_SIZE;
    return OK;
  }
  // The footer (0x93) is read with decodeRaftOps; any other type is not a Raft frame.
  if (type != TYPE_RAFT_TRUNCATE && type != TYPE_RAFT_HARD_STATE && type != TYPE_RAFT_SNAPSHOT && type != TYPE_RAFT_LOCATOR) return ERR_ARGUMENT;
  if (type == TYPE_RAFT_LOCATOR && fflags != 0) return ERR_BAD_RECORD;
  if (len != RAFT_CONTROL_SIZE || load<u64>(ptr + F_SEQ) != 0) return ERR_BAD_RECORD;
  const a = load<u64>(p + RC_A);
  const b = load<u64>(p + RC_B);
  const c = load<u64>(p + RC_C);
  const flags = load<u32>(p + RC_FLAGS);
  if (load<u32>(p + RC_FLAGS + 4) != 0 || !safe(a) || !safe(b) || !safe(c)) return ERR_BAD_RECORD;
  if (type == TYPE_RAFT_HARD_STATE) {
    if ((flags & ~RAFT_HS_VOTE) != 0) return ERR_BAD_RECORD;
    if ((flags & RAFT_HS_VOTE) == 0 && b != 0) return ERR_BAD_RECORD;
  } else {
    if (type == TYPE_RAFT_SNAPSHOT) {
      if ((flags & ~RAFT_SNAP_COMPACT) != 0) return ERR_BAD_RECORD;
    } else if (type == TYPE_RAFT_LOCATOR) {
      if ((flags & ~RAFT_LOC_ENTRIES) != 0) return ERR_BAD_RECORD;
    } else if (flags != 0) return ERR_BAD_RECORD;
    if (type == TYPE_RAFT_TRUNCATE && (a == 0 || b != 0 || c != 0)) return ERR_BAD_RECORD;
    if (type == TYPE_RAFT_SNAPSHOT && (c < a || a == 0)) return ERR_BAD_RECORD;
    if (type == TYPE_RAFT_LOCATOR && (flags & RAFT_LOC_ENTRIES) == 0 && c != 0) return ERR_BAD_RECORD;
    if (type == TYPE_RAFT_LOCATOR && c > b) return ERR_BAD_RECORD;
  }
  raftA = <f64>a;
  raftB = <f64>b;
  raftC = <f64>c;
  raftFlags = flags;
  raftBody = 0;
  raftBodyLen = 0;
  return OK;
}

/**
 * Pack `count` unpacked ops (RAFT_OP_F64S f64 each at src) into 32-byte op
 * records at dst. Returns OK or ERR_ARGUMENT (an unknown op).
 */
export function encodeRaftOps(src: usize, count: u32, dst: usize): i32 {
  for (let i: u32 = 0; i < count; i++) {
    const s = src + <usize>i * (RAFT_OP_F64S * 8);
    const d = dst + <usize>i * RAFT_OP_SIZE;
    const opf = <u32>load<f64>(s);
    const op = opf & 0xff;
    if (op < RAFT_OP_ENTRY || op > RAFT_OP_SNAPSHOT) return ERR_ARGUMENT;
    store<u8>(d + RO_OP, <u8>op);
    store<u8>(d + RO_FLAGS, <u8>((opf >>> 8) & 0xff));
    store<u16>(d + 2, 0);
    store<u32>(d + RO_OFFSET, <u32>load<f64>(s + 8));
    store<u64>(d + RO_A, <u64>load<f64>(s + 16));
    store<u64>(d + RO_B, <u64>load<f64>(s + 24));
    store<u64>(d + RO_C, <u64>load<f64>(s + 32));
  }
  return OK;
}

/** outBadIndex-like output of decodeRaftOps: the first op record that broke a rule. */
export let raftBadOp: u32 = 0;

/**
 * Unpack `count` op records at src into RAFT_OP_F64S f64 each at dst (dst
 * may not overlap src). Returns OK or ERR_BAD_RECORD (raftBadOp names the
 * record: unknown op, reserved bytes set, flags on an op without them, a
 * value at or above 2^53, an entry index 0).
 */
export function decodeRaftOps(src: usize, count: u32, dst: usize): i32 {
  for (let i: u32 = 0; i < count; i++) {
    const s = src + <usize>i * RAFT_OP_SIZE;
    const d = dst + <usize>i * (RAFT_OP_F64S * 8);
    const op = <u32>load<u8>(s + RO_OP);
    const flags = <u32>load<u8>(s + RO_FLAGS);
    const a = load<u64>(s + RO_A);
    const b = load<u64>(s + RO_B);
    const c = load<u64>(s + RO_C);
    let bad = op < RAFT_OP_ENTRY || op > RAFT_OP_SNAPSHOT || load<u16>(s + 2) != 0 || !safe(a) || !safe(b) || !safe(c);
    if (op == RAFT_OP_ENTRY) bad = bad || a == 0 || c != 0;
    else if (op == RAFT_OP_HARD_STATE) bad = bad || (flags & ~RAFT_HS_VOTE) != 0;
    else if (op == RAFT_OP_SNAPSHOT) bad = bad || (flags & ~RAFT_SNAP_COMPACT) != 0;
    else bad = bad || flags != 0;
    if (bad) { raftBadOp = i; return ERR_BAD_RECORD; }
    store<f64>(d, <f64>(op | (flags << 8)));
    store<f64>(d + 8, <f64>load<u32>(s + RO_OFFSET));
    store<f64>(d + 16, <f64>a);
    store<f64>(d + 24, <f64>b);
    store<f64>(d + 32, <f64>c);
  }
  return OK;
}

// ---- Batch decoding of scanned frames (WalLog's segment scans: open, verify)

/** Numbers written per frame by decodeRaftDescs: [op | flags << 8 (0: not a Raft op), offset rel, a, b, c, more]. */
export const RAFT_DESC_F64S: u32 = 6;
/** Frames decodeRaftDescs decodes per call (its output area's capacity). */
export const RAFT_DESC_BATCH: u32 = 256;
const RAFT_DESC_OUT: usize = memory.data(<i32>(RAFT_DESC_BATCH * RAFT_DESC_F64S * 8), 16);

/** Where decodeRaftDescs writes (RAFT_DESC_BATCH frames of RAFT_DESC_F64S f64). */
export function raftDescOutPtr(): usize {
  return RAFT_DESC_OUT;
}

/**
 * Decode the Raft frames that scanFrames described (`count` descriptors at
 * `desc`, at most RAFT_DESC_BATCH, frames relative to `base`), RAFT_DESC_F64S f64 each at
 * raftDescOutPtr(): sync markers, footers and locators get op 0; any other
 * frame is decoded as decodeRaftFrame does. Returns OK, or ERR_BAD_RECORD /
 * ERR_ARGUMENT with raftBadOp = the index of the descriptor that failed.
 */
export function decodeRaftDescs(base: usize, desc: usize, count: u32): i32 {
  if (count > RAFT_DESC_BATCH) return ERR_ARGUMENT;
  for (let k: u32 = 0; k < count; k++) {
    const d = desc + <usize>k * DESC_SIZE;
    const rel = load<u32>(d + D_OFFSET);
    const type = load<u32>(d + D_TYPE) & 0xff;
    const o = RAFT_DESC_OUT + <usize>k * (RAFT_DESC_F64S * 8);
    store<f64>(o + 8, <f64>rel);
    if (type == TYPE_SYNC_MARK || type == TYPE_RAFT_FOOTER || type == TYPE_RAFT_LOCATOR) {
      store<f64>(o, 0);
      continue;
    }
    const st = decodeRaftFrame(base + <usize>rel);
    if (st != OK) { raftBadOp = k; return st; }
    const op = type == TYPE_RAFT_ENTRY ? RAFT_OP_ENTRY : type == TYPE_RAFT_TRUNCATE ? RAFT_OP_TRUNCATE : type == TYPE_RAFT_HARD_STATE ? RAFT_OP_HARD_STATE : RAFT_OP_SNAPSHOT;
    store<f64>(o, <f64>(op | (raftFlags << 8)));
    store<f64>(o + 16, raftA);
    store<f64>(o + 24, raftB);
    store<f64>(o + 32, raftC);
    store<f64>(o + 40, <f64>raftMore);
  }
  return OK;
}
