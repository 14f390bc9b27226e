// Every log kind the conformance suites drive in Node, Deno and Bun: the
// ones the browser bundle has too (lifecycle-logs.js, also run by the
// browser worker) and AppendLogSnapshot. A new log joins every suite by
// adding one entry here (or in lifecycle-logs.js if the browser has it).
import { AppendLogSnapshot, WalFsWriter, WatchCursor } from 'walcore';
import { SHARED_LOGS } from './lifecycle-logs.js';

const bytes = (s) => new TextEncoder().encode(s);
const text = (b) => new TextDecoder().decode(b);

const walFsWriter = SHARED_LOGS.find((k) => k.name === 'WalFsWriter');

export const LOGS = [
  ...SHARED_LOGS,
  // The same writer with its zeros written ahead of the frames: every suite again with preallocated tails.
  { ...walFsWriter, name: 'WalFsWriter (preallocate)', open: (fs, path) => WalFsWriter.open(path, { fs, preallocate: true }) },
  {
    name: 'AppendLogSnapshot',
    open: (fs, path) => AppendLogSnapshot.open(path, { fs }).store,
    append: (log, i) => log.apply([{ type: 'put', key: `k${i}`, value: bytes(`v${i}`) }], WatchCursor.fromRevision(log.cursor().isNone ? 1 : Number(log.cursor().toRevision()) + 1)),
    sync: (log) => log.sync(),
    syncAsync: (log) => log.syncAsync(),
    durable: (log) => (log.durableCursor.isNone ? 0 : Number(log.durableCursor.toRevision())),
    record: (i) => `k${i}=v${i}`,
    // read() lists the fold in key order (UTF-8 bytes of the key; ASCII here), not append order.
    readOrder: (records) => [...records].sort((a, b) => { const ka = a.slice(0, a.indexOf('=')); const kb = b.slice(0, b.indexOf('=')); return ka < kb ? -1 : ka > kb ? 1 : 0; }),
    oneHandle: true,
    dataFile: (fs, path) => path,
    read: (fs, path) => {
      const { store } = AppendLogSnapshot.open(path, { fs });
      try { return store.range('').map((e) => `${e.key}=${text(e.value)}`); } finally { store.close(); }
    },
  },
];
