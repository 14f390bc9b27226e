// npm run build: host/core/abi.ts from assembly/, the AssemblyScript core (debug + release), the ESM bundle
// with the release .wasm embedded, and the .d.ts types. Everything is built
// into dist.new/ and swapped in with two renames, so a test running
// meanwhile never sees a half-built dist/.
import { execFileSync } from 'node:child_process';
import { existsSync, renameSync, rmSync } from 'node:fs';
import { build } from 'esbuild';

const run = (cmd, args) => execFileSync(cmd, args, { stdio: 'inherit' });
const out = `dist.new-${process.pid}`;
rmSync(out, { recursive: true, force: true });
try {
  run(process.execPath, ['scripts/gen-abi.mjs']); // host/core/abi.ts, the typed table of the core's exports
  run(process.execPath, ['node_modules/assemblyscript/bin/asc.js', 'assembly/index.ts', '--target', 'release']);
  run(process.execPath, ['node_modules/assemblyscript/bin/asc.js', 'assembly/index.ts', '--target', 'debug']);
  await build({
    // The public entry, walcore/internals and walcore/testing share one chunk, so all see the same module instances.
    entryPoints: { walcore: 'host/index.ts', internals: 'host/internals.ts', testing: 'host/testing.ts' },
    outdir: out,
    splitting: true,
    chunkNames: 'chunk-[hash]',
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
  run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json', '--outDir', `${out}/types`]);
  const old = `dist.old-${process.pid}`;
  if (existsSync('dist')) renameSync('dist', old);
  renameSync(out, 'dist');
  rmSync(old, { recursive: true, force: true });
} finally {
  rmSync(out, { recursive: true, force: true });
}
