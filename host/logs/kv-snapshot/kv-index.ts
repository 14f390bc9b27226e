/**
 * The in-RAM fold of an AppendLogSnapshot, kept in WebAssembly memory
 * (assembly/kv-index.ts): a hash table keyed by the key's UTF-8 bytes and an
 * arena of records (key, version, value), with no JS string or object per
 * entry. Each KvIndex owns a core instance of its own, so its memory (which
 * WebAssembly never shrinks) is freed when the store is dropped.
 *
 * - apply: the batch frames encodeBatch staged for the write are copied in
 *   and folded by one call (kvFoldFrames).
 * - replay: each batch payload the scanner verified is copied in and folded
 *   by one call (kvFoldPayload checks the keys are UTF-8 first).
 * - get: the key is written as UTF-8 into scratch, one kvFind call, then the
 *   value and version are copied out (copyOut: never a view of core memory,
 *   which detaches when it grows).
 * - range: kvDump writes pages of matching entries in key byte order; each
 *   page is copied into a fresh buffer (entries are views of it, owned by the
 *   caller) and keys are decoded only here.
 * - export/compaction: kvEmit writes put ops in key order, ready to frame.
 */
import { Core } from '../../core/core.js';
import { copyOut } from './copy-out.js';
import { writeKey } from './kv-encode.js';

const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
/** Bytes of entries per range page. */
const PAGE = 64 << 10;

export interface IndexEntry {
  key: string;
  value: Uint8Array;
  version: Uint8Array;
}

function noMemory(): RangeError {
  return new RangeError('walcore: cannot grow the key-value index memory');
}

function decodeKey(b: Uint8Array, at: number, n: number): string {
  if (n <= 128) {
    let ascii = true;
    for (let i = 0; i < n; i++) if (b[at + i]! >= 0x80) { ascii = false; break; }
    if (ascii) return String.fromCharCode.apply(null, b.subarray(at, at + n) as unknown as number[]);
  }
  return decoder.decode(b.subarray(at, at + n));
}

export class KvIndex {
  core: Core;
  #x: Core['x'];
  #u8: Uint8Array;
  #u32: Uint32Array;
  #scratch = 0;
  #scratchCap = 0;
  readonly #maxKey: number;
  // The core's record and range-page layouts (assembly/kv-index.ts).
  readonly #recHeader: number;
  readonly #recValLen: number;
  readonly #recVerShift: number;
  readonly #recKeyMask: number;
  readonly #dumpHeader: number;
  /** Size figures kept by dispose(). */
  #disposed: { size: number; liveBytes: number } | undefined;
  /** Bumped by every write: a range page read before a write is re-read. */
  #writes = 0;

  constructor() {
    this.core = new Core();
    this.#x = this.core.x;
    const c = this.core.c;
    this.#maxKey = c.KV_MAX_KEY;
    this.#recHeader = c.KV_REC_HEADER;
    this.#recValLen = c.KV_REC_VAL_LEN;
    this.#recVerShift = c.KV_REC_VER_SHIFT;
    this.#recKeyMask = 2 ** c.KV_REC_VER_SHIFT - 1;
    this.#dumpHeader = c.KV_DUMP_HEADER;
    this.#u8 = this.core.u8;
    this.#u32 = this.core.u32;
    this.#reserve(256 << 10);
  }

  /** The core's views, rebuilt if the index's allocator grew memory. */
  #views(): void {
    this.core.syncViews();
    this.#u8 = this.core.u8;
    this.#u32 = this.core.u32;
  }

  #reserve(n: number): void {
    if (n > this.#scratchCap) {
      if (this.#x.kvReserve(n) !== 0) throw noMemory();
      this.#scratch = this.core.out('kvScratch');
      this.#scratchCap = this.core.out('kvScratchCap');
    }
    this.#views();
  }

  /**
   * Reserve memory for about `bytes` of records and table in one grow (a
   * replay passes the file's size: records take about the bytes of their
   * ops). Fewer, larger grows mean fewer full GCs in the engine.
   */
  sizeFor(bytes: number): void {
    this.#x.kvGrowHint(bytes);
    this.#views();
  }

  /**
   * Size the hash table once for about `keys` keys (a replay's estimate from
   * the part of the file it has read), instead of doubling it step by step
   * on the way there. A hint: if memory cannot grow, the table grows as needed.
   */
  reserveKeys(keys: number): void {
    this.#x.kvReserveKeys(Math.min(Math.max(0, Math.ceil(keys)), 0xffffffff) >>> 0);
    this.#views();
  }

  get size(): number {
    return this.#disposed?.size ?? this.#x.kvSize() >>> 0;
  }

  /** Encoded size of the live entries (op headers, keys, versions, values). */
  get liveBytes(): number {
    return this.#disposed?.liveBytes ?? this.#x.kvLiveBytes();
  }

  /** Copy src[at, at + len) into scratch for a write (range pages read before it are re-read). */
  #stage(src: Uint8Array, at: number, len: number): void {
    this.#writes++;
    this.#reserve(len);
    this.#u8.set(src.subarray(at, at + len), this.#scratch);
  }

  /** Fold frames staged at src[at, at + bytes) (encodeBatch's output). */
  foldFrames(src: Uint8Array, at: number, bytes: number): void {
    this.#stage(src, at, bytes);
    const st = this.#x.kvFoldFrames(this.#scratch, bytes);
    this.#views();
    if (st !== 0) throw noMemory();
  }

  /**
   * Fold a batch payload decodeKvBatch accepted at src[at, at + len).
   * Returns false (nothing folded) when a key is not well-formed UTF-8.
   */
  foldPayload(src: Uint8Array, at: number, len: number): boolean {
    this.#stage(src, at, len);
    const st = this.#x.kvFoldPayload(this.#scratch, len);
    this.#views();
    if (st === this.core.c.ERR_BAD_RECORD) return false;
    if (st !== 0) throw noMemory();
    return true;
  }

  /** Write `key` as UTF-8 into scratch; its byte length, or -1 when it cannot be a stored key. */
  #key(key: string): number {
    const n = key.length;
    if (n > this.#maxKey) return -1;
    let u8 = this.#u8;
    if (u8.length === 0) { this.#views(); u8 = this.#u8; }
    const at = this.#scratch;
    for (let i = 0; i < n; i++) {
      const c = key.charCodeAt(i);
      if (c >= 0x80) {
        const kl = writeKey(u8, at, key);
        return kl > this.#maxKey ? -1 : kl;
      }
      u8[at + i] = c;
    }
    return n;
  }

  /** A copy of `key`'s entry, or undefined (also for a key no entry can have). */
  entry(key: string): IndexEntry | undefined {
    const kl = this.#key(key);
    if (kl < 0) return undefined;
    const rec = this.#x.kvFind(kl) >>> 0;
    if (rec === 0) return undefined;
    const u32 = this.#u32;
    const meta = u32[rec >>> 2]!;
    const valLen = u32[(rec + this.#recValLen) >>> 2]!;
    const verLen = meta >>> this.#recVerShift;
    const body = rec + this.#recHeader + (meta & this.#recKeyMask);
    const u8 = this.#u8;
    return { key, value: copyOut(u8, body + verLen, valLen), version: verLen === 0 ? new Uint8Array(0) : copyOut(u8, body, verLen) };
  }

  /**
   * Live entries whose key starts with `prefix`, ascending by key bytes,
   * lazily, in pages: the key set as of the call (keys created later are
   * skipped); after a write the rest of a page is re-read, so entries
   * deleted or replaced meanwhile are skipped or current.
   */
  *entries(prefix: string): Generator<IndexEntry> {
    const x = this.#x;
    if (prefix.length > this.#maxKey) return; // its UTF-8 is longer than any key
    const pre = new Uint8Array(3 * prefix.length);
    const pl = writeKey(pre, 0, prefix);
    if (pl < 0 || pl > this.#maxKey) return;
    const maxBirth = x.kvStamp() >>> 0;
    let after: Uint8Array | undefined;
    for (;;) {
      this.#reserve(pl + (after === undefined ? 0 : after.length));
      this.#u8.set(pre.subarray(0, pl), this.#scratch);
      if (after !== undefined) this.#u8.set(after, this.#scratch + pl);
      const st = x.kvDump(pl, after === undefined ? -1 : after.length, maxBirth, PAGE);
      this.#views();
      if (st !== 0) throw noMemory();
      const n = this.core.out('kvOutCount');
      if (n === 0) return;
      const out = x.kvOutPtr() >>> 0;
      const page = this.#u8.slice(out, out + this.core.out('kvOutBytes'));
      const words = new DataView(page.buffer);
      const writes = this.#writes;
      const head = this.#dumpHeader;
      let at = 0;
      for (let i = 0; i < n; i++) {
        const kl = words.getUint32(at, true);
        const vl = words.getUint32(at + 4, true);
        const al = words.getUint32(at + 8, true);
        const k = at + head;
        at = k + kl + vl + al;
        after = page.subarray(k, k + kl);
        yield {
          key: decodeKey(page, k, kl),
          value: al === 0 ? new Uint8Array(0) : page.subarray(k + kl + vl, at),
          version: vl === 0 ? new Uint8Array(0) : page.subarray(k + kl, k + kl + vl),
        };
        if (this.#writes !== writes) break; // re-read from after this key
      }
    }
  }

  /**
   * Walk the live entries in key order as §12.4 put ops, about `target`
   * bytes at a time: `fn(bytes, count)` gets a view of each run (valid
   * during the call) and whether the walk is complete. No write may happen
   * during the walk.
   */
  emit(target: number, fn: (ops: Uint8Array, count: number, done: boolean) => void): void {
    const x = this.#x;
    let pos = 0;
    for (;;) {
      const next = x.kvEmit(pos, target);
      this.#views();
      if (next < 0) throw noMemory();
      const n = this.core.out('kvOutCount');
      const bytes = this.core.out('kvOutBytes');
      const done = n === 0 || bytes < target;
      if (n > 0) {
        const out = x.kvOutPtr() >>> 0;
        fn(this.#u8.subarray(out, out + bytes), n, done);
      }
      if (done) return;
      pos = next;
    }
  }

  /** Put one entry directly (tests and tools; the store folds whole batches). The key must be valid Unicode of at most KV_MAX_KEY UTF-8 bytes. */
  put(key: string, value: Uint8Array, version: Uint8Array = new Uint8Array(0)): void {
    this.#writes++;
    this.#reserve(3 * key.length + version.length + value.length);
    const kl = this.#key(key);
    if (kl < 0) throw new RangeError('KvIndex.put: key is not valid Unicode or too long');
    this.#u8.set(version, this.#scratch + kl);
    this.#u8.set(value, this.#scratch + kl + version.length);
    const st = this.#x.kvPut(kl, version.length, value.length);
    this.#views();
    if (st !== 0) throw noMemory();
  }

  /** Delete one key directly (tests and tools). */
  delete(key: string): void {
    this.#writes++;
    const kl = this.#key(key);
    if (kl >= 0) this.#x.kvDelete(kl);
  }

  /**
   * Drop this index's core instance, so its memory can be collected now
   * rather than when the store object is (the store calls it on close).
   * Nothing may be called afterwards.
   */
  dispose(): void {
    if (this.#disposed !== undefined) return;
    this.#disposed = { size: this.size, liveBytes: this.liveBytes };
    this.core = undefined as unknown as Core;
    this.#x = undefined as unknown as Core['x'];
    this.#u8 = new Uint8Array(0);
    this.#u32 = new Uint32Array(0);
  }

  /** Test hook: AND every hash with `mask` (0: every key collides). Only on an empty index. */
  setHashMask(mask: number): void {
    if (this.size !== 0) throw new Error('setHashMask: the index is not empty');
    this.#x.kvSetHashMask(mask >>> 0);
  }

  /** Test hook: set the u32 creation stamp (to reach its wrap at 2^32 without 2^32 creations). */
  setStamp(v: number): void {
    this.#x.kvSetStamp(v >>> 0);
  }

  /** Bytes of WebAssembly memory the index's core holds. */
  get memoryBytes(): number {
    return this.#x.kvMemoryBytes();
  }
}
