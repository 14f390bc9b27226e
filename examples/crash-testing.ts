// Crash-test your own code: MemoryFileSystem keeps unsynced writes pending,
// and crash() applies, drops or tears them like a power cut would.
import { MemoryFileSystem, WalFsReader, WalFsWriter } from 'walcore';

const fs = new MemoryFileSystem();
const wal = WalFsWriter.open('/app.wal', { fs });
wal.append({ sequence: 1, payload: new Uint8Array([1]) });
wal.flush(); // acknowledged: must survive
wal.append({ sequence: 2, payload: new Uint8Array([2]) });
await wal.syncAsync(); // group commit: also acknowledged
wal.append({ sequence: 3, payload: new Uint8Array([3]) }); // never flushed: may vanish

const report = fs.crash({ seed: 42, mode: 'drop' });
console.log('crash:', report);

const recovered = WalFsWriter.open('/app.wal', { fs, repair: 'truncate-partial' });
console.log('recovered up to sequence', recovered.currentSequence);
recovered.close();
console.log('events:', [...WalFsReader.open('/app.wal', { fs })].map((e) => e.sequence));

// Faults: the next write fails with ENOSPC after writing 10 bytes; the writer rolls back.
const w = WalFsWriter.open('/faults.wal', { fs });
w.append({ sequence: 1, payload: new Uint8Array(100) });
fs.injectFault({ op: 'write', code: 'ENOSPC', partialBytes: 10 });
try {
  w.flush();
} catch (e) {
  console.log('flush failed:', (e as { code: string }).code, (e as { errno: string }).errno);
}
w.flush(); // the buffered event is retried and succeeds
w.close();
