// The log kinds every lifecycle suite drives: test/conformance/lifecycle.test.js
// (Node, Deno, Bun) and the browser worker (test/browser/worker.js, where
// 'walcore' is the browser bundle). A new log joins by adding one entry here
// (or, if it is not in the browser bundle, in lifecycle.test.js).
import { RingLog, SegmentedWal, WalFsWriter, WalLog } from 'walcore';

const bytes = (s) => new TextEncoder().encode(s);

/**
 * Each entry: how to open the log at `path` on `fs` (its lock covers `path`),
 * append one record, and its sync and async sync calls.
 */
export const SHARED_LOGS = [
  {
    name: 'WalFsWriter',
    open: (fs, path) => WalFsWriter.open(path, { fs }),
    append: (log, i) => log.append({ sequence: log.currentSequence + 1, payload: bytes(`e${i}`) }),
    sync: (log) => log.flush(),
    syncAsync: (log) => log.syncAsync(),
  },
  {
    name: 'SegmentedWal',
    open: (fs, path) => SegmentedWal.open({ dir: path, fs }),
    append: (log, i) => log.append(1, 2, 3, 4, bytes(`r${i}`)),
    sync: (log) => log.sync(),
    syncAsync: (log) => log.syncAsync(),
  },
  {
    name: 'RingLog',
    open: (fs, path) => RingLog.open(path, { capacity: 64, slotSize: 128, fs }),
    append: (log) => log.append(new Uint8Array([1, 2, 3])),
    sync: (log) => log.sync(),
    syncAsync: (log) => log.syncAsync(),
  },
  {
    name: 'WalLog',
    open: (fs, path) => WalLog.open(path, { fs }),
    append: (log, i) => log.append([{ index: log.lastIndex() + 1, term: 1, payload: bytes(`w${i}`) }]),
    sync: (log) => log.sync(),
    syncAsync: (log) => log.syncAsync(),
  },
];
