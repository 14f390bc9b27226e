/**
 * The writer lock used by the real file systems: a lock file next to the log
 * (`<path>.lock`) naming its holder. Node has no flock(), and a lock must
 * exclude writers across Node, Deno and Bun alike, so all three use this.
 *
 * Acquire: write the holder record to a private temp file and link(2) it to
 * `<path>.lock`; link fails with EEXIST when a lock exists, so exactly one
 * process wins and the lock file is never seen half-written.
 *
 * A holder is presumed alive (the lock is refused) unless one of these shows
 * it is gone: the machine rebooted since (boot id differs), no process has
 * its pid (/proc/<pid> is absent, or elsewhere kill(pid, 0) says ESRCH), or
 * its pid now belongs to a process started at another time (pid reuse; the
 * start time in /proc/<pid>/stat differs). A lock from
 * another host is never broken automatically. A stale lock is broken under
 * a short-lived `<path>.lock.break` mutex so two processes cannot both break
 * it and both win; a `.break` file older than 10 s is itself abandoned.
 */
import * as fs from 'node:fs';
import { hostname } from 'node:os';
import process from 'node:process';
import { WalError } from '../errors.js';
import type { FileLock } from './types.js';

interface Holder { pid: number; start: string | null; boot: string | null; host: string; token: string }

const BREAK_STALE_MS = 10_000;

function readText(path: string): string | null {
  try { return fs.readFileSync(path, 'utf8').trim(); } catch { return null; }
}

/** Start time of a process in clock ticks since boot (Linux), or null where unknown. */
function startTime(pid: number): string | null {
  const stat = readText(`/proc/${pid}/stat`);
  if (stat === null) return null;
  // Field 22, counted after the parenthesised command name (which may contain spaces).
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[19] ?? null;
}

const bootId = (): string | null => readText('/proc/sys/kernel/random/boot_id');

/**
 * This host's name. Linux: from /proc, so Deno needs only --allow-read;
 * elsewhere os.hostname() (Deno: --allow-sys=hostname).
 */
function hostName(): string | null {
  const fromProc = readText('/proc/sys/kernel/hostname');
  if (fromProc !== null) return fromProc;
  try { return hostname(); } catch { return null; }
}

function me(): Holder {
  const token = Array.from(crypto.getRandomValues(new Uint32Array(4)), (n) => n.toString(16).padStart(8, '0')).join('');
  return { pid: process.pid, start: startTime(process.pid), boot: bootId(), host: hostName() ?? 'unknown-host', token };
}

function parse(text: string | null): Holder | null {
  if (text === null) return null;
  try {
    const h = JSON.parse(text) as Holder;
    return typeof h.pid === 'number' && typeof h.token === 'string' ? h : null;
  } catch { return null; }
}

/**
 * 'dead' only when the holder is provably gone (see the file comment). Where
 * /proc is readable (Linux) it alone answers; else kill(pid, 0) does. When
 * neither may be asked (Deno without --allow-all / --allow-run: /proc and
 * signals need permissions) the answer is 'unknown', and the lock is refused:
 * refusing a stale lock is safe, two writers are not.
 */
function liveness(h: Holder): { state: 'alive' | 'dead' | 'unknown'; why?: string } {
  const host = hostName();
  if (host === null) return { state: 'unknown', why: 'this process may not read its host name (Deno: grant --allow-sys=hostname)' };
  if (h.host !== host) return { state: 'alive' };
  const boot = bootId();
  if (h.boot !== null && boot !== null && h.boot !== boot) return { state: 'dead' };
  if (startTime(process.pid) !== null) {
    const now = startTime(h.pid);
    if (now === null) return { state: 'dead' }; // no such process
    return { state: h.start === null || now === h.start ? 'alive' : 'dead' };
  }
  try {
    process.kill(h.pid, 0);
    return { state: 'alive' };
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'ESRCH') return { state: 'dead' };
    if (code === 'EPERM') return { state: 'alive' }; // a process we may not signal
    return { state: 'unknown', why: 'this process may not check whether that pid still runs (Deno: grant --allow-run)' };
  }
}

function describe(h: Holder | null): string {
  return h === null ? 'an unknown holder' : `pid ${h.pid} on ${h.host}`;
}

/** Take the lock for `target`, or throw WalError('LOCKED'). */
export function acquireLockFile(target: string): FileLock {
  const lockPath = `${target}.lock`;
  const holder = me();
  const tmp = `${lockPath}.${holder.token}`;
  fs.writeFileSync(tmp, JSON.stringify(holder));
  try {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        fs.linkSync(tmp, lockPath);
        return new LockFile(lockPath, holder.token);
      } catch (e) {
        if ((e as { code?: string }).code !== 'EEXIST') throw e;
      }
      const current = parse(readText(lockPath));
      const { state, why } = current === null ? { state: 'dead' as const, why: undefined } : liveness(current);
      if (state === 'alive') {
        throw new WalError('LOCKED', `${target} is locked by ${describe(current)} (lock file ${lockPath})`, { path: target });
      }
      if (state === 'unknown') {
        throw new WalError('LOCKED', `${target} is locked by ${describe(current)} (lock file ${lockPath}), and ${why}; remove the lock file if you are sure its holder is dead`, { path: target });
      }
      if (current === null) {
        // Unreadable lock: our own protocol never leaves one, so only break it once it is old.
        const st = statOrNull(lockPath);
        if (st !== null && Date.now() - st.mtimeMs < BREAK_STALE_MS) {
          throw new WalError('LOCKED', `${target} is locked (unreadable lock file ${lockPath})`, { path: target });
        }
      }
      breakStale(lockPath, current?.token ?? null, target);
    }
    throw new WalError('LOCKED', `${target}: could not take the lock after repeated attempts`, { path: target });
  } finally {
    try { fs.unlinkSync(tmp); } catch { /* already gone */ }
  }
}

function statOrNull(path: string): fs.Stats | null {
  try { return fs.statSync(path); } catch { return null; }
}

function breakStale(lockPath: string, staleToken: string | null, target: string): void {
  const mutex = `${lockPath}.break`;
  let fd: number;
  try {
    fd = fs.openSync(mutex, fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_WRONLY, 0o644);
  } catch (e) {
    if ((e as { code?: string }).code !== 'EEXIST') throw e;
    const st = statOrNull(mutex);
    if (st !== null && Date.now() - st.mtimeMs > BREAK_STALE_MS) {
      try { fs.unlinkSync(mutex); } catch { /* someone else did */ }
      return;
    }
    throw new WalError('LOCKED', `${target}: another process is recovering a stale lock`, { path: target });
  }
  try {
    const again = parse(readText(lockPath));
    if ((again?.token ?? null) === staleToken) {
      try { fs.unlinkSync(lockPath); } catch { /* already gone */ }
    }
  } finally {
    fs.closeSync(fd);
    fs.unlinkSync(mutex);
  }
}

class LockFile implements FileLock {
  #held = true;
  constructor(readonly path: string, private readonly token: string) {}
  release(): void {
    if (!this.#held) return;
    this.#held = false;
    if (parse(readText(this.path))?.token === this.token) {
      try { fs.unlinkSync(this.path); } catch { /* already gone */ }
    }
  }
}
