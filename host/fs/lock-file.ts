/**
 * The writer lock used by the real file systems: a lock file naming its
 * holder. Node has no flock(), and a lock must exclude writers across Node,
 * Deno and Bun alike, so all three use this.
 *
 * Where. The lock belongs to the log's real file, not to the name it was
 * opened by, so a symlink, `dir/.`, a trailing slash, or a relative name all
 * find the same lock. The log's path is resolved (realpath; for a path that
 * does not exist yet, the realpath of its parent plus its name, following a
 * dangling symlink first). A directory (SegmentedWal) is locked by
 * `<realdir>/.walcore.lock` inside it; a file by `<realfile>.lock` beside it.
 * Hard links cannot be unified by name: an existing file with more than one
 * link is refused with LOCKED (one lock file cannot cover every name).
 *
 * Acquire: write the holder record to a private temp file and link(2) it to
 * the lock path; link fails with EEXIST when a lock exists, so exactly one
 * process wins and a lock file is never seen half-written. A lock file that
 * cannot be read or parsed therefore was not made by this protocol: it is
 * treated as held (LOCKED, telling the user to remove it), never broken.
 *
 * Liveness. A holder is presumed alive (the lock is refused) unless one of
 * these shows it is gone: the machine rebooted since (boot id differs), no
 * process has its pid (/proc/<pid> is absent, or elsewhere kill(pid, 0) says
 * ESRCH), or its pid now belongs to a process started at another time (pid
 * reuse; the start time in /proc/<pid>/stat differs). A pid is only
 * meaningful in its PID namespace, so the record names the holder's (the
 * link text of /proc/self/ns/pid): a holder from another namespace (another
 * container sharing the host name and the volume) is alive, and one whose
 * namespace or ours is unknown cannot be judged (LOCKED). Records without
 * the field (older walcore) are judged by pid as before. A lock from another
 * host is never broken automatically.
 *
 * Taking over a stale lock whose record has token T, race-free:
 * 1. link(lock, `<lock>.break-T`). This names, atomically, whatever lock
 *    file is there now, and only one process can own that name. EEXIST:
 *    someone else is breaking T (LOCKED while the lock still holds T, else
 *    retry). ENOENT: the lock is gone (retry).
 * 2. Read the `.break-T` name. If its token is not T, the lock changed after
 *    we read it: remove our `.break-T` name and retry from the start.
 * 3. Its token is T, so the lock path held T when we took `.break-T`, and
 *    from then on only the owner of `.break-T` (us) may remove T's file: T's
 *    holder is dead, and tokens are never reused. Rename the lock to a unique
 *    `<lock>.stale-<random>` and check that file's token: T, so delete it.
 *    (Not T would mean something outside this protocol replaced the lock; it
 *    is then linked back, which never overwrites a newer lock, and LOCKED.)
 * 4. Remove `.break-T` and retry the link(). Any process may win that link;
 *    exactly one does. Nothing is ever unlinked by path after a check.
 * A `.break-T` left by a breaker that died in step 3 keeps T's lock held
 * until a human removes both (the LOCKED message says so): refusing is safe,
 * two writers are not. There is no time-based expiry anywhere.
 */
import * as fs from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, isAbsolute, join } from 'node:path';
import process from 'node:process';
import { WalError } from '../errors.js';
import type { FileLock } from './types.js';

interface Holder { pid: number; start: string | null; boot: string | null; host: string; token: string; pidns?: string | null }

/** The lock file of a directory log, inside the directory (SegmentedWal ignores dotfiles). */
export const DIR_LOCK_NAME = '.walcore.lock';
const TOKEN = /^[0-9A-Za-z_-]{1,64}$/;
const MISSING = Symbol('missing');

function readText(path: string): string | null {
  try { return fs.readFileSync(path, 'utf8').trim(); } catch { return null; }
}
/** The file's text, MISSING when it does not exist, null when it cannot be read. */
function readLockText(path: string): string | null | typeof MISSING {
  try { return fs.readFileSync(path, 'utf8').trim(); } catch (e) {
    return codeOf(e) === 'ENOENT' ? MISSING : null;
  }
}
const codeOf = (e: unknown): unknown => (e as { code?: unknown } | null)?.code;
const randomToken = (): string => Array.from(crypto.getRandomValues(new Uint32Array(4)), (n) => n.toString(16).padStart(8, '0')).join('');

/** Start time of a process in clock ticks since boot (Linux), or null where unknown. */
function startTime(pid: number): string | null {
  const stat = readText(`/proc/${pid}/stat`);
  if (stat === null) return null;
  // Field 22, counted after the parenthesised command name (which may contain spaces).
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[19] ?? null;
}

const bootId = (): string | null => readText('/proc/sys/kernel/random/boot_id');

/** This process's PID namespace, e.g. 'pid:[4026531836]' (Linux), or null where unknown. */
function pidNamespace(): string | null {
  try { return fs.readlinkSync('/proc/self/ns/pid'); } catch { return null; }
}

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
  return { pid: process.pid, start: startTime(process.pid), boot: bootId(), host: hostName() ?? 'unknown-host', token: randomToken(), pidns: pidNamespace() };
}

function parse(text: string | null | typeof MISSING): Holder | null {
  if (typeof text !== 'string') return null;
  try {
    const h = JSON.parse(text) as Holder;
    return typeof h === 'object' && h !== null && Number.isInteger(h.pid) && typeof h.token === 'string' && TOKEN.test(h.token) ? h : null;
  } catch { return null; }
}
const tokenAt = (path: string): string | null => parse(readText(path))?.token ?? null;

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
  if (h.pidns !== undefined) {
    const ours = pidNamespace();
    if (h.pidns !== ours) {
      if (h.pidns !== null && ours !== null) return { state: 'alive', why: `it runs in another PID namespace (${h.pidns}; ours is ${ours}), whose processes this one cannot see` };
      return { state: 'unknown', why: `this process cannot compare its PID namespace with the holder's (${h.pidns ?? 'unknown'} vs ${ours ?? 'unknown'}; Deno: grant --allow-all)` };
    }
  }
  if (startTime(process.pid) !== null) {
    const now = startTime(h.pid);
    if (now === null) return { state: 'dead' }; // no such process
    return { state: h.start === null || now === h.start ? 'alive' : 'dead' };
  }
  try {
    process.kill(h.pid, 0);
    return { state: 'alive' };
  } catch (e) {
    const code = codeOf(e);
    if (code === 'ESRCH') return { state: 'dead' };
    if (code === 'EPERM') return { state: 'alive' }; // a process we may not signal
    return { state: 'unknown', why: 'this process may not check whether that pid still runs (Deno: grant --allow-run)' };
  }
}

const describe = (h: Holder): string => `pid ${h.pid} on ${h.host}`;
const locked = (target: string, message: string): WalError => new WalError('LOCKED', `${target}: ${message}`, { path: target });

/** The real path of `target`: symlinks resolved, also a dangling one and a missing last component. */
function realTarget(target: string, depth = 0): string {
  try {
    return fs.realpathSync(target);
  } catch (e) {
    if (codeOf(e) !== 'ENOENT') throw e;
  }
  let st: fs.Stats;
  try {
    st = fs.lstatSync(target);
  } catch (e) {
    if (codeOf(e) !== 'ENOENT') throw e;
    return join(fs.realpathSync(dirname(target)), basename(target)); // not there yet
  }
  if (!st.isSymbolicLink() || depth >= 40) throw Object.assign(new Error(`ELOOP: ${target}: cannot resolve`), { code: 'ELOOP' });
  const to = fs.readlinkSync(target);
  return realTarget(isAbsolute(to) ? to : join(dirname(target), to), depth + 1);
}

/** The lock file for the log at `target` (see "Where" in the file comment). */
export function lockPathFor(target: string): string {
  const real = realTarget(target);
  let st: fs.Stats | undefined;
  try { st = fs.statSync(real); } catch (e) { if (codeOf(e) !== 'ENOENT') throw e; }
  if (st?.isDirectory()) return join(real, DIR_LOCK_NAME);
  if (st !== undefined && st.nlink > 1) {
    throw locked(target, `the log file ${real} has ${st.nlink} hard links, and one lock cannot cover every name of a file; remove the extra links`);
  }
  return `${real}.lock`;
}

/** Take the lock for `target`, or throw WalError('LOCKED'). */
export function acquireLockFile(target: string): FileLock {
  const lockPath = lockPathFor(target);
  const holder = me();
  const tmp = `${lockPath}.new-${holder.token}`;
  fs.writeFileSync(tmp, JSON.stringify(holder), { flag: 'wx' });
  try {
    for (let attempt = 0; attempt < 8; attempt++) {
      try {
        fs.linkSync(tmp, lockPath);
        return new LockFile(lockPath, holder.token);
      } catch (e) {
        if (codeOf(e) !== 'EEXIST') throw e;
      }
      const text = readLockText(lockPath);
      if (text === MISSING) continue; // released meanwhile
      const current = parse(text);
      if (current === null) {
        throw locked(target, `the lock file ${lockPath} is unreadable or not a walcore lock record, so it is treated as held; remove it if no writer is running`);
      }
      const { state, why } = liveness(current);
      if (state !== 'dead') {
        const tail = state === 'unknown' ? `; remove the lock file if you are sure its holder is dead` : '';
        throw locked(target, `locked by ${describe(current)} (lock file ${lockPath})${why ? `, and ${why}` : ''}${tail}`);
      }
      breakStale(lockPath, current.token, target);
    }
    throw locked(target, `could not take the lock ${lockPath} after repeated attempts`);
  } finally {
    try { fs.unlinkSync(tmp); } catch { /* already gone */ }
  }
}

/** Steps 1-4 of the take-over in the file comment. Returns to retry the link; throws LOCKED. */
function breakStale(lockPath: string, stale: string, target: string): void {
  const right = `${lockPath}.break-${stale}`;
  try {
    fs.linkSync(lockPath, right);
  } catch (e) {
    if (codeOf(e) === 'ENOENT') return; // the stale lock is gone already
    if (codeOf(e) !== 'EEXIST') throw e;
    if (tokenAt(lockPath) !== stale) return; // broken meanwhile: look again
    throw locked(target, `another process is taking over the stale lock ${lockPath} of a dead holder; if none is, remove ${lockPath} and ${right}`);
  }
  try {
    if (tokenAt(right) !== stale) return; // the lock changed after we read it
    const grave = `${lockPath}.stale-${randomToken()}`;
    fs.renameSync(lockPath, grave);
    if (tokenAt(grave) === stale) {
      fs.unlinkSync(grave);
      return;
    }
    // Only reachable if something outside this protocol replaced the lock file: put it back.
    try {
      fs.linkSync(grave, lockPath);
    } catch (e) {
      if (codeOf(e) !== 'EEXIST') throw e;
    } finally {
      fs.unlinkSync(grave);
    }
    throw locked(target, `the lock file ${lockPath} changed while its stale holder's lock was being taken over`);
  } finally {
    try { fs.unlinkSync(right); } catch { /* never left: ours alone */ }
  }
}

class LockFile implements FileLock {
  #held = true;
  /** `path` is the real lock file. */
  constructor(readonly path: string, private readonly token: string) {}
  /** Moves the lock file aside, then deletes it if it is ours (else links it back: never unlink by path after a check). */
  release(): void {
    if (!this.#held) return;
    this.#held = false;
    const aside = `${this.path}.released-${this.token}`;
    try { fs.renameSync(this.path, aside); } catch { return; /* already gone */ }
    try {
      if (tokenAt(aside) !== this.token) fs.linkSync(aside, this.path);
    } catch { /* EEXIST: a newer lock is in place */ } finally {
      try { fs.unlinkSync(aside); } catch { /* already gone */ }
    }
  }
}
