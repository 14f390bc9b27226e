// The browser example's worker: OPFS sync access handles exist only in a
// dedicated worker. Open the pool (a second tab gets LOCKED until this one
// closes it), append one event, flush (durable), replay, close.
import { OpfsFileSystem, WalFsReader, WalFsWriter } from '../../dist/browser.js';

try {
  const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle('walcore-example', { create: true });
  const fs = await OpfsFileSystem.open(dir, { capacity: 4 });
  try {
    const wal = WalFsWriter.open('/visits.wal', { fs });
    wal.append({ sequence: wal.currentSequence + 1, payload: new TextEncoder().encode(`visit at ${new Date().toISOString()}`) });
    wal.flush(); // durable from here on (OPFS flush(): see README "In the browser")
    wal.close();
    const events = [...WalFsReader.open('/visits.wal', { fs })].map((e) => ({ sequence: e.sequence, text: new TextDecoder().decode(e.payload) }));
    self.postMessage({ events });
  } finally {
    fs.close(); // release the sync access handles for the next load or tab
  }
} catch (e) {
  self.postMessage({ error: `${e.name}: ${e.message}` });
}
