// npm run bench (after the build): every bench/*.bench.js in Node, Deno and
// Bun, one process per file and runtime, one at a time (the machine has two
// cores; nothing else should run). Rows are also collected as JSON lines in
// bench/results/latest.jsonl; the summary prints the cross-runtime ratios.
//
//   node bench/run.mjs [--runtime node,deno,bun] [name-filter ...]
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { runtimeCommand, selectFiles } from '../scripts/runtimes.mjs';

// bench/peers/ (npm run bench:peers, with its own node_modules) is not part of this run.
const readdir = (dir, opts) => readdirSync(dir, opts).filter((e) => !(dir.replace(/\/+$/, '') === 'bench' && e.name === 'peers'));
const { runtimes, files } = selectFiles(process.argv.slice(2), 'bench', '.bench.js', readdir);
mkdirSync('bench/results', { recursive: true });
const out = 'bench/results/latest.jsonl';
rmSync(out, { force: true });
let failed = 0;
for (const file of files) {
  console.log(`\n## ${file}\n| rt   | workload | walcore | baseline | ratio |\n|---|---|---|---|---|`);
  for (const rt of runtimes) {
    const [cmd, ...pre] = runtimeCommand(rt);
    const r = spawnSync(cmd, [...pre, `bench/${file}`], { stdio: 'inherit', env: { ...process.env, WALCORE_BENCH_OUT: out, WALCORE_BENCH_FILE: file } });
    if (r.status !== 0) { failed++; console.log(`(${file} failed in ${rt}: exit ${r.status})`); }
  }
}
// Cross-runtime view: each runtime's figure as a fraction of Node's.
const rows = readFileSync(out, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
const node = new Map(rows.filter((r) => r.runtime === 'node').map((r) => [r.name, r.walcore]));
console.log('\n## runtime vs node (walcore figures)');
for (const r of rows.filter((x) => x.runtime !== 'node')) {
  const n = node.get(r.name);
  if (n) console.log(`${r.runtime.padEnd(4)} ${r.name.padEnd(46)} ${(r.walcore / n).toFixed(2)}x of node`);
}
process.exit(failed ? 1 : 0);
