/**
 * A JS fold: key -> (version bytes, value bytes), fed op by op (OpSink).
 * AppendLogSnapshot folds into a KvIndex (kv-index.ts: the index in
 * WebAssembly memory); this one remains for the read-only inspection
 * (inspect.ts), which needs every op as JS values anyway. copyOut is shared.
 *
 * - The bytes live in an arena of 4 MiB chunks (a value over 2 MiB gets a
 *   chunk of its own): per record an 8-byte header (value length; version
 *   length | key UTF-8 length << 8), the version, the value, padded to 4
 *   bytes. A Map takes the key string to the record's location, a small
 *   integer (chunk * 2^20 + offset / 4), so an entry costs the Map slot, the
 *   key string and 8 bytes beside its key and value bytes: no object, no
 *   typed array per entry.
 * - An overwrite or delete leaves its old record as waste; once the waste
 *   exceeds the live records (and 8 MiB), the live records are copied into
 *   fresh chunks (amortized O(1) per update).
 * - Reads copy out (copyOut): small copies are views into a shared 16 KiB
 *   pool buffer, as Node's Buffer pool does, because one ArrayBuffer per
 *   small value costs far more than the copy.
 * - The key order for range() is kept by KeyOrder (key-order.ts).
 */
import { KeyOrder } from './key-order.js';

/** Bytes an op header takes in the file (FORMAT.md §12.4), for the live-size estimate. */
const OP_HEADER = 12;
const CHUNK = 4 << 20;
/** Locations per chunk: offsets are stored in units of 4 bytes. */
const SPAN = CHUNK / 4;
const HEADER = 8;
/** A record larger than this gets a chunk of its own. */
const OWN_CHUNK = CHUNK / 2;
const MIN_WASTE = 8 << 20;
const POOL = 16 << 10;

let pool = new Uint8Array(POOL);
let poolPos = 0;

/** A copy of src[at, at + len) that the caller owns (it may share an ArrayBuffer with other copies). */
export function copyOut(src: Uint8Array, at: number, len: number): Uint8Array {
  if (len === 0) return new Uint8Array(0);
  if (len > POOL >>> 3) return src.slice(at, at + len);
  if (poolPos + len > POOL) {
    pool = new Uint8Array(POOL);
    poolPos = 0;
  }
  const out = new Uint8Array(pool.buffer, poolPos, len);
  out.set(src.subarray(at, at + len));
  poolPos = (poolPos + len + 7) & ~7;
  return out;
}

/** Receives the ops replay decodes (replayKvFile); the bytes are valid only during the call. */
export interface OpSink {
  put(key: string, keyLen: number, src: Uint8Array, verAt: number, verLen: number, valAt: number, valLen: number): void;
  delete(key: string, keyLen: number, src: Uint8Array, verAt: number, verLen: number): void;
}

export class Fold implements OpSink {
  readonly #map = new Map<string, number>();
  #u8: Array<Uint8Array | undefined> = [];
  #i32: Array<Int32Array | undefined> = [];
  /** Chunk records are bump-allocated in, and the next free offset in it. */
  #chunk = -1;
  #pos = CHUNK;
  /** Arena bytes of live records, and of dead ones (plus unused chunk tails). */
  #used = 0;
  #waste = 0;
  readonly #order = new KeyOrder();
  /** Index of the chunk the last #place() wrote to. */
  #last = 0;
  /** Encoded size of the live entries (op headers, keys, versions, values). */
  liveBytes = 0;

  get size(): number {
    return this.#map.size;
  }

  /** Put from replay: version at src[verAt..], value at src[valAt..] (copied). */
  put(key: string, keyLen: number, src: Uint8Array, verAt: number, verLen: number, valAt: number, valLen: number): void {
    const at = this.#place(key, keyLen, verLen, valLen);
    const u8 = this.#u8[this.#last]!;
    if (valAt === verAt + verLen) {
      if (verLen + valLen > 0) u8.set(src.subarray(verAt, valAt + valLen), at + HEADER);
    } else {
      if (verLen > 0) u8.set(src.subarray(verAt, verAt + verLen), at + HEADER);
      if (valLen > 0) u8.set(src.subarray(valAt, valAt + valLen), at + HEADER + verLen);
    }
  }

  /** Put from apply: the caller's version and value (copied). */
  set(key: string, keyLen: number, version: Uint8Array, value: Uint8Array): void {
    const at = this.#place(key, keyLen, version.length, value.length);
    const u8 = this.#u8[this.#last]!;
    if (version.length > 0) u8.set(version, at + HEADER);
    if (value.length > 0) u8.set(value, at + HEADER + version.length);
  }

  /** Delete `key` (the OpSink form's extra arguments, the delete's version, are not kept). */
  delete(key: string, _keyLen?: number, _src?: Uint8Array, _verAt?: number, _verLen?: number): void {
    const loc = this.#map.get(key);
    if (loc === undefined) return;
    this.#map.delete(key);
    this.#free(loc);
    this.#order.deleted();
    if (this.#waste > this.#used && this.#waste > MIN_WASTE) this.#compactArena();
  }

  /** A KvEntry-shaped copy of `key`'s entry, or undefined. */
  entry(key: string): { key: string; value: Uint8Array; version: Uint8Array } | undefined {
    const loc = this.#map.get(key);
    if (loc === undefined) return undefined;
    const c = Math.floor(loc / SPAN);
    const at = (loc - c * SPAN) * 4;
    const i32 = this.#i32[c]!;
    const valLen = i32[at >>> 2]!;
    const verLen = i32[(at >>> 2) + 1]! & 0xff;
    const u8 = this.#u8[c]!;
    return { key, value: copyOut(u8, at + HEADER + verLen, valLen), version: verLen === 0 ? new Uint8Array(0) : copyOut(u8, at + HEADER, verLen) };
  }

  /** Keys in order (possibly with deleted ones: check has()). Shared: do not modify. */
  sorted(): string[] {
    return this.#order.sorted(this.#map);
  }

  /** Keys starting with `prefix`, in order, lazily: the key set as of the call; entries deleted meanwhile are skipped. */
  *keys(prefix: string): Generator<string> {
    const keys = this.sorted();
    for (let i = this.#order.lowerBound(keys, prefix); i < keys.length; i++) {
      const k = keys[i]!;
      if (!k.startsWith(prefix)) return;
      if (this.#map.has(k)) yield k;
    }
  }

  /**
   * Allocate and head a record for `key` (replacing its old one); returns
   * its offset in chunk #last, where the caller copies version and value.
   */
  #place(key: string, keyLen: number, verLen: number, valLen: number): number {
    if (this.#waste > this.#used && this.#waste > MIN_WASTE) this.#compactArena();
    const size = (HEADER + verLen + valLen + 3) & ~3;
    let c: number;
    let at: number;
    if (size > OWN_CHUNK) {
      c = this.#u8.length;
      const buf = new ArrayBuffer(size);
      this.#u8.push(new Uint8Array(buf));
      this.#i32.push(new Int32Array(buf));
      at = 0;
    } else {
      if (this.#pos + size > CHUNK) this.#newChunk();
      c = this.#chunk;
      at = this.#pos;
      this.#pos += size;
    }
    const i32 = this.#i32[c]!;
    i32[at >>> 2] = valLen;
    i32[(at >>> 2) + 1] = verLen | (keyLen << 8);
    this.#used += size;
    this.#last = c;
    const old = this.#map.get(key);
    this.#map.set(key, c * SPAN + (at >>> 2));
    if (old === undefined) this.#order.created(key, keyLen);
    else this.#free(old);
    this.liveBytes += OP_HEADER + keyLen + verLen + valLen;
    return at;
  }

  #newChunk(): void {
    if (this.#chunk >= 0) this.#waste += CHUNK - this.#pos;
    const buf = new ArrayBuffer(CHUNK);
    this.#chunk = this.#u8.length;
    this.#u8.push(new Uint8Array(buf));
    this.#i32.push(new Int32Array(buf));
    this.#pos = 0;
  }

  #free(loc: number): void {
    const c = Math.floor(loc / SPAN);
    const w = loc - c * SPAN;
    const i32 = this.#i32[c]!;
    const valLen = i32[w]!;
    const meta = i32[w + 1]!;
    const size = (HEADER + (meta & 0xff) + valLen + 3) & ~3;
    this.liveBytes -= OP_HEADER + (meta >>> 8) + (meta & 0xff) + valLen;
    this.#used -= size;
    if (size > OWN_CHUNK) {
      this.#u8[c] = undefined; // its own chunk: released at once
      this.#i32[c] = undefined;
    } else {
      this.#waste += size;
    }
  }

  /** Copy every live record into fresh chunks (the records a RecordRef pointed to move). */
  #compactArena(): void {
    const old = { u8: this.#u8, i32: this.#i32 };
    this.#u8 = [];
    this.#i32 = [];
    this.#chunk = -1;
    this.#pos = CHUNK;
    this.#used = 0;
    this.#waste = 0;
    for (const [key, loc] of this.#map) {
      const c = Math.floor(loc / SPAN);
      const at = (loc - c * SPAN) * 4;
      const src = old.u8[c]!;
      const size = (HEADER + old.i32[c]![at >>> 2]! + (old.i32[c]![(at >>> 2) + 1]! & 0xff) + 3) & ~3;
      let nc: number;
      let nat: number;
      if (size > OWN_CHUNK) {
        nc = this.#u8.length; // an own chunk moves as it is
        this.#u8.push(src);
        this.#i32.push(old.i32[c]);
        nat = 0;
      } else {
        if (this.#pos + size > CHUNK) this.#newChunk();
        nc = this.#chunk;
        nat = this.#pos;
        this.#pos += size;
        this.#u8[nc]!.set(src.subarray(at, at + size), nat);
      }
      this.#used += size;
      this.#map.set(key, nc * SPAN + (nat >>> 2));
    }
  }

  /**
   * Call `fn` for every live entry in key order with where its record lies:
   * version bytes at u8[body, body + verLen), value bytes right after them
   * (valid during the call).
   */
  forEachSorted(fn: (key: string, u8: Uint8Array, body: number, verLen: number, valLen: number) => void): void {
    const map = this.#map;
    for (const key of this.sorted()) {
      const loc = map.get(key);
      if (loc === undefined) continue;
      const c = Math.floor(loc / SPAN);
      const w = loc - c * SPAN;
      const i32 = this.#i32[c]!;
      fn(key, this.#u8[c]!, w * 4 + HEADER, i32[w + 1]! & 0xff, i32[w]!);
    }
  }
}
