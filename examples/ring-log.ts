// RingLog: keep the last N records of a stream in one preallocated file,
// with failure evidence beside the ones that failed, and read them back
// oldest to newest after a restart. Runs in Node, Deno and Bun:
//   node scripts/examples.mjs ring
import * as os from 'node:os';
import process from 'node:process';
import { RingLog } from 'walcore';

const dir = process.env.WALCORE_EXAMPLE_DIR ?? os.tmpdir();
const path = `${dir}/publish-slots.ring`;
const text = new TextEncoder();
const show = (b: Uint8Array): string => new TextDecoder().decode(b);

// A ring of 4 slots of 256 bytes: the file is created and zero-filled now.
const ring = RingLog.open(path, { capacity: 4, slotSize: 256 });
console.log(`opened ${path}: ${ring.capacity} slots, up to ${ring.maxPayload} bytes each, created=${ring.openReport.created}`);

for (let slot = 1; slot <= 5; slot++) {
  const seq = ring.append(text.encode(`published slot ${slot}`));
  console.log(`appended record ${seq}`);
}
// A publish that failed: keep the evidence with the record.
const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', text.encode('slot 6 body')));
ring.appendWithFailure(text.encode('published slot 6'), { failureClass: 'timeout', code: 504, digest });
ring.sync(); // the only fsync: everything above is durable now
console.log(`synced; records ${ring.firstSequence}..${ring.durableSequence} are durable (1 and 2 were overwritten: the ring holds 4)`);
ring.close();

// After a restart: the stored geometry wins, so no options are needed.
const again = RingLog.open(path);
console.log(`reopened: clean close recognised = ${again.openReport.clean}`);
for (const rec of again.replayRecords()) {
  const ev = rec.evidence ? ` [failed: ${rec.evidence.failureClass} ${rec.evidence.code}, digest ${rec.evidence.digest?.length ?? 0} bytes]` : '';
  console.log(`  ${rec.sequence}: ${show(rec.payload)}${ev}`);
}
console.log(`replayAll() -> ${again.replayAll().map(show).join(' | ')}`);
again.close();
