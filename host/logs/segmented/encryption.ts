/**
 * Encryption for SegmentedWal records: a key ring and the nonce source;
 * AES-256-GCM itself is host/platform/aes-gcm.ts.
 *
 * KeyRing: an immutable set of 32-byte keys named by u32 key ids, one of
 * which is current (used to encrypt); the others only decrypt records
 * written before a rotation. The ring keeps its own copies of the keys.
 *
 * Nonces (docs/FORMAT.md §S5, §S9): a nonce is 12 bytes, stored in each
 * record (format 1) or sealed block (format 2): an 8-byte prefix drawn from the CSPRNG when a NonceSource is
 * created, then a 4-byte counter. The WAL makes a new NonceSource on every
 * open, every segment roll and every ring change, and when a counter is
 * exhausted, so a nonce is never derived from anything that a crash can roll
 * back (an LSN lost in a crash is re-issued after reopen, under a new
 * prefix). Within one source the counter never repeats; two sources repeat a
 * prefix with probability about n^2 / 2^65 for n sources under one key.
 */
export { sealInto, openSealed as open, openBlock } from '../../platform/aes-gcm.js';
import { keyCheckValue } from '../../platform/key-check.js';

/** AES-256 key size in bytes. */
export const KEY_SIZE = 32;

export interface KeyEntry {
  /** u32 key id, stored in every record the key encrypts. */
  id: number;
  /** 32 bytes of key material. */
  key: Uint8Array;
}

function checkEntry(where: string, e: KeyEntry): void {
  if (e === null || typeof e !== 'object') throw new TypeError(`${where}: expected { id, key }`);
  if (!Number.isInteger(e.id) || e.id < 0 || e.id > 0xffffffff) throw new RangeError(`${where}: key id must be a u32, got ${String(e.id)}`);
  if (!(e.key instanceof Uint8Array)) throw new TypeError(`${where}: key must be a Uint8Array`);
  if (e.key.length !== KEY_SIZE) throw new RangeError(`${where}: key must be ${KEY_SIZE} bytes, got ${e.key.length}`);
}

/** Internal (not exported from walcore): the ring's own key buffer for an id. */
export let keyOf: (ring: KeyRing, id: number) => Uint8Array | undefined;
/** Internal: the key check value (FORMAT.md §S2) of the ring's key for an id (the id must be in the ring). */
export let keyCheckOf: (ring: KeyRing, id: number) => [number, number];

export class KeyRing {
  readonly #keys = new Map<number, Uint8Array>();
  readonly #checks = new Map<number, [number, number]>();
  readonly #current: number;
  #destroyed = false;

  static {
    keyOf = (ring, id) => ring.#live().get(id);
    keyCheckOf = (ring, id) => {
      let c = ring.#checks.get(id);
      if (c === undefined) {
        c = keyCheckValue(ring.#live().get(id)!);
        ring.#checks.set(id, c);
      }
      return c;
    };
  }

  /**
   * `current` encrypts new records; `older` keys only decrypt. Key ids must
   * be distinct u32s and keys 32 bytes (TypeError/RangeError otherwise).
   * The ring keeps its own copies; no method hands them out.
   */
  constructor(current: KeyEntry, older: readonly KeyEntry[] = []) {
    checkEntry('KeyRing: current', current);
    if (!Array.isArray(older)) throw new TypeError('KeyRing: older must be an array of { id, key }');
    for (const e of [current, ...older]) {
      checkEntry('KeyRing', e);
      if (this.#keys.has(e.id)) throw new RangeError(`KeyRing: key id ${e.id} appears twice`);
      this.#keys.set(e.id, e.key.slice());
    }
    this.#current = current.id;
  }

  #live(): Map<number, Uint8Array> {
    if (this.#destroyed) throw new TypeError('KeyRing: the ring was destroyed');
    return this.#keys;
  }

  /** The key id new records are encrypted with. */
  get currentKeyId(): number {
    return this.#current;
  }

  /** Every key id the ring can decrypt, ascending. */
  get keyIds(): number[] {
    return [...this.#keys.keys()].sort((a, b) => a - b);
  }

  has(id: number): boolean {
    return this.#keys.has(id);
  }

  /** Whether destroy() was called. */
  get destroyed(): boolean {
    return this.#destroyed;
  }

  /** A new ring with `next` as the current key and every key of this one kept for decryption (copied again). */
  rotate(next: KeyEntry): KeyRing {
    checkEntry('KeyRing.rotate', next);
    const older: KeyEntry[] = [];
    for (const [id, key] of this.#live()) older.push({ id, key });
    return new KeyRing(next, older);
  }

  /**
   * Overwrite the ring's copies of its keys with zeros and forget them; a
   * WAL using the ring then fails its encrypting and decrypting calls with a
   * TypeError. Best effort: JavaScript cannot guarantee that no other copy
   * exists (the caller's own buffers, copies the crypto library or the
   * garbage collector made).
   */
  destroy(): void {
    for (const key of this.#keys.values()) key.fill(0);
    this.#keys.clear();
    this.#checks.clear();
    this.#destroyed = true;
  }
}

/** Fresh nonces: random 8-byte prefix + 4-byte counter (see the file comment). */
export class NonceSource {
  p0 = 0;
  p1 = 0;
  #counter = 0;
  /** Prefixes this source drew (1, plus one per exhausted counter). */
  prefixes = 0;

  constructor() {
    this.#draw();
  }

  #draw(): void {
    const r = crypto.getRandomValues(new Uint32Array(2));
    this.p0 = r[0]!;
    this.p1 = r[1]!;
    this.#counter = 0;
    this.prefixes++;
  }

  /**
   * The next nonce as three u32s (prefix, prefix, counter); a fresh prefix
   * is drawn when the counter is exhausted, so no nonce is handed out twice.
   */
  take(): [number, number, number] {
    if (this.#counter >= 0x100000000) this.#draw();
    return [this.p0, this.p1, this.#counter++];
  }

  /** Whether `n` more nonces are available from this source. */
  has(n: number): boolean {
    return this.#counter + n <= 0x100000000;
  }

  /** The next counter value (the nonce's last 4 bytes). Call has() first. */
  next(): number {
    return this.#counter++;
  }
}
