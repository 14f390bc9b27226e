// The real file systems' writer lock (host/fs/lock-file.ts): one lock per
// log whatever name the log is opened by, a holder in another PID namespace
// is never judged dead, and taking over a stale lock never removes a live one.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import process from 'node:process';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { NodeFileSystem, SegmentedWal, WalError, WalFsWriter } from 'walcore';
import { selfCommand, tempDir } from '../support/helpers.js';

const CHILD = fileURLToPath(new URL('../support/fixtures/lock-race-child.js', import.meta.url));
const nfs = new NodeFileSystem();
const base = tempDir('lock');
let dirs = 0;
/** A fresh directory under one temp dir (removed at exit). */
const fresh = () => { const d = `${base}/${dirs++}`; fs.mkdirSync(d); return d; };

function lockedError(fn) {
  try { fn(); } catch (e) {
    assert.instance(e, WalError);
    assert.is(e.code, 'LOCKED', e.message);
    return e;
  }
  assert.unreachable('lock was granted');
}

const readOr = (p, fallback) => { try { return fs.readFileSync(p, 'utf8').trim(); } catch { return fallback; } };
const hostName = () => readOr('/proc/sys/kernel/hostname', null);
const ourPidNs = () => { try { return fs.readlinkSync('/proc/self/ns/pid'); } catch { return null; } };
/** The pid of a process that has exited (a child that ran and ended). */
const deadPid = () => spawnSync(process.execPath, ['--version']).pid;
/** A lock record as the lock file protocol writes it. */
const record = (pid, token, extra = {}) => JSON.stringify({
  pid, start: null, boot: readOr('/proc/sys/kernel/random/boot_id', null), host: hostName(), token, ...extra,
});

// ---- one lock per log, whatever the name

const names = suite('lock: one lock per log, whatever name it is opened by');

/** First lock through `a`, then `b` must be refused until it is released. */
function sameLock(a, b) {
  const first = nfs.lock(a);
  lockedError(() => nfs.lock(b));
  first.release();
  const second = nfs.lock(b);
  lockedError(() => nfs.lock(a));
  second.release();
}

names('a symlink to the file (existing or not yet created) shares the file\'s lock', () => {
  const dir = fresh();
  fs.writeFileSync(`${dir}/x.wal`, '');
  fs.symlinkSync(`${dir}/x.wal`, `${dir}/link.wal`);
  sameLock(`${dir}/x.wal`, `${dir}/link.wal`);
  fs.symlinkSync('later.wal', `${dir}/dangling.wal`); // relative, target not created yet
  sameLock(`${dir}/later.wal`, `${dir}/dangling.wal`);
});

names('a symlinked parent directory, "./relative" and absolute names share one lock', () => {
  const dir = fs.realpathSync(fresh());
  fs.mkdirSync(`${dir}/real`);
  fs.symlinkSync(`${dir}/real`, `${dir}/alias`);
  sameLock(`${dir}/real/y.wal`, `${dir}/alias/y.wal`);
  fs.writeFileSync(`${dir}/real/y.wal`, '');
  sameLock(`${dir}/real/y.wal`, `${dir}/alias/y.wal`);
  let rel = path.relative(process.cwd(), `${dir}/real/y.wal`);
  if (!rel.startsWith('.')) rel = `./${rel}`;
  sameLock(`${dir}/real/y.wal`, rel);
});

names('a directory: "dir", "dir/.", "dir/" and a symlink to it share one lock, kept inside it', () => {
  const dir = fs.realpathSync(fresh());
  fs.mkdirSync(`${dir}/seg`);
  fs.symlinkSync(`${dir}/seg`, `${dir}/seg-link`);
  sameLock(`${dir}/seg`, `${dir}/seg/.`);
  sameLock(`${dir}/seg/`, `${dir}/seg`);
  sameLock(`${dir}/seg-link`, `${dir}/seg`);
  const l = nfs.lock(`${dir}/seg/.`);
  assert.is(l.path, `${dir}/seg/.walcore.lock`);
  assert.ok(fs.existsSync(l.path));
  l.release();
  assert.not.ok(fs.existsSync(l.path));
});

names('FileLock.path is the real lock file, next to the real file', () => {
  const dir = fs.realpathSync(fresh());
  fs.writeFileSync(`${dir}/z.wal`, '');
  fs.symlinkSync(`${dir}/z.wal`, `${dir}/z-link.wal`);
  const l = nfs.lock(`${dir}/z-link.wal`);
  assert.is(l.path, `${dir}/z.wal.lock`);
  assert.ok(fs.existsSync(l.path));
  l.release();
  assert.equal(fs.readdirSync(dir).sort(), ['z-link.wal', 'z.wal']);
});

names('a file with several hard links is refused: one lock cannot cover every name', () => {
  const dir = fresh();
  fs.writeFileSync(`${dir}/h.wal`, '');
  const first = nfs.lock(`${dir}/h.wal`);
  fs.linkSync(`${dir}/h.wal`, `${dir}/hard.wal`);
  lockedError(() => nfs.lock(`${dir}/hard.wal`));
  first.release();
  const e = lockedError(() => nfs.lock(`${dir}/hard.wal`));
  assert.match(e.message, /hard link/);
  lockedError(() => nfs.lock(`${dir}/h.wal`));
  fs.unlinkSync(`${dir}/hard.wal`);
  nfs.lock(`${dir}/h.wal`).release();
});

names('the logs: WalFsWriter through a symlink, SegmentedWal through "dir/."', () => {
  const dir = fresh();
  const w = WalFsWriter.open(`${dir}/w.wal`);
  fs.symlinkSync(`${dir}/w.wal`, `${dir}/w-link.wal`);
  lockedError(() => WalFsWriter.open(`${dir}/w-link.wal`));
  w.close();
  WalFsWriter.open(`${dir}/w-link.wal`).close();
  const s = SegmentedWal.open(`${dir}/seg`);
  lockedError(() => SegmentedWal.open(`${dir}/seg/.`));
  lockedError(() => SegmentedWal.open(`${dir}/seg/`));
  s.close();
  const again = SegmentedWal.open(`${dir}/seg/.`);
  again.close();
});

names.run();

// ---- liveness across PID namespaces

const ns = suite('lock: a holder in another PID namespace is alive');

ns('a dead pid recorded from another PID namespace is not taken over; from ours it is', () => {
  if (ourPidNs() === null) return; // not Linux: no namespaces to tell apart
  const dir = fresh();
  const target = `${dir}/n.wal`;
  fs.writeFileSync(target, '');
  const pid = deadPid();
  fs.writeFileSync(`${target}.lock`, record(pid, 'othernamespace', { pidns: 'pid:[1]' }));
  const e = lockedError(() => nfs.lock(target));
  assert.match(e.message, /namespace/);
  assert.ok(readOr(`${target}.lock`, '').includes('othernamespace'), 'the foreign lock was removed');
  fs.writeFileSync(`${target}.lock`, record(pid, 'ournamespace', { pidns: ourPidNs() }));
  const l = nfs.lock(target);
  assert.not.ok(readOr(l.path, '').includes('ournamespace'));
  assert.ok(readOr(l.path, '').includes(ourPidNs()), 'the lock records our namespace');
  l.release();
});

ns.run();

// ---- taking over a stale lock

const stale = suite('lock: taking over a stale lock');

stale('a lock whose holder exited is taken over, leaving no other file behind', () => {
  const dir = fresh();
  const target = `${dir}/s.wal`;
  fs.writeFileSync(target, '');
  fs.writeFileSync(`${target}.lock`, record(deadPid(), 'stale1', { pidns: ourPidNs() }));
  const l = nfs.lock(target);
  assert.not.ok(readOr(l.path, '').includes('stale1'));
  lockedError(() => nfs.lock(target));
  l.release();
  assert.equal(fs.readdirSync(dir), ['s.wal']);
});

stale('a live holder (this process) is never taken over', () => {
  const dir = fresh();
  const target = `${dir}/live.wal`;
  fs.writeFileSync(`${target}.lock`, record(process.pid, 'me', { pidns: ourPidNs() }));
  lockedError(() => nfs.lock(target));
  assert.ok(readOr(`${target}.lock`, '').includes('"me"'));
});

stale('an unreadable lock file is treated as held, however old, and says to remove it', () => {
  const dir = fresh();
  const target = `${dir}/g.wal`;
  fs.writeFileSync(`${target}.lock`, 'not a lock record');
  const hourAgo = new Date(Date.now() - 3600_000);
  fs.utimesSync(`${target}.lock`, hourAgo, hourAgo);
  const e = lockedError(() => nfs.lock(target));
  assert.match(e.message, /remove/);
  assert.is(readOr(`${target}.lock`, ''), 'not a lock record');
  fs.unlinkSync(`${target}.lock`);
  nfs.lock(target).release();
});

stale('many processes taking over one stale lock at once: exactly one wins', async () => {
  const dir = fresh();
  const target = `${dir}/race.wal`;
  fs.writeFileSync(target, '');
  fs.writeFileSync(`${target}.lock`, record(deadPid(), 'racestale', { pidns: ourPidNs() }));
  const go = `${dir}/go`;
  const done = `${dir}/done`;
  const [cmd, ...pre] = selfCommand();
  const N = 5;
  const outputs = Array(N).fill('');
  let readyCount = 0;
  let resultCount = 0;
  let allReady;
  let allResults;
  const ready = new Promise((r) => { allReady = r; });
  const results = new Promise((r) => { allResults = r; });
  const exits = [];
  for (let i = 0; i < N; i++) {
    const child = spawn(cmd, [...pre, CHILD, target, go, done], { stdio: ['ignore', 'pipe', 'inherit'] });
    child.stdout.on('data', (d) => {
      const before = outputs[i];
      outputs[i] += d;
      if (!before.includes('ready') && outputs[i].includes('ready') && ++readyCount === N) allReady();
      if (!/got|locked/.test(before) && /got|locked/.test(outputs[i]) && ++resultCount === N) allResults();
    });
    exits.push(new Promise((r) => child.on('close', r)));
  }
  await ready;
  fs.writeFileSync(go, '');
  await results;
  fs.writeFileSync(done, '');
  await Promise.all(exits);
  const winners = outputs.filter((o) => o.includes('got')).length;
  assert.is(winners, 1, outputs.join(' | '));
  for (const o of outputs) if (!o.includes('got')) assert.ok(o.includes('locked LOCKED'), o);
  assert.equal(fs.readdirSync(dir).sort(), ['done', 'go', 'race.wal']);
});

stale.run();
