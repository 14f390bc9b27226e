/**
 * Reading a ring's slots in large chunks straight into the core's staging
 * region: the recovery scan (runs of consecutive sequences, see
 * assembly/ring.ts ringScanRuns) and the record reader used by replay and
 * by recovery's report of discarded records. Payload bytes are copied out
 * before the next chunk is read, so callers own every array they receive
 * (the payloads of one chunk are views of one ArrayBuffer holding just them).
 */
import { WalError, ioError, type FrameFailure } from '../../errors.js';
import type { FileHandle } from '../../fs/types.js';
import { FAILURE_CLASSES, type FailureEvidence, type RingCore, type RingHeader } from './ring-file.js';

/** Bytes read per chunk. */
const CHUNK_BYTES = 4 << 20;

/** One record of the ring. Arrays are copies the caller owns. */
export interface RingRecord {
  /** Its sequence number: 1 for the first record ever appended, then +1 per append. */
  sequence: number;
  payload: Uint8Array;
  /** Failure evidence when it was appended with appendWithFailure(), else undefined. */
  evidence: FailureEvidence | undefined;
}

/** A maximal run of valid slots holding consecutive sequences. */
export interface Run {
  /** Slot index of its first record. */
  index: number;
  /** Number of records (slots). */
  len: number;
  /** Sequence of its first record. */
  seq: number;
  /** Largest durable mark among its records. */
  mark: number;
}

export function slotOffset(rc: RingCore, g: RingHeader, index: number): number {
  return rc.k.RING_DATA_OFFSET + index * g.slotSize;
}

/** Slots per chunk for this geometry (at least one). */
export function chunkSlots(rc: RingCore, g: RingHeader): number {
  return Math.max(1, Math.min(rc.core.c.DESC_CAPACITY, Math.floor(CHUNK_BYTES / g.slotSize)));
}

function readInto(rc: RingCore, h: FileHandle, path: string, offset: number, bytes: number): void {
  const core = rc.core;
  core.ensure(bytes);
  let got: number;
  try {
    got = h.read(core.u8.subarray(core.staging, core.staging + bytes), offset);
  } catch (e) {
    throw ioError('read', path, e);
  }
  if (got < bytes) throw new WalError('CORRUPTED', `${path}: the ring file is shorter than its geometry (read ${got} of ${bytes} bytes at ${offset})`, { path, offset: offset + got, reason: 'incomplete-payload' });
}

/** Name a slot status for an error: a core failure reason, 'bad-magic' for an empty slot, 'sequence-order' for a misplaced record. */
export function slotReason(rc: RingCore, status: number): FrameFailure {
  if (status === rc.k.RING_EMPTY) return 'bad-magic';
  return rc.core.failure(status);
}

/**
 * Scan every slot and return the runs, joined across chunks and across the
 * wrap from the last slot to slot 0. A slot that is intact but impossible
 * (content walcore never writes) is CORRUPTED at once. Also returns the
 * ranges of junk slots (torn, foreign or damaged) and counts empty ones.
 */
export function scanRuns(rc: RingCore, h: FileHandle, path: string, g: RingHeader): { runs: Run[]; junkRanges: Array<[number, number]>; empty: number; junk: number } {
  const { core, r, k } = rc;
  const c = core.c;
  const runs: Run[] = [];
  const junkRanges: Array<[number, number]> = [];
  let empty = 0;
  let junk = 0;
  const per = Math.max(1, Math.floor(CHUNK_BYTES / g.slotSize));
  for (let base = 0; base < g.capacity; base += per) {
    const n = Math.min(per, g.capacity - base);
    readInto(rc, h, path, slotOffset(rc, g, base), n * g.slotSize);
    let done = 0;
    while (done < n) {
      const st = r.ringScanRuns(core.staging + done * g.slotSize, n - done, g.slotSize, base + done, g.capacity, g.salt);
      const count = core.out('ringCount');
      const dv = core.dv;
      for (let i = 0; i < count; i++) {
        const d = core.desc + i * c.DESC_SIZE;
        const index = dv.getUint32(d + c.D_OFFSET, true);
        const len = dv.getUint32(d + c.D_LEN, true);
        if (dv.getUint32(d + c.D_TYPE, true) === k.RING_RUN_JUNK) {
          const last = junkRanges[junkRanges.length - 1];
          if (last !== undefined && last[0] + last[1] === index) last[1] += len;
          else junkRanges.push([index, len]);
          continue;
        }
        const hi = dv.getUint32(d + c.D_SEQ_HI, true);
        if (hi >= 0x200000) throw new WalError('SEQUENCE_OUT_OF_RANGE', `${path}: slot ${index} holds a sequence above 2^53-1`, { path, offset: slotOffset(rc, g, index) });
        const seq = hi * 2 ** 32 + dv.getUint32(d + c.D_SEQ_LO, true);
        const mark = dv.getFloat64(d + c.D_MARK, true);
        const prev = runs[runs.length - 1];
        if (prev !== undefined && prev.index + prev.len === index && prev.seq + prev.len === seq) {
          prev.len += len;
          if (mark > prev.mark) prev.mark = mark;
        } else {
          runs.push({ index, len, seq, mark });
        }
      }
      empty += core.out('ringEmpty');
      junk += core.out('ringJunk');
      const end = core.out('ringEnd');
      if (st === c.OK || st === c.MORE) { done += end; continue; }
      const index = base + done + end;
      const reason = core.failure(st);
      throw new WalError('CORRUPTED', `${path}: slot ${index} is intact but holds content walcore never writes (${reason})`, { path, offset: slotOffset(rc, g, index), reason });
    }
  }
  // Join the run that ends at the last slot with the one that starts at slot 0.
  if (runs.length >= 2) {
    const head = runs[0]!;
    const tail = runs[runs.length - 1]!;
    if (head.index === 0 && tail.index + tail.len === g.capacity && tail.seq + tail.len === head.seq) {
      tail.len += head.len;
      tail.mark = Math.max(tail.mark, head.mark);
      runs.shift();
    }
  }
  return { runs, junkRanges, empty, junk };
}

/**
 * Read the records with sequences [seq, seq + count), which must sit in
 * their slots, calling `each` per record in order. `evidence` false skips
 * decoding evidence. A slot that does not hold its record is CORRUPTED.
 * Returns early (false) when `each` returns false.
 */
export function readRecords(rc: RingCore, h: FileHandle, path: string, g: RingHeader, seq: number, count: number,
  evidence: boolean, each: (rec: RingRecord) => boolean | void): boolean {
  const { core, r, k } = rc;
  const c = core.c;
  const per = chunkSlots(rc, g);
  let s = seq;
  const end = seq + count;
  while (s < end) {
    const index = (s - 1) % g.capacity;
    const n = Math.min(per, end - s, g.capacity - index);
    const slotBytes = n * g.slotSize;
    core.ensure(2 * slotBytes); // slots, then their payloads gathered after them
    readInto(rc, h, path, slotOffset(rc, g, index), slotBytes);
    const st = r.ringScanRecords(core.staging, n, g.slotSize, index, g.capacity, g.salt, s % 2 ** 32, Math.floor(s / 2 ** 32));
    const got = core.out('ringCount');
    // One copy out of core memory per chunk: payloads share its ArrayBuffer.
    const total = r.ringGather(core.staging, got, core.staging + slotBytes);
    const block = core.u8.slice(core.staging + slotBytes, core.staging + slotBytes + total);
    const dv = core.dv;
    for (let i = 0; i < got; i++) {
      const d = core.desc + i * c.DESC_SIZE;
      const at = dv.getUint32(d + c.D_OFFSET, true);
      const len = dv.getUint32(d + c.D_LEN, true);
      let ev: FailureEvidence | undefined;
      if (evidence) {
        const type = dv.getUint32(d + c.D_TYPE, true);
        const cls = type & 0xff;
        if (cls !== 0) {
          const dlen = (type >>> 8) & 0xff;
          ev = { failureClass: FAILURE_CLASSES[cls - 1]!, code: dv.getInt32(d + k.D_CODE, true), digest: dlen > 0 ? block.slice(at + len, at + len + dlen) : undefined };
        }
      }
      if (each({ sequence: s + i, payload: block.subarray(at, at + len), evidence: ev }) === false) return false;
    }
    if (st !== c.OK) {
      const bad = index + core.out('ringEnd');
      const reason = slotReason(rc, st);
      const what = st === k.RING_EMPTY ? 'is empty' : st === k.ERR_SEQUENCE ? 'holds another record' : `is damaged (${reason})`;
      throw new WalError('CORRUPTED', `${path}: slot ${bad} should hold record ${s + got} but ${what}`, { path, offset: slotOffset(rc, g, bad), reason });
    }
    s += n;
  }
  return true;
}



/**
 * Write one zero byte over the magic of every slot in the ranges. A one-byte
 * write cannot be torn, so once it is durable no combination of that slot's
 * sectors (old fragments, zeros of a torn erasure, parts of a torn new
 * record) can form a valid old record again.
 */
export function unmarkSlots(rc: RingCore, h: FileHandle, g: RingHeader, ranges: Array<[number, number]>): void {
  const zero = new Uint8Array(1);
  for (const [index, count] of ranges) {
    for (let i = 0; i < count; i++) h.write(zero, slotOffset(rc, g, (index + i) % g.capacity) + rc.k.S_MAGIC);
  }
}

/** Write zeros over slot ranges [index, index + count) (a range may wrap past the last slot). */
export function zeroSlots(rc: RingCore, h: FileHandle, g: RingHeader, ranges: Array<[number, number]>): void {
  if (ranges.length === 0) return;
  const zeros = new Uint8Array(Math.min(1 << 20, g.capacity * g.slotSize));
  const put = (index: number, count: number): void => {
    const start = slotOffset(rc, g, index);
    const stop = start + count * g.slotSize;
    for (let pos = start; pos < stop; pos += zeros.length) h.write(zeros.subarray(0, Math.min(zeros.length, stop - pos)), pos);
  };
  for (const [index, count] of ranges) {
    const first = Math.min(count, g.capacity - index);
    put(index, first);
    if (count > first) put(0, count - first);
  }
}
