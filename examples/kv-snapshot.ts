// AppendLogSnapshot: a durable, resumable fold of a key-value watch stream.
// A simulated stream (etcd-style revisions) is folded in batches; the store
// is reopened and resumes from its cursor; then it is exported and imported.
import { AppendLogSnapshot, type KvUpdate, WatchCursor } from 'walcore';

const dir = process.env.WALCORE_EXAMPLE_DIR ?? '.';
const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

/** A fake watch stream: from revision `after` + 1, `n` events, one batch per revision. */
function* watch(after: bigint, n: number): Generator<{ revision: bigint; events: KvUpdate[] }> {
  for (let r = after + 1n; r <= after + BigInt(n); r++) {
    const key = `/services/api/${r % 3n}`;
    const version = WatchCursor.fromRevision(r).bytes;
    yield r % 5n === 0n
      ? { revision: r, events: [{ type: 'delete', key, version }] }
      : { revision: r, events: [{ type: 'put', key, value: enc(`host-${r}`), version }] };
  }
}

const path = `${dir}/services.kv`;
let { cursor, store } = AppendLogSnapshot.open(path, { compactThreshold: 4096 });
const from = cursor.isNone ? 0n : cursor.toRevision();
for (const { revision, events } of watch(from, 20)) store.apply(events, WatchCursor.fromRevision(revision));
store.sync(); // durable: a restart resumes after the last revision (await store.syncAsync() shares one fsync among callers)
store.close();

({ cursor, store } = AppendLogSnapshot.open(path));
console.log('resume after revision', cursor.toRevision());
for (const e of store.range('/services/')) console.log(e.key, dec(e.value), 'rev', WatchCursor.from(e.version).toRevision());

const art = `${dir}/services-export-${Date.now()}`;
const manifest = store.exportTo(art);
console.log('exported', manifest.files.map((f) => `${f.path} ${f.size} B sha256 ${f.sha256.slice(0, 12)}…`).join(', '));
store.close();

const imported = AppendLogSnapshot.import(art, `${art}.kv`);
console.log('imported at cursor', imported.cursor.toHex(), 'with', imported.store.size, 'keys');
imported.store.close();
