// WalLog and MemoryRaftLog at the edges of their numbers: indexes and terms
// around 2^31, 2^32 and 2^53 (the on-disk fields are u64, the in-memory
// index keeps terms in f64 and offsets in u32), empty and tiny payloads,
// and the refusals just past the edge. Each case runs on both
// implementations, and WalLog's answers must survive a reopen.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MemoryFileSystem, MemoryRaftLog, WalLog } from 'walcore';
import { codeOf, dec, enc } from '../../support/helpers.js';

const MAX = Number.MAX_SAFE_INTEGER; // 2^53 - 1

/** Run `body(log, reopen)` on a MemoryRaftLog and on a WalLog over a fresh MemoryFileSystem. */
function both(name, body) {
  test(`MemoryRaftLog: ${name}`, () => body(new MemoryRaftLog(), (l) => l));
  test(`WalLog: ${name}`, () => {
    const fs = new MemoryFileSystem();
    const log = WalLog.open('/raft', { fs });
    let cur = log;
    try {
      body(log, (l) => { l.sync(); l.close(); cur = WalLog.open('/raft', { fs }); return cur; });
    } finally {
      cur.close();
    }
  });
}


function check(log, entries) {
  const last = entries.at(-1);
  assert.is(log.lastIndex(), last.index);
  assert.is(log.lastTerm(), last.term);
  for (const e of entries) {
    assert.is(log.termAt(e.index), e.term, `termAt(${e.index})`);
    const got = log.entry(e.index);
    assert.is(got.index, e.index);
    assert.is(got.term, e.term);
    assert.is(dec(got.payload), dec(e.payload));
  }
  const all = log.entries(entries[0].index, last.index);
  assert.equal(all.map((e) => [e.index, e.term, dec(e.payload)]), entries.map((e) => [e.index, e.term, dec(e.payload)]));
}

for (const [label, base] of [['2^31', 2 ** 31], ['2^32', 2 ** 32]]) {
  both(`indexes and terms across ${label} survive a reopen`, (log, reopen) => {
    log.applySnapshot({ index: base - 3, term: base - 2, data: enc('snap') });
    const entries = [];
    for (let i = 0; i < 6; i++) entries.push({ index: base - 2 + i, term: base - 2 + (i >> 1), payload: enc(i === 2 ? '' : `e${i}`) });
    log.append(entries);
    check(log, entries);
    log = reopen(log);
    check(log, entries);
    assert.is(log.snapshotIndex(), base - 3);
    assert.is(log.termAt(base - 3), base - 2);
    // A truncate and a conflicting append at the edge, then a reopen.
    log.truncate(base);
    log.append([{ index: base, term: base + 5, payload: enc('new') }]);
    log = reopen(log);
    check(log, [...entries.slice(0, 2), { index: base, term: base + 5, payload: enc('new') }]);
  });
}

both('the last safe index and term (2^53 - 1); one past it is refused', (log, reopen) => {
  log.applySnapshot({ index: MAX - 2, term: MAX - 1, data: new Uint8Array(0) });
  const entries = [
    { index: MAX - 1, term: MAX - 1, payload: new Uint8Array(0) },
    { index: MAX, term: MAX, payload: enc('x') },
  ];
  log.append(entries);
  check(log, entries);
  log.setHardState({ term: MAX, vote: MAX, commit: MAX });
  log = reopen(log);
  check(log, entries);
  assert.equal(log.hardState(), { term: MAX, vote: MAX, commit: MAX });
  assert.is(codeOf(() => log.append([{ index: MAX + 1, term: MAX, payload: enc('y') }])), 'RangeError', 'index 2^53');
  assert.is(codeOf(() => log.append([{ index: MAX, term: 2 ** 53, payload: enc('y') }])), 'RangeError', 'term 2^53');
  assert.is(codeOf(() => log.setHardState({ term: 2 ** 53, vote: null, commit: 0 })), 'RangeError', 'hard state term 2^53');
  assert.is(codeOf(() => log.truncate(2 ** 53)), 'RangeError', 'truncate at 2^53');
  assert.is(log.lastIndex(), MAX, 'a refused append changes nothing');
  check(log, entries);
});

both('empty and one-byte payloads in a batch, read back one by one and as a range', (log, reopen) => {
  const entries = [];
  for (let i = 1; i <= 64; i++) entries.push({ index: i, term: 1, payload: i % 3 === 0 ? new Uint8Array(0) : new Uint8Array([i]) });
  log.append(entries);
  log = reopen(log);
  assert.is(log.lastIndex(), 64);
  for (const e of entries) assert.equal([...log.entry(e.index).payload], [...e.payload], `entry ${e.index}`);
  assert.equal(log.entries(1, 64).map((e) => e.payload.length), entries.map((e) => e.payload.length));
});

test.run();
