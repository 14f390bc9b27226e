// RingLog beside the raw file API doing the same I/O in the same process:
// appends of 64 B and 1 KiB records into a ring of 1,000,000 slots (each run
// appends 1.25x the capacity, so it wraps), and replay of the full ring
// (replayAll, which returns a view per record the caller keeps, and the
// allocation-free replayBatches and replayEach).
// Baselines: fs.writeSync of the same slot bytes at the same offsets in the
// same batches (1 MiB, split at the wrap), and fs.readSync of the slot region.
//   node bench/run.mjs ring
import * as fs from 'node:fs';
import { RingLog } from 'walcore';
import { benchDir, compare } from './lib.js';

const dir = benchDir('ring');
const CAPACITY = Number(process.env.WALCORE_BENCH_RING_SLOTS ?? 1_000_000);
const APPENDS = Math.round(CAPACITY * 1.25);
const DATA = 4096; // RING_DATA_OFFSET (docs/FORMAT.md §R1)
const BATCH = 1 << 20; // RingLog's default bufferSize
const secondsSince = (t0) => (performance.now() - t0) / 1000;
/** Minor page faults of this process so far (Linux /proc; -1 elsewhere). */
function minorFaults() {
  try {
    const stat = fs.readFileSync('/proc/self/stat', 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[7]);
  } catch {
    return -1;
  }
}

/** Raw baseline: a file of the same size, slot images written at the same offsets in the same batches. */
function rawWriter(path, slotSize, capacity, slotImage) {
  const fd = fs.openSync(path, 'w+');
  fs.ftruncateSync(fd, DATA + capacity * slotSize);
  const perBatch = Math.max(1, Math.floor(BATCH / slotSize));
  const batch = new Uint8Array(perBatch * slotSize);
  for (let i = 0; i < perBatch; i++) batch.set(slotImage, i * slotSize);
  let seq = 0;
  return {
    append(n) {
      let done = 0;
      while (done < n) {
        const index = seq % capacity;
        const k = Math.min(perBatch, n - done, capacity - index);
        fs.writeSync(fd, batch, 0, k * slotSize, DATA + index * slotSize);
        seq += k;
        done += k;
      }
    },
    close() { fs.closeSync(fd); },
  };
}

/** Raw baseline: read the slot region in 4 MiB chunks (RingLog's replay chunk), touching nothing. */
function rawRead(path, slotSize, capacity) {
  const fd = fs.openSync(path, 'r');
  const buf = new Uint8Array(Math.floor((4 << 20) / slotSize) * slotSize);
  const end = DATA + capacity * slotSize;
  for (let pos = DATA; pos < end;) pos += fs.readSync(fd, buf, 0, Math.min(buf.length, end - pos), pos);
  fs.closeSync(fd);
  return capacity;
}

for (const [label, payloadSize, runs] of [['64 B', 64, 5], ['1 KiB', 1024, 3]]) {
  const slotSize = payloadSize + 40; // header + payload, a multiple of 8
  const payload = new Uint8Array(payloadSize).map((_, i) => i * 13);
  const ringPath = `${dir}/ring-${payloadSize}.ring`;
  const rawPath = `${dir}/raw-${payloadSize}.bin`;
  const t0 = performance.now();
  const ring = RingLog.open(ringPath, { capacity: CAPACITY, slotSize });
  console.log(`(created and preallocated a ${(fs.statSync(ringPath).size / 2 ** 20).toFixed(0)} MiB ring in ${secondsSince(t0).toFixed(2)} s)`);
  // A slot image for the baseline: the bytes RingLog writes for this payload.
  ring.append(payload);
  ring.sync();
  const image = new Uint8Array(slotSize);
  const fd = fs.openSync(ringPath, 'r');
  fs.readSync(fd, image, 0, slotSize, DATA);
  fs.closeSync(fd);
  const raw = rawWriter(rawPath, slotSize, CAPACITY, image);

  compare({
    name: `append ${label} into ${CAPACITY / 1e6}M slots (wraps)`, unit: 'rec/s', runs,
    subject: () => {
      const t = performance.now();
      for (let i = 0; i < APPENDS; i++) ring.append(payload);
      return { work: APPENDS, seconds: secondsSince(t) };
    },
    baseline: () => { raw.append(APPENDS); return APPENDS; },
    baselineName: 'fs.writeSync slots',
  });
  ring.sync();
  raw.close();

  const faults = [];
  compare({
    name: `replay full ring of ${label} (replayAll)`, unit: 'rec/s', runs,
    subject: () => { const f0 = minorFaults(); const n = ring.replayAll().length; faults.push(minorFaults() - f0); return n; },
    baseline: () => rawRead(ringPath, slotSize, CAPACITY),
    baselineName: 'fs.readSync 4 MiB',
  });
  // replayAll returns memory the caller keeps (a full ring of 1 KiB slots is
  // 1 GiB): whether it comes as fresh pages (one minor fault per 4 KiB) or as
  // memory the allocator kept from the previous call's freed result decides
  // its rate, and differs by runtime (docs/ring-log.md "Replay").
  if (faults.every((f) => f >= 0)) console.log(`(replayAll ${label}: ${faults.map((f) => `${(f / 1e3).toFixed(1)}k`).join(', ')} minor page faults per call, ${((CAPACITY * payloadSize) / 4096 / 1e3).toFixed(1)}k pages of payloads returned)`);
  // The allocation-free replays: one reused buffer, every payload's bytes touched once.
  let sink = 0;
  compare({
    name: `replay full ring of ${label} (replayBatches)`, unit: 'rec/s', runs,
    subject: () => ring.replayBatches((b) => { for (let i = 0; i < b.count; i++) sink += b.bytes[b.offsets[i]]; }),
    baseline: () => rawRead(ringPath, slotSize, CAPACITY),
    baselineName: 'fs.readSync 4 MiB',
  });
  compare({
    name: `replay full ring of ${label} (replayEach)`, unit: 'rec/s', runs,
    subject: () => ring.replayEach((p) => { sink += p[0]; }),
    baseline: () => rawRead(ringPath, slotSize, CAPACITY),
    baselineName: 'fs.readSync 4 MiB',
  });
  if (sink === 0.5) console.log(sink);
  ring.close();
  // Reopen of the full ring: recovery scans and validates every slot.
  compare({
    name: `open + verify full ring of ${label}`, unit: 'slots/s', runs: Math.min(runs, 3),
    subject: () => { RingLog.open(ringPath).close(); return CAPACITY; },
    baseline: () => rawRead(ringPath, slotSize, CAPACITY),
    baselineName: 'fs.readSync 4 MiB',
  });
  fs.rmSync(ringPath, { force: true });
  fs.rmSync(rawPath, { force: true });
}
