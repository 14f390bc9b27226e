// npm run build: the AssemblyScript core (debug + release), the ESM bundle
// with the release .wasm embedded, and the .d.ts types.
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { build } from 'esbuild';

const run = (cmd, args) => execFileSync(cmd, args, { stdio: 'inherit' });
rmSync('dist', { recursive: true, force: true });
run(process.execPath, ['node_modules/assemblyscript/bin/asc.js', 'assembly/index.ts', '--target', 'release']);
run(process.execPath, ['node_modules/assemblyscript/bin/asc.js', 'assembly/index.ts', '--target', 'debug']);
await build({
  entryPoints: ['host/index.ts'],
  outfile: 'dist/walcore.js',
  bundle: true,
  format: 'esm',
  platform: 'neutral',
  target: 'es2022', // newer targets emit Uint8Array.fromBase64, which Node 20 lacks
  external: ['node:*'],
  loader: { '.wasm': 'binary' },
  sourcemap: true,
  legalComments: 'none',
  logLevel: 'warning',
});
run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json']);
