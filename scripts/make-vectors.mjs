// Regenerate test vectors on purpose (after a deliberate format change):
//   npm run build && node scripts/make-vectors.mjs
import { writeFileSync } from 'node:fs';
import { Core } from 'walcore';
import { buildGolden, toHexLines } from '../test/vectors/golden.js';

writeFileSync('test/vectors/wal-file-v1.hex', toHexLines(buildGolden(new Core())));
console.log('wrote test/vectors/wal-file-v1.hex');
