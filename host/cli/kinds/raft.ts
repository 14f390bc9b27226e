/** WalLog (Raft log): a directory of `raft-<20 digits>.seg` segments (kind 4) and `snapshot.snap` (kind 5). */
import { Core } from '../../core/core.js';
import { WalError } from '../../errors.js';
import { WalLog } from '../../logs/raft/wal-log.js';
import { type RaftInspection, inspectRaft, listRaftFiles, readRaftEntry } from '../../logs/raft/inspect.js';
import type { Context, LogKind, Problem, Report } from '../kind.js';
import { backupRange, bytes, cutFile, fileOfKind, moveAside, nothingToRepair, scanReports } from '../util.js';

const SEGMENT = /^raft-\d{20}\.seg$/;
const OPS = ['?', 'entry', 'truncate', 'hard-state', 'snapshot-mark'];

function scan(ctx: Context, dir: string): { r: RaftInspection; report: Report } {
  const { nums } = listRaftFiles(ctx.fs, dir);
  let total = 0;
  for (const n of nums) total += ctx.fs.stat(`${dir}/raft-${String(n).padStart(20, '0')}.seg`)?.size ?? 0;
  ctx.progress.start(total);
  const r = inspectRaft(ctx.core, ctx.fs, dir, undefined, (b) => ctx.progress.add(b));
  ctx.progress.end();
  const problems: Problem[] = r.problem ? [{ file: r.problem.path, offset: r.problem.offset, reason: r.problem.reason, message: r.problem.message, torn: r.problem.torn }] : [];
  const health = problems.length === 0 ? 'ok' : problems[0]!.torn ? 'torn tail (repairable)' : 'CORRUPTED';
  const hs = r.hardState;
  const segs = r.segments;
  const json = {
    kind: 'raft', path: dir, formatVersion: 1, segments: segs.map((s) => ({ number: s.num, base: s.base, baseTerm: s.baseTerm, sizeBytes: s.size, frames: s.frames, ops: s.ops, sealed: s.sealed, footer: s.footer })),
    snapshot: r.snapshot ?? null, firstIndex: r.firstIndex, lastIndex: r.lastIndex, lastTerm: r.lastTerm, entries: r.entries, records: r.entries,
    hardState: hs, sizeBytes: r.bytes, encryption: 'none', health,
  };
  const fields: Report['fields'] = [
    ['kind', 'raft (WalLog directory)'],
    ['format version', 1],
    ['segments', `${nums.length}${segs.length > 0 ? ` (numbers ${segs[0]!.num} .. ${segs[segs.length - 1]!.num}, ${segs.filter((s) => s.footer).length} sealed with an index footer)` : ''}`],
    ['size', bytes(r.bytes)],
    ['entries', r.entries],
    ['indexes', r.entries > 0 ? `${r.firstIndex} .. ${r.lastIndex} (last term ${r.lastTerm})` : `(none; last index ${r.lastIndex})`],
    ['snapshot', r.snapshot ? `index ${r.snapshot.index}, term ${r.snapshot.term}, ${r.snapshot.bytes} bytes` : 'none'],
    ['hard state', `term ${hs.term}, vote ${hs.vote ?? 'none'}, commit ${hs.commit}`],
    ['encryption', 'none'],
    ['health', health],
  ];
  for (const s of segs) fields.push([`  raft-${String(s.num).padStart(20, '0')}.seg`, `base ${s.base} (term ${s.baseTerm}), ${s.ops} ops, ${s.size} bytes${s.sealed ? s.footer ? ', sealed' : ', sealed (no footer)' : ', active'}`]);
  return { r, report: { kind: 'raft', path: dir, fields, json, problems, notes: [], bytes: r.bytes } };
}

export const raftKind: LogKind = {
  name: 'raft',
  description: 'WalLog (Raft log) directory of raft-<20 digits>.seg segments and snapshot.snap (file header kinds 4, 5)',
  detect: (p) => (p.isDirectory && (p.names ?? []).some((n) => SEGMENT.test(n) || n === 'snapshot.snap')) || fileOfKind(4)(p) || fileOfKind(5)(p),
  ...scanReports(scan),
  dump(ctx, dir, opts, emit) {
    // Ops in file order (entries, truncates, hard states, snapshot marks), as replay applies them.
    const reader = new Core();
    let n = 0;
    let stop = false;
    const c = ctx.core.c;
    const r = inspectRaft(ctx.core, ctx.fs, dir, (seg, h, op, flags, offset, a, b, cc) => {
      if (stop) return;
      const name = `raft-${String(seg.num).padStart(20, '0')}.seg`;
      if (op === c.RAFT_OP_ENTRY) {
        if (a < opts.from) return;
        if (n++ >= opts.limit) { stop = true; return; }
        const e = readRaftEntry(reader, h, seg.path, seg.salt, offset);
        stop = !emit({ file: name, offset, type: 'entry', fields: { index: a, term: b, entryType: e.type }, payloadLength: e.payload.length, payload: e.payload });
        return;
      }
      if (opts.from > 0 && n === 0) return;
      if (n++ >= opts.limit) { stop = true; return; }
      const fields = op === c.RAFT_OP_TRUNCATE ? { from: a }
        : op === c.RAFT_OP_HARD_STATE ? { term: a, vote: flags & c.RAFT_HS_VOTE ? b : null, commit: cc }
          : { index: a, term: b, lastIndexAfter: cc };
      stop = !emit({ file: name, offset, type: OPS[op] ?? `op-${op}`, fields, payloadLength: 0, payload: undefined });
    });
    if (r.problem && !r.problem.torn) throw new WalError('CORRUPTED', r.problem.message, { path: r.problem.path, offset: r.problem.offset });
  },
  repair(ctx, dir, opts, lockedFs) {
    const { r } = scan(ctx, dir);
    const p = r.problem;
    if (p === undefined) {
      return nothingToRepair(ctx, dir);
    }
    const segs = r.segments;
    const at = segs.findIndex((s) => s.path === p.path);
    const seg = segs[at];
    const frameLevel = seg !== undefined && p.offset >= 64;
    if (!frameLevel) {
      ctx.say(`${p.message}. repair cuts frames only; damaged headers, a missing segment or a damaged snapshot file are never rewritten: restore from a backup or replica`);
      return { outcome: 'refused', backups: [] };
    }
    const later = listRaftFiles(ctx.fs, dir).nums.filter((n) => n > seg.num);
    const laterPaths = later.map((n) => `${dir}/raft-${String(n).padStart(20, '0')}.seg`);
    const lostBytes = seg.size - p.offset + laterPaths.reduce((s, x) => s + (ctx.fs.stat(x)?.size ?? 0), 0);
    const loss = `bytes ${p.offset} .. ${seg.size} of raft-${String(seg.num).padStart(20, '0')}.seg${later.length > 0 ? ` and ${later.length} later segment(s)` : ''}, ${lostBytes} bytes in all: every op (entry, truncate, hard state) written after offset ${p.offset} of that segment is lost`;
    if (!p.torn) {
      if (!opts.force) {
        ctx.say(`${p.message}. Refusing to cut durable data without --force.`);
        ctx.say(`With --force, repair would cut ${loss}.`);
        return { outcome: 'refused', backups: [] };
      }
      ctx.say(`${p.message}. --force: cutting ${loss}.`);
    } else {
      ctx.say(`${p.message}.`);
    }
    const b = `${seg.path}${opts.backupSuffix}`;
    backupRange(ctx.fs, seg.path, p.offset, seg.size, b);
    const backups = [b];
    ctx.say(`backup of the ${seg.size - p.offset} bytes cut: ${b}`);
    for (const x of [...laterPaths].reverse()) {
      const to = moveAside(ctx.fs, x, opts.backupSuffix);
      backups.push(to);
      ctx.say(`moved aside ${x} -> ${to}`);
    }
    if (!p.torn) cutFile(ctx.fs, seg.path, p.offset);
    const log = WalLog.open(dir, { fs: lockedFs });
    const rep = log.openReport;
    const last = log.lastIndex();
    log.close();
    ctx.say(`recovered: the log ends at index ${last}${rep.truncatedBytes > 0 ? ` (the open cut ${rep.truncatedBytes} bytes: ${rep.truncatedReason})` : ''}`);
    return { outcome: 'repaired', backups };
  },
};
