// WalLog: storage for a single-node replicated state machine (a KV map).
// Commands are appended to the log and synced (the node's "acknowledgement"),
// committed ones are applied to the map, and every SNAPSHOT_EVERY applied
// entries the map is saved as a snapshot, which compacts the log. The example
// then restarts itself: close, reopen, rebuild the map from the snapshot plus
// the committed entries after it, and check it equals the map before the
// restart. Runs in Node, Deno and Bun:
//   node scripts/examples.mjs raft
import * as os from 'node:os';
import process from 'node:process';
import { WalLog } from 'walcore';

const dir = `${process.env.WALCORE_EXAMPLE_DIR ?? os.tmpdir()}/kv-raft`;
const SNAPSHOT_EVERY = 8;
const text = new TextEncoder();
const show = (b: Uint8Array): string => new TextDecoder().decode(b);

/** The state machine: a KV map plus the index of the last entry applied to it. */
class Kv {
  map = new Map<string, string>();
  applied = 0;
  /** Commands are "set k v" or "del k". */
  apply(index: number, payload: Uint8Array): void {
    const [op, k, v] = show(payload).split(' ');
    if (op === 'set') this.map.set(k!, v!);
    else if (op === 'del') this.map.delete(k!);
    this.applied = index;
  }
  save(): Uint8Array { return text.encode(JSON.stringify([this.applied, [...this.map]])); }
  static load(data: Uint8Array): Kv {
    const kv = new Kv();
    const [applied, pairs] = JSON.parse(show(data)) as [number, [string, string][]];
    kv.applied = applied;
    kv.map = new Map(pairs);
    return kv;
  }
}

/** Open the node: the snapshot restores the map, committed entries after it are replayed. */
function start(): { log: WalLog; kv: Kv } {
  const log = WalLog.open(dir, { segmentTargetSize: 4096 });
  const snap = log.snapshot();
  const kv = snap === undefined ? new Kv() : Kv.load(snap.data);
  const commit = log.hardState().commit;
  if (commit > kv.applied) for (const e of log.entries(kv.applied + 1, commit)) kv.apply(e.index, e.payload);
  console.log(`started: snapshot at ${log.snapshotIndex()}, log ${log.firstIndex()}..${log.lastIndex()}, commit ${commit}, ` +
    `${log.openReport.segments} segment(s), ${kv.map.size} keys`);
  return { log, kv };
}

/** Propose a command: append it in the current term, sync, commit (a single node is its own majority), apply. */
function propose(node: { log: WalLog; kv: Kv }, command: string): void {
  const { log, kv } = node;
  const term = log.hardState().term;
  const index = log.lastIndex() + 1;
  log.append([{ index, term, payload: text.encode(command) }]);
  log.setHardState({ ...log.hardState(), commit: index });
  log.sync(); // durable: the entry and the commit index together
  for (const e of log.entries(kv.applied + 1, index)) kv.apply(e.index, e.payload);
  if (kv.applied - log.snapshotIndex() >= SNAPSHOT_EVERY) {
    log.applySnapshot({ index: kv.applied, term: log.termAt(kv.applied)!, data: kv.save() });
    console.log(`  snapshot at ${kv.applied}: the log now starts at ${log.firstIndex()}, ${log.segmentCount} segment(s)`);
  }
}

const node = start();
// Become leader of term 1, voting for ourselves (node id 1).
node.log.setHardState({ term: 1, vote: 1, commit: node.log.hardState().commit });
for (let i = 0; i < 20; i++) propose(node, `set user${i % 6} v${i}`);
propose(node, 'del user0');
// An entry appended but never committed: after the restart it is in the log, not in the map.
node.log.append([{ index: node.log.lastIndex() + 1, term: 1, payload: text.encode('set pending yes') }]);
node.log.sync();
const before = JSON.stringify([...node.kv.map].sort());
console.log(`before restart: applied ${node.kv.applied}, ${before}`);
node.log.close();

// Restart: the map is rebuilt from the snapshot and the committed entries.
const again = start();
const after = JSON.stringify([...again.kv.map].sort());
console.log(`after restart:  applied ${again.kv.applied}, ${after}`);
if (after !== before) throw new Error('the map after the restart differs from the map before it');
if (again.kv.map.has('pending')) throw new Error('an uncommitted entry was applied');
// Carry on in a new term: the uncommitted entry is committed now.
again.log.setHardState({ term: 2, vote: 1, commit: again.log.lastIndex() });
again.log.sync();
for (const e of again.log.entries(again.kv.applied + 1, again.log.lastIndex())) again.kv.apply(e.index, e.payload);
propose(again, 'set user1 final');
console.log(`term 2: user1 = ${again.kv.map.get('user1')}, pending = ${again.kv.map.get('pending')}`);
again.log.close();

const third = start();
if (third.kv.map.get('user1') !== 'final' || third.kv.map.get('pending') !== 'yes') throw new Error('second restart lost state');
console.log(`second restart: ${third.kv.map.size} keys, hard state ${JSON.stringify(third.log.hardState())}`);
third.log.close();
