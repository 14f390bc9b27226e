/**
 * Helpers shared by the CLI's kinds: u64 halves as JSON-safe values, byte
 * counts, backups of bytes that repair cuts, moving files aside, and the
 * file system that lets a log's own open run under a lock the CLI holds.
 */
import { WalError, ioError } from '../errors.js';
import type { Context, LogKind, Probe, RepairOptions, RepairResult, Report } from './kind.js';
import type { FileHandle, FileLock, FileSystem } from '../fs/types.js';
import { dirname } from '../platform/path.js';

/** A u64 from halves: a number when exact, else a decimal string. */
export function u64(lo: number, hi: number): number | string {
  if (hi < 0x200000) return hi * 4294967296 + lo;
  return ((BigInt(hi) << 32n) | BigInt(lo)).toString();
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${v.toFixed(v < 10 ? 2 : 1)} ${units[i]} (${n} bytes)`;
}

/**
 * Copy bytes [from, to) of `src` to a new file `dest` and make it durable
 * (file and directory fsynced) before anything is cut. Refuses to overwrite.
 */
export function backupRange(fs: FileSystem, src: string, from: number, to: number, dest: string): void {
  let inH: FileHandle | undefined;
  let outH: FileHandle | undefined;
  try {
    inH = fs.open(src);
    outH = fs.open(dest, { write: true, create: true, exclusive: true });
    const buf = new Uint8Array(Math.min(Math.max(to - from, 1), 4 << 20));
    for (let pos = from; pos < to;) {
      const got = inH.read(buf.subarray(0, Math.min(buf.length, to - pos)), pos);
      if (got === 0) break;
      outH.write(buf.subarray(0, got), pos - from);
      pos += got;
    }
    outH.sync();
    fs.syncDir(dirname(dest));
  } catch (e) {
    throw ioError('back up', dest, e);
  } finally {
    try { inH?.close(); } catch { /* read-only */ }
    try { outH?.close(); } catch { /* synced above, or already failing */ }
  }
}

/** Cut `path` at `offset` and make the cut durable. */
export function cutFile(fs: FileSystem, path: string, offset: number): void {
  let h: FileHandle | undefined;
  try {
    h = fs.open(path, { write: true });
    h.truncate(offset);
    h.sync();
  } catch (e) {
    throw ioError('truncate', path, e);
  } finally {
    try { h?.close(); } catch { /* synced above */ }
  }
}

/** Rename `path` to `path + suffix` (a name no log reads) and sync the directory. */
export function moveAside(fs: FileSystem, path: string, suffix: string): string {
  const to = path + suffix;
  try {
    if (fs.stat(to) !== undefined) throw new WalError('IO_ERROR', `${to} already exists`, { path: to });
    fs.rename(path, to);
    fs.syncDir(dirname(path));
  } catch (e) {
    if (e instanceof WalError) throw e;
    throw ioError('rename', path, e);
  }
  return to;
}

/**
 * `fs` with lock() answering from a lock already held: repair takes the
 * writer lock itself (so nothing can start writing between its check and
 * its cut), then runs the log's own open, whose lock() must not fail on it.
 */
export function heldLockFs(fs: FileSystem, held: FileLock): FileSystem {
  return {
    name: fs.name,
    open: (p, f) => fs.open(p, f),
    stat: (p) => fs.stat(p),
    rename: (a, b) => fs.rename(a, b),
    remove: (p) => fs.remove(p),
    list: (d) => fs.list(d),
    mkdir: (p) => fs.mkdir(p),
    syncDir: (p) => fs.syncDir(p),
    lock: () => ({ path: held.path, release() { /* the CLI releases the real lock */ } }),
  };
}

/** The damage a single-file kind's scan found: where the valid prefix ends, where the bad frame is, and which kind of damage. */
export interface TailDamage { offset: number; damageAt: number; reason: string; torn: boolean }

/**
 * Repair of a single-file log (WAL file, kv store), one flow for both:
 * durable damage is refused without --force (saying exactly what --force
 * would lose); otherwise the bytes to be cut are backed up, corruption is cut
 * here, and the log's own open (`reopen`) does the documented recovery under
 * the CLI's lock, returning the bytes it cut and the closing sentence.
 * `unit` names what is lost ('event', 'batch'); `kept` says what stays.
 */
export function repairFileTail(ctx: Context, path: string, opts: RepairOptions, size: number, f: TailDamage, unit: string, kept: string,
  reopen: () => { truncated: number; after: string }): RepairResult {
  const lost = size - f.offset;
  if (!f.torn) {
    const what = `corruption at offset ${f.damageAt} (${f.reason}) in data a completed sync had made durable`;
    if (!opts.force) {
      ctx.say(`${path}: ${what}. Refusing to cut durable data without --force.`);
      ctx.say(`With --force, repair would cut bytes ${f.offset} .. ${size} (${lost} bytes): every ${unit} stored after offset ${f.offset} is lost; ${kept}.`);
      return { outcome: 'refused', backups: [] };
    }
    ctx.say(`${path}: ${what}. --force: cutting bytes ${f.offset} .. ${size} (${lost} bytes); every ${unit} stored after offset ${f.offset} is lost; ${kept}.`);
  } else {
    ctx.say(`${path}: torn tail at offset ${f.offset} (${f.reason}): ${lost} bytes written after the last completed sync.`);
  }
  const backup = `${path}${opts.backupSuffix}`;
  backupRange(ctx.fs, path, f.offset, size, backup);
  ctx.say(`backup of the ${lost} bytes cut: ${backup}`);
  if (!f.torn) cutFile(ctx.fs, path, f.offset);
  const { truncated, after } = reopen();
  ctx.say(`recovered: cut ${f.torn ? truncated : lost} bytes at offset ${f.offset}; ${after}`);
  return { outcome: 'repaired', backups: [backup] };
}

/** detect() for a single file whose header names this file kind. */
export const fileOfKind = (kind: number) => (p: Probe): boolean => !p.isDirectory && p.header?.ok === true && p.header.kind === kind;

/** inspect and verify for a kind whose scan checks every byte either way: both print the scan's report. */
export function scanReports(scan: (ctx: Context, path: string) => { report: Report }): Pick<LogKind, 'inspect' | 'verify'> {
  const report = (ctx: Context, path: string): Report => scan(ctx, path).report;
  return { inspect: report, verify: report };
}

/** repair's answer when the scan found nothing to cut. */
export function nothingToRepair(ctx: Context, path: string): RepairResult {
  ctx.say(`${path}: no damage found; nothing to repair`);
  return { outcome: 'clean', backups: [] };
}
