// SegmentedWal: LSN-addressed records in a directory of segments, with
// rollover, checkpoint truncation, paginated replay and key rotation.
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import process from 'node:process';
import { KeyRing, SegmentedWal, WalError } from 'walcore';

const dir = join(mkdtempSync(join(process.env.WALCORE_EXAMPLE_DIR ?? os.tmpdir(), 'segmented-')), 'wal');
const text = (s: string) => new TextEncoder().encode(s);

// Tiny segments so this short example rolls a few times (use MiBs in production).
// u64: 'bigint' gives tenantId/databaseId their full u64 range (the default,
// 'number', takes and returns plain numbers up to 2^53-1).
const wal = SegmentedWal.open({ dir, segmentTargetSize: 512, u64: 'bigint' });
for (let i = 1; i <= 20; i++) {
  // recordType (u32), tenantId (u64), vshardId (u32), databaseId (u64), payload
  wal.append(1, 42, i % 4, 0, text(`put key-${i}`));
}
wal.sync(); // durable from here on
console.log('next LSN', wal.nextLsn, 'in', wal.listSegments().length, 'segments,', wal.totalSizeBytes(), 'bytes');

// A checkpoint at LSN 15 made everything below it redundant.
const { segmentsDeleted, bytesReclaimed } = wal.truncateBefore(15);
console.log(`truncated ${segmentsDeleted} segments (${bytesReclaimed} bytes); oldest retained LSN ${wal.firstRetainedLsn}`);
try {
  wal.replayFrom(1);
} catch (e) {
  console.log('replay from 1:', (e as WalError).code); // LSN_NOT_RETAINED, never a silent gap
}
const page = wal.replayFromLimit(15, 3);
console.log('page', page.records.map((r) => `${r.lsn}:${new TextDecoder().decode(r.payload)}`), 'hasMore', page.hasMore);

// Encryption: a key ring (current key + older ones for replay); rotation rolls to a new segment.
const ring = new KeyRing({ id: 1, key: randomBytes(32) });
wal.roll();
wal.setEncryptionRing(ring);
wal.append(2, 42n, 0, 2n ** 64n - 1n, text('secret'));
const rotated = ring.rotate({ id: 2, key: randomBytes(32) });
try {
  wal.setEncryptionRing(rotated);
} catch (e) {
  console.log('rotate with records in the active segment:', (e as WalError).code);
}
wal.roll();
wal.setEncryptionRing(rotated);
wal.append(2, 42, 0, 7, text('more secret'));
await wal.syncAsync(); // group commit
wal.close();

// Reopen with the rotated ring (it still holds key 1) and stream everything lazily.
// The oldest segments were written before encryption was switched on: with a ring
// set, plaintext segments are refused (a downgrade) unless allowPlaintext says so.
const again = SegmentedWal.open({ dir, encryptionRing: rotated, u64: 'bigint', allowPlaintext: true });
for (const r of again.records()) {
  if (r.recordType === 2) console.log('LSN', r.lsn, 'database', r.databaseId, new TextDecoder().decode(r.payload));
}
console.log('segments:', again.listSegments().map((s) => `${s.firstLsn}-${s.lastLsn}${s.encrypted ? ' (encrypted)' : ''}`).join(', '));
again.close();
