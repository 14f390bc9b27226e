// npm run bench:peers: walcore beside lmdb, better-sqlite3 (WAL), classic-level
// (LevelDB) and async-append-only-log, in Node, Deno and Bun, one runtime at a
// time. The peers live in bench/peers/node_modules (their own package.json and
// lock file), installed here on first use, so walcore's own `npm ci` never
// builds native code. See bench/peers/README.md.
//
//   node bench/peers/run.mjs [--runtime node,deno,bun] [--strace]
//
// --strace: instead of the benchmark, count fsync/fdatasync/msync calls of the
// per-record durable workload for each subject in Node (strace -f -c), once
// with WALCORE_PEERS_DURABLE records and once with 0 (open/close alone).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runtimeCommand, haveRuntime } from '../../scripts/runtimes.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const argv = process.argv.slice(2);
let runtimes = ['node', 'deno', 'bun'];
const ri = argv.indexOf('--runtime');
if (ri >= 0) runtimes = argv[ri + 1].split(',');
const strace = argv.includes('--strace');

if (!existsSync(path.join(repo, 'dist/walcore.js'))) {
  console.error('dist/walcore.js is missing: run `npm run build` first (npm run bench:peers does).');
  process.exit(1);
}

// Install the peers when bench/peers/node_modules is missing. better-sqlite3
// has no prebuilt binary reachable here and builds with node-gyp, which needs
// Node's headers: use the system's (/usr/include/node, nodesource's nodejs
// package) instead of letting node-gyp download them.
if (!existsSync(path.join(here, 'node_modules/.package-lock.json'))) {
  const envi = { ...process.env };
  const sysHeaders = path.join(path.dirname(path.dirname(process.execPath)), 'include/node/node.h');
  if (!envi.npm_config_nodedir && existsSync(sysHeaders)) envi.npm_config_nodedir = path.dirname(path.dirname(path.dirname(sysHeaders)));
  console.log(`# installing the peers: npm ci --prefix bench/peers${envi.npm_config_nodedir ? ` (node headers from ${envi.npm_config_nodedir})` : ''}`);
  const r = spawnSync('npm', ['ci', '--prefix', here, '--no-audit', '--no-fund'], { stdio: 'inherit', env: envi });
  if (r.status !== 0) {
    console.error('npm ci in bench/peers failed; peers that did install still run.');
  }
}

const script = path.join(here, 'peers.mjs');

if (strace) {
  const which = spawnSync('strace', ['-V']);
  if (which.status !== 0) { console.error('strace is not installed (apt-get install strace)'); process.exit(1); }
  const n = Number(process.env.WALCORE_PEERS_DURABLE ?? 1000);
  const tmp = os.tmpdir();
  const count = (id, records) => {
    const out = path.join(tmp, `walcore-peers-strace-${id}-${records}.txt`);
    const r = spawnSync('strace', ['-f', '-c', '-e', 'trace=fsync,fdatasync,msync', '-o', out, process.execPath, script, '--strace-only', id],
      { encoding: 'utf8', env: { ...process.env, WALCORE_PEERS_DURABLE: String(records) } });
    if (r.status !== 0) return null;
    const calls = { fsync: 0, fdatasync: 0, msync: 0 };
    for (const line of readFileSync(out, 'utf8').split('\n')) {
      const m = line.trim().split(/\s+/);
      if (m.length >= 5 && m[m.length - 1] in calls) calls[m[m.length - 1]] = Number(m[3]);
    }
    rmSync(out, { force: true });
    return calls;
  };
  console.log(`\n| subject (node ${process.version}) | records | fsync | fdatasync | msync | syncs per record (open/close subtracted) |\n|---|---:|---:|---:|---:|---:|`);
  for (const id of ['walcore', 'segwal', 'lmdb', 'sqlite', 'level', 'aaol']) {
    const a = count(id, n);
    const z = count(id, 0);
    if (!a || !z) { console.log(`| ${id} | - | - | - | - | did not run |`); continue; }
    const per = (a.fsync + a.fdatasync + a.msync - z.fsync - z.fdatasync - z.msync) / n;
    console.log(`| ${id} | ${n} (0) | ${a.fsync} (${z.fsync}) | ${a.fdatasync} (${z.fdatasync}) | ${a.msync} (${z.msync}) | ${per.toFixed(2)} |`);
  }
  process.exit(0);
}

mkdirSync(path.join(repo, 'bench/results'), { recursive: true });
let failed = 0;
for (const rt of runtimes) {
  if (!haveRuntime(rt)) { console.log(`\n(${rt} is not installed: skipped)`); continue; }
  const [cmd, ...pre] = runtimeCommand(rt);
  const json = path.join(repo, `bench/results/peers-${rt}.json`);
  const r = spawnSync(cmd, [...pre, script], { stdio: 'inherit', cwd: repo, env: { ...process.env, WALCORE_PEERS_JSON: json, NO_COLOR: '1' } });
  if (r.status !== 0) { failed++; console.log(`(peers benchmark failed in ${rt}: exit ${r.status})`); }
}
process.exit(failed ? 1 : 0);
