// RingLog kill -9: a child in this same runtime appends and syncs, printing
// each acknowledged sequence; the parent SIGKILLs it at random moments,
// reopens (taking over the dead child's lock) and checks that nothing
// acknowledged is missing, the replay is gap-free and ordered, and every
// record holds the bytes its last writer gave it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fileURLToPath } from 'node:url';
import { RingLog } from 'walcore';
import { rng, seedFor, tempDir } from '../support/helpers.js';
import { runAndKill } from '../support/kill-harness.js';
import { ringPayloadOf } from '../support/fixtures/ring-payload.js';

const CHILD = fileURLToPath(new URL('../support/fixtures/ring-child.js', import.meta.url));
const CAPACITY = 64;

test('kill -9 at random moments never loses an acknowledged record', async () => {
  const seed = seedFor('ring kill -9');
  const r = rng(seed);
  const path = `${tempDir('ring-kill')}/kill.ring`;
  const starts = []; // starts[gen] = first sequence generation gen wrote
  let acked = 0;
  let totalAcks = 0;
  const deadline = Date.now() + 5000;
  for (let gen = 0; gen < 8 && (gen < 3 || Date.now() < deadline); gen++) {
    const { maxAck, acks, start } = await runAndKill(CHILD, [path, String(gen)], r.int(30, 250));
    assert.ok(start >= acked + 1 || acked === 0, `child ${gen} started at ${start} at or below acknowledged ${acked}`);
    starts[gen] = start;
    acked = Math.max(acked, maxAck);
    totalAcks += acks;
    const log = RingLog.open(path);
    const recs = log.replayRecords();
    const report = log.openReport;
    const a = log.firstSequence;
    const b = log.nextSequence - 1;
    log.close();
    assert.is(report.discarded.length, 0, 'kill -9 loses no written slot, so nothing is set aside');
    assert.ok(b >= acked, `seed ${seed}: after kill ${gen}, the ring ends at ${b} but ${acked} was acknowledged`);
    assert.is(a, Math.max(1, b - CAPACITY + 1), `seed ${seed}: the window is full up to its newest record`);
    assert.is(recs.length, b - a + 1);
    recs.forEach((rec, i) => {
      if (rec.sequence !== a + i) assert.unreachable(`seed ${seed}: sequence ${rec.sequence}, expected ${a + i}`);
      let writer = 0;
      for (let g = 0; g <= gen; g++) if (starts[g] <= rec.sequence) writer = g;
      const want = ringPayloadOf(writer, rec.sequence);
      if (rec.payload.length !== want.length || rec.payload.some((x, k) => x !== want[k])) {
        assert.unreachable(`seed ${seed}: record ${rec.sequence} does not hold generation ${writer}'s bytes`);
      }
    });
  }
  assert.ok(totalAcks > 0, 'no child ever acknowledged anything: the test tested nothing');
  assert.ok(acked > CAPACITY, `the ring wrapped (acknowledged ${acked} records in ${CAPACITY} slots)`);
});

test('a second writer in another process is refused while the first lives', async () => {
  const path = `${tempDir('ring-lock')}/locked.ring`;
  let refused;
  await runAndKill(CHILD, [path, '0'], 100, () => {
    try {
      RingLog.open(path).close();
      refused = 'opened';
    } catch (e) {
      refused = e.code;
    }
  });
  assert.is(refused, 'LOCKED');
  RingLog.open(path).close(); // and taken over once it is dead
});

test.run();
