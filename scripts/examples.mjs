// npm run examples (after the build): run every examples/*.ts in Node, Deno
// and Bun. Deno and Bun run the TypeScript directly; for Node 20 esbuild
// strips the types into build/examples/*.mjs first (imports are kept, so
// `import ... from 'walcore'` resolves to this package, as for a user).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { transform } from 'esbuild';
import { readFileSync, writeFileSync } from 'node:fs';
import { runtimeCommand } from './runtimes.mjs';

const filter = process.argv.slice(2);
// Examples that need something besides the package: the runtimes they run in
// and a program that must be on PATH (without it they are skipped, not failed).
const NEEDS = { 'etcd-follower.ts': { runtimes: ['node'], program: 'etcd', install: 'apt-get install etcd-server' } };
const onPath = (program) => (process.env.PATH ?? '').split(':').some((d) => d !== '' && existsSync(join(d, program)));
// The examples are documentation: they must type-check against the published types.
const tsc = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.examples.json'], { stdio: 'inherit' });
if (tsc.status !== 0) {
  console.log('examples do not type-check');
  process.exit(1);
}
const examples = readdirSync('examples').filter((f) => f.endsWith('.ts') && (filter.length === 0 || filter.some((p) => f.includes(p)))).sort();
mkdirSync('build/examples', { recursive: true });
let failures = 0;
for (const file of examples) {
  const js = (await transform(readFileSync(`examples/${file}`, 'utf8'), { loader: 'ts', format: 'esm', target: 'es2022' })).code;
  const nodeFile = `build/examples/${file.replace(/\.ts$/, '.mjs')}`;
  writeFileSync(nodeFile, js);
  const needs = NEEDS[file];
  if (needs && !onPath(needs.program)) {
    console.log(`--- ${file}: skipped: ${needs.program} is not on PATH (${needs.install})`);
    continue;
  }
  for (const rt of needs?.runtimes ?? ['node', 'deno', 'bun']) {
    const [cmd, ...pre] = runtimeCommand(rt);
    const cwd = mkdtempSync(join(tmpdir(), `walcore-example-${rt}-`));
    const script = rt === 'node' ? nodeFile : `examples/${file}`;
    const r = spawnSync(cmd, [...pre, script], { env: { ...process.env, WALCORE_EXAMPLE_DIR: cwd }, encoding: 'utf8' });
    rmSync(cwd, { recursive: true, force: true });
    const ok = r.status === 0;
    if (!ok) failures++;
    console.log(`--- ${file} in ${rt}: ${ok ? 'ok' : `FAILED (exit ${r.status})`}`);
    process.stdout.write((r.stdout ?? '').replace(/^(?=.)/gm, '    '));
    if (!ok || r.stderr) process.stdout.write((r.stderr ?? '').replace(/^(?=.)/gm, '    '));
  }
}
console.log(`${examples.length} examples (up to 3 runtimes each), ${failures} failed`);
process.exit(failures > 0 ? 1 : 0);
