/**
 * WalLog's read path: entries read from the segment files by their indexed
 * offsets (CRC checked), a small cache of recent entries, and verify() (a
 * full scan of every segment against its footer).
 */
import type { Core } from '../../core/core.js';
import { WalError, ioError } from '../../errors.js';
import type { FileHandle, FileSystem } from '../../fs/types.js';
import type { LogIndex } from './log-index.js';
import { OP_F64S } from './op-list.js';
import { type OpSink, type SegmentMeta, readFooter, scanSegment, sizeOf } from './segments.js';
import type { LogEntry, VerifyReport } from './types.js';
import type { RaftWriter } from './writer.js';

/** Bytes read at once for entry(): one read for entries up to this size. */
const READ_GUESS = 4096;
/** Bytes read at once by entries(): a range of frames is read with one pread and checked in the core. */
const RANGE_CHUNK = 1 << 20;

export class RaftReader {
  /** Recently read entries of the last cacheMax indexes, direct-mapped by index (slot index % cacheMax); copies of what was returned. */
  readonly #cache: Array<LogEntry | undefined>;
  #view: Uint8Array | undefined;

  constructor(readonly core: Core, readonly fs: FileSystem, readonly idx: LogIndex, readonly w: RaftWriter, readonly cacheMax: number) {
    this.#cache = new Array<LogEntry | undefined>(cacheMax).fill(undefined);
  }

  /** Forget cached entries (a write may have replaced them). */
  clear(): void { if (this.cacheMax > 0) this.#cache.fill(undefined); }

  private cached(index: number): LogEntry | undefined {
    if (this.cacheMax === 0) return undefined;
    const hit = this.#cache[index % this.cacheMax];
    return hit !== undefined && hit.index === index ? { index, term: hit.term, payload: hit.payload.slice(), type: hit.type } : undefined;
  }

  handle(seg: SegmentMeta) {
    return (seg.h ??= this.fs.open(seg.path));
  }

  /** Live entry `index` (the caller checked the range). */
  entry(index: number): LogEntry {
    const hit = this.cached(index);
    if (hit !== undefined) return hit;
    this.w.flush(); // reads use core staging, where buffered frames wait
    const e = this.read(index);
    // Only the tail is cached (what Raft reads back after writing it): a random read elsewhere costs no second copy.
    if (this.cacheMax > 0 && index > this.idx.lastIndex - this.cacheMax) this.#cache[index % this.cacheMax] = { index, term: e.term, payload: e.payload.slice(), type: e.type };
    return e;
  }

  /**
   * Entries f..t (live, f <= t) into `out`: per segment, a range of frames is
   * read with one pread (up to RANGE_CHUNK bytes) and checked by the core
   * (scanFrames: CRCs and framing); each live entry's frame is picked by its
   * indexed offset and decoded. A frame too large for a chunk, or damage,
   * falls back to read() for that entry (which reports CORRUPTED precisely).
   */
  readRange(f: number, t: number, out: LogEntry[]): void {
    this.w.flush(); // reads use core staging, where buffered frames wait
    const idx = this.idx;
    // Lazy segments' index slots are loaded before any read: loading reads a footer into core staging.
    for (let i = f; i <= t; i++) if (!idx.loaded(i)) idx.seg(i);
    const core = this.core;
    const c = core.c;
    const segs = this.w.segs;
    const first = segs[0]!.num;
    let i = f;
    while (i <= t) {
      const num = idx.seg(i);
      const seg = segs[num - first]!;
      const start = idx.off(i);
      // the last index of this range in this segment bounds the read
      let j = i;
      const hi = Math.min(t, i + 4096);
      while (j < hi && idx.seg(j + 1) === num && idx.off(j + 1) - start < RANGE_CHUNK) j++;
      const active = seg === this.w.active;
      const h = this.handle(seg);
      const end = active ? this.w.file.end : Infinity;
      const len = Math.min(RANGE_CHUNK, end - start, idx.off(j) - start + READ_GUESS);
      core.ensure(len);
      let got: number;
      try { got = h.read(core.u8.subarray(core.staging, core.staging + len), start); } catch (e) { throw ioError('read', seg.path, e); }
      const before = i;
      const dv = core.dv; // after ensure(): memory may have grown
      // The payloads of this chunk are copied out once: entries get disjoint views of the copy.
      const copy = j > i ? core.u8.slice(core.staging, core.staging + got) : undefined;
      const HDR = c.FRAME_HEADER_SIZE;
      const SUB = c.RAFT_ENTRY_HEADER_SIZE;
      const F = c.RAFT_DESC_F64S;
      let pos = 0;
      scan: while (pos < got && i <= t && idx.seg(i) === num) {
        const st = core.x.scanFrames(core.staging + pos, got - pos, start + pos, seg.salt, c.MAX_FRAME_PAYLOAD, c.SCAN_EMIT, 0, 0, 0, c.DESC_CAPACITY);
        const count = core.out('outCount');
        // The core checked CRCs and framing; it decodes the frames by the §11.3 rules too, as at open
        // (decodeRaftDescs, RAFT_DESC_BATCH frames a call): [op | entry type << 8, offset, index, term, ...] each.
        for (let from = 0; from < count; from += c.RAFT_DESC_BATCH) {
          const m = Math.min(c.RAFT_DESC_BATCH, count - from);
          const decoded = core.x.decodeRaftDescs(core.staging + pos, core.desc + from * c.DESC_SIZE, m) === c.OK ? m : core.out('raftBadOp');
          const fv = new Float64Array(core.u8.buffer, core.x.raftDescOutPtr(), m * F);
          for (let k = 0; k < decoded; k++) {
            if (i > t || idx.seg(i) !== num) break scan;
            const o = k * F;
            const rel = pos + fv[o + 1]!;
            const want = idx.off(i) - start;
            if (rel < want) continue; // a control frame or a truncated entry
            if (rel > want) break scan; // the indexed offset is not a frame start: read() reports it
            const opf = fv[o]!;
            const term = fv[o + 3]!;
            if ((opf & 255) !== c.RAFT_OP_ENTRY || fv[o + 2] !== i || term !== idx.termAt(i)) break scan;
            const len = dv.getUint32(core.desc + (from + k) * c.DESC_SIZE + c.D_LEN, true);
            const body = rel + HDR + SUB;
            const payload = copy !== undefined ? copy.subarray(body, body + len - SUB) : core.u8.slice(core.staging + body, core.staging + body + len - SUB);
            out.push({ index: i, term, payload, type: opf >>> 8 });
            i++;
          }
          if (decoded < m) break scan; // a frame the core refused: read() reports it precisely
        }
        if (st !== c.MORE) break;
        pos += core.out('outEnd');
      }
      if (i === before && i <= t) out.push(this.read(i++)); // no progress: a large frame or damage
    }
  }

  /**
   * One entry by itself, with one pread of its frame's bytes (up to the next
   * entry's offset when it is known) into core staging: entry(); and for
   * readRange() the precise CORRUPTED report for damage, and frames larger
   * than a range chunk. The caller has written out the buffer.
   */
  private read(index: number): LogEntry {
    const idx = this.idx;
    const segs = this.w.segs;
    const num = idx.seg(index);
    const seg = segs[num - segs[0]!.num]!;
    const off = idx.off(index);
    const core = this.core;
    const c = core.c;
    const HDR = c.FRAME_HEADER_SIZE;
    const h = this.handle(seg);
    const next = index < idx.lastIndex && idx.seg(index + 1) === num ? idx.off(index + 1) - off : 0;
    let got = this.pread(h, seg.path, next > HDR ? next : READ_GUESS, off);
    let total = got;
    if (got >= HDR) {
      total = Math.min(HDR + core.dv.getUint32(core.staging + c.F_LEN, true), HDR + c.MAX_FRAME_PAYLOAD);
      if (total > got) got = this.pread(h, seg.path, total, off);
    }
    const st = core.x.scanFrames(core.staging, Math.min(got, total), off, seg.salt, c.MAX_FRAME_PAYLOAD, 0, 0, 0, 0, 1);
    if (st < 0) {
      const reason = core.failure(st);
      throw new WalError('CORRUPTED', `${seg.path}: entry ${index} at offset ${off}: ${reason}`, { path: seg.path, offset: off, reason });
    }
    const term = idx.termAt(index)!;
    if (core.x.decodeRaftFrame(core.staging) !== c.OK || core.out('raftType') !== c.TYPE_RAFT_ENTRY || core.out('raftA') !== index || core.out('raftB') !== term) {
      throw new WalError('CORRUPTED', `${seg.path}: the frame at offset ${off} is not entry ${index}`, { path: seg.path, offset: off, reason: 'decode-failure' });
    }
    // decodeRaftFrame checked the sub-header: the body follows it, the entry type is its first byte.
    const body = core.staging + HDR + c.RAFT_ENTRY_HEADER_SIZE;
    const payload = core.u8.slice(body, core.staging + HDR + core.dv.getUint32(core.staging + c.F_LEN, true));
    return { index, term, payload, type: core.u8[core.staging + HDR + 8]! };
  }

  /** pread `len` bytes at `off` into core staging (a view reused while the length and memory stay the same). */
  private pread(h: FileHandle, path: string, len: number, off: number): number {
    const core = this.core;
    core.ensure(len);
    let v = this.#view;
    if (v === undefined || v.length !== len || v.buffer !== core.u8.buffer) v = this.#view = core.u8.subarray(core.staging, core.staging + len);
    try { return h.read(v, off); } catch (e) { throw ioError('read', path, e); }
  }

  /**
   * Scan every frame of every segment (the buffer written out first) and
   * check each sealed segment's footer against its frames. Snapshot bytes
   * are the caller's.
   */
  verify(): VerifyReport {
    this.w.flush();
    const core = this.core;
    const segs = this.w.segs;
    const report: VerifyReport = { segments: 0, frames: 0, bytes: 0 };
    for (let i = 0; i < segs.length; i++) {
      const seg = segs[i]!;
      const h = this.handle(seg);
      const last = i === segs.length - 1;
      const size = last ? this.w.file.end : sizeOf(h, seg.path);
      // A sealed segment's footer is read first; the scan compares each op with it as it goes.
      let footer: Float64Array | undefined;
      if (!last) readFooter(core, h, seg.path, seg.salt, size, () => {}, (f, count) => { footer = f.slice(0, count * OP_F64S); });
      let k = 0;
      let mismatch = false;
      const sink: OpSink = footer === undefined ? () => {} : (op, flags, offset, a, b, c) => {
        const f = footer!;
        const j = k++ * OP_F64S;
        if (j >= f.length || f[j] !== op + flags * 256 || f[j + 1] !== offset || f[j + 2] !== a || f[j + 3] !== b || f[j + 4] !== c) mismatch = true;
      };
      const { scanner: scan, pendingStart } = scanSegment(core, h, seg.path, seg.salt, size, sink);
      if (scan.failure !== undefined) throw scan.error(false);
      if (pendingStart >= 0) throw new WalError('CORRUPTED', `${seg.path}: ends inside a write (offset ${pendingStart})`, { path: seg.path, offset: pendingStart, reason: 'decode-failure' });
      if (footer !== undefined && (mismatch || k * OP_F64S !== footer.length)) {
        throw new WalError('CORRUPTED', `${seg.path}: the index footer does not match the segment's frames`, { path: seg.path, reason: 'decode-failure' });
      }
      report.segments++;
      report.frames += scan.frames;
      report.bytes += size;
    }
    return report;
  }
}
