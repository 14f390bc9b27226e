// kill -9: a child process in this same runtime applies batches to an
// AppendLogSnapshot (batch n with cursor revision n, each a pure function of
// n: test/support/fixtures/kv-kill-batches.js) and prints each batch it made
// durable; the parent SIGKILLs it at random moments (seeded), reopens
// (taking over the dead child's lock) and checks that the cursor is at or
// past every acknowledged batch and that the fold is exactly the fold of
// batches 1..cursor: every acknowledged batch present, no data beyond the
// cursor, no cursor ahead of its data, no partial batch.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fileURLToPath } from 'node:url';
import { AppendLogSnapshot } from 'walcore';
import { rng, seedFor, tempDir } from '../support/helpers.js';
import { runAndKill } from '../support/kill-harness.js';
import { foldAt, foldLines } from '../support/fixtures/kv-kill-batches.js';

const CHILD = fileURLToPath(new URL('../support/fixtures/kv-kill-child.js', import.meta.url));

test('kill -9 at random moments: the cursor is at or past every acknowledged batch and matches the data exactly', async () => {
  const seed = seedFor('kv kill -9');
  const r = rng(seed);
  const path = `${tempDir('kvkill')}/fold.kv`;
  let acked = 0;
  let totalAcks = 0;
  for (let round = 0; round < 6; round++) {
    const { maxAck, acks, start } = await runAndKill(CHILD, [path], r.int(60, 350));
    const ctx = `seed ${seed} round ${round}`;
    assert.ok(start > acked, `${ctx}: child started at ${start}, but ${acked} was acknowledged`);
    acked = Math.max(acked, maxAck);
    totalAcks += acks;
    const { cursor, store } = AppendLogSnapshot.open(path, { compactThreshold: 1 << 30, repair: 'truncate-partial' });
    const at = cursor.isNone ? 0 : Number(cursor.toRevision());
    assert.ok(at >= acked, `${ctx}: reopened at cursor ${at}, but batch ${acked} was acknowledged durable`);
    assert.equal(foldLines(store.range('').map((e) => [e.key, e])), foldLines(foldAt(at)), `${ctx}: the fold is not exactly batches 1..${at}`);
    store.close();
    // What the reopen saw is durable now (open leaves nothing unsynced): the next child starts after it.
    acked = at;
  }
  console.log(`[kv kill] ${totalAcks} acknowledged batches over 6 kills, reopened at ${acked}`);
  assert.ok(totalAcks > 0, 'no child ever acknowledged anything: the test tested nothing');
});

test('a second writer in another process is refused while the first lives, and takes over once it is dead', async () => {
  const path = `${tempDir('kvlock')}/locked.kv`;
  let refused;
  await runAndKill(CHILD, [path], 100, () => {
    try {
      AppendLogSnapshot.open(path).store.close();
      refused = 'opened';
    } catch (e) {
      refused = e.code;
    }
  });
  assert.is(refused, 'LOCKED');
  AppendLogSnapshot.open(path).store.close();
});

test.run();
