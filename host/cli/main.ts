/**
 * walcore: inspect, verify, dump and repair every walcore log kind
 * (docs/cli.md). Exit codes: 0 ok, 1 damage found (or repair refused, or
 * LOCKED), 2 usage error. Arguments are parsed by node:util parseArgs, which
 * Node, Deno and Bun all provide.
 */
import * as nodeFs from 'node:fs';
import process from 'node:process';
import { parseArgs } from 'node:util';
import { Core } from '../core/core.js';
import { WalError } from '../errors.js';
import { registerDefaultFileSystem, defaultFileSystem } from '../fs/default.js';
import { posixFileSystemForRuntime } from '../fs/runtime.js';
import { probeFileKind } from '../codec/file-kind.js';
import { KeyRing } from '../logs/segmented/encryption.js';
import type { Context, DumpRecord, LogKind, Probe, Report } from './kind.js';
import { KINDS } from './kinds/index.js';
import { Out, type PayloadFormat, Progress, encodePayload } from './output.js';
import { heldLockFs } from './util.js';

registerDefaultFileSystem(posixFileSystemForRuntime);

const VERSION = '0.1.0';
const EXIT_OK = 0;
const EXIT_DAMAGE = 1;
const EXIT_USAGE = 2;

class UsageError extends Error {}

const EXIT_TEXT = `Exit codes: 0 ok, 1 damage found (or repair refused, or the log is LOCKED by a writer), 2 usage error.`;

const HELP: Record<string, string> = {
  main: `walcore ${VERSION}: inspect, verify, dump and repair walcore logs

Usage: walcore <command> PATH [options]

Commands:
  inspect PATH   kind, format version, geometry, record count, ranges, sizes, encryption, last sync marker, health
  verify PATH    check every frame, checksum and invariant; list each problem with file, offset and reason
  dump PATH      print records with their header fields, streaming (constant memory)
  repair PATH    cut a torn tail (keeping a backup of what is cut); durable damage only with --force
  help [COMMAND] this text, or a command's

Kinds (detected from the file header or the directory's names):
${KINDS.map((k) => `  ${k.name.padEnd(10)} ${k.description}`).join('\n')}

Options for every command: -h, --help; --version prints the version.
${EXIT_TEXT}
Details: docs/cli.md`,
  inspect: `Usage: walcore inspect PATH [--json]

Prints the log's kind, format version, geometry (segments; ring capacity and
slot size), record count, sequence/LSN/index range, sizes, encryption, last
sync marker and health. Reads every frame (health is verify's verdict).

Options:
  --json         one JSON object on stdout
  -q, --quiet    no progress bar
  -h, --help
${EXIT_TEXT}`,
  verify: `Usage: walcore verify PATH [--json] [--quiet]

Checks every frame and checksum and the log's invariants: sequence order
(wal-file), LSN continuity within and across segments (segmented), the ring
window and its state record (ring), index continuity, terms, footers and the
snapshot (raft), frame order and the batch rules by the store's own replay
(kv). Each problem is printed with file, offset and reason, and
whether it is a torn tail (after the last completed sync: repair cuts it) or
corruption of durable data. A progress bar (bytes, rate, ETA) is drawn on
stderr for logs over 4 MB when stderr is a terminal.

Options:
  --json         one JSON object on stdout: { ok, kind, path, bytes, seconds, problems: [...] }
  -q, --quiet    no progress bar, and only problems are printed
  -h, --help
${EXIT_TEXT}`,
  dump: `Usage: walcore dump PATH [--from N] [--limit N] [--format text|json|jsonl] [--payload hex|utf8|base64|none] [--key-file FILE]

Streams the log's records in order with their header fields, in constant
memory. wal-file: events (sequence, watermark) and the sync marker;
segmented: records (LSN, recordType, tenantId, vshardId, databaseId,
encryption); ring: the live window (sequence, failure evidence); raft: every
op in file order (entries with index, term, type and payload; truncates,
hard states, snapshot marks); kv: each batch (offset, sequence, cursor) then
its puts and deletes (key, version, value as payload).

Options:
  --from N          start at sequence / LSN / index / kv batch number N (default: the first)
  --limit N         print at most N records
  --format F        text (default), json (one array), jsonl (one object per line)
  --payload P       hex (default), utf8, base64, none
  --key-file FILE   keys for encrypted segments: JSON [{ "id": 1, "key": "<64 hex digits>" }, ...]
                    (without it, encrypted records print their headers and no payload)
  -h, --help
${EXIT_TEXT}`,
  repair: `Usage: walcore repair PATH [--force]

Takes the writer lock (a live writer: LOCKED, exit 1), then applies the
documented recovery: a torn tail (damage after the last completed sync) is
cut by the log's own open, after the bytes to be cut are copied to a backup
file <file>.broken-<timestamp> (rings: a copy of the whole file). Damage in
durable data is refused unless --force; with --force repair first states
exactly what will be lost, backs it up, then cuts there (later segments are
renamed to <segment>.broken-<timestamp>).

Options:
  --force        also cut damage in durable data (data loss: read the message)
  -h, --help
${EXIT_TEXT}`,
};

function usage(cmd: string | undefined, msg: string): never {
  throw new UsageError(`${msg}\n${cmd ? `Run 'walcore ${cmd} --help'.` : "Run 'walcore --help'."}`);
}

function num(cmd: string, name: string, v: string | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (!/^\d+$/.test(v)) usage(cmd, `--${name} must be a non-negative integer, got '${v}'`);
  return Number(v);
}

function parse(cmd: string, args: string[], options: Record<string, { type: 'string' | 'boolean'; short?: string }>) {
  try {
    return parseArgs({ args, options: { help: { type: 'boolean', short: 'h' }, ...options }, allowPositionals: true, strict: true });
  } catch (e) {
    return usage(cmd, (e as Error).message);
  }
}

function probe(path: string, core: Core): Probe {
  const fs = defaultFileSystem();
  const st = fs.stat(path);
  if (st === undefined) usage(undefined, `${path}: no such file or directory`);
  if (st.isDirectory) return { path, isDirectory: true, names: fs.list(path) };
  const h = fs.open(path);
  try {
    return { path, isDirectory: false, header: probeFileKind(core, h, path) };
  } finally {
    h.close();
  }
}

class NotALog extends Error {}

function detect(path: string, core: Core): LogKind {
  const p = probe(path, core);
  const kind = KINDS.find((k) => k.detect(p));
  if (kind !== undefined) return kind;
  if (p.isDirectory) throw new NotALog(`${path}: a directory that holds no walcore log (no wal-*.seg or raft-*.seg segments)`);
  const hd = p.header!;
  if (hd.ok) throw new NotALog(`${path}: a walcore file of kind ${hd.kind}, which this walcore does not know`);
  if (hd.reason === 'unsupported-version') throw new NotALog(`${path}: a walcore file of format version ${hd.version}; this walcore reads version 1 (upgrade walcore)`);
  if (hd.reason === 'incomplete-header') throw new NotALog(`${path}: ${hd.bytes} bytes, shorter than a walcore file header: not a walcore log`);
  if (hd.reason === 'bad-magic') throw new NotALog(`${path}: not a walcore log (no walcore magic)`);
  throw new NotALog(`${path}: a walcore file whose header is damaged (${hd.reason})`);
}

/** A lock file beside (file) or inside (directory) the log: a writer may have it open. */
function writerLockPresent(path: string, isDir: boolean): boolean {
  try {
    const real = nodeFs.realpathSync(path);
    return nodeFs.existsSync(isDir ? `${real}/.walcore.lock` : `${real}.lock`);
  } catch {
    return false;
  }
}

function loadKeys(file: string | undefined): KeyRing | null {
  if (file === undefined) return null;
  let list: unknown;
  try {
    list = JSON.parse(nodeFs.readFileSync(file, 'utf8'));
  } catch (e) {
    return usage('dump', `--key-file ${file}: ${(e as Error).message}`);
  }
  if (!Array.isArray(list) || list.length === 0) usage('dump', `--key-file ${file}: expected a JSON array [{ "id": 1, "key": "<64 hex digits>" }, ...]`);
  const entries = list.map((e: { id?: unknown; key?: unknown }, i) => {
    if (typeof e?.id !== 'number' || !Number.isInteger(e.id) || e.id < 0 || e.id > 0xffffffff) usage('dump', `--key-file ${file}: entry ${i}: id must be a u32`);
    if (typeof e.key !== 'string' || !/^[0-9a-fA-F]{64}$/.test(e.key)) usage('dump', `--key-file ${file}: entry ${i}: key must be 64 hex digits (32 bytes)`);
    const key = new Uint8Array(32);
    for (let j = 0; j < 32; j++) key[j] = parseInt((e.key as string).slice(2 * j, 2 * j + 2), 16);
    return { id: e.id as number, key };
  });
  try {
    return new KeyRing(entries[0]!, entries.slice(1));
  } catch (e) {
    return usage('dump', `--key-file ${file}: ${(e as Error).message}`);
  }
}

function context(core: Core, out: Out, quiet: boolean, keys: KeyRing | null = null): Context {
  const progress = new Progress(!quiet && process.stderr.isTTY === true);
  return { fs: defaultFileSystem(), core, progress, keys, say: (l) => out.line(l) };
}

function printReport(out: Out, r: Report, command: 'inspect' | 'verify', seconds: number, quiet: boolean): void {
  if (command === 'inspect') {
    const w = Math.max(...r.fields.map(([k]) => k.length));
    for (const [k, v] of r.fields) out.line(`${k.padEnd(w)}  ${v}`);
  } else if (!quiet) {
    const rate = seconds > 0 ? `${(r.bytes / seconds / 1e9).toFixed(2)} GB/s` : '';
    out.line(`${r.path}: ${r.kind}, ${r.bytes} bytes checked in ${seconds.toFixed(3)}s${rate ? ` (${rate})` : ''}`);
  }
  for (const n of r.notes) out.line(`note: ${n}`);
  for (const p of r.problems) out.line(`${p.torn ? 'TORN TAIL' : 'CORRUPTED'} ${p.file} offset ${p.offset} reason ${p.reason}: ${p.message}`);
  if (command === 'verify' && !quiet) out.line(r.problems.length === 0 ? 'ok: no problems found' : `${r.problems.length} problem(s) found`);
}

/** With a writer's lock present, a torn tail is most likely the write in progress: a note, not damage. */
function liveTail(r: Report, isDir: boolean): void {
  if (!writerLockPresent(r.path, isDir)) return;
  r.notes.push('a writer lock file is present: the log is probably being written; what follows the last complete frame may be a write in progress');
  const torn = r.problems.filter((p) => p.torn);
  if (torn.length === 0) return;
  r.problems = r.problems.filter((p) => !p.torn);
  for (const p of torn) r.notes.push(`tail in progress (not counted as damage while a writer holds the lock): ${p.message}`);
}

function runInspectOrVerify(command: 'inspect' | 'verify', args: string[], out: Out): number {
  const { values, positionals } = parse(command, args, { json: { type: 'boolean' }, quiet: { type: 'boolean', short: 'q' } });
  if (values.help) { out.line(HELP[command]); return EXIT_OK; }
  if (positionals.length !== 1) usage(command, `${command} takes exactly one PATH`);
  const path = positionals[0]!;
  const core = new Core();
  const kind = detect(path, core);
  const ctx = context(core, out, values.quiet === true || values.json === true);
  const t0 = performance.now();
  const r = command === 'inspect' ? kind.inspect(ctx, path) : kind.verify(ctx, path);
  const seconds = (performance.now() - t0) / 1000;
  liveTail(r, nodeFs.statSync(path).isDirectory());
  if (values.json) {
    const body = command === 'inspect'
      ? { ...r.json, problems: r.problems, notes: r.notes }
      : { ok: r.problems.length === 0, kind: r.kind, path: r.path, bytes: r.bytes, seconds: Number(seconds.toFixed(4)), problems: r.problems, notes: r.notes, summary: r.json };
    out.line(JSON.stringify(body, null, 2));
  } else {
    printReport(out, r, command, seconds, values.quiet === true);
  }
  return r.problems.length === 0 ? EXIT_OK : EXIT_DAMAGE;
}

function runDump(args: string[], out: Out): number {
  const { values, positionals } = parse('dump', args, {
    from: { type: 'string' }, limit: { type: 'string' }, format: { type: 'string' }, payload: { type: 'string' }, 'key-file': { type: 'string' },
  });
  if (values.help) { out.line(HELP.dump); return EXIT_OK; }
  if (positionals.length !== 1) usage('dump', 'dump takes exactly one PATH');
  const format = values.format ?? 'text';
  if (!['text', 'json', 'jsonl'].includes(format)) usage('dump', `--format must be text, json or jsonl, got '${format}'`);
  const payloadFmt = (values.payload ?? 'hex') as PayloadFormat;
  if (!['hex', 'utf8', 'base64', 'none'].includes(payloadFmt)) usage('dump', `--payload must be hex, utf8, base64 or none, got '${payloadFmt}'`);
  const from = num('dump', 'from', values.from, 0);
  const limit = num('dump', 'limit', values.limit, Infinity);
  const keys = loadKeys(values['key-file']);
  const path = positionals[0]!;
  const core = new Core();
  const kind = detect(path, core);
  const ctx = context(core, out, true, keys);
  let first = true;
  if (format === 'json') out.write('[');
  const emit = (r: DumpRecord): boolean => {
    const obj: Record<string, unknown> = { ...(r.file ? { file: r.file } : {}), ...(r.offset >= 0 ? { offset: r.offset } : {}), type: r.type, ...r.fields, length: r.payloadLength };
    if (payloadFmt !== 'none' && r.payload !== undefined) obj.payload = encodePayload(r.payload, payloadFmt);
    if (r.payloadNote) obj.payloadNote = r.payloadNote;
    if (format === 'text') {
      let line = '';
      for (const [k, v] of Object.entries(obj)) line += `${line ? ' ' : ''}${k}=${k === 'payload' && payloadFmt === 'utf8' ? JSON.stringify(v) : k === 'payloadNote' ? `(${v})` : v}`;
      out.line(line);
    } else if (format === 'jsonl') {
      out.line(JSON.stringify(obj));
    } else {
      out.write(`${first ? '\n' : ',\n'}${JSON.stringify(obj)}`);
    }
    first = false;
    return true;
  };
  kind.dump(ctx, path, { from, limit }, emit);
  if (format === 'json') out.line(first ? ']' : '\n]');
  return EXIT_OK;
}

function runRepair(args: string[], out: Out): number {
  const { values, positionals } = parse('repair', args, { force: { type: 'boolean' } });
  if (values.help) { out.line(HELP.repair); return EXIT_OK; }
  if (positionals.length !== 1) usage('repair', 'repair takes exactly one PATH');
  const path = positionals[0]!;
  const core = new Core();
  const kind = detect(path, core);
  const ctx = context(core, out, true);
  const fs = ctx.fs;
  const lock = fs.lock(path); // LOCKED when a writer holds the log
  try {
    const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
    const r = kind.repair(ctx, path, { force: values.force === true, backupSuffix: `.broken-${stamp}` }, heldLockFs(fs, lock));
    return r.outcome === 'refused' ? EXIT_DAMAGE : EXIT_OK;
  } finally {
    lock.release();
  }
}

export function main(argv: string[]): number {
  const out = new Out(1);
  try {
    const [cmd, ...rest] = argv;
    let code: number;
    if (cmd === undefined || cmd === '--help' || cmd === '-h') { out.line(HELP.main); code = cmd === undefined ? EXIT_USAGE : EXIT_OK; }
    else if (cmd === '--version') { out.line(VERSION); code = EXIT_OK; }
    else if (cmd === 'help') {
      const topic = rest[0];
      if (topic !== undefined && HELP[topic] === undefined) usage(undefined, `unknown command '${topic}'`);
      out.line(HELP[topic ?? 'main']);
      code = EXIT_OK;
    } else if (cmd === 'inspect' || cmd === 'verify') code = runInspectOrVerify(cmd, rest, out);
    else if (cmd === 'dump') code = runDump(rest, out);
    else if (cmd === 'repair') code = runRepair(rest, out);
    else usage(undefined, `unknown command '${cmd}'`);
    out.flush();
    return code;
  } catch (e) {
    try { out.flush(); } catch { /* reporting the first error */ }
    if ((e as { code?: string }).code === 'EPIPE') return EXIT_OK;
    if (e instanceof UsageError) { process.stderr.write(`walcore: ${e.message}\n`); return EXIT_USAGE; }
    if (e instanceof NotALog) { process.stderr.write(`walcore: ${e.message}\n`); return EXIT_DAMAGE; }
    if (e instanceof WalError) {
      process.stderr.write(`walcore: ${e.code}: ${e.message}\n`);
      return e.code === 'IO_ERROR' && e.errno === 'ENOENT' ? EXIT_USAGE : EXIT_DAMAGE;
    }
    process.stderr.write(`walcore: internal error: ${(e as Error)?.stack ?? String(e)}\n`);
    return 70;
  }
}

process.exitCode = main(process.argv.slice(2));
