import { WalFsReader, WalFsWriter } from 'walcore';
const path = `${process.env.WALCORE_EXAMPLE_DIR ?? '.'}/orders.wal`;

const wal = WalFsWriter.open(path, { repair: 'truncate-partial' });
wal.append({ sequence: wal.currentSequence + 1, payload: new TextEncoder().encode('order #1 created') });
wal.append({ sequence: wal.currentSequence + 1, payload: new TextEncoder().encode('order #1 paid') });
wal.flush(); // durable from here on
wal.close();

for (const e of WalFsReader.open(path)) console.log(e.sequence, new TextDecoder().decode(e.payload));
