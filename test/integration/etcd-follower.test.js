// EtcdFollower against a real etcd (Node only: scripts/test.mjs runs
// test/integration/ in Node alone). Starts Debian's etcd on 127.0.0.1 (free
// ports, temp data dir), drives puts/deletes/multi-key transactions from a
// writer client, runs the follower in a child process, and:
//   1. catches up from an empty store (initial consistent range + watch);
//   2. kill -9 the follower, write more, restart it: it resumes from its cursor;
//   3. write > 1000 events, restart the follower slowed down, and restart etcd
//      (stop by pid, start on the same data dir) while it is catching up;
//   4. kill -9 it, delete/put keys, compact etcd past its cursor, restart it:
//      the watch is cancelled as compacted and the store is rebuilt;
//   5. the fold equals a fresh range read of etcd at the store's cursor
//      revision, byte for byte (values and mod revisions).
// Prints uvu's Total/Passed/Skipped lines. Without etcd: skipped.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppendLogSnapshot, WatchCursor } from 'walcore';

const PREFIX = '/svc/';
const started = Date.now();

const results = [];
const record = (name, ok, error) => {
  results.push({ name, ok });
  console.log(`${ok ? '  ok  ' : '  FAIL'} etcd-follower: ${name} (${((Date.now() - started) / 1000).toFixed(1)}s)${ok ? '' : `\n${String(error).split('\n').map((l) => `        ${l}`).join('\n')}`}`);
};
function summary(skipped = 0) {
  const passed = results.filter((r) => r.ok).length;
  console.log(`\n  Total:     ${results.length + skipped}\n  Passed:    ${passed}\n  Skipped:   ${skipped}`);
  return passed === results.length;
}
const assert = (cond, msg) => {
  if (!cond) throw new Error(msg);
};

function findEtcd() {
  try {
    return execFileSync('which', ['etcd'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}
const etcdBin = findEtcd();
if (etcdBin === undefined) {
  console.log('skipped: etcd not installed (apt-get install etcd-server)');
  summary(1);
  process.exit(0);
}
const { Etcd3 } = await import('etcd3');

const freePort = () => new Promise((resolve, reject) => {
  const s = createServer();
  s.on('error', reject);
  s.listen(0, '127.0.0.1', () => {
    const { port } = s.address();
    s.close(() => resolve(port));
  });
});
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const work = mkdtempSync(join(tmpdir(), 'walcore-etcd-'));
const dataDir = join(work, 'etcd-data');
const storePath = join(work, 'follower.kv');
const clientPort = await freePort();
const peerPort = await freePort();
const endpoint = `http://127.0.0.1:${clientPort}`;
const peer = `http://127.0.0.1:${peerPort}`;
const pids = new Set();

let etcd;
async function startEtcd() {
  const log = openSync(join(work, 'etcd.log'), 'a');
  etcd = spawn(etcdBin, ['--data-dir', dataDir, '--name', 'default',
    '--listen-client-urls', endpoint, '--advertise-client-urls', endpoint,
    '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer, '--initial-cluster', `default=${peer}`], { stdio: ['ignore', log, log] });
  pids.add(etcd.pid);
  const me = etcd;
  me.on('exit', () => pids.delete(me.pid));
  const until = Date.now() + 20_000;
  for (;;) {
    if (me.exitCode !== null) throw new Error(`etcd exited (${me.exitCode}):\n${readFileSync(join(work, 'etcd.log'), 'utf8').slice(-2000)}`);
    try {
      const r = await fetch(`${endpoint}/health`);
      if (r.ok && (await r.json()).health === 'true') return;
    } catch { /* not up yet */ }
    if (Date.now() > until) throw new Error('etcd did not become healthy in 20 s');
    await sleep(100);
  }
}
async function stopEtcd() {
  const me = etcd;
  if (me.exitCode !== null) return;
  const exited = new Promise((r) => me.once('exit', r));
  process.kill(me.pid, 'SIGTERM');
  const t = setTimeout(() => { try { process.kill(me.pid, 'SIGKILL'); } catch {} }, 5000);
  await exited;
  clearTimeout(t);
}

/** The follower child: lines are parsed into `events`; waitFor polls them. */
function startFollower(delayMs = 0) {
  const child = spawn(process.execPath, [new URL('./etcd-follower-child.js', import.meta.url).pathname, endpoint, storePath, PREFIX],
    { env: { ...process.env, WALCORE_FOLLOWER_DELAY_MS: String(delayMs) }, stdio: ['ignore', 'pipe', 'pipe'] });
  pids.add(child.pid);
  const f = { child, events: [], stderr: '', applied: 0n, exited: false };
  child.on('exit', () => { f.exited = true; pids.delete(child.pid); });
  let buf = '';
  child.stdout.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        const o = JSON.parse(line);
        f.events.push(o);
        if (o.applied) f.applied = BigInt(o.applied);
      } catch { f.stderr += `${line}\n`; }
    }
  });
  child.stderr.on('data', (d) => { f.stderr += d; });
  return f;
}
async function waitFor(f, what, pred, ms = 20_000) {
  const until = Date.now() + ms;
  while (!pred()) {
    if (f.exited) throw new Error(`follower exited while waiting for ${what}:\n${f.stderr}\n${JSON.stringify(f.events.slice(-5))}`);
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}; last events ${JSON.stringify(f.events.slice(-5))}\n${f.stderr}`);
    await sleep(20);
  }
}
async function kill9(f) {
  if (f.exited) return;
  const exited = new Promise((r) => f.child.once('exit', r));
  process.kill(f.child.pid, 'SIGKILL');
  await exited;
}

const enc = (s) => new TextEncoder().encode(s);
let writer;
/** Retry a writer call across etcd restarts. */
async function retry(fn) {
  for (let i = 0; ; i++) {
    try {
      return await fn();
    } catch (e) {
      // only the errors of an etcd that is restarting; anything else is a bug in the test
      if (i >= 100 || !/unavailable|connect|breaker|deadline|closed|ECONNREFUSED|leader/i.test(`${e?.name} ${e?.message}`)) throw e;
      await sleep(100);
    }
  }
}
let lastRev = 0n;
/** `n` writes under PREFIX (puts, some deletes, some 3-key transactions) plus a few outside it; returns the last prefix revision. */
async function drive(n, seed) {
  for (let i = 0; i < n; i++) {
    const k = `${PREFIX}k${(i * 7 + seed) % 97}`;
    let res;
    if (i % 11 === 5) res = await retry(() => writer.delete().key(k).exec());
    else if (i % 13 === 7) {
      res = await retry(() => writer.if(k, 'Version', '>', -1)
        .then(writer.put(`${PREFIX}t/${i % 5}`).value(`tx-${seed}-${i}`), writer.put(k).value(`txk-${seed}-${i}`), writer.delete().key(`${PREFIX}k${((i * 7 + seed) % 97 + 1) % 97}`)).commit());
    } else res = await retry(() => writer.put(k).value(i % 17 === 0 ? '' : `v-${seed}-${i}-${'x'.repeat(i % 40)}`).exec());
    lastRev = BigInt(res.header.revision);
    if (i % 50 === 0) await retry(() => writer.put(`/other/${i % 3}`).value('noise').exec()); // outside the prefix: never in the fold
  }
  return lastRev;
}

let ok = false;
let follower;
try {
  await startEtcd();
  writer = new Etcd3({ hosts: endpoint });

  const t0 = Date.now();
  try {
    await drive(300, 1);
    follower = startFollower();
    await waitFor(follower, `revision ${lastRev}`, () => follower.applied >= lastRev);
    assert(follower.events.some((e) => e.kind === 'resync'), 'an empty store starts from a consistent range read');
    record(`catch up from an empty store (${Date.now() - t0} ms)`, true);
  } catch (e) { record('catch up from an empty store', false, e.stack); throw e; }

  const t1 = Date.now();
  try {
    await kill9(follower);
    await drive(100, 2);
    follower = startFollower();
    await waitFor(follower, `revision ${lastRev}`, () => follower.applied >= lastRev);
    assert(!follower.events.some((e) => e.kind === 'resync'), 'a restarted follower resumes its watch (no resync)');
    record(`kill -9 and resume from the cursor (${Date.now() - t1} ms)`, true);
  } catch (e) { record('kill -9 and resume from the cursor', false, e.stack); throw e; }

  const t2 = Date.now();
  try {
    await kill9(follower);
    const from = follower.applied;
    await drive(2600, 3); // > 1000 events: several watch responses of 1000 revisions each
    const target = lastRev;
    follower = startFollower(700);
    await waitFor(follower, 'the first catch-up batch', () => follower.applied > from);
    assert(follower.applied < target, `still catching up (at ${follower.applied} of ${target})`);
    await stopEtcd();
    await sleep(300);
    await startEtcd();
    await waitFor(follower, `revision ${target} after the etcd restart`, () => follower.applied >= target, 30_000);
    assert(follower.events.some((e) => e.error === 'disconnected'), 'the follower saw the disconnect');
    record(`etcd restarted while catching up on ${target - from} revisions (${Date.now() - t2} ms)`, true);
  } catch (e) { record('etcd restarted while catching up', false, e.stack); throw e; }

  const t3 = Date.now();
  try {
    await kill9(follower);
    for (let i = 0; i < 97; i += 3) await retry(() => writer.delete().key(`${PREFIX}k${i}`).exec());
    await drive(200, 4);
    await retry(() => writer.kv.compact({ revision: String(lastRev), physical: true }));
    follower = startFollower();
    await waitFor(follower, `revision ${lastRev} after compaction`, () => follower.applied >= lastRev);
    assert(follower.events.some((e) => e.error === 'compacted'), `the watch was cancelled as compacted: ${JSON.stringify(follower.events.slice(0, 4))}`);
    assert(follower.events.some((e) => e.kind === 'resync'), 'the store was rebuilt from a consistent range');
    await drive(50, 5);
    await waitFor(follower, `revision ${lastRev} after the resync`, () => follower.applied >= lastRev);
    record(`compaction past the cursor: resync, then the watch resumes (${Date.now() - t3} ms)`, true);
  } catch (e) { record('compaction past the cursor', false, e.stack); throw e; }

  try {
    await kill9(follower);
    const { cursor, store } = AppendLogSnapshot.open(storePath);
    const rev = cursor.toRevision();
    assert(rev === lastRev, `cursor ${rev} = last prefix revision ${lastRev}`);
    const res = await retry(() => writer.getAll().prefix(PREFIX).revision(String(rev)).exec());
    const mine = store.range(PREFIX);
    assert(mine.length === res.kvs.length, `${mine.length} keys in the fold, ${res.kvs.length} in etcd`);
    const byKey = new Map(res.kvs.map((kv) => [kv.key.toString('utf8'), kv]));
    for (const e of mine) {
      const kv = byKey.get(e.key);
      assert(kv, `${e.key} is not in etcd`);
      assert(Buffer.from(e.value).equals(kv.value), `${e.key}: value differs`);
      assert(Buffer.from(e.version).equals(Buffer.from(WatchCursor.fromRevision(BigInt(kv.mod_revision)).bytes)), `${e.key}: version differs`);
    }
    assert([...store].every((e) => e.key.startsWith(PREFIX)), 'nothing outside the prefix');
    store.close();
    record(`fold equals etcd's range at revision ${rev} (${mine.length} keys), byte for byte`, true);
    ok = true;
  } catch (e) { record('fold equals a fresh range read', false, e.stack); throw e; }
} catch (e) {
  if (results.length === 0) record('setup', false, e.stack);
} finally {
  try { writer?.close(); } catch {}
  for (const pid of pids) { try { process.kill(pid, 'SIGKILL'); } catch {} }
  await sleep(200);
  rmSync(work, { recursive: true, force: true });
}
console.log(`(${((Date.now() - started) / 1000).toFixed(1)} s)`);
const allOk = summary();
process.exit(allOk && ok ? 0 : 1);
