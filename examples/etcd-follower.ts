// EtcdFollower: a durable local copy of an etcd prefix (Node; needs Debian's
// `etcd` on PATH: apt-get install etcd-server). Starts a throwaway etcd on
// 127.0.0.1, writes a few keys, follows /services/ into an AppendLogSnapshot,
// stops, writes more, and resumes from the store's cursor.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { Etcd3 } from 'etcd3';
import { AppendLogSnapshot, EtcdFollower, WatchCursor } from 'walcore';

const dir = process.env.WALCORE_EXAMPLE_DIR ?? '.';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const freePort = () => new Promise<number>((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const { port } = s.address() as { port: number };
    s.close(() => resolve(port));
  });
});
const [cport, pport] = [await freePort(), await freePort()];
const url = `http://127.0.0.1:${cport}`;
const peer = `http://127.0.0.1:${pport}`;
const etcd = spawn('etcd', ['--data-dir', `${dir}/etcd`, '--name', 'default', '--listen-client-urls', url, '--advertise-client-urls', url,
  '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer, '--initial-cluster', `default=${peer}`], { stdio: 'ignore' });
try {
  while (!(await fetch(`${url}/health`).then((r) => r.ok, () => false))) await sleep(100);
  const client = new Etcd3({ hosts: url });
  await client.put('/services/api').value('10.0.0.1:80');
  await client.put('/services/db').value('10.0.0.2:5432');

  /** Follow until the store's cursor reaches `rev`, then stop. */
  async function followUntil(rev: bigint) {
    const { cursor, store } = AppendLogSnapshot.open(`${dir}/services.kv`);
    console.log('opened at revision', cursor.isNone ? 'none' : cursor.toRevision());
    const follower = EtcdFollower.start(client, store, { prefix: '/services/' });
    while (follower.revision < rev) await sleep(20);
    await follower.close();
    for (const e of store.range('/services/')) {
      console.log(`  ${e.key} = ${new TextDecoder().decode(e.value)} (mod revision ${WatchCursor.from(e.version).toRevision()})`);
    }
    store.close();
  }
  await followUntil(BigInt((await client.put('/services/cache').value('10.0.0.3:6379')).header.revision));
  await client.delete().key('/services/db');
  await followUntil(BigInt((await client.put('/services/api').value('10.0.0.9:80')).header.revision));
  client.close();
} finally {
  etcd.kill();
}
