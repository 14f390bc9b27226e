// kill -9: a child process in this same runtime appends and flushes,
// printing each acknowledged sequence; the parent SIGKILLs it at random
// moments, reopens (taking over the dead child's lock), and checks that
// every acknowledged event is there, in order, with the right bytes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fileURLToPath } from 'node:url';
import { WalFsReader, WalFsWriter } from 'walcore';
import { rng, seedFor, tempDir } from '../support/helpers.js';
import { runAndKill } from '../support/kill-harness.js';
import { payloadOf } from '../support/fixtures/wal-payload.js';

const CHILD = fileURLToPath(new URL('../support/fixtures/wal-child.js', import.meta.url));

test('kill -9 at random moments never loses an acknowledged event', async () => {
  const seed = seedFor('kill -9');
  const r = rng(seed);
  const path = `${tempDir('kill')}/kill.wal`;
  let acked = 0;
  let totalAcks = 0;
  for (let i = 0; i < 6; i++) {
    const { maxAck, acks, start } = await runAndKill(CHILD, [path], r.int(40, 300));
    assert.ok(start >= acked, `child ${i} started at ${start} below acknowledged ${acked}`);
    acked = Math.max(acked, maxAck);
    totalAcks += acks;
    // Reopen as the next writer would: the dead child's lock must not block us.
    const w = WalFsWriter.open(path, { repair: 'truncate-partial' });
    const last = w.currentSequence;
    w.close();
    assert.ok(last >= acked, `seed ${seed}: after kill ${i}, log ends at ${last} but ${acked} was acknowledged`);
    const reader = WalFsReader.open(path, { strict: true });
    let expect = 1;
    reader.forEach((seq, payload) => {
      if (seq !== expect) assert.unreachable(`seed ${seed}: sequence ${seq}, expected ${expect}`);
      const want = payloadOf(seq);
      if (payload.length !== want.length || payload.some((b, k) => b !== want[k])) assert.unreachable(`payload of ${seq} differs`);
      expect++;
    });
    reader.close();
    assert.is(expect - 1, last);
  }
  assert.ok(totalAcks > 0, 'no child ever acknowledged anything: the test tested nothing');
});

test('a second writer in another process is refused while the first lives', async () => {
  const path = `${tempDir('lock')}/locked.wal`;
  let refused;
  await runAndKill(CHILD, [path], 100, () => {
    try {
      WalFsWriter.open(path).close();
      refused = 'opened';
    } catch (e) {
      refused = e.code;
    }
  });
  assert.is(refused, 'LOCKED');
  WalFsWriter.open(path, { repair: 'truncate-partial' }).close(); // and taken over once it is dead
});

test.run();
