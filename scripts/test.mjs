// npm test (after the build): run every test/**/*.test.js in Node, Deno and Bun
// against the built bundle, two processes at a time, and close with one line
// "N passed, N failed". uvu prints Total/Passed/Skipped per file; a file that
// exits non-zero without reporting a failure (a crash) counts as one failure.
//
// test/browser/*.test.js run in Node only (they drive a headless Chromium), and
// so do test/integration/*.test.js (they drive real servers, e.g. etcd).
//
//   node scripts/test.mjs [--runtime node,deno,bun] [name-filter ...]
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { runtimeCommand, selectFiles } from './runtimes.mjs';

const { runtimes, files } = selectFiles(process.argv.slice(2), 'test', '.test.js', readdirSync);
// test/browser/ drives a headless Chromium from Node, test/integration/ real
// servers (etcd) from Node: they run once, in Node only.
const nodeOnly = (file) => file.startsWith('browser/') || file.startsWith('integration/');
const jobs = runtimes.flatMap((rt) => files.filter((file) => rt === 'node' || !nodeOnly(file)).map((file) => ({ rt, file })));
const strip = (s) => s.replace(/\x1b\[[0-9;]*m/g, '');
const num = (text, label) => {
  const m = new RegExp(`${label}:\\s+(\\d+)`).exec(text);
  return m ? Number(m[1]) : undefined;
};

let passed = 0;
let failed = 0;
let skipped = 0;
async function runJob({ rt, file }) {
  const [cmd, ...pre] = runtimeCommand(rt);
  const started = Date.now();
  const child = spawn(cmd, [...pre, `test/${file}`], { env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { out += d; });
  const code = await new Promise((resolve) => child.on('close', (c, sig) => resolve(c ?? sig)));
  const text = strip(out);
  const total = num(text, 'Total');
  const ok = num(text, 'Passed') ?? 0;
  const skip = num(text, 'Skipped') ?? 0;
  let bad = total === undefined ? 1 : total - ok - skip;
  if (bad === 0 && code !== 0) bad = 1;
  passed += ok;
  failed += bad;
  skipped += skip;
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  console.log(`[${rt.padEnd(4)}] ${file.padEnd(40)} ${String(ok).padStart(4)} passed ${bad} failed (${secs}s)`);
  if (bad > 0) console.log(text.split('\n').map((l) => `    ${l}`).join('\n'));
}

const queue = [...jobs];
const parallel = Number(process.env.WALCORE_TEST_JOBS ?? 2);
await Promise.all(Array.from({ length: parallel }, async () => {
  while (queue.length > 0) await runJob(queue.shift());
}));
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 || jobs.length === 0 ? 1 : 0);
