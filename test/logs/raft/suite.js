// The RaftLog conformance suite lives in the package (host/testing.ts,
// published as `walcore/testing`, docs/wal-log.md "Conformance suite"), so
// the tests here run exactly what users run. runRaftLogSuite(test, name,
// factory) registers the cases; the factory returns { log, reopen?, cleanup? }
// (reopen: durable logs close and open again from storage). The helpers
// below serve walcore's own WalLog-specific tests.
export { runRaftLogSuite } from 'walcore/testing';
import * as assert from 'uvu/assert';

const enc = (s) => new TextEncoder().encode(s);
const dec = (b) => new TextDecoder().decode(b);
/** Entries first..last of `term`, payload "<index>:<term>" (index 0 mod 7 gets an empty payload). */
export const ents = (first, last, term, tag = '') => {
  const out = [];
  for (let i = first; i <= last; i++) out.push({ index: i, term, payload: i % 7 === 0 ? new Uint8Array(0) : enc(`${i}:${term}${tag}`) });
  return out;
};

export function expectThrow(fn, kind, where) {
  try {
    fn();
  } catch (e) {
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

/** Check `log` holds exactly `expected` entries (array of { index, term, payload }). */
export function checkEntries(log, expected, where = '') {
  const first = log.firstIndex();
  const last = log.lastIndex();
  assert.is(last - first + 1, expected.length, `${where}: entry count`);
  if (expected.length === 0) return;
  const got = log.entries(first, last);
  got.forEach((e, i) => {
    const x = expected[i];
    assert.is(e.index, x.index, `${where}: index`);
    assert.is(e.term, x.term, `${where}: term of ${x.index}`);
    assert.is(dec(e.payload), dec(x.payload), `${where}: payload of ${x.index}`);
    assert.is(e.type ?? 0, x.type ?? 0, `${where}: type of ${x.index}`);
  });
}

