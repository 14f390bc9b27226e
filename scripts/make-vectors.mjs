// Regenerate the golden vectors on purpose (after a deliberate format change,
// which adds new -v2 vectors beside the v1 ones rather than rewriting them):
//   npm run build && node scripts/make-vectors.mjs [name.hex ...]
// Writes every vector of test/vectors/vectors.js (or only the ones named).
import { writeFileSync } from 'node:fs';
import { Core } from 'walcore/internals';
import { VECTORS } from '../test/vectors/vectors.js';

const names = process.argv.length > 2 ? process.argv.slice(2) : Object.keys(VECTORS);
for (const name of names) {
  if (!VECTORS[name]) throw new Error(`unknown vector ${name}; known: ${Object.keys(VECTORS).join(', ')}`);
  writeFileSync(`test/vectors/${name}`, VECTORS[name](new Core()));
  console.log(`wrote test/vectors/${name}`);
}
