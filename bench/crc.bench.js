// CRC-32C: the core (through the public crc32c(), which copies into wasm
// memory, and in place on bytes already there) beside crc-32/crc32c, the
// best-known pure-JS implementation, on 1 MiB and 100-byte buffers.
import { createRequire } from 'node:module';
import { crc32c } from 'walcore';
import { Core } from 'walcore/internals';
import { compare } from './lib.js';

const CRC32C = createRequire(import.meta.url)('crc-32/crc32c');
const big = new Uint8Array(1 << 20).map((_, i) => (i * 2654435761) >>> 24);
const small = big.slice(0, 100);
const core = new Core();
core.ensure(big.length);
core.u8.set(big, core.staging);

let sink = 0;
compare({
  name: 'crc32c 1 MiB (public crc32c, incl. copy in)', unit: 'B/s',
  subject: () => { for (let i = 0; i < 200; i++) sink ^= crc32c(big); return 200 * big.length; },
  baseline: () => { for (let i = 0; i < 20; i++) sink ^= CRC32C.buf(big); return 20 * big.length; },
  baselineName: 'crc-32/crc32c',
});
compare({
  name: 'crc32c 1 MiB (core, in place)', unit: 'B/s',
  subject: () => { for (let i = 0; i < 200; i++) sink ^= core.x.crc32cUpdate(0, core.staging, big.length); return 200 * big.length; },
  baseline: () => { for (let i = 0; i < 20; i++) sink ^= CRC32C.buf(big); return 20 * big.length; },
  baselineName: 'crc-32/crc32c',
});
compare({
  name: 'crc32c 100 B calls (public crc32c)', unit: 'calls/s',
  subject: () => { for (let i = 0; i < 2e6; i++) sink ^= crc32c(small); return 2e6; },
  baseline: () => { for (let i = 0; i < 1e6; i++) sink ^= CRC32C.buf(small); return 1e6; },
  baselineName: 'crc-32/crc32c',
});
compare({
  name: 'crc32c 100 B calls (core, in place)', unit: 'calls/s',
  subject: () => { for (let i = 0; i < 4e6; i++) sink ^= core.x.crc32cUpdate(0, core.staging + (i & 1023), 100); return 4e6; },
  baseline: () => { for (let i = 0; i < 1e6; i++) sink ^= CRC32C.buf(small); return 1e6; },
  baselineName: 'crc-32/crc32c',
});
if (sink === 0.5) console.log(sink);
