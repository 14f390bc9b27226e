/**
 * walcore/testing: the RaftLog conformance suite, for checking your own
 * RaftLog implementation (or a wrapper around WalLog) against the contract
 * of docs/wal-log.md. It has no dependency: pass your test runner's
 * `test(name, fn)` function (uvu's `test`, node:test's `test`, ...).
 *
 * ```js
 * import { test } from 'uvu';
 * import { runRaftLogSuite } from 'walcore/testing';
 * runRaftLogSuite(test, 'MyLog', () => ({ log: new MyLog(), reopen: (log) => { log.close(); return MyLog.open(); } }));
 * test.run();
 * ```
 *
 * Cases are ours, with ideas from etcd raft's storage_test.go (term,
 * entries, compact, append) and openraft's log-storage suite (conflicting
 * appends, purge, last purged id, vote persistence).
 */
import type { LogEntry, RaftLog } from './logs/raft/types.js';

/** A test registration function: `test(name, fn)`; fn may return a promise. */
export type RaftTestFunction = (name: string, fn: () => void | Promise<void>) => unknown;

/** What the factory returns for each case: a fresh, empty log. */
export interface RaftLogFixture<L extends RaftLog = RaftLog> {
  log: L;
  /** Durable logs: close `log` and open it again from storage (the suite then checks persistence). */
  reopen?: (log: L) => L;
  /** Called after each case (e.g. remove a temp directory). */
  cleanup?: () => void;
}

/* eslint-disable @typescript-eslint/no-explicit-any -- the cases call the log with wrong types on purpose */
/** A case's view of the fixture: `any`, because cases pass wrong types on purpose (TypeError checks). */
type Ctx = { log: any; reopen?: (log: any) => any; cleanup?: () => void };

type Ctor = abstract new (...args: never[]) => unknown;

class SuiteAssertion extends Error {
  override name = 'RaftLogSuiteAssertion';
}

function fail(msg: string): never { throw new SuiteAssertion(msg); }
/** A canonical text of a value: object keys sorted, bytes and undefined spelled out (deep equality = equal text). */
function show(v: unknown): string {
  const canon = (x: unknown): unknown => {
    if (x instanceof Uint8Array) return `Uint8Array[${Array.from(x).join(',')}]`;
    if (x === undefined) return '<undefined>';
    if (Array.isArray(x)) return x.map(canon);
    if (x !== null && typeof x === 'object') return Object.fromEntries(Object.keys(x).sort().map((k) => [k, canon((x as Record<string, unknown>)[k])]));
    return x;
  };
  return JSON.stringify(canon(v));
}
const assert = {
  is(a: unknown, b: unknown, msg = ''): void { if (!Object.is(a, b)) fail(`${msg}: expected ${show(b)}, got ${show(a)}`); },
  equal(a: unknown, b: unknown, msg = ''): void { if (show(a) !== show(b)) fail(`${msg}: expected ${show(b)}, got ${show(a)}`); },
  ok(v: unknown, msg = ''): void { if (!v) fail(`${msg}: expected a truthy value, got ${show(v)}`); },
  instance(v: unknown, k: Ctor, msg = ''): void { if (!(v instanceof k)) fail(msg); },
  unreachable(msg = ''): never { return fail(msg); },
};

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);
/** Entries first..last of `term`, payload "<index>:<term>" (index 0 mod 7 gets an empty payload). */
const ents = (first: number, last: number, term: number, tag = ''): LogEntry[] => {
  const out: LogEntry[] = [];
  for (let i = first; i <= last; i++) out.push({ index: i, term, payload: i % 7 === 0 ? new Uint8Array(0) : enc(`${i}:${term}${tag}`) });
  return out;
};

function expectThrow(fn: () => unknown, kind: string | Ctor, where: string): any {
  try {
    fn();
  } catch (e: any) {
    if (typeof kind === 'string') {
      assert.is(e?.name, 'WalError', `${where}: expected WalError ${kind}, got ${e}`);
      assert.is(e.code, kind, `${where}: ${e.message}`);
    } else {
      assert.instance(e, kind, `${where}: expected ${kind.name}, got ${e}`);
    }
    return e;
  }
  assert.unreachable(`${where}: expected ${typeof kind === 'string' ? kind : kind.name}`);
}

/** Check `log` holds exactly `expected` entries. */
function checkEntries(log: any, expected: LogEntry[], where = ''): void {
  const first = log.firstIndex();
  const last = log.lastIndex();
  assert.is(last - first + 1, expected.length, `${where}: entry count`);
  if (expected.length === 0) return;
  const got = log.entries(first, last);
  got.forEach((e: LogEntry, i: number) => {
    const x = expected[i]!;
    assert.is(e.index, x.index, `${where}: index`);
    assert.is(e.term, x.term, `${where}: term of ${x.index}`);
    assert.is(dec(e.payload), dec(x.payload), `${where}: payload of ${x.index}`);
    assert.is(e.type ?? 0, x.type ?? 0, `${where}: type of ${x.index}`);
  });
}

/**
 * Register every conformance case on `test`, named "<name>: <case>". The
 * factory is called once per case and must return a fresh, empty log.
 */
export function runRaftLogSuite<L extends RaftLog>(test: RaftTestFunction, name: string, factory: () => RaftLogFixture<L>): void {
  const t = (title: string, fn: (ctx: Ctx) => void | Promise<void>) => test(`${name}: ${title}`, () => {
    const ctx: Ctx = factory();
    const done = (): void => {
      try { ctx.log.close(); } catch { /* already closed */ }
      ctx.cleanup?.();
    };
    let r: void | Promise<void>;
    try {
      r = fn(ctx);
    } catch (e) {
      done();
      throw e;
    }
    if (r instanceof Promise) return r.finally(done);
    done();
    return r;
  });
  /** Reopen a durable log (no-op for in-memory ones): ctx.log is replaced. */
  const reopen = (ctx: Ctx): any => { if (ctx.reopen) ctx.log = ctx.reopen(ctx.log); return ctx.log; };

  t('the empty log', (ctx: Ctx) => {
    for (let pass = 0; pass < 2; pass++) {
      const log = ctx.log;
      assert.is(log.lastIndex(), 0);
      assert.is(log.lastTerm(), 0);
      assert.is(log.firstIndex(), 1);
      assert.is(log.snapshotIndex(), 0);
      assert.is(log.termAt(0), 0);
      assert.is(log.termAt(1), undefined);
      assert.is(log.entry(1), undefined);
      assert.equal(log.entries(1, 0), []);
      assert.equal(log.hardState(), { term: 0, vote: null, commit: 0 });
      assert.is(log.snapshot(), undefined);
      reopen(ctx);
    }
  });

  t('append, term and entries (etcd TestStorageTerm/Entries)', (ctx: Ctx) => {
    const log = ctx.log;
    log.append([...ents(1, 3, 1), ...ents(4, 5, 2)]);
    assert.is(log.lastIndex(), 5);
    assert.is(log.lastTerm(), 2);
    assert.is(log.termAt(3), 1);
    assert.is(log.termAt(4), 2);
    assert.is(log.termAt(6), undefined);
    assert.is(dec(log.entry(2).payload), '2:1');
    assert.is(log.entry(6), undefined);
    assert.equal(log.entries(2, 4).map((e: LogEntry) => e.index), [2, 3, 4]);
    assert.equal(log.entries(3, 2), []);
    expectThrow(() => log.entries(4, 6), RangeError, 'to past the end');
    expectThrow(() => log.entries(5, 3), RangeError, 'from > to + 1');
    log.append([{ index: 6, term: 2, payload: enc('typed'), type: 7 }]);
    assert.is(log.entry(6).type, 7);
    log.sync();
    reopen(ctx);
    checkEntries(ctx.log, [...ents(1, 3, 1), ...ents(4, 5, 2), { index: 6, term: 2, payload: enc('typed'), type: 7 }], 'after reopen');
  });

  t('payloads are copied in and out', (ctx: Ctx) => {
    const log = ctx.log;
    const p = enc('abc');
    log.append([{ index: 1, term: 1, payload: p }]);
    p[0] = 0x7a;
    const e = log.entry(1);
    assert.is(dec(e.payload), 'abc');
    e.payload[0] = 0x7a;
    assert.is(dec(log.entry(1).payload), 'abc');
  });

  t('append with Raft semantics: matching entries skipped, conflicting suffix truncated', (ctx: Ctx) => {
    const log = ctx.log;
    log.append(ents(1, 5, 1));
    log.append(ents(2, 4, 1, 'x')); // same terms: already in the log, skipped (payloads kept)
    checkEntries(log, ents(1, 5, 1), 'matching append is a no-op');
    log.append([...ents(3, 3, 1), ...ents(4, 4, 2)]); // conflict at 4: 4 and 5 go, new 4 comes
    checkEntries(log, [...ents(1, 3, 1), ...ents(4, 4, 2)], 'conflict truncates the suffix');
    log.append(ents(5, 6, 3));
    log.append(ents(2, 2, 1)); // a stale, matching message does not truncate
    assert.is(log.lastIndex(), 6);
    log.sync();
    reopen(ctx);
    checkEntries(ctx.log, [...ents(1, 3, 1), ...ents(4, 4, 2), ...ents(5, 6, 3)], 'after reopen');
  });

  t('append refuses gaps, decreasing terms and bad shapes, and changes nothing', (ctx: Ctx) => {
    const log = ctx.log;
    log.append(ents(1, 3, 2));
    expectThrow(() => log.append(ents(5, 6, 2)), RangeError, 'gap');
    expectThrow(() => log.append(ents(4, 4, 1)), RangeError, 'term below the previous entry');
    expectThrow(() => log.append([...ents(4, 4, 3), ...ents(5, 5, 2)]), RangeError, 'decreasing within the batch');
    expectThrow(() => log.append([...ents(4, 4, 3), ...ents(6, 6, 3)]), RangeError, 'non-consecutive batch');
    expectThrow(() => log.append([...ents(3, 3, 3), ...ents(4, 4, 1)]), RangeError, 'conflict then decrease');
    expectThrow(() => log.append([{ index: 0, term: 1, payload: enc('x') }]), RangeError, 'index 0');
    expectThrow(() => log.append([{ index: 4, term: 1.5, payload: enc('x') }]), RangeError, 'fractional term');
    expectThrow(() => log.append([{ index: 4, term: 2, payload: 'text' }]), TypeError, 'payload string');
    expectThrow(() => log.append([{ index: '4', term: 2, payload: enc('x') }]), TypeError, 'index string');
    expectThrow(() => log.append([{ index: 4, term: 2, payload: enc('x'), type: 256 }]), RangeError, 'type > u8');
    expectThrow(() => log.append(null), TypeError, 'not an array');
    expectThrow(() => log.append([{ index: 4, term: 2, payload: new Uint8Array((64 << 20) - 15) }]), RangeError, 'oversized payload');
    checkEntries(log, ents(1, 3, 2), 'unchanged');
    log.append([]);
    assert.is(log.lastIndex(), 3);
  });

  t('truncate removes every entry >= from, survives reopen (raft-wal #31)', (ctx: Ctx) => {
    let log = ctx.log;
    log.append(ents(1, 10, 1));
    log.sync();
    log.truncate(6);
    assert.is(log.lastIndex(), 5);
    assert.is(log.entry(6), undefined);
    log.append(ents(6, 8, 2));
    log.sync();
    log = reopen(ctx);
    checkEntries(log, [...ents(1, 5, 1), ...ents(6, 8, 2)], 'suffix truncation then append, reopened');
    log.truncate(9); // lastIndex + 1: nothing to remove
    assert.is(log.lastIndex(), 8);
    log.truncate(1);
    assert.is(log.lastIndex(), 0);
    assert.is(log.lastTerm(), 0);
    log.sync();
    log = reopen(ctx);
    assert.is(log.lastIndex(), 0);
    log.append(ents(1, 2, 3));
    expectThrow(() => log.truncate(0), RangeError, 'truncate(0)');
    expectThrow(() => log.truncate(4), RangeError, 'beyond lastIndex + 1');
    expectThrow(() => log.truncate('1'), TypeError, 'string');
  });

  t('hard state: set, persisted by sync, term never decreases, one vote per term', (ctx: Ctx) => {
    let log = ctx.log;
    log.setHardState({ term: 1, vote: null, commit: 0 });
    log.setHardState({ term: 1, vote: 3, commit: 0 });
    log.setHardState({ term: 1, vote: 3, commit: 2 });
    expectThrow(() => log.setHardState({ term: 1, vote: 4, commit: 2 }), RangeError, 'second vote in a term');
    expectThrow(() => log.setHardState({ term: 0, vote: null, commit: 2 }), RangeError, 'decreasing term');
    expectThrow(() => log.setHardState({ term: 2, vote: 'a', commit: 2 }), TypeError, 'vote string');
    expectThrow(() => log.setHardState({ term: 2, vote: null, commit: -1 }), RangeError, 'negative commit');
    assert.equal(log.hardState(), { term: 1, vote: 3, commit: 2 });
    log.sync();
    log = reopen(ctx);
    assert.equal(log.hardState(), { term: 1, vote: 3, commit: 2 }, 'vote persisted');
    log.setHardState({ term: 5, vote: 0, commit: 2 }); // node id 0 is a vote
    log.append(ents(1, 1, 5));
    log.sync();
    log = reopen(ctx);
    assert.equal(log.hardState(), { term: 5, vote: 0, commit: 2 });
  });

  t('applySnapshot inside the log keeps the suffix (etcd TestStorageCompact, openraft purge)', (ctx: Ctx) => {
    let log = ctx.log;
    log.append([...ents(1, 4, 1), ...ents(5, 9, 2)]);
    log.applySnapshot({ index: 5, term: 2, data: enc('state@5') });
    assert.is(log.snapshotIndex(), 5);
    assert.is(log.firstIndex(), 6);
    assert.is(log.termAt(5), 2);
    assert.is(log.termAt(4), undefined);
    assert.is(log.entry(5), undefined);
    assert.is(log.entry(6).index, 6);
    const err = expectThrow(() => log.entries(5, 7), 'COMPACTED', 'entries over the snapshot');
    assert.ok(err.message.length > 0);
    expectThrow(() => log.truncate(5), RangeError, 'truncate at the snapshot');
    expectThrow(() => log.applySnapshot({ index: 5, term: 2, data: enc('again') }), RangeError, 'same index');
    expectThrow(() => log.applySnapshot({ index: 3, term: 1, data: enc('older') }), RangeError, 'older');
    expectThrow(() => log.applySnapshot({ index: 7, term: 2, data: 'x' }), TypeError, 'data string');
    log = reopen(ctx);
    assert.is(log.snapshotIndex(), 5);
    assert.is(log.lastIndex(), 9);
    const s = log.snapshot();
    assert.is(s.index, 5);
    assert.is(s.term, 2);
    assert.is(dec(s.data), 'state@5');
    checkEntries(log, ents(6, 9, 2), 'suffix kept');
    log.append(ents(1, 7, 2)); // entries at or below the snapshot are skipped; 6, 7 match
    assert.is(log.lastIndex(), 9);
  });

  t('applySnapshot past the log or with another term discards the log', (ctx: Ctx) => {
    let log = ctx.log;
    log.append(ents(1, 5, 1));
    log.applySnapshot({ index: 3, term: 9, data: enc('a') }); // term differs at 3
    assert.is(log.lastIndex(), 3);
    assert.is(log.lastTerm(), 9);
    assert.is(log.termAt(3), 9);
    assert.is(log.entry(4), undefined);
    log.append(ents(4, 5, 9));
    log.applySnapshot({ index: 20, term: 10, data: enc('b') });
    assert.is(log.lastIndex(), 20);
    assert.is(log.firstIndex(), 21);
    log.append(ents(21, 22, 10));
    expectThrow(() => log.append(ents(24, 24, 10)), RangeError, 'gap after snapshot');
    log.sync();
    log = reopen(ctx);
    assert.is(log.snapshotIndex(), 20);
    assert.is(log.termAt(20), 10);
    checkEntries(log, ents(21, 22, 10), 'after reopen');
    assert.is(dec(log.snapshot().data), 'b');
  });

  t('compact(upTo) drops the prefix without snapshot data; snapshot() is unchanged (etcd TestStorageCompact)', (ctx: Ctx) => {
    let log = ctx.log;
    log.append([...ents(1, 4, 1), ...ents(5, 12, 2)]);
    log.setHardState({ term: 2, vote: 1, commit: 10 });
    log.compact(6);
    assert.is(log.snapshotIndex(), 6);
    assert.is(log.firstIndex(), 7);
    assert.is(log.termAt(6), 2);
    assert.is(log.termAt(5), undefined);
    assert.is(log.entry(6), undefined);
    assert.is(log.snapshot(), undefined, 'no snapshot data was given');
    expectThrow(() => log.entries(6, 8), 'COMPACTED', 'entries over the compacted prefix');
    expectThrow(() => log.compact(13), RangeError, 'beyond lastIndex');
    expectThrow(() => log.compact('7'), TypeError, 'string');
    expectThrow(() => log.truncate(6), RangeError, 'truncate at the compacted index');
    log.compact(3); // at or below: nothing
    log.compact(6);
    assert.is(log.snapshotIndex(), 6);
    log = reopen(ctx);
    assert.is(log.snapshotIndex(), 6, 'durable when it returns');
    assert.is(log.termAt(6), 2);
    assert.is(log.snapshot(), undefined);
    assert.equal(log.hardState(), { term: 2, vote: 1, commit: 10 });
    checkEntries(log, ents(7, 12, 2), 'suffix kept');
    log.applySnapshot({ index: 8, term: 2, data: enc('state@8') });
    log.compact(10);
    assert.is(log.snapshotIndex(), 10);
    assert.is(log.snapshot().index, 8, 'the snapshot stays, below the compacted index');
    expectThrow(() => log.applySnapshot({ index: 9, term: 2, data: enc('old') }), RangeError, 'a snapshot not above the compacted index');
    log.compact(12); // the whole log
    assert.is(log.lastIndex(), 12);
    assert.is(log.lastTerm(), 2);
    log.append(ents(13, 14, 3));
    log.sync();
    log = reopen(ctx);
    assert.is(log.snapshotIndex(), 12);
    assert.is(log.termAt(12), 2);
    assert.is(dec(log.snapshot().data), 'state@8');
    checkEntries(log, ents(13, 14, 3), 'after compacting everything and appending');
  });

  t('entries() over a long range returns every entry in order', (ctx: Ctx) => {
    let log = ctx.log;
    for (let i = 1; i <= 600; i += 50) log.append(ents(i, i + 49, 1 + Math.floor(i / 200)));
    log.truncate(401);
    log.append(ents(401, 650, 9));
    const expected = [...ents(1, 200, 1), ...ents(201, 400, 2), ...ents(401, 650, 9)];
    checkEntries(log, expected, 'before sync');
    log.sync();
    log = reopen(ctx);
    checkEntries(log, expected, 'after reopen');
    assert.equal(log.entries(399, 402).map((e: LogEntry) => `${e.index}:${e.term}`), ['399:2', '400:2', '401:9', '402:9']);
  });

  t('syncAsync resolves; close is idempotent and later calls are CLOSED', async (ctx: Ctx) => {
    const log = ctx.log;
    log.append(ents(1, 2, 1));
    await Promise.all([log.syncAsync(), log.syncAsync()]);
    log.close();
    log.close();
    expectThrow(() => log.append(ents(3, 3, 1)), 'CLOSED', 'append after close');
    expectThrow(() => log.sync(), 'CLOSED', 'sync after close');
  });
}
