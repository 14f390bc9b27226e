// The golden vectors of every log kind, one `.hex` file each in the container
// syntax of container.js (docs/FORMAT.md §8). VECTORS maps each file name to
// the function that builds its text from the core now; readVector() loads a
// committed one. A v2 format adds entries (e.g. 'ring-v2.hex'); v1 entries stay.
import { readFileSync } from 'node:fs';
import { formatVector, parseVector } from './container.js';
import { buildGolden } from './golden.js';
import { buildSegmented } from './segmented.js';
import { buildSegmented2 } from './segmented-v2.js';
import { buildRing } from './ring.js';
import { buildRaft } from './raft.js';
import { buildKv } from './kv-snapshot.js';

const REGEN = 'Built by scripts/make-vectors.mjs; regenerate only on purpose (a format change adds a -v2 file).';

export const VECTORS = {
  'wal-file-v1.hex': (core) => formatVector([
    'walcore test vector: a single-file WAL (WalFsWriter), format version 1, docs/FORMAT.md §4 worked example.',
    REGEN,
  ], [{ name: 'golden.wal', bytes: buildGolden(core), comments: ['salt 0x5eed0001; events 1 "hello" @64, 2 "world!" @101, 3 "!" @139; sync marker @172; 204 bytes'] }]),
  'segmented-v1.hex': (core) => formatVector([
    'walcore test vector: a SegmentedWal directory, format version 1, docs/FORMAT.md §9.',
    'Test key of the encrypted segment: key id 7, the 32 bytes 00 01 02 .. 1f; nonce prefix 01 02 ed 5e 02 02 ed 5e.',
    REGEN,
  ], buildSegmented(core)),
  'segmented-v2.hex': (core) => formatVector([
    'walcore test vector: a SegmentedWal directory, segment format 2 (sealed blocks), docs/FORMAT.md §S9.',
    'Test key: key id 7, the 32 bytes 00 01 02 .. 1f; nonce prefix 01 03 ed 5e 02 03 ed 5e, counters 0, 1, 2 across the directory.',
    REGEN,
  ], buildSegmented2(core)),
  'ring-v1.hex': (core) => formatVector([
    'walcore test vector: a RingLog file, format version 1, docs/FORMAT.md §10; wrapped, cleanly closed.',
    'Record 5 carries failure evidence: class 3 (io), code -5, digest de ad be ef.',
    REGEN,
  ], buildRing(core)),
  'raft-v1.hex': (core) => formatVector([
    'walcore test vector: a WalLog (Raft log) directory, format version 1, docs/FORMAT.md §11.',
    'A sealed segment with its index footer, an active segment (snapshot mark, hard state, entries, sync marker), a snapshot file.',
    'Opened: snapshot (1, 1, "state@1"); entries 2 (term 2, type 5, "B"), 3 "ccc", 4 "dddd"; hard state { term 2, vote 1, commit 2 }.',
    REGEN,
  ], buildRaft(core)),
  'kv-snapshot-v1.hex': (core) => formatVector([
    'walcore test vector: an AppendLogSnapshot file, format version 1, docs/FORMAT.md §12.8.',
    'Opened: cursor revision 3; app/a = "avocado" @ rev 3, app/c = "cat" @ rev 3, ключ = "значение" @ versionstamp 0000017f4e3a9c10002a.',
    REGEN,
  ], buildKv(core)),
};

/** The committed text of a vector. */
export const vectorText = (name) => readFileSync(new URL(name, import.meta.url), 'utf8');

/** The committed files of a vector: [{ name, bytes }]. */
export const readVector = (name) => parseVector(vectorText(name));
