// The in-RAM fold of an AppendLogSnapshot (docs/FORMAT.md §12, kv pages):
// key UTF-8 bytes -> (version, value), kept entirely in this instance's
// linear memory. A store owns a core instance of its own for it (the index
// starts where that instance's staging region would, which nothing else
// uses), so the memory is freed with the store.
//
//   heap     := blocks [u32 size | u32 next-free] data..., bump-allocated past
//               stagingPtr(), freed blocks reused first-fit (memory never shrinks)
//   table    := open addressing, linear probing, 8 B per slot (u32 hash, u32 record
//               address; 0 empty, 1 tombstone), rehashed at 0.7 load
//   record   := u32 keyLen | verLen << 24, u32 valLen, u32 birth, key, version, value
//               (padded to 4), bump-allocated in 4 MiB chunks (over 1 MiB: a block
//               of its own); dead records are waste until a compaction copies the
//               live ones (waste > live and > 8 MiB)
//   sorted   := slot indices in key byte order, built lazily for range/export and
//               kept by merging the slots created since (a tombstone is not reused
//               while it exists, so a slot index names one key until a rehash)
//
// The host writes inputs into the scratch block (kvScratch) and reads outputs
// from the out block (kvOutPtr); both addresses can change when memory grows.

import { ERR_BAD_RECORD, ERR_NO_MEMORY, FRAME_HEADER_SIZE, F_LEN, OK } from "./constants";
import { KB_COUNT, KB_CURSOR_LEN, KO_KEY_LEN, KO_KIND, KO_VALUE_LEN, KO_VERSION_LEN, KV_BATCH_HEADER_SIZE, KV_OP_DELETE, KV_OP_HEADER_SIZE, KV_OP_PUT } from "./kv";
import { stagingPtr } from "./memory";

const CHUNK: usize = 4 << 20;
const OWN: usize = 1 << 20;
// Record layout; the host reads a record kvFind returns by these (host/logs/kv-snapshot/kv-index.ts).
/** A record's first u32 is keyLen | verLen << KV_REC_VER_SHIFT. */
export const KV_REC_VER_SHIFT: u32 = 24;
/** Offset of a record's u32 valLen. */
export const KV_REC_VAL_LEN: u32 = 4;
/** Bytes before a record's key: the u32 lengths, the u32 valLen and the u32 birth stamp. */
export const KV_REC_HEADER: u32 = 12;
/** kvDump's out block, per entry: u32 keyLen, u32 verLen, u32 valLen, then key, version and value. */
export const KV_DUMP_HEADER: u32 = 12;
const REC_HEADER: usize = <usize>KV_REC_HEADER;
const KEY_MASK: u32 = (1 << KV_REC_VER_SHIFT) - 1;
const MIN_WASTE: f64 = <f64>(8 << 20);
const MIN_CAP: u32 = 1024;
const SCRATCH_MIN: usize = 256 << 10;
const GROW_STEP: usize = 16 << 20;

// ---- heap
let heapTop: usize = 0;
let freeHead: usize = 0;

function heapInit(): void {
  if (heapTop == 0) heapTop = (stagingPtr() + 15) & ~(<usize>15);
}

/** A block of at least n bytes (16-aligned data), or 0 when memory cannot grow. */
function alloc(n: usize): usize {
  heapInit();
  const total = (n + 8 + 15) & ~(<usize>15);
  let prev: usize = 0;
  let b = freeHead;
  while (b != 0) {
    const size = <usize>load<u32>(b);
    const next = <usize>load<u32>(b, 4);
    if (size >= total) {
      if (size - total >= 64) { // carve from the end
        store<u32>(b, <u32>(size - total));
        const nb = b + size - total;
        store<u32>(nb, <u32>total);
        return nb + 8;
      }
      if (prev == 0) freeHead = next; else store<u32>(prev, <u32>next, 4);
      return b + 8;
    }
    prev = b;
    b = next;
  }
  const end = <usize>memory.size() << 16;
  const b2 = (heapTop + 8 + 15) & ~(<usize>15); // data 16-aligned
  const blk = b2 - 8;
  if (blk + total > end) {
    // Grow by at least GROW_STEP and by the memory's whole size (doubling): engines account each
    // grown buffer's whole size as new external memory, so every grow past a few tens of MiB
    // prompts a full GC (costly beside a large JS heap; 1M puts took 9 such GCs growing by an
    // eighth, 4 doubling). Pages grown but not yet used are address space only (not resident
    // until touched). A replay sizes memory once up front instead (kvGrowHint).
    const need = <i32>((blk + total - end + 0xffff) >> 16);
    const size = memory.size();
    const step = <i32>(GROW_STEP >> 16) > size ? <i32>(GROW_STEP >> 16) : size;
    if (memory.grow(need > step ? need : step) < 0 && memory.grow(need) < 0) return 0;
  }
  store<u32>(blk, <u32>total);
  heapTop = blk + total;
  return blk + 8;
}

function release(p: usize): void {
  const b = p - 8;
  store<u32>(b, <u32>freeHead, 4);
  freeHead = b;
}

// ---- scratch (host inputs) and out (host outputs)
export let kvScratch: u32 = 0;
export let kvScratchCap: u32 = 0;
let outPtr: usize = 0;
let outCap: usize = 0;

/** Grow memory once so that about `bytes` more can be allocated without growing (a replay sizes it from the file). */
export function kvGrowHint(bytes: f64): i32 {
  heapInit();
  const want = <u64>heapTop + <u64>bytes;
  const end = <u64>memory.size() << 16;
  if (want <= end || want > 0xffff0000) return OK;
  return memory.grow(<i32>((want - end + 0xffff) >> 16)) < 0 ? ERR_NO_MEMORY : OK;
}

/** Make the scratch block at least n bytes (contents are not kept). Returns OK or ERR_NO_MEMORY; kvScratch is its address. */
export function kvReserve(n: u32): i32 {
  if (<usize>n <= <usize>kvScratchCap) return OK;
  let want = <usize>n > SCRATCH_MIN ? <usize>n : SCRATCH_MIN;
  if (want < <usize>kvScratchCap * 2) want = <usize>kvScratchCap * 2;
  if (kvScratch != 0) release(<usize>kvScratch);
  kvScratch = 0;
  kvScratchCap = 0;
  const p = alloc(want);
  if (p == 0) return ERR_NO_MEMORY;
  kvScratch = <u32>p;
  kvScratchCap = <u32>want;
  return OK;
}

function outReserve(n: usize): bool {
  if (n <= outCap) return true;
  let want = n > <usize>(64 << 10) ? n : <usize>(64 << 10);
  if (want < outCap * 2) want = outCap * 2;
  const p = alloc(want);
  if (p == 0) return false;
  if (outPtr != 0) {
    memory.copy(p, outPtr, outCap);
    release(outPtr);
  }
  outPtr = p;
  outCap = want;
  return true;
}

/** Where the last kvDump/kvEmit wrote. */
export function kvOutPtr(): u32 {
  return <u32>outPtr;
}

// ---- hashing and key bytes

/** Test-only: AND every hash with this (0 makes every key collide). */
let hashMask: u32 = 0xffffffff;
export function kvSetHashMask(mask: u32): void {
  hashMask = mask;
}

function hashKey(p: usize, n: usize): u32 {
  // MurmurHash3-style: each 8-byte word mixed in fully, then fmix64.
  let h: u64 = 0x9e3779b97f4a7c15 ^ <u64>n;
  let i: usize = 0;
  while (i + 8 <= n) {
    h ^= mixWord(load<u64>(p + i));
    h = rotl<u64>(h, 27) * 5 + 0x52dce729;
    i += 8;
  }
  if (i < n) {
    let t: u64 = 0;
    let s: u64 = 0;
    while (i < n) {
      t |= <u64>load<u8>(p + i) << s;
      s += 8;
      i++;
    }
    h ^= mixWord(t);
  }
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccd;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53;
  h ^= h >> 33;
  return <u32>h & hashMask;
}

@inline function mixWord(w: u64): u64 {
  return rotl<u64>(w * 0x87c37b91114253d5, 31) * 0x4cf5ad432745937f;
}

/** memcmp-style compare of a[0..an) and b[0..bn), then by length. */
function compareBytes(a: usize, an: usize, b: usize, bn: usize): i32 {
  const n = an < bn ? an : bn;
  let i: usize = 0;
  while (i + 8 <= n) {
    const x = load<u64>(a + i);
    const y = load<u64>(b + i);
    if (x != y) return bswap<u64>(x) < bswap<u64>(y) ? -1 : 1;
    i += 8;
  }
  while (i < n) {
    const x = <i32>load<u8>(a + i);
    const y = <i32>load<u8>(b + i);
    if (x != y) return x - y;
    i++;
  }
  return an < bn ? -1 : an > bn ? 1 : 0;
}

function sameBytes(a: usize, b: usize, n: usize): bool {
  let i: usize = 0;
  while (i + 8 <= n) {
    if (load<u64>(a + i) != load<u64>(b + i)) return false;
    i += 8;
  }
  while (i < n) {
    if (load<u8>(a + i) != load<u8>(b + i)) return false;
    i++;
  }
  return true;
}

/** memory.copy, with short copies done inline (the bulk instruction costs a call in some engines). */
@inline function copyBytes(dst: usize, src: usize, n: usize): void {
  if (n > 256) { memory.copy(dst, src, n); return; }
  let i: usize = 0;
  while (i + 8 <= n) { store<u64>(dst + i, load<u64>(src + i)); i += 8; }
  while (i < n) { store<u8>(dst + i, load<u8>(src + i)); i++; }
}

// ---- records
@inline function recKeyLen(r: usize): usize { return <usize>(load<u32>(r) & KEY_MASK); }
@inline function recVerLen(r: usize): usize { return <usize>(load<u32>(r) >>> KV_REC_VER_SHIFT); }
@inline function recValLen(r: usize): usize { return <usize>load<u32>(r + <usize>KV_REC_VAL_LEN); }
@inline function recSize(r: usize): usize { return (REC_HEADER + recKeyLen(r) + recVerLen(r) + recValLen(r) + 3) & ~(<usize>3); }

let chunkHead: usize = 0; // chunks linked through their first 8 bytes
let chunkPos: usize = 0;
let chunkEnd: usize = 0;
/** Bytes of live records (chunked and own), and of dead ones plus unused chunk tails. */
let used: f64 = 0;
let waste: f64 = 0;
let count: u32 = 0;
let liveBytes: f64 = 0;
let stamp: u32 = 0;

/** Room for a record of `size` bytes (compacting first if waste says so); 0 when out of memory. */
function place(size: usize): usize {
  if (waste > used && waste > MIN_WASTE) compactArena();
  if (size > OWN) return alloc(size);
  if (chunkPos + size > chunkEnd) {
    if (chunkHead != 0) waste += <f64>(chunkEnd - chunkPos);
    const c = alloc(CHUNK);
    if (c == 0) return 0;
    store<u32>(c, <u32>chunkHead);
    chunkHead = c;
    chunkPos = c + 8;
    chunkEnd = c + CHUNK;
  }
  const r = chunkPos;
  chunkPos += size;
  return r;
}

function freeRecord(r: usize): void {
  const size = recSize(r);
  liveBytes -= <f64>(<usize>KV_OP_HEADER_SIZE + recKeyLen(r) + recVerLen(r) + recValLen(r));
  used -= <f64>size;
  if (size > OWN) release(r);
  else waste += <f64>size;
}

/** Copy every live chunked record into fresh chunks and release the old ones. */
function compactArena(): void {
  let old = chunkHead;
  chunkHead = 0;
  chunkPos = 0;
  chunkEnd = 0;
  waste = 0;
  for (let i: u32 = 0; i < cap; i++) {
    const s = tab + (<usize>i << 3);
    const r = <usize>load<u32>(s, 4);
    if (r <= 1) continue;
    const size = recSize(r);
    if (size > OWN) continue;
    if (chunkPos + size > chunkEnd) {
      if (chunkHead != 0) waste += <f64>(chunkEnd - chunkPos);
      const c = alloc(CHUNK);
      if (c == 0) unreachable(); // the old chunks hold at least as much: only a failed grow gets here
      store<u32>(c, <u32>chunkHead);
      chunkHead = c;
      chunkPos = c + 8;
      chunkEnd = c + CHUNK;
    }
    memory.copy(chunkPos, r, size);
    store<u32>(s, <u32>chunkPos, 4);
    chunkPos += size;
  }
  while (old != 0) {
    const next = <usize>load<u32>(old);
    release(old);
    old = next;
  }
}

/**
 * Ops are folded (foldOps) and tables rehashed in groups of GROUP: first the
 * home slot of every key of the group is read (independent loads, so the CPU
 * waits for their cache misses together instead of one after another: a table
 * of a million keys is far larger than the caches), then the group is applied
 * in order. foldOps keeps the hashes in HASHES between the two passes; TOUCHED
 * keeps what the reads saw, so no optimizer drops them.
 */
const GROUP: u32 = 16;
const HASHES: usize = memory.data(<i32>GROUP * 4, 16);
const TOUCHED: usize = memory.data(8, 8);

// ---- table
let tab: usize = 0;
let cap: u32 = 0;
let mask: u32 = 0;
let tombs: u32 = 0;

// ---- sorted order (slot indices)
let sortedValid = false;
let sorted: usize = 0;
let sortedLen: u32 = 0;
let sortedDead: u32 = 0;
let added: usize = 0;
let addedLen: u32 = 0;
let addedCap: u32 = 0;

function dropSorted(): void {
  if (sorted != 0) release(sorted);
  if (added != 0) release(added);
  sorted = 0;
  added = 0;
  sortedLen = 0;
  sortedDead = 0;
  addedLen = 0;
  addedCap = 0;
  sortedValid = false;
}

function rehash(newCap: u32): bool {
  const nt = alloc(<usize>newCap << 3);
  if (nt == 0) return false;
  memory.fill(nt, 0, <usize>newCap << 3);
  const nm = newCap - 1;
  // In groups, as foldOps: read every home slot of a group, then insert (the reads overlap their misses).
  let seen: u32 = 0;
  for (let g: u32 = 0; g < cap; g += GROUP) {
    const ge = cap - g < GROUP ? cap : g + GROUP;
    for (let i = g; i < ge; i++) {
      const s = tab + (<usize>i << 3);
      if (load<u32>(s, 4) > 1) seen ^= load<u32>(nt + (<usize>(load<u32>(s) & nm) << 3), 4);
    }
    for (let i = g; i < ge; i++) {
      const s = tab + (<usize>i << 3);
      const r = load<u32>(s, 4);
      if (r <= 1) continue;
      const h = load<u32>(s);
      let j = h & nm;
      while (load<u32>(nt + (<usize>j << 3), 4) != 0) j = (j + 1) & nm;
      store<u32>(nt + (<usize>j << 3), h);
      store<u32>(nt + (<usize>j << 3), r, 4);
    }
  }
  store<u32>(TOUCHED, load<u32>(TOUCHED) ^ seen);
  if (tab != 0) release(tab);
  tab = nt;
  cap = newCap;
  mask = nm;
  tombs = 0;
  dropSorted();
  return true;
}

/** Room for one more key (grow at 0.7 load; rebuild in place when tombstones fill it). */
function roomForOne(): bool {
  if (cap == 0) return rehash(MIN_CAP);
  if ((<u64>count + <u64>tombs + 1) * 10 <= <u64>cap * 7) return true;
  return rehash((<u64>count + 1) * 20 > <u64>cap * 7 ? cap << 1 : cap);
}

/** Slot holding key k[0..n) with hash h: its index, or -1 - (where it would go). */
function findSlot(k: usize, n: usize, h: u32): i64 {
  if (cap == 0) return -1;
  let i = h & mask;
  let tomb: i64 = -1;
  while (true) {
    const s = tab + (<usize>i << 3);
    const r = <usize>load<u32>(s, 4);
    if (r == 0) return -1 - (tomb >= 0 ? tomb : <i64>i);
    if (r == 1) {
      if (tomb < 0 && !sortedValid) tomb = <i64>i;
    } else if (load<u32>(s) == h && recKeyLen(r) == n && sameBytes(r + REC_HEADER, k, n)) {
      return <i64>i;
    }
    i = (i + 1) & mask;
  }
}

/** Set key k[0..kl) (hash h = hashKey(k, kl)) to version ver[0..vl) and value val[0..al). */
function put(k: usize, kl: usize, ver: usize, vl: usize, val: usize, al: usize, h: u32): i32 {
  if (!roomForOne()) return ERR_NO_MEMORY;
  const f = findSlot(k, kl, h);
  const size = (REC_HEADER + kl + vl + al + 3) & ~(<usize>3);
  const r = place(size); // may compact: slot indices stay, record addresses move
  if (r == 0) return ERR_NO_MEMORY;
  store<u32>(r, <u32>kl | (<u32>vl << KV_REC_VER_SHIFT));
  store<u32>(r, <u32>al, 4);
  if (ver == k + kl && val == ver + vl) { // as in an op: one copy
    copyBytes(r + REC_HEADER, k, kl + vl + al);
  } else {
    copyBytes(r + REC_HEADER, k, kl);
    copyBytes(r + REC_HEADER + kl, ver, vl);
    copyBytes(r + REC_HEADER + kl + vl, val, al);
  }
  used += <f64>size;
  liveBytes += <f64>(<usize>KV_OP_HEADER_SIZE + kl + vl + al);
  let slot: usize;
  if (f >= 0) {
    slot = tab + (<usize>f << 3);
    const old = <usize>load<u32>(slot, 4);
    store<u32>(r, load<u32>(old, 8), 8);
    freeRecord(old);
  } else {
    const i = <u32>(-1 - f);
    slot = tab + (<usize>i << 3);
    if (load<u32>(slot, 4) == 1) tombs--;
    store<u32>(slot, h);
    if (stamp == 0xffffffff) rebirth();
    store<u32>(r, ++stamp, 8);
    count++;
    if (sortedValid && !pushAdded(i)) { dropSorted(); }
  }
  store<u32>(slot, <u32>r, 4);
  return OK;
}

function del(k: usize, kl: usize, h: u32): void {
  if (count == 0) return;
  const f = findSlot(k, kl, h);
  if (f < 0) return;
  const s = tab + (<usize>f << 3);
  freeRecord(<usize>load<u32>(s, 4));
  store<u32>(s, 1, 4);
  tombs++;
  count--;
  if (sortedValid) sortedDead++;
  if (waste > used && waste > MIN_WASTE) compactArena();
}

function pushAdded(i: u32): bool {
  if (addedLen == addedCap) {
    const nc: u32 = addedCap == 0 ? 256 : addedCap << 1;
    const p = alloc(<usize>nc << 2);
    if (p == 0) return false;
    if (added != 0) {
      memory.copy(p, added, <usize>addedLen << 2);
      release(added);
    }
    added = p;
    addedCap = nc;
  }
  store<u32>(added + (<usize>addedLen << 2), i);
  addedLen++;
  return true;
}

// ---- host entry points: ops

/** Fold one op-sequence payload (batch header, cursor, ops) that decodeKvBatch accepted. */
function foldOps(ptr: usize, len: usize): i32 {
  const n = load<u32>(ptr + KB_COUNT);
  let p = ptr + <usize>KV_BATCH_HEADER_SIZE + <usize>load<u16>(ptr + KB_CURSOR_LEN);
  let i: u32 = 0;
  while (i < n) {
    const m = n - i < GROUP ? n - i : GROUP;
    let q = p;
    let seen: u32 = 0;
    for (let j: u32 = 0; j < m; j++) {
      const kl = <usize>load<u32>(q + KO_KEY_LEN);
      const k = q + <usize>KV_OP_HEADER_SIZE;
      const h = hashKey(k, kl);
      store<u32>(HASHES + (<usize>j << 2), h);
      if (cap != 0) seen ^= load<u32>(tab + (<usize>(h & mask) << 3), 4);
      q = k + kl + <usize>load<u8>(q + KO_VERSION_LEN) + <usize>load<u32>(q + KO_VALUE_LEN);
    }
    store<u32>(TOUCHED, load<u32>(TOUCHED) ^ seen);
    for (let j: u32 = 0; j < m; j++) {
      const kind = <u32>load<u8>(p + KO_KIND);
      const vl = <usize>load<u8>(p + KO_VERSION_LEN);
      const kl = <usize>load<u32>(p + KO_KEY_LEN);
      const al = <usize>load<u32>(p + KO_VALUE_LEN);
      const k = p + <usize>KV_OP_HEADER_SIZE;
      const h = load<u32>(HASHES + (<usize>j << 2));
      if (kind == KV_OP_PUT) {
        const st = put(k, kl, k + kl, vl, k + kl + vl, al, h);
        if (st != OK) return st;
      } else if (kind == KV_OP_DELETE) {
        del(k, kl, h);
      }
      p = k + kl + vl + al;
    }
    i += m;
  }
  return OK;
}

/**
 * Fold the frames at ptr[0..len) (as encodeBatch framed them: whole
 * TYPE_KV_BATCH frames back to back). Returns OK or ERR_NO_MEMORY.
 */
export function kvFoldFrames(ptr: usize, len: u32): i32 {
  let p = ptr;
  const end = ptr + <usize>len;
  while (p + <usize>FRAME_HEADER_SIZE <= end) {
    const plen = <usize>load<u32>(p + F_LEN);
    const st = foldOps(p + <usize>FRAME_HEADER_SIZE, plen);
    if (st != OK) return st;
    p += <usize>FRAME_HEADER_SIZE + plen;
  }
  return OK;
}

/** Check that every key of a payload decodeKvBatch accepted is well-formed UTF-8. OK or ERR_BAD_RECORD. */
export function kvCheckKeys(ptr: usize, len: u32): i32 {
  const n = load<u32>(ptr + KB_COUNT);
  let p = ptr + <usize>KV_BATCH_HEADER_SIZE + <usize>load<u16>(ptr + KB_CURSOR_LEN);
  for (let i: u32 = 0; i < n; i++) {
    const vl = <usize>load<u8>(p + KO_VERSION_LEN);
    const kl = <usize>load<u32>(p + KO_KEY_LEN);
    const al = <usize>load<u32>(p + KO_VALUE_LEN);
    if (!validUtf8(p + <usize>KV_OP_HEADER_SIZE, kl)) return ERR_BAD_RECORD;
    p += <usize>KV_OP_HEADER_SIZE + kl + vl + al;
  }
  return OK;
}

/** Fold one payload decodeKvBatch accepted, after checking its keys (nothing is folded if one is not UTF-8: ERR_BAD_RECORD). */
export function kvFoldPayload(ptr: usize, len: u32): i32 {
  const st = kvCheckKeys(ptr, len);
  if (st != OK) return st;
  return foldOps(ptr, <usize>len);
}

@inline function cont(p: usize): bool { return (load<u8>(p) & 0xc0) == 0x80; }

/** Well-formed UTF-8 as the WHATWG decoder (fatal) accepts it: no overlongs, surrogates or code points above U+10FFFF. */
function validUtf8(p: usize, n: usize): bool {
  let i: usize = 0;
  while (i < n) {
    if (i + 8 <= n && (load<u64>(p + i) & 0x8080808080808080) == 0) { i += 8; continue; }
    const b = <u32>load<u8>(p + i);
    if (b < 0x80) { i++; continue; }
    if (b >= 0xc2 && b <= 0xdf) {
      if (i + 2 > n || !cont(p + i + 1)) return false;
      i += 2;
    } else if (b >= 0xe0 && b <= 0xef) {
      if (i + 3 > n) return false;
      const b1 = <u32>load<u8>(p + i + 1);
      if (b == 0xe0 ? (b1 < 0xa0 || b1 > 0xbf) : b == 0xed ? (b1 < 0x80 || b1 > 0x9f) : (b1 & 0xc0) != 0x80) return false;
      if (!cont(p + i + 2)) return false;
      i += 3;
    } else if (b >= 0xf0 && b <= 0xf4) {
      if (i + 4 > n) return false;
      const b1 = <u32>load<u8>(p + i + 1);
      if (b == 0xf0 ? (b1 < 0x90 || b1 > 0xbf) : b == 0xf4 ? (b1 < 0x80 || b1 > 0x8f) : (b1 & 0xc0) != 0x80) return false;
      if (!cont(p + i + 2) || !cont(p + i + 3)) return false;
      i += 4;
    } else {
      return false;
    }
  }
  return true;
}

// ---- host entry points: reads

/** The record of key scratch[0..n), or 0. Record: u32 keyLen | verLen << 24, u32 valLen, u32 birth, key, version, value. */
export function kvFind(n: u32): u32 {
  if (count == 0) return 0;
  const k = <usize>kvScratch;
  const f = findSlot(k, <usize>n, hashKey(k, <usize>n));
  return f < 0 ? 0 : load<u32>(tab + (<usize>f << 3), 4);
}

/** Apply one put from the host: key at scratch[0..kl), version after it, value after that. */
export function kvPut(kl: u32, vl: u32, al: u32): i32 {
  const k = <usize>kvScratch;
  return put(k, <usize>kl, k + <usize>kl, <usize>vl, k + <usize>kl + <usize>vl, <usize>al, hashKey(k, <usize>kl));
}

/** Delete key scratch[0..kl). */
export function kvDelete(kl: u32): void {
  const k = <usize>kvScratch;
  del(k, <usize>kl, hashKey(k, <usize>kl));
}

/**
 * Size the table once for about `keys` keys (a replay estimates them from the
 * part of the file it has read), so it does not grow (and rehash) step by step
 * on the way there. Never shrinks it. OK or ERR_NO_MEMORY (the table is kept).
 */
export function kvReserveKeys(keys: u32): i32 {
  // A table of c slots takes n keys and its tombstones without growing while (n + tombs + 1) * 10 <= c * 7.
  const want = ((<u64>keys + <u64>tombs + 1) * 10 + 6) / 7;
  let c: u64 = cap == 0 ? <u64>MIN_CAP : <u64>cap;
  while (c < want) c <<= 1;
  if (c == <u64>cap) return OK;
  if (c > (<u64>1 << 28)) return ERR_NO_MEMORY; // 2 GiB of slots: more than a 32-bit core's memory
  return rehash(<u32>c) ? OK : ERR_NO_MEMORY;
}

export function kvSize(): u32 {
  return count;
}

export function kvLiveBytes(): f64 {
  return liveBytes;
}

/**
 * Births are u32 and compared with a stamp taken at a call (kvDump's
 * maxBirth). Before the stamp wraps, every live key is renumbered as born
 * at 0 and the stamp restarts, so a key can never look newer than a later
 * call's stamp (which would hide it from that range). A walk already in
 * progress then also sees the keys created since it began; it misses none.
 */
function rebirth(): void {
  for (let i: u32 = 0; i < cap; i++) {
    const r = <usize>load<u32>(tab + (<usize>i << 3), 4);
    if (r > 1) store<u32>(r, 0, 8);
  }
  stamp = 0;
}

/** Test-only: set the stamp (to reach its wrap without 2^32 creations). */
export function kvSetStamp(v: u32): void {
  stamp = v;
}

/** The stamp the next created key gets minus one (entries born after a call have a larger birth). */
export function kvStamp(): u32 {
  return stamp;
}

/** Memory the index holds (for tests and the docs): linear memory in bytes. */
export function kvMemoryBytes(): f64 {
  return <f64>(<u64>memory.size() << 16);
}

// ---- sorted order

@inline function slotKeyPtr(i: u32): usize { return <usize>load<u32>(tab + (<usize>i << 3), 4) + REC_HEADER; }
@inline function slotKeyLen(i: u32): usize { return recKeyLen(<usize>load<u32>(tab + (<usize>i << 3), 4)); }

function lessSlot(a: u32, b: u32): bool {
  return compareBytes(slotKeyPtr(a), slotKeyLen(a), slotKeyPtr(b), slotKeyLen(b)) < 0;
}

/**
 * Sort arr[0..n) of slot indices by key through tmp (same size) and runs
 * (n + 1 u32s): natural runs (a key order that follows arena order, as when
 * keys were created in order, is one run and costs one pass), short ones
 * extended to 16 by insertion sort, then merged pairwise. Returns where the
 * result is (arr or tmp).
 */
function sortSlots(arr: usize, tmp: usize, runs: usize, n: u32): usize {
  const RUN: u32 = 16;
  let nr: u32 = 0;
  let lo: u32 = 0;
  while (lo < n) {
    let hi = lo + 1;
    while (hi < n && !lessSlot(load<u32>(arr + (<usize>hi << 2)), load<u32>(arr + (<usize>(hi - 1) << 2)))) hi++;
    if (hi - lo < RUN) {
      const stop = lo + RUN < n ? lo + RUN : n;
      for (let i = hi; i < stop; i++) {
        const x = load<u32>(arr + (<usize>i << 2));
        let j = i;
        while (j > lo && lessSlot(x, load<u32>(arr + (<usize>(j - 1) << 2)))) {
          store<u32>(arr + (<usize>j << 2), load<u32>(arr + (<usize>(j - 1) << 2)));
          j--;
        }
        store<u32>(arr + (<usize>j << 2), x);
      }
      hi = stop;
    }
    store<u32>(runs + (<usize>nr << 2), lo);
    nr++;
    lo = hi;
  }
  store<u32>(runs + (<usize>nr << 2), n);
  let src = arr;
  let dst = tmp;
  while (nr > 1) {
    let k: u32 = 0;
    let r: u32 = 0;
    for (; r + 1 < nr; r += 2) {
      const a = load<u32>(runs + (<usize>r << 2));
      const m = load<u32>(runs + (<usize>(r + 1) << 2));
      const e = load<u32>(runs + (<usize>(r + 2) << 2));
      mergeInto(src, a, m, src, m, e, dst + (<usize>a << 2));
      store<u32>(runs + (<usize>k << 2), a);
      k++;
    }
    if (r < nr) { // an odd run out: copied as it is
      const a = load<u32>(runs + (<usize>r << 2));
      memory.copy(dst + (<usize>a << 2), src + (<usize>a << 2), <usize>(n - a) << 2);
      store<u32>(runs + (<usize>k << 2), a);
      k++;
    }
    store<u32>(runs + (<usize>k << 2), n);
    nr = k;
    const t = src; src = dst; dst = t;
  }
  return src;
}

/** Order slot indices arr[0..n) by their record's address (LSD radix, two 15-bit digits of address / 4) through tmp; result in arr. */
function byAddress(arr: usize, tmp: usize, count: usize, n: u32): void {
  let src = arr;
  let dst = tmp;
  for (let shift: u32 = 2; shift < 32; shift += 15) {
    memory.fill(count, 0, 32768 << 2);
    for (let i: u32 = 0; i < n; i++) {
      const d = (load<u32>(tab + (<usize>load<u32>(src + (<usize>i << 2)) << 3), 4) >>> shift) & 0x7fff;
      store<u32>(count + (<usize>d << 2), load<u32>(count + (<usize>d << 2)) + 1);
    }
    let sum: u32 = 0;
    for (let d: u32 = 0; d < 32768; d++) {
      const c = load<u32>(count + (<usize>d << 2));
      store<u32>(count + (<usize>d << 2), sum);
      sum += c;
    }
    for (let i: u32 = 0; i < n; i++) {
      const s = load<u32>(src + (<usize>i << 2));
      const d = (load<u32>(tab + (<usize>s << 3), 4) >>> shift) & 0x7fff;
      const at = load<u32>(count + (<usize>d << 2));
      store<u32>(dst + (<usize>at << 2), s);
      store<u32>(count + (<usize>d << 2), at + 1);
    }
    const t = src; src = dst; dst = t;
  }
  // two passes: the result is back in arr
}

/** Merge a[ai..ae) and b[bi..be) (sorted slot arrays) into out; returns entries written. */
function mergeInto(a: usize, ai: u32, ae: u32, b: usize, bi: u32, be: u32, out: usize): u32 {
  let o = out;
  while (ai < ae && bi < be) {
    const x = load<u32>(a + (<usize>ai << 2));
    const y = load<u32>(b + (<usize>bi << 2));
    if (lessSlot(y, x)) { store<u32>(o, y); bi++; } else { store<u32>(o, x); ai++; }
    o += 4;
  }
  while (ai < ae) { store<u32>(o, load<u32>(a + (<usize>ai << 2))); ai++; o += 4; }
  while (bi < be) { store<u32>(o, load<u32>(b + (<usize>bi << 2))); bi++; o += 4; }
  return <u32>((o - out) >> 2);
}

/** Drop tombstoned slots from arr[0..n) in place; returns the new length. */
function liveOnly(arr: usize, n: u32): u32 {
  let m: u32 = 0;
  for (let i: u32 = 0; i < n; i++) {
    const s = load<u32>(arr + (<usize>i << 2));
    if (load<u32>(tab + (<usize>s << 3), 4) > 1) { store<u32>(arr + (<usize>m << 2), s); m++; }
  }
  return m;
}

/** Make `sorted` hold exactly the live slots in key order. Returns false when out of memory. */
function ensureSorted(): bool {
  if (sortedValid && addedLen == 0 && sortedDead == 0) return true;
  if (!sortedValid) {
    dropSorted();
    const n = count;
    const a = alloc((<usize>n << 2) + 4);
    const t = alloc((<usize>n << 2) + 4);
    const w = alloc(((<usize>n + 1) << 2) + (32768 << 2));
    if (a == 0 || t == 0 || w == 0) { if (a != 0) release(a); if (t != 0) release(t); if (w != 0) release(w); return false; }
    let m: u32 = 0;
    for (let i: u32 = 0; i < cap; i++) {
      if (load<u32>(tab + (<usize>i << 3), 4) > 1) { store<u32>(a + (<usize>m << 2), i); m++; }
    }
    byAddress(a, t, w, m); // arena order first: records made in key order form one run
    const r = sortSlots(a, t, w, m);
    release(w);
    release(r == a ? t : a);
    sorted = r;
    sortedLen = m;
    sortedValid = true;
    return true;
  }
  // Merge the created slots in; drop the dead ones.
  const al = liveOnly(added, addedLen);
  const sl = sortedDead > 0 ? liveOnly(sorted, sortedLen) : sortedLen;
  if (al > 0) {
    const t = alloc((<usize>al << 2) + 4);
    const w = alloc((<usize>al << 2) + 4);
    const out = alloc((<usize>(sl + al) << 2) + 4);
    if (t == 0 || w == 0 || out == 0) { if (t != 0) release(t); if (w != 0) release(w); if (out != 0) release(out); dropSorted(); return ensureSorted(); }
    const r = sortSlots(added, t, w, al);
    mergeInto(sorted, 0, sl, r, 0, al, out);
    release(t);
    release(w);
    release(sorted);
    sorted = out;
    sortedLen = sl + al;
  } else {
    sortedLen = sl;
  }
  addedLen = 0;
  sortedDead = 0;
  return true;
}

/** Index of the first sorted key >= k[0..n) (strictly > when `after`). */
function lowerBound(k: usize, n: usize, after: bool): u32 {
  let lo: u32 = 0;
  let hi = sortedLen;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const s = load<u32>(sorted + (<usize>mid << 2));
    const c = compareBytes(slotKeyPtr(s), slotKeyLen(s), k, n);
    if (c < 0 || (after && c == 0)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Outputs of kvDump and kvEmit. */
export let kvOutCount: u32 = 0;
export let kvOutBytes: u32 = 0;

/**
 * Write live entries whose key starts with scratch[0..pl) and sorts after
 * scratch[pl..pl+al) (when al >= 0), born at or before `maxBirth`, in key
 * order into the out block: per entry u32 keyLen, u32 verLen, u32 valLen,
 * key, version, value. Stops after `maxBytes` bytes (at least one entry) or
 * at the prefix's end. kvOutCount = entries (0: no more), kvOutBytes =
 * bytes. Returns OK or ERR_NO_MEMORY.
 */
export function kvDump(pl: u32, al: i32, maxBirth: u32, maxBytes: u32): i32 {
  kvOutCount = 0;
  kvOutBytes = 0;
  if (!ensureSorted()) return ERR_NO_MEMORY;
  const pre = <usize>kvScratch;
  let i = lowerBound(pre, <usize>pl, false);
  if (al >= 0) {
    const j = lowerBound(pre + <usize>pl, <usize>al, true);
    if (j > i) i = j;
  }
  let o: usize = 0;
  let n: u32 = 0;
  for (; i < sortedLen; i++) {
    const s = load<u32>(sorted + (<usize>i << 2));
    const r = <usize>load<u32>(tab + (<usize>s << 3), 4);
    const kl = recKeyLen(r);
    if (kl < <usize>pl || !sameBytes(r + REC_HEADER, pre, <usize>pl)) break;
    if (load<u32>(r, 8) > maxBirth) continue;
    const vl = recVerLen(r);
    const vall = recValLen(r);
    const size = <usize>KV_DUMP_HEADER + kl + vl + vall;
    if (n > 0 && o + size > <usize>maxBytes) break;
    if (!outReserve(o + size)) return ERR_NO_MEMORY;
    store<u32>(outPtr + o, <u32>kl);
    store<u32>(outPtr + o, <u32>vl, 4);
    store<u32>(outPtr + o, <u32>vall, 8);
    memory.copy(outPtr + o + <usize>KV_DUMP_HEADER, r + REC_HEADER, kl + vl + vall);
    o += size;
    n++;
  }
  kvOutCount = n;
  kvOutBytes = <u32>o;
  return OK;
}

/**
 * Write live entries as §12.4 put ops (op header, key, version, value) in
 * key order into the out block, from sorted position `pos`, until the bytes
 * written reach `target` (the op that crosses it is included). Returns the
 * next position (sortedLen: done), or ERR_NO_MEMORY. kvOutCount/kvOutBytes
 * as for kvDump. No write may happen between the calls of one walk.
 */
export function kvEmit(pos: u32, target: u32): i32 {
  kvOutCount = 0;
  kvOutBytes = 0;
  if (!ensureSorted()) return ERR_NO_MEMORY;
  let o: usize = 0;
  let n: u32 = 0;
  let i = pos;
  while (i < sortedLen && o < <usize>target) {
    const s = load<u32>(sorted + (<usize>i << 2));
    const r = <usize>load<u32>(tab + (<usize>s << 3), 4);
    const kl = recKeyLen(r);
    const vl = recVerLen(r);
    const vall = recValLen(r);
    const size = <usize>KV_OP_HEADER_SIZE + kl + vl + vall;
    if (!outReserve(o + size)) return ERR_NO_MEMORY;
    const p = outPtr + o;
    store<u8>(p + KO_KIND, <u8>KV_OP_PUT);
    store<u8>(p + KO_VERSION_LEN, <u8>vl);
    store<u16>(p + 2, 0);
    store<u32>(p + KO_KEY_LEN, <u32>kl);
    store<u32>(p + KO_VALUE_LEN, <u32>vall);
    memory.copy(p + <usize>KV_OP_HEADER_SIZE, r + REC_HEADER, kl + vl + vall);
    o += size;
    n++;
    i++;
  }
  kvOutCount = n;
  kvOutBytes = <u32>o;
  return <i32>i;
}
