// Child process of etcd-follower.test.js: follows PREFIX of the etcd at
// ENDPOINT into the store at STORE, printing one JSON line per applied batch
// and per error. WALCORE_FOLLOWER_DELAY_MS slows every batch (so the parent
// can restart etcd while this child is still catching up). SIGTERM closes.
import { Etcd3 } from 'etcd3';
import { AppendLogSnapshot, EtcdFollower } from 'walcore';

const [endpoint, path, prefix] = process.argv.slice(2);
const delay = Number(process.env.WALCORE_FOLLOWER_DELAY_MS ?? 0);
const out = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);
const client = new Etcd3({ hosts: endpoint });
const { cursor, store } = AppendLogSnapshot.open(path);
out({ opened: cursor.isNone ? '0' : String(cursor.toRevision()) });
const follower = EtcdFollower.start(client, store, {
  prefix,
  sync: true,
  retryMs: 50,
  maxRetryMs: 500,
  beforeApply: delay > 0 ? () => new Promise((r) => setTimeout(r, delay)) : undefined,
  onApply: (i) => out({ applied: String(i.revision), kind: i.kind, updates: i.updates }),
  onError: (e, what) => out({ error: what, message: String(e?.message ?? e).slice(0, 200) }),
});
process.on('SIGTERM', async () => {
  await follower.close();
  store.close();
  client.close();
  process.exit(0);
});
