// WalLog format (docs/FORMAT.md §11): byte surgery on the golden directory
// of test/vectors/raft-v1.hex. Each test is named for what it proves; CRCs
// of edited frames are recomputed with the independent crc-32 oracle, so the
// rule under test (not the checksum) is what must catch the edit.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MemoryFileSystem, WalLog, WalError } from 'walcore';
import { Core } from 'walcore/internals';
import { CRC32C, dec } from '../support/helpers.js';
import { readVector } from '../vectors/vectors.js';
import { RAFT_OFFSETS, RAFT_SEG1, RAFT_SEG2, RAFT_SNAP, buildRaft } from '../vectors/raft.js';

const core = new Core();
buildRaft(core); // fills RAFT_OFFSETS
const c = core.c;
const O = RAFT_OFFSETS;
const DIR = '/r';
const getU32 = (b, at) => new DataView(b.buffer, b.byteOffset).getUint32(at, true);
const putU32 = (b, at, v) => new DataView(b.buffer, b.byteOffset).setUint32(at, v >>> 0, true);
/** Recompute the CRC of the frame at `at` (FORMAT.md §3: over bytes 4 .. 32 + len). */
const reCrc = (b, at) => putU32(b, at, CRC32C.buf(b.subarray(at + 4, at + 32 + getU32(b, at + 4))) >>> 0);

/** The golden directory in a MemoryFileSystem; `edit(files)` may change the byte arrays (by name) or delete entries. */
function golden(edit = () => {}) {
  const files = Object.fromEntries(readVector('raft-v1.hex').map((f) => [f.name, f.bytes.slice()]));
  edit(files);
  const fs = new MemoryFileSystem();
  fs.mkdir(DIR);
  fs.syncDir('/');
  for (const [name, bytes] of Object.entries(files)) if (bytes) fs.writeFile(`${DIR}/${name}`, bytes);
  fs.syncDir(DIR);
  return fs;
}

function corrupted(fn, where) {
  try {
    fn();
  } catch (e) {
    assert.instance(e, WalError, `${where}: ${e}`);
    assert.is(e.code, 'CORRUPTED', `${where}: ${e.message}`);
    return e;
  }
  return assert.unreachable(`${where}: expected CORRUPTED`);
}

test('GoldenDirectoryOpensWithoutScanningItsSealedSegment', () => {
  const log = WalLog.open(DIR, { fs: golden() });
  assert.is(log.openReport.footersRead, 1);
  assert.is(log.lastIndex(), 4);
  log.close();
});

test('FooterThatDisagreesWithItsSegmentIsCorrupted', () => {
  // op 2 of the footer is entry 1: give it entry type 7 (its frame says 0). Open trusts the footer; verify() does not.
  const fs = golden((f) => { f[RAFT_SEG1][O.footer + 32 + 2 * 32 + 1] = 7; reCrc(f[RAFT_SEG1], O.footer); });
  const log = WalLog.open(DIR, { fs });
  const e = corrupted(() => log.verify(), 'verify');
  assert.is(e.path, `${DIR}/${RAFT_SEG1}`);
  assert.match(e.message, /footer does not match/);
  log.close();
});

test('FooterNamingAnotherTermForAnEntryIsCorruptedWhenTheEntryIsRead', () => {
  // op 5 is the new entry 2 (term 2): the footer says term 1.
  const fs = golden((f) => { f[RAFT_SEG1][O.footer + 32 + 5 * 32 + 16] = 1; reCrc(f[RAFT_SEG1], O.footer); });
  const log = WalLog.open(DIR, { fs, cacheEntries: 0 });
  assert.is(log.termAt(2), 1, 'the index came from the footer');
  const e = corrupted(() => log.entry(2), 'entry(2)');
  assert.is(e.offset, O.entry2);
  corrupted(() => log.entries(2, 4), 'entries(2, 4)');
  log.close();
});

test('LocatorNamingAnImpossibleFooterIsCorrupted', () => {
  const fs = golden((f) => { putU32(f[RAFT_SEG1], O.locator + 32, O.footer - 8); reCrc(f[RAFT_SEG1], O.locator); });
  const e = corrupted(() => WalLog.open(DIR, { fs }), 'open');
  assert.is(e.path, `${DIR}/${RAFT_SEG1}`);
});

test('LocatorWithAnUnknownFlagIsNotTrustedAndTheSegmentIsScanned', () => {
  // locator payload: a footer offset (+32), b op count (+40), c entry count (+48), flags (+56); only RAFT_LOC_ENTRIES (1) is defined
  const fs = golden((f) => { putU32(f[RAFT_SEG1], O.locator + 56, 2); reCrc(f[RAFT_SEG1], O.locator); });
  const log = WalLog.open(DIR, { fs });
  assert.equal([log.openReport.footersRead, log.openReport.footersDeferred], [0, 0]);
  assert.equal(log.entries(2, 4).map((e) => `${e.index}:${e.term}:${dec(e.payload)}`), ['2:2:B', '3:2:ccc', '4:2:dddd']);
  log.close();
});

test('LocatorEntriesOnlyFlagIsTrustedOnlyWhenItsCountMatchesTheSegmentHeaders', () => {
  // The golden sealed segment holds a truncate, so its locator has no RAFT_LOC_ENTRIES. Claiming it with an entry
  // count (c) the headers do not confirm makes open read the footer as before; c above the op count is invalid.
  for (const [cnt, read] of [[0, 1], [1000, 0]]) {
    const fs = golden((f) => {
      putU32(f[RAFT_SEG1], O.locator + 48, cnt);
      putU32(f[RAFT_SEG1], O.locator + 56, c.RAFT_LOC_ENTRIES);
      reCrc(f[RAFT_SEG1], O.locator);
    });
    const log = WalLog.open(DIR, { fs });
    assert.equal([log.openReport.footersRead, log.openReport.footersDeferred], [read, 0], `c = ${cnt}`);
    assert.equal(log.entries(2, 4).map((e) => `${e.index}:${e.term}:${dec(e.payload)}`), ['2:2:B', '3:2:ccc', '4:2:dddd']);
    log.close();
  }
});

test('SealedSegmentWithoutItsLocatorIsScannedInstead', () => {
  const fs = golden((f) => { f[RAFT_SEG1] = f[RAFT_SEG1].slice(0, O.locator); });
  const log = WalLog.open(DIR, { fs });
  assert.is(log.openReport.footersRead, 0);
  assert.equal(log.entries(2, 4).map((e) => `${e.index}:${e.term}:${dec(e.payload)}`), ['2:2:B', '3:2:ccc', '4:2:dddd']);
  log.close();
});

test('SnapshotMarkAboveTheSnapshotFileIsCorrupted', () => {
  const fs = golden((f) => { delete f[RAFT_SNAP]; });
  corrupted(() => WalLog.open(DIR, { fs }), 'open without the snapshot file');
});

test('CompactionMarkNeedsNoSnapshotFile', () => {
  // The same mark with RAFT_SNAP_COMPACT (written by compact()): no snapshot file covers it, and none is needed.
  const fs = golden((f) => { putU32(f[RAFT_SEG2], O.mark + 32 + 24, c.RAFT_SNAP_COMPACT); reCrc(f[RAFT_SEG2], O.mark); delete f[RAFT_SNAP]; });
  const log = WalLog.open(DIR, { fs });
  assert.equal([log.snapshotIndex(), log.termAt(1), log.lastIndex()], [1, 1, 4]);
  assert.is(log.snapshot(), undefined);
  log.verify();
  log.close();
});

test('UnknownFlagOnASnapshotMarkIsCorrupted', () => {
  const fs = golden((f) => { putU32(f[RAFT_SEG2], O.mark + 32 + 24, 2); reCrc(f[RAFT_SEG2], O.mark); });
  const e = corrupted(() => WalLog.open(DIR, { fs }), 'open');
  assert.is(e.offset, O.mark);
  assert.is(e.reason, 'decode-failure');
});

test('SnapshotMarkThatDisagreesWithTheReplayedLogIsCorrupted', () => {
  // c = the last index after the compaction: the replay has 2, the mark says 3.
  const fs = golden((f) => { f[RAFT_SEG2][O.mark + 32 + 16] = 3; reCrc(f[RAFT_SEG2], O.mark); });
  const e = corrupted(() => WalLog.open(DIR, { fs }), 'open');
  assert.is(e.offset, O.mark);
});

test('MissingOldestSegmentIsAHole', () => {
  const fs = golden((f) => { delete f[RAFT_SEG1]; });
  corrupted(() => WalLog.open(DIR, { fs }), 'open without segment 1');
});

test('WriteTornInsideIsDroppedWhole', () => {
  // Cut inside entry 4: write D (hard state, entries 3 and 4) was never synced whole, so none of it is applied.
  const fs = golden((f) => { f[RAFT_SEG2] = f[RAFT_SEG2].slice(0, O.entry4 + 40); });
  const log = WalLog.open(DIR, { fs });
  assert.is(log.lastIndex(), 2);
  assert.equal(log.hardState(), { term: 1, vote: 1, commit: 0 });
  assert.is(log.openReport.truncatedBytes, O.entry4 + 40 - O.writeD);
  log.close();
});

test('ReservedBytesOfAnEntrySubHeaderAreCorrupted', () => {
  const fs = golden((f) => { f[RAFT_SEG2][O.entry3 + 32 + 12] = 1; reCrc(f[RAFT_SEG2], O.entry3); });
  const e = corrupted(() => WalLog.open(DIR, { fs }), 'open');
  assert.is(e.offset, O.entry3);
});

test('SnapshotDataWithAFlippedByteIsCorrupted', () => {
  const fs = golden((f) => { f[RAFT_SNAP][64 + 32] ^= 0x20; });
  const log = WalLog.open(DIR, { fs }); // open reads the snapshot file's header only
  const e = corrupted(() => log.snapshot(), 'snapshot()');
  assert.is(e.path, `${DIR}/${RAFT_SNAP}`);
  corrupted(() => log.verify(), 'verify()');
  log.close();
});

test('SegmentHeaderNumberThatDisagreesWithItsNameIsCorrupted', () => {
  const fs = golden((f) => { f[RAFT_SEG2][16] = 3; putU32(f[RAFT_SEG2], 60, CRC32C.buf(f[RAFT_SEG2].subarray(0, 60)) >>> 0); });
  const e = corrupted(() => WalLog.open(DIR, { fs }), 'open');
  assert.is(e.path, `${DIR}/${RAFT_SEG2}`);
});

test.run();
