// npm run build: host/core/abi.ts from assembly/, the AssemblyScript core (debug + release), the ESM bundle
// with the release .wasm embedded, and the .d.ts types. Everything is built
// into dist.new/ and swapped in with two renames, so a test running
// meanwhile never sees a half-built dist/.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
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
  // The walcore CLI (host/cli/main.ts): its own bundle, the core embedded, runnable by node, deno and bun.
  await build({
    entryPoints: { cli: 'host/cli/main.ts' },
    outdir: out,
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    external: ['node:*'],
    loader: { '.wasm': 'binary' },
    banner: { js: '#!/usr/bin/env node' },
    legalComments: 'none',
    logLevel: 'warning',
  });
  chmodSync(`${out}/cli.js`, 0o755);
  // The browser bundle: one file, no node:* import (platform 'browser' makes any
  // such import a build error), the two node:crypto modules swapped for
  // stand-ins that throw (host/platform/*.browser.ts: WebCrypto is async).
  const browserSwap = {
    name: 'walcore-browser-platform',
    setup(b) {
      b.onResolve({ filter: /\/platform\/(aes-gcm|key-check)\.js$/ }, (args) => ({
        path: fileURLToPath(new URL(`../host/platform/${/aes-gcm/.test(args.path) ? 'aes-gcm' : 'key-check'}.browser.ts`, import.meta.url)),
      }));
    },
  };
  await build({
    entryPoints: { browser: 'host/browser.ts' },
    outdir: out,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    loader: { '.wasm': 'binary' },
    plugins: [browserSwap],
    sourcemap: true,
    legalComments: 'none',
    logLevel: 'warning',
  });
  if (/\bfrom\s*["']node:|import\(\s*["']node:|require\(\s*["']node:/.test(readFileSync(`${out}/browser.js`, 'utf8'))) {
    throw new Error('dist/browser.js imports a node:* module');
  }
  run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json', '--outDir', `${out}/types`]);
  const old = `dist.old-${process.pid}`;
  if (existsSync('dist')) renameSync('dist', old);
  renameSync(out, 'dist');
  rmSync(old, { recursive: true, force: true });
} finally {
  rmSync(out, { recursive: true, force: true });
}
