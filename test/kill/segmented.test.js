// kill -9: a child process in this same runtime appends to an encrypted
// SegmentedWal with tiny segments (rolling, rotating keys on every reopen,
// truncating) and prints each acknowledged LSN; the parent SIGKILLs it at
// random moments, reopens (taking over the dead child's lock) and checks
// that every acknowledged record is there, with contiguous LSNs and the
// bytes some generation wrote for that LSN.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fileURLToPath } from 'node:url';
import { SegmentedWal } from 'walcore';
import { rng, seedFor, tempDir } from '../support/helpers.js';
import { runAndKill } from '../support/kill-harness.js';
import { equalBytes, fieldsFor, payloadFor } from '../support/fixtures/segmented-util.js';
import { ringFor } from '../support/fixtures/segmented-kill-ring.js';

const CHILD = fileURLToPath(new URL('../support/fixtures/segmented-kill-child.js', import.meta.url));

test('kill -9 at random moments never loses an acknowledged record', async () => {
  const seed = seedFor('segmented kill -9');
  const r = rng(seed);
  const dir = `${tempDir('segkill')}/wal`;
  let acked = 0;
  let totalAcks = 0;
  let segmentsSeen = 0;
  for (let gen = 0; gen < 6; gen++) {
    const { maxAck, acks, start } = await runAndKill(CHILD, [dir, String(gen)], r.int(60, 350));
    assert.ok(start > acked, `seed ${seed}: child ${gen} started at LSN ${start}, but ${acked} was acknowledged`);
    acked = Math.max(acked, maxAck);
    totalAcks += acks;
    // Reopen as the next writer would, with the ring the dead child used (no roll).
    const wal = SegmentedWal.open({ dir, segmentTargetSize: 2048, encryptionRing: ringFor(gen) });
    const recs = wal.replay();
    const floor = wal.firstRetainedLsn;
    assert.ok(floor <= Math.max(1, acked - 100), `seed ${seed}: floor ${floor} is above what truncation may delete`);
    let expect = floor;
    for (const rec of recs) {
      if (rec.lsn !== expect) assert.unreachable(`seed ${seed}: LSN ${rec.lsn}, expected ${expect}`);
      const f = fieldsFor(rec.lsn);
      if (rec.recordType !== f.recordType || rec.tenantId !== f.tenantId || rec.vshardId !== f.vshardId) assert.unreachable(`fields of ${rec.lsn} differ`);
      let ok = false;
      for (let g = 0; g <= gen && !ok; g++) ok = equalBytes(rec.payload, payloadFor(rec.lsn, g));
      if (!ok) assert.unreachable(`seed ${seed}: payload of LSN ${rec.lsn} was written by no generation`);
      expect++;
    }
    assert.ok(expect - 1 >= acked, `seed ${seed}: after kill ${gen} the log ends at ${expect - 1}, but ${acked} was acknowledged`);
    assert.is(wal.nextLsn, expect);
    segmentsSeen = Math.max(segmentsSeen, wal.listSegments().length);
    wal.close();
  }
  assert.ok(totalAcks > 0, 'no child ever acknowledged anything: the test tested nothing');
  assert.ok(segmentsSeen > 2, 'the children rolled segments');
});

test.run();
