/**
 * The append buffer of SegmentedWal: records in core staging memory waiting
 * to be written at the active segment's end (host/codec/frame-file.ts).
 *
 * Plain records are only described as they come (body copied into place,
 * fields into a record descriptor) and framed in one core call per up to
 * RD_CAPACITY records (encodeRecords, assembly/segment.ts) just before the
 * buffer is written, as WalFsWriter frames its events: one wasm call per
 * record cost as much as the rest of append(). Encrypted records take the
 * encryption branch (addEncrypted -> records.ts encodeRecordAt): each is
 * sealed as it comes. A segment holds records of one kind, and a roll
 * writes the buffer, so the two never interleave in one buffer.
 */
import type { Core } from '../../core/core.js';
import { hi32, lo32 } from '../../core/u64.js';
import type { FrameFile } from '../../codec/frame-file.js';
import type { KeyRing, NonceSource } from './encryption.js';
import type { SegConsts } from './segment-file.js';
import { type Fields, encodeRecordAt } from './records.js';

export class AppendBuffer {
  /** Bytes of records in staging (framed, or described and awaiting encodePending). */
  bytes = 0;
  /** Leading bytes already framed. */
  #encoded = 0;
  /** Plain records described but not framed: descriptors 0..#pending-1, LSNs from #pendingLsn. */
  #pending = 0;
  #pendingLsn = 0;
  readonly #bodyAt: number;
  readonly #rdWords: number;
  readonly #capacity: number;
  readonly #f: readonly [number, number, number, number, number, number, number];

  constructor(private readonly core: Core, private readonly k: SegConsts) {
    this.#bodyAt = core.c.FRAME_HEADER_SIZE + k.REC_HEADER_SIZE;
    this.#rdWords = k.RD_SIZE >>> 2;
    this.#capacity = k.RD_CAPACITY;
    this.#f = [k.RD_TYPE >>> 2, k.RD_TENANT_LO >>> 2, k.RD_TENANT_HI >>> 2, k.RD_VSHARD >>> 2, k.RD_DATABASE_LO >>> 2,
      k.RD_DATABASE_HI >>> 2, k.RD_BODY_LEN >>> 2];
  }

  /** Make room for `size` more bytes (and a descriptor), framing pending records when the descriptors are full. */
  reserve(size: number, file: FrameFile): void {
    if (this.#pending === this.#capacity) this.encodePending(file);
    this.core.ensure(this.bytes + size);
  }

  /** Describe one plain record (fields f[i..i+FIELDS)) with LSN `lsn` at the end of the buffer; returns its frame size. */
  addPlain(lsn: number, f: Fields, i: number, payload: Uint8Array): number {
    const core = this.core;
    if (this.#pending === 0) this.#pendingLsn = lsn;
    core.u8.set(payload, core.staging + this.bytes + this.#bodyAt);
    const u32 = core.u32;
    const r = (core.recDesc >>> 2) + this.#pending * this.#rdWords;
    const w = this.#f;
    u32[r + w[0]] = f[i]!;
    u32[r + w[1]] = f[i + 1]!;
    u32[r + w[2]] = f[i + 2]!;
    u32[r + w[3]] = f[i + 3]!;
    u32[r + w[4]] = f[i + 4]!;
    u32[r + w[5]] = f[i + 5]!;
    u32[r + w[6]] = payload.length;
    this.#pending++;
    const size = this.#bodyAt + payload.length;
    this.bytes += size;
    return size;
  }

  /** The encryption branch: seal one record under the ring's current key at the end of the buffer; returns its frame size. */
  addEncrypted(lsn: number, f: Fields, i: number, payload: Uint8Array, file: FrameFile, ring: KeyRing, nonce: NonceSource): number {
    this.encodePending(file);
    const size = encodeRecordAt(this.core, this.k, this.bytes, lsn, f, i, payload, file.salt, file.durableEnd, ring, nonce);
    this.bytes += size;
    this.#encoded = this.bytes;
    return size;
  }

  /** Frame the pending plain records for `file`; their watermark is its durable end now, which precedes their offset. */
  encodePending(file: FrameFile): void {
    if (this.#pending === 0) return;
    const core = this.core;
    const lsn = this.#pendingLsn;
    core.x.encodeRecords(core.staging + this.#encoded, this.#pending, file.salt, lo32(lsn), hi32(lsn), file.durableEnd);
    this.#encoded = this.bytes;
    this.#pending = 0;
  }

  /** The framed buffer (call encodePending first): a view of core memory, valid until the next append. */
  view(): Uint8Array {
    const core = this.core;
    return core.u8.subarray(core.staging, core.staging + this.bytes);
  }

  /** Empty the buffer (it was written). */
  clear(): void {
    this.bytes = 0;
    this.#encoded = 0;
    this.#pending = 0;
  }

  /** Take back the last `size` bytes of records: an append whose write failed (writing framed them: none is pending). */
  drop(size: number): void {
    this.bytes -= size;
    if (this.#encoded > this.bytes) this.#encoded = this.bytes;
  }
}
