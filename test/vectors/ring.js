// How the golden RingLog file in ring-v1.hex is built, from the core's own
// encoders with a fixed salt: capacity 4, slotSize 64, records 1..6 appended
// with a sync() after each (so each mark is the sequence before it), record 5
// carrying failure evidence, then a clean close. The ring has wrapped: slots
// 0..3 hold records 5, 6, 3, 4 and the live window is [3, 7).
// scripts/make-vectors.mjs writes it; test/vectors/vectors.test.js checks the
// committed bytes; test/compat/ring.test.js opens them with the public API.
export const RING_SALT = 0x5eed0301;
export const RING_CAPACITY = 4;
export const RING_SLOT_SIZE = 64;
export const RING_FILE = 'golden.ring';

/** Every record appended, oldest first; only the last `capacity` are live. */
export const RING_RECORDS = [1, 2, 3, 4, 5, 6].map((sequence) => ({
  sequence,
  payload: `r${sequence}`,
  evidence: sequence === 5 ? { failureClass: 'io', cls: 3, code: -5, digest: [0xde, 0xad, 0xbe, 0xef] } : undefined,
}));
export const RING_LIVE = RING_RECORDS.slice(-RING_CAPACITY);

export const slotOffset = (sequence) => 4096 + ((sequence - 1) % RING_CAPACITY) * RING_SLOT_SIZE;

export function buildRing(core) {
  const x = core.x;
  const size = 4096 + RING_CAPACITY * RING_SLOT_SIZE;
  core.ensure(size);
  const S = core.staging;
  core.u8.fill(0, S, S + size);
  x.encodeFileHeader(S, core.c.KIND_RING, RING_SALT, RING_CAPACITY, RING_SLOT_SIZE, 0);
  const te = new TextEncoder();
  for (const r of RING_RECORDS) { // later records overwrite earlier ones in their slot
    const at = S + slotOffset(r.sequence);
    const p = te.encode(r.payload);
    const digest = r.evidence?.digest ?? [];
    core.u8.set(p, at + 40);
    core.u8.set(digest, at + 40 + p.length);
    const n = x.encodeSlot(at, RING_SLOT_SIZE, p.length, digest.length, RING_SALT, r.sequence, 0, r.sequence - 1, r.evidence?.cls ?? 0, r.evidence?.code ?? 0);
    if (n !== RING_SLOT_SIZE) throw new Error(`encodeSlot failed: ${n}`);
  }
  const first = RING_LIVE[0].sequence;
  const next = RING_RECORDS.at(-1).sequence + 1;
  for (const at of [2048, 2560]) x.encodeRingState(S + at, RING_SALT, 1, first, 0, next, 0); // clean, both copies
  return [{
    name: RING_FILE,
    bytes: core.u8.slice(S, S + size),
    comments: [`capacity ${RING_CAPACITY}, slotSize ${RING_SLOT_SIZE}, salt 0x${RING_SALT.toString(16)}; clean state [${first}, ${next}) at 2048 and 2560; slots 0..3 hold 5, 6, 3, 4; ${size} bytes`],
  }];
}
