// The log kinds every lifecycle suite drives: test/conformance/lifecycle.test.js
// (Node, Deno, Bun) and the browser worker (test/browser/worker.js, where
// 'walcore' is the browser bundle). A new log joins by adding one entry here
// (or, if it is not in the browser bundle, in lifecycle.test.js).
import { RingLog, SegmentedWal, WalFsReader, WalFsWriter, WalLog } from 'walcore';

const bytes = (s) => new TextEncoder().encode(s);
const text = (b) => new TextDecoder().decode(b);
/** The newest file in directory `dir` whose name ends with `suffix` (names sort by number). */
const newest = (suffix) => (fs, dir) => `${dir}/${fs.list(dir).filter((n) => n.endsWith(suffix) && !n.startsWith('free-')).sort().at(-1)}`;

/**
 * Each entry: how to open the log at `path` on `fs` (its lock covers `path`),
 * append one record, and its sync and async sync calls; for the hostile-bytes
 * suite (hostile-bytes.test.js), the file its newest records are in
 * (`dataFile`) and every record it holds after a reopen, as strings (`read`),
 * `record(i)` being the string `read` shows for `append(log, i)`, in append
 * order unless the entry's `readOrder(records)` says otherwise. `oneHandle`:
 * the log closes exactly one handle after a sync in flight at close() settles.
 * `junkFrom(n)`: for a file of fixed size, where bytes after record n start.
 * `durable(log)`: how many appended records the log reports durable (where it
 * has such a figure); `fsyncsPerSync`: fdatasyncs one group commit issues (1
 * unless said); `failedSyncMayAdopt`: a reopen after a failed fsync may keep
 * records that fsync covered (otherwise they are cut).
 */
export const SHARED_LOGS = [
  {
    name: 'WalFsWriter',
    open: (fs, path) => WalFsWriter.open(path, { fs }),
    append: (log, i) => log.append({ sequence: log.currentSequence + 1, payload: bytes(`e${i}`) }),
    sync: (log) => log.flush(),
    syncAsync: (log) => log.syncAsync(),
    durable: (log) => Number(log.durableSequence),
    record: (i) => `e${i}`,
    oneHandle: true,
    dataFile: (fs, path) => path,
    read: (fs, path) => {
      WalFsWriter.open(path, { fs }).close(); // the writer's open recovers the tail
      const r = WalFsReader.open(path, { fs });
      const out = [];
      r.forEach((_sequence, payload) => { out.push(text(payload)); });
      r.close();
      return out;
    },
  },
  {
    name: 'SegmentedWal',
    open: (fs, path) => SegmentedWal.open({ dir: path, fs }),
    append: (log, i) => log.append(1, 2, 3, 4, bytes(`r${i}`)),
    sync: (log) => log.sync(),
    syncAsync: (log) => log.syncAsync(),
    durable: (log) => log.durableLsn,
    record: (i) => `r${i}`,
    oneHandle: true,
    dataFile: newest('.seg'),
    read: (fs, path) => {
      const log = SegmentedWal.open({ dir: path, fs });
      try { return log.replay().map((r) => text(r.payload)); } finally { log.close(); }
    },
  },
  {
    name: 'RingLog',
    open: (fs, path) => RingLog.open(path, { capacity: 64, slotSize: 128, fs }),
    append: (log, i) => log.append(bytes(`g${i}`)),
    sync: (log) => log.sync(),
    syncAsync: (log) => log.syncAsync(),
    durable: (log) => log.durableSequence,
    fsyncsPerSync: 2, // the records, then the state record naming them
    /** After a failed fsync the ring does not cut: a reopen may adopt the unacknowledged records reads still show, rewriting them first (docs/ring-log.md). */
    failedSyncMayAdopt: true,
    record: (i) => `g${i}`,
    dataFile: (fs, path) => path,
    read: (fs, path) => {
      const log = RingLog.open(path, { capacity: 64, slotSize: 128, fs });
      try { return log.replayAll().map(text); } finally { log.close(); }
    },
    /** The file has a fixed size (RING_DATA_OFFSET + capacity x slotSize): junk overwrites it from the slot after record n. */
    junkFrom: (n) => 4096 + 128 * (n + 1),
    /** Whether the ring's state record says it was closed cleanly (checked before anything else reopens it). */
    closedCleanly: (fs, path) => {
      const log = RingLog.open(path, { capacity: 64, slotSize: 128, fs });
      try { return log.openReport.clean; } finally { log.close(); }
    },
  },
  {
    name: 'WalLog',
    open: (fs, path) => WalLog.open(path, { fs }),
    append: (log, i) => log.append([{ index: log.lastIndex() + 1, term: 1, payload: bytes(`w${i}`) }]),
    sync: (log) => log.sync(),
    syncAsync: (log) => log.syncAsync(),
    record: (i) => `w${i}`,
    dataFile: newest('.seg'),
    read: (fs, path) => {
      const log = WalLog.open(path, { fs });
      try {
        const first = log.snapshotIndex() + 1;
        return log.lastIndex() < first ? [] : log.entries(first, log.lastIndex()).map((e) => text(e.payload));
      } finally { log.close(); }
    },
  },
];
