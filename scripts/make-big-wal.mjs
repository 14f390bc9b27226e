// Build a large single-file WAL for measuring `walcore verify` and `walcore dump`:
//   node scripts/make-big-wal.mjs PATH [MiB=1024] [payloadBytes=1024]
import { WalFsWriter } from '../dist/walcore.js';

const [path, mib = '1024', size = '1024'] = process.argv.slice(2);
if (!path) { console.error('usage: node scripts/make-big-wal.mjs PATH [MiB] [payloadBytes]'); process.exit(2); }
const payload = new Uint8Array(Number(size));
for (let i = 0; i < payload.length; i++) payload[i] = 97 + (i % 26);
const target = Number(mib) * 2 ** 20;
const w = WalFsWriter.open(path);
let seq = 0;
let bytes = 64;
while (bytes < target) {
  w.append({ sequence: ++seq, payload });
  bytes += 32 + payload.length;
  if (seq % 100000 === 0) w.flush();
}
w.close();
console.log(`${path}: ${seq} events of ${payload.length} bytes, ${bytes} bytes`);
