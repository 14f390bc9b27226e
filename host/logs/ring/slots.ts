/**
 * Reading a ring's slots in large chunks straight into the core's staging
 * region: the recovery scan (runs of consecutive sequences, see
 * assembly/ring.ts ringScanRuns) and the record reader used by replay and
 * by recovery's report of discarded records. Payload bytes are copied out
 * before the next chunk is read, so callers own every array they receive
 * (the payloads of one chunk are views of one ArrayBuffer holding just them),
 * except from readBatches, which reuses one buffer for every chunk.
 */
import { WalError, ioError, type FrameFailure } from '../../errors.js';
import type { RingFile } from './ring-file.js';
import { FAILURE_CLASSES, type FailureEvidence, type RingBatch, type RingRecord } from './types.js';

export type { RingRecord } from './types.js';

/** Bytes read per chunk. */
const CHUNK_BYTES = 4 << 20;

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

/**
 * Slot arithmetic (docs/FORMAT.md §R1) is the core's: ringSlotIndex and
 * ringSlotOffset. The host calls them wherever it is not a per-append hot
 * path (RingLog.append keeps one `(seq - 1) % capacity`, with a comment
 * and a test that checks the host and the core agree).
 */
export function seqIndex(f: RingFile, seq: number): number {
  return f.core.x.ringSlotIndex(seq % 2 ** 32, Math.floor(seq / 2 ** 32), f.capacity);
}

/** File offset of the slot holding sequence `seq` (the core's ringSlotOffset). */
export function seqOffset(f: RingFile, seq: number): number {
  return f.core.x.ringSlotOffset(seq % 2 ** 32, Math.floor(seq / 2 ** 32), f.capacity, f.slotSize);
}

/** File offset of slot `index`: the offset of the sequence index + 1, which lives there. */
export function slotOffset(f: RingFile, index: number): number {
  return seqOffset(f, index + 1);
}

/** Slots per chunk for this geometry (at least one). */
export function chunkSlots(f: RingFile): number {
  return Math.max(1, Math.min(f.core.c.DESC_CAPACITY, Math.floor(CHUNK_BYTES / f.slotSize)));
}

function readInto(f: RingFile, offset: number, bytes: number): void {
  const { core, path } = f;
  core.ensure(bytes);
  let got: number;
  try {
    got = f.h.read(core.u8.subarray(core.staging, core.staging + bytes), offset);
  } catch (e) {
    throw ioError('read', path, e);
  }
  if (got < bytes) throw new WalError('CORRUPTED', `${path}: the ring file is shorter than its geometry (read ${got} of ${bytes} bytes at ${offset})`, { path, offset: offset + got, reason: 'incomplete-payload' });
}

/** Name a slot status for an error: a core failure reason, 'bad-magic' for an empty slot, 'sequence-order' for a misplaced record. */
export function slotReason(f: RingFile, status: number): FrameFailure {
  if (status === f.core.c.RING_EMPTY) return 'bad-magic';
  return f.core.failure(status);
}

/**
 * Scan every slot and return the runs, joined across chunks and across the
 * wrap from the last slot to slot 0. A slot that is intact but impossible
 * (content walcore never writes) is CORRUPTED at once. Also returns the
 * ranges of junk slots (torn, foreign or damaged) and counts empty ones.
 */
export function scanRuns(f: RingFile): { runs: Run[]; junkRanges: Array<[number, number]>; empty: number; junk: number } {
  const { core, path } = f;
  const r = core.x;
  const c = core.c;
  const runs: Run[] = [];
  const junkRanges: Array<[number, number]> = [];
  let empty = 0;
  let junk = 0;
  const per = Math.max(1, Math.floor(CHUNK_BYTES / f.slotSize));
  for (let base = 0; base < f.capacity; base += per) {
    const n = Math.min(per, f.capacity - base);
    readInto(f, slotOffset(f, base), n * f.slotSize);
    let done = 0;
    while (done < n) {
      const st = r.ringScanRuns(core.staging + done * f.slotSize, n - done, f.slotSize, base + done, f.capacity, f.salt);
      const count = core.out('ringCount');
      const dv = core.dv;
      for (let i = 0; i < count; i++) {
        const d = core.desc + i * c.DESC_SIZE;
        const index = dv.getUint32(d + c.D_OFFSET, true);
        const len = dv.getUint32(d + c.D_LEN, true);
        if (dv.getUint32(d + c.D_TYPE, true) === c.RING_RUN_JUNK) {
          const last = junkRanges[junkRanges.length - 1];
          if (last !== undefined && last[0] + last[1] === index) last[1] += len;
          else junkRanges.push([index, len]);
          continue;
        }
        const hi = dv.getUint32(d + c.D_SEQ_HI, true);
        if (hi >= 0x200000) throw new WalError('SEQUENCE_OUT_OF_RANGE', `${path}: slot ${index} holds a sequence above 2^53-1`, { path, offset: slotOffset(f, index) });
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
      throw new WalError('CORRUPTED', `${path}: slot ${index} is intact but holds content walcore never writes (${reason})`, { path, offset: slotOffset(f, index), reason });
    }
  }
  // Join the run that ends at the last slot with the one that starts at slot 0.
  if (runs.length >= 2) {
    const head = runs[0]!;
    const tail = runs[runs.length - 1]!;
    if (head.index === 0 && tail.index + tail.len === f.capacity && tail.seq + tail.len === head.seq) {
      tail.len += head.len;
      tail.mark = Math.max(tail.mark, head.mark);
      runs.shift();
    }
  }
  return { runs, junkRanges, empty, junk };
}

/**
 * Read the records with sequences [seq, seq + count), which must sit in
 * their slots, chunk by chunk: `chunk(block, got, s)` is called per chunk
 * once the core has checked its slots and gathered the payloads (and
 * digests) of its `got` records into `block`, a copy out of core memory
 * owned by the caller; each record's offset and length in `block` are in
 * its descriptor (core.desc + i * DESC_SIZE, D_OFFSET / D_LEN), `s` is the
 * sequence of its first record. A slot that does not hold its record is
 * CORRUPTED (after `chunk` saw the records before it). Returns early
 * (false) when `chunk` returns false. `take(bytes)` supplies the block (a
 * fresh array by default; readBatches passes a reused one), and `before(s)`
 * runs before each chunk is read.
 */
function readChunks(f: RingFile, seq: number, count: number,
  chunk: (block: Uint8Array, got: number, s: number) => boolean,
  take: (bytes: number) => Uint8Array = (bytes) => new Uint8Array(bytes), before?: (s: number) => void): boolean {
  const { core, path } = f;
  const r = core.x;
  const c = core.c;
  const per = chunkSlots(f);
  let s = seq;
  const end = seq + count;
  while (s < end) {
    before?.(s);
    const index = seqIndex(f, s);
    const n = Math.min(per, end - s, f.capacity - index);
    const slotBytes = n * f.slotSize;
    core.ensure(2 * slotBytes); // slots, then their payloads gathered after them
    readInto(f, slotOffset(f, index), slotBytes);
    const st = r.ringScanRecords(core.staging, n, f.slotSize, index, f.capacity, f.salt, s % 2 ** 32, Math.floor(s / 2 ** 32));
    const got = core.out('ringCount');
    // One copy out of core memory per chunk: payloads share its ArrayBuffer.
    // new + set(), not slice(): profiling Bun's 1 KiB replay put 57% of the
    // time in TypedArray.prototype.slice over the wasm memory view (JSC takes
    // a slow path there; new + set is a plain memmove, ~5-10x faster in Bun).
    const total = r.ringGather(core.staging, got, core.staging + slotBytes);
    const block = take(total);
    block.set(core.u8.subarray(core.staging + slotBytes, core.staging + slotBytes + total));
    if (!chunk(block, got, s)) return false;
    if (st !== c.OK) {
      const bad = index + core.out('ringEnd');
      const reason = slotReason(f, st);
      const what = st === c.RING_EMPTY ? 'is empty' : st === c.ERR_SEQUENCE ? 'holds another record' : `is damaged (${reason})`;
      throw new WalError('CORRUPTED', `${path}: slot ${bad} should hold record ${s + got} but ${what}`, { path, offset: slotOffset(f, bad), reason });
    }
    s += n;
  }
  return true;
}

/**
 * Read the records with sequences [seq, seq + count), which must sit in
 * their slots, calling `each` per record in order. `evidence` false skips
 * decoding evidence. A slot that does not hold its record is CORRUPTED.
 * Returns early (false) when `each` returns false.
 */
export function readRecords(f: RingFile, seq: number, count: number,
  evidence: boolean, each: (rec: RingRecord) => boolean | void): boolean {
  const { core } = f;
  const c = core.c;
  return readChunks(f, seq, count, (block, got, s) => {
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
          ev = { failureClass: FAILURE_CLASSES[cls - 1]!, code: dv.getInt32(d + c.D_CODE, true), digest: dlen > 0 ? block.slice(at + len, at + len + dlen) : undefined };
        }
      }
      if (each({ sequence: s + i, payload: new Uint8Array(block.buffer, at, len), evidence: ev }) === false) return false;
    }
    return true;
  });
}

/**
 * The payloads of records [seq, seq + count), appended to `out` (replayAll).
 * Profiling replayAll of 1M x 64 B records (node --cpu-prof) put ~45% of the
 * time in the garbage collector and most of the rest in the per-record
 * JavaScript: a RingRecord object, a closure call and a subarray() per
 * record around the one thing replayAll must return, a Uint8Array per
 * record. This path builds only the payload views, with `new
 * Uint8Array(buffer, offset, length)` (no species lookup; in Bun about twice
 * as fast as subarray), reading descriptors through the core's u32 view.
 * What remains is mostly inherent to the API: keeping a million typed-array
 * views alive costs the young-generation GC copying each of them (about
 * 1.7M views/s of CPU in isolation on the machine measured), well below the
 * append rate. For large payloads the rest is the returned memory's page
 * faults, which depend on the runtime's allocator (docs/ring-log.md
 * "Replay": Bun faults every page on every call, Node mostly reuses the
 * previous call's). Same checks and errors as readRecords.
 */
export function readPayloads(f: RingFile, seq: number, count: number, out: Uint8Array[]): void {
  const { core } = f;
  const c = core.c;
  const step = c.DESC_SIZE >>> 2;
  const offField = c.D_OFFSET >>> 2;
  const lenField = c.D_LEN >>> 2;
  let k = out.length;
  readChunks(f, seq, count, (block, got) => {
    const u32 = core.u32;
    const buf = block.buffer;
    let d = core.desc >>> 2;
    for (let i = 0; i < got; i++, d += step) out[k++] = new Uint8Array(buf, u32[d + offField]!, u32[d + lenField]!);
    return true;
  });
}



/**
 * The records [seq, seq + count) in batches, one per chunk, for
 * RingLog.replayBatches() (see RingBatch). Nothing per record is allocated:
 * each chunk's payloads are copied into one buffer reused for the whole call
 * (allocated once, for the largest chunk), and their offsets and lengths
 * into two arrays reused likewise, so the batch is valid only until `each`
 * returns. The buffer has room for one more payload after the batch's
 * bytes (its last slotSize - 40 bytes), which RingLog.replayEach uses. `before(s)` runs before each chunk is read (RingLog checks the
 * window there). Same checks and errors as readRecords. Returns the number
 * of records handed to `each`.
 */
export function readBatches(f: RingFile, seq: number, count: number, before: (s: number) => void,
  each: (batch: RingBatch) => boolean | void): number {
  const { core } = f;
  const c = core.c;
  const per = Math.min(chunkSlots(f), count);
  // One slot's room more than a chunk needs, after the payloads: replayEach copies each payload there (see spareOffset).
  const room = f.slotSize - c.SLOT_HEADER_SIZE;
  let scratch = new Uint8Array((per + 1) * room);
  const offsets = new Uint32Array(per);
  const lengths = new Uint32Array(per);
  const batch: { bytes: Uint8Array; offsets: Uint32Array; lengths: Uint32Array; count: number; firstSequence: number } = { bytes: scratch, offsets, lengths, count: 0, firstSequence: 0 };
  const step = c.DESC_SIZE >>> 2;
  const offField = c.D_OFFSET >>> 2;
  const lenField = c.D_LEN >>> 2;
  let seen = 0;
  const take = (bytes: number): Uint8Array => {
    if (scratch.length < bytes + room) scratch = new Uint8Array(bytes + room); // cannot happen (payload + digest fit a slot); kept safe
    return scratch.subarray(0, bytes);
  };
  readChunks(f, seq, count, (block, got, s) => {
    const u32 = core.u32;
    let d = core.desc >>> 2;
    for (let i = 0; i < got; i++, d += step) {
      offsets[i] = u32[d + offField]!;
      lengths[i] = u32[d + lenField]!;
    }
    batch.bytes = block;
    batch.count = got;
    batch.firstSequence = s;
    seen += got;
    return each(batch) !== false;
  }, take, before);
  return seen;
}

/**
 * RingLog.replayEach: readBatches, then `fn(payload, sequence)` per record.
 * Each payload is copied (copyWithin, a memmove within one buffer) to the
 * spare room readBatches leaves after the batch's bytes and handed out
 * through a view cached per length, so nothing is allocated per record: in
 * Bun that was several times cheaper than a new view per record. Returns
 * how many records `fn` saw.
 */
export function readEach(f: RingFile, seq: number, count: number, before: (s: number) => void,
  fn: (payload: Uint8Array, sequence: number) => boolean | void): number {
  const room = f.slotSize - f.core.c.SLOT_HEADER_SIZE;
  const views: Uint8Array[] = [];
  let whole: Uint8Array | undefined;
  let n = 0;
  readBatches(f, seq, count, before, (b) => {
    if (whole === undefined || whole.buffer !== b.bytes.buffer) whole = new Uint8Array(b.bytes.buffer);
    const spare = whole.length - room;
    const { offsets, lengths, count: got, firstSequence } = b;
    for (let i = 0; i < got; i++) {
      const at = offsets[i]!;
      const len = lengths[i]!;
      whole.copyWithin(spare, at, at + len);
      n++;
      if (fn(views[len] ??= new Uint8Array(whole.buffer, spare, len), firstSequence + i) === false) return false;
    }
    return true;
  });
  return n;
}

/**
 * Write one zero byte over the magic of every slot in the ranges. A one-byte
 * write cannot be torn, so once it is durable no combination of that slot's
 * sectors (old fragments, zeros of a torn erasure, parts of a torn new
 * record) can form a valid old record again.
 */
export function unmarkSlots(f: RingFile, ranges: Array<[number, number]>): void {
  const zero = new Uint8Array(1);
  for (const [index, count] of ranges) {
    for (let i = 0; i < count; i++) f.h.write(zero, slotOffset(f, (index + i) % f.capacity) + f.core.c.S_MAGIC);
  }
}

/** Write zeros over slot ranges [index, index + count) (a range may wrap past the last slot). */
export function zeroSlots(f: RingFile, ranges: Array<[number, number]>): void {
  if (ranges.length === 0) return;
  const zeros = new Uint8Array(Math.min(1 << 20, f.capacity * f.slotSize));
  const put = (index: number, count: number): void => {
    const start = slotOffset(f, index);
    const stop = start + count * f.slotSize;
    for (let pos = start; pos < stop; pos += zeros.length) f.h.write(zeros.subarray(0, Math.min(zeros.length, stop - pos)), pos);
  };
  for (const [index, count] of ranges) {
    const first = Math.min(count, f.capacity - index);
    put(index, first);
    if (count > first) put(0, count - first);
  }
}

/**
 * Write the slots of records [seq, seq + count) back with the bytes they
 * hold now (as reads see them), so the next fsync really writes them. After
 * a failed fsync, Linux has marked their pages clean without writing them:
 * reads still show the records, but no later fsync would make them durable
 * unless they are dirtied again (docs/ring-log.md "A failed fsync").
 */
export function rewriteSlots(f: RingFile, seq: number, count: number): void {
  const { core } = f;
  const per = chunkSlots(f);
  const end = seq + count;
  for (let s = seq; s < end;) {
    const index = seqIndex(f, s);
    const n = Math.min(per, end - s, f.capacity - index);
    const offset = slotOffset(f, index);
    readInto(f, offset, n * f.slotSize);
    f.h.write(core.u8.subarray(core.staging, core.staging + n * f.slotSize), offset);
    s += n;
  }
}
