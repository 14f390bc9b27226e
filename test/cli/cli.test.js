// The walcore CLI run as a subprocess in the current runtime (selfCommand)
// against logs made with the library, damaged by byte surgery, and a log
// that another process is writing: output and exit codes
// (0 ok, 1 damage found / refused / LOCKED, 2 usage error).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { KeyRing, RingLog, SegmentedWal, WalFsWriter, WalLog } from 'walcore';
import { enc, selfCommand, tempDir } from '../support/helpers.js';
import { flipByte, walcore } from './run-cli.js';

const WRITER = fileURLToPath(new URL('./fixtures/live-writer.js', import.meta.url));
const KEY_HEX = Array.from({ length: 32 }, (_, i) => i.toString(16).padStart(2, '0')).join('');

function makeWal(path, n = 5) {
  const w = WalFsWriter.open(path);
  for (let i = 1; i <= n; i++) w.append({ sequence: i, payload: enc(`order #${i}`) });
  w.flush();
  w.close();
}

const dir = tempDir('cli');

test('--help for every command, exit codes documented; usage errors exit 2', () => {
  for (const args of [['--help'], ['help'], ['inspect', '--help'], ['verify', '--help'], ['dump', '--help'], ['repair', '--help'], ['help', 'dump']]) {
    const r = walcore(...args);
    assert.is(r.code, 0, args.join(' '));
    assert.match(r.out, /Exit codes: 0 ok, 1 damage found/);
  }
  for (const args of [[], ['frob'], ['inspect'], ['verify', 'a', 'b'], ['dump', `${dir}/x`, '--format', 'xml'], ['dump', `${dir}/x`, '--limit', '-3'], ['inspect', '--bogus', 'x'], ['inspect', `${dir}/does-not-exist`]]) {
    const r = walcore(...args);
    assert.is(r.code, 2, args.join(' '));
    assert.not.match(r.err, /at .*\.js:\d+/, 'no stack trace');
  }
});

test('unknown files get one line and exit 1, not a stack trace', () => {
  fs.writeFileSync(`${dir}/short.txt`, 'hello');
  fs.writeFileSync(`${dir}/foreign.bin`, new Uint8Array(100).fill(7));
  fs.mkdirSync(`${dir}/empty-dir`);
  for (const [p, re] of [['short.txt', /5 bytes, shorter than a walcore file header/], ['foreign.bin', /not a walcore log/], ['empty-dir', /holds no walcore log/]]) {
    const r = walcore('inspect', `${dir}/${p}`);
    assert.is(r.code, 1);
    assert.match(r.err, re);
    assert.is(r.err.trim().split('\n').length, 1);
  }
});

test('wal-file: inspect, verify --json, dump with --from/--limit in every format', () => {
  const p = `${dir}/orders.wal`;
  makeWal(p);
  let r = walcore('inspect', p);
  assert.is(r.code, 0);
  assert.match(r.out, /kind\s+wal-file/);
  assert.match(r.out, /records\s+5/);
  assert.match(r.out, /sequences\s+1 \.\. 5/);
  assert.match(r.out, /last sync marker\s+offset 264/);
  assert.match(r.out, /health\s+ok/);
  r = walcore('verify', p, '--json');
  assert.is(r.code, 0);
  const v = JSON.parse(r.out);
  assert.is(v.ok, true);
  assert.equal(v.problems, []);
  assert.is(v.summary.records, 5);
  r = walcore('dump', p, '--from', '2', '--limit', '2', '--format', 'jsonl', '--payload', 'utf8');
  assert.is(r.code, 0);
  const lines = r.out.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.map((l) => [l.sequence, l.payload, l.type]), [[2, 'order #2', 'event'], [3, 'order #3', 'event']]);
  r = walcore('dump', p, '--format', 'json', '--payload', 'base64');
  const all = JSON.parse(r.out);
  assert.is(all.length, 6);
  assert.is(all[0].payload, btoa('order #1'));
  assert.is(all[5].type, 'sync-marker');
  r = walcore('dump', p, '--limit', '1');
  assert.is(r.out, `offset=64 type=event sequence=1 mark=64 length=8 payload=${Buffer.from('order #1').toString('hex')}\n`);
});

test('wal-file: torn tail -> verify 1, repair cuts it into a backup, verify 0', () => {
  const p = `${dir}/torn.wal`;
  makeWal(p);
  const good = fs.readFileSync(p);
  fs.appendFileSync(p, 'half-written frame');
  let r = walcore('verify', p);
  assert.is(r.code, 1);
  assert.match(r.out, new RegExp(`TORN TAIL ${p} offset ${good.length} reason incomplete-header`));
  r = walcore('repair', p);
  assert.is(r.code, 0, r.out + r.err);
  assert.match(r.out, /torn tail at offset 296/);
  const backup = /backup of the 18 bytes cut: (\S+)/.exec(r.out)?.[1];
  assert.ok(backup, r.out);
  assert.is(fs.readFileSync(backup, 'utf8'), 'half-written frame');
  assert.equal(fs.readFileSync(p), good);
  assert.is(walcore('verify', p).code, 0);
  assert.is(walcore('repair', p).code, 0);
  assert.match(walcore('repair', p).out, /nothing to repair/);
});

test('wal-file: corruption -> refused without --force (file untouched), --force says what is lost and cuts', () => {
  const p = `${dir}/bad.wal`;
  makeWal(p);
  flipByte(p, 140); // inside event 2's payload (frame at 104)
  const before = fs.readFileSync(p);
  let r = walcore('verify', p);
  assert.is(r.code, 1);
  assert.match(r.out, /CORRUPTED .*bad\.wal offset 104 reason crc-mismatch/);
  r = walcore('repair', p);
  assert.is(r.code, 1);
  assert.match(r.out, /Refusing to cut durable data without --force/);
  assert.match(r.out, /would cut bytes 104 \.\. 296 \(192 bytes\)/);
  assert.equal(fs.readFileSync(p), before);
  r = walcore('repair', p, '--force');
  assert.is(r.code, 0, r.out + r.err);
  assert.match(r.out, /--force: cutting bytes 104 \.\. 296 \(192 bytes\)/);
  const backup = /backup of the 192 bytes cut: (\S+)/.exec(r.out)?.[1];
  assert.equal(fs.readFileSync(backup), before.subarray(104));
  r = walcore('dump', p, '--payload', 'utf8', '--format', 'jsonl');
  assert.equal(r.out.trim().split('\n').map((l) => JSON.parse(l).type), ['event', 'sync-marker']);
  assert.is(walcore('verify', p).code, 0);
});

test('segmented: inspect, LSN continuity, damage in a sealed segment names the file; dump across segments', () => {
  const d = `${dir}/seg`;
  const w = SegmentedWal.open({ dir: d, segmentTargetSize: 4096 });
  for (let i = 1; i <= 100; i++) w.append(1, 7, 2, 3, enc(`rec ${i}`));
  w.close();
  let r = walcore('inspect', d);
  assert.is(r.code, 0);
  assert.match(r.out, /kind\s+segmented/);
  assert.match(r.out, /records\s+100/);
  assert.match(r.out, /LSNs\s+1 \.\. 100/);
  r = walcore('dump', d, '--from', '58', '--limit', '2', '--format', 'jsonl', '--payload', 'utf8');
  const recs = r.out.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(recs.map((x) => [x.lsn, x.payload, x.file]), [[58, 'rec 58', 'wal-00000000000000000001.seg'], [59, 'rec 59', 'wal-00000000000000000059.seg']]);
  const sealed = `${d}/wal-00000000000000000001.seg`;
  flipByte(sealed, 200);
  r = walcore('verify', d, '--json');
  assert.is(r.code, 1);
  const v = JSON.parse(r.out);
  assert.is(v.problems[0].file, sealed);
  assert.is(v.problems[0].torn, false);
  r = walcore('repair', d);
  assert.is(r.code, 1);
  assert.match(r.out, /every record after LSN \d+ is lost/);
});

test('segmented: torn tail of the active segment is repaired; encrypted headers dump without a key, plaintext with --key-file', () => {
  const d = `${dir}/seg-torn`;
  const w = SegmentedWal.open({ dir: d });
  for (let i = 1; i <= 3; i++) w.append(1, 1, 1, 1, enc(`r${i}`));
  w.close();
  fs.appendFileSync(`${d}/wal-00000000000000000001.seg`, new Uint8Array(40).fill(0xf7));
  assert.is(walcore('verify', d).code, 1);
  const r = walcore('repair', d);
  assert.is(r.code, 0, r.out + r.err);
  assert.match(r.out, /backup of the 40 bytes cut/);
  assert.is(walcore('verify', d).code, 0);

  const e = `${dir}/enc`;
  const key = Uint8Array.from({ length: 32 }, (_, i) => i);
  const ew = SegmentedWal.open({ dir: e, encryptionRing: new KeyRing({ id: 7, key }) });
  ew.append(1, 1, 1, 1, enc('secret'));
  ew.close();
  let d1 = JSON.parse(walcore('dump', e, '--format', 'jsonl').out);
  assert.is(d1.encrypted, true);
  assert.is(d1.keyId, 7);
  assert.is(d1.payload, undefined);
  assert.match(d1.payloadNote, /no key/);
  assert.match(walcore('inspect', e).out, /AES-256-GCM/);
  fs.writeFileSync(`${dir}/keys.json`, JSON.stringify([{ id: 7, key: KEY_HEX }]));
  d1 = JSON.parse(walcore('dump', e, '--format', 'jsonl', '--payload', 'utf8', '--key-file', `${dir}/keys.json`).out);
  assert.is(d1.payload, 'secret');
  fs.writeFileSync(`${dir}/bad-keys.json`, '[{"id":7,"key":"zz"}]');
  assert.is(walcore('dump', e, '--key-file', `${dir}/bad-keys.json`).code, 2);
});

test('ring: geometry, window, evidence; a damaged slot of a cleanly closed ring is CORRUPTED and repair refuses', () => {
  const p = `${dir}/pub.ring`;
  const ring = RingLog.open(p, { capacity: 8, slotSize: 128 });
  for (let i = 1; i <= 11; i++) ring.append(enc(`r${i}`));
  ring.appendWithFailure(enc('boom'), { failureClass: 'timeout', code: 504, digest: enc('abcd') });
  ring.close();
  let r = walcore('inspect', p);
  assert.is(r.code, 0);
  assert.match(r.out, /geometry\s+8 slots of 128 bytes/);
  assert.match(r.out, /sequences\s+5 \.\. 12/);
  r = walcore('dump', p, '--from', '12', '--format', 'jsonl', '--payload', 'utf8');
  const last = JSON.parse(r.out);
  assert.equal([last.sequence, last.payload, last.failureClass, last.code, last.digest], [12, 'boom', 'timeout', 504, '61626364']);
  flipByte(p, 4096 + 128 * 2 + 40); // slot 2 (record 11)
  r = walcore('verify', p);
  assert.is(r.code, 1);
  assert.match(r.out, /CORRUPTED/);
  r = walcore('repair', p, '--force');
  assert.is(r.code, 1);
});

test('raft: inspect and dump ops; torn tail repaired; damaged entry is CORRUPTED', () => {
  const d = `${dir}/raft`;
  const log = WalLog.open(d);
  log.setHardState({ term: 1, vote: 1, commit: 0 });
  for (let i = 1; i <= 10; i++) log.append([{ index: i, term: 1, payload: enc(`set x ${i}`) }]);
  log.truncate(9);
  log.append([{ index: 9, term: 2, payload: enc('new 9') }]);
  log.close();
  let r = walcore('inspect', d);
  assert.is(r.code, 0, r.out + r.err);
  assert.match(r.out, /indexes\s+1 \.\. 9 \(last term 2\)/);
  assert.match(r.out, /hard state\s+term 1, vote 1/);
  r = walcore('dump', d, '--from', '9', '--format', 'jsonl', '--payload', 'utf8');
  const ops = r.out.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(ops.map((o) => o.type), ['entry', 'entry', 'truncate', 'entry']);
  assert.is(ops[3].payload, 'new 9');
  const seg = `${d}/raft-00000000000000000001.seg`;
  const good = fs.readFileSync(seg);
  fs.appendFileSync(seg, new Uint8Array(50).fill(0xf7));
  assert.is(walcore('verify', d).code, 1);
  r = walcore('repair', d);
  assert.is(r.code, 0, r.out + r.err);
  assert.match(r.out, /backup of the 50 bytes cut/);
  assert.is(walcore('verify', d).code, 0);
  flipByte(seg, good.length - 100);
  r = walcore('verify', d, '--json');
  assert.is(r.code, 1);
  assert.is(JSON.parse(r.out).problems[0].file, seg);
});

test('a log being written by another process: verify and dump work, repair is LOCKED (exit 1)', async () => {
  const p = `${dir}/live.wal`;
  const [cmd, ...pre] = selfCommand();
  const child = spawn(cmd, [...pre, WRITER, p], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    await new Promise((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d) => { out += d; if (out.includes('start')) resolve(); });
      child.on('error', reject);
      child.on('close', (c) => reject(new Error(`writer exited early (${c})`)));
    });
    for (let i = 0; i < 3; i++) {
      const r = walcore('verify', p);
      assert.is(r.code, 0, r.out + r.err);
      assert.match(r.out, /writer lock file is present/);
    }
    const d = walcore('dump', p, '--limit', '3', '--payload', 'none', '--format', 'jsonl');
    assert.is(d.code, 0);
    assert.equal(d.out.trim().split('\n').map((l) => JSON.parse(l).sequence), [1, 2, 3]);
    const r = walcore('repair', p);
    assert.is(r.code, 1);
    assert.match(r.err, /LOCKED/);
  } finally {
    child.kill('SIGKILL');
    await new Promise((resolve) => { if (child.exitCode !== null || child.signalCode !== null) resolve(); else child.on('close', resolve); });
  }
  // The writer is dead: its lock is stale, so repair takes it over and leaves a clean log.
  // (Deno may reap the killed child a moment after 'close'; until then its pid still looks alive.)
  for (const t0 = Date.now(); fs.existsSync(`/proc/${child.pid}`) && Date.now() - t0 < 10000;) await new Promise((res) => setTimeout(res, 50));
  const r = walcore('repair', p);
  assert.is(r.code, 0, r.out + r.err);
  assert.is(walcore('verify', p).code, 0);
});

test.run();
