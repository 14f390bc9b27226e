/** RingLog: one preallocated ring file (header kind 3). */
import { RingLog } from '../../logs/ring/ring-log.js';
import { inspectRing, readRingWindow, type RingInspection } from '../../logs/ring/inspect.js';
import type { Context, LogKind, Problem, Report } from '../kind.js';
import { backupRange, bytes, fileOfKind, nothingToRepair, scanReports } from '../util.js';

function scan(ctx: Context, path: string): { r: RingInspection; report: Report } {
  const size = ctx.fs.stat(path)?.size ?? 0;
  ctx.progress.start(size);
  const r = inspectRing(ctx.core, ctx.fs, path);
  ctx.progress.set(size);
  ctx.progress.end();
  const problems: Problem[] = [];
  const notes: string[] = [];
  const rec = r.recovery;
  if (r.error) {
    problems.push({ file: path, offset: r.error.offset ?? 0, reason: r.error.reason ?? r.error.code, message: r.error.message, torn: false });
  } else if (rec) {
    if (rec.discarded.length > 0) {
      const seqs = rec.discarded.map((d) => d.sequence);
      problems.push({ file: path, offset: 0, reason: 'set-aside', torn: true,
        message: `${rec.discarded.length} valid record(s) outside the recovered window (sequences ${Math.min(...seqs)} .. ${Math.max(...seqs)}) would be set aside by an open: written after the last sync, beyond a lost record` });
    }
    if (rec.junkSlots > 0) {
      problems.push({ file: path, offset: 0, reason: 'junk-slots', torn: true, message: `${rec.junkSlots} slot(s) hold neither a record nor zeros (torn or damaged writes after the last sync); an open erases them` });
    }
    if (!rec.clean) notes.push('the ring was not closed cleanly (a crash, or a writer has it open): its window is derived from the slots and the durable point');
  }
  const count = rec ? rec.next - rec.first : 0;
  const health = problems.length === 0 ? 'ok' : problems.every((p) => p.torn) ? 'unsynced records to set aside (repairable)' : 'CORRUPTED';
  const state = r.state ? `${r.state.clean ? 'clean close' : 'in use / crashed'}, durable point: next ${r.state.next}` : 'no valid state record';
  const json = {
    kind: 'ring', path, formatVersion: r.version, salt: r.salt, capacity: r.capacity, slotSize: r.slotSize, sizeBytes: r.size, expectedSizeBytes: r.expectedSize,
    records: count, firstSequence: count > 0 ? rec!.first : null, lastSequence: count > 0 ? rec!.next - 1 : null, nextSequence: rec ? rec.next : null,
    cleanClose: r.state?.clean ?? false, durableNext: r.state?.next ?? null, setAside: rec?.discarded.length ?? 0, junkSlots: rec?.junkSlots ?? 0,
    encryption: 'none', health,
  };
  const fields: Report['fields'] = [
    ['kind', 'ring (RingLog)'],
    ['format version', r.version],
    ['salt', `0x${r.salt.toString(16).padStart(8, '0')}`],
    ['geometry', `${r.capacity} slots of ${r.slotSize} bytes`],
    ['size', bytes(r.size)],
    ['records', count],
    ['sequences', count > 0 ? `${rec!.first} .. ${rec!.next - 1}` : '(none)'],
    ['next sequence', rec ? rec.next : '(unknown)'],
    ['state record', state],
    ['encryption', 'none'],
    ['health', health],
  ];
  return { r, report: { kind: 'ring', path, fields, json, problems, notes, bytes: r.size } };
}

export const ringKind: LogKind = {
  name: 'ring',
  description: 'RingLog ring file (file header kind 3)',
  detect: fileOfKind(3),
  ...scanReports(scan),
  dump(ctx, path, opts, emit) {
    const { r } = scan(ctx, path);
    if (r.error) throw r.error;
    const rec = r.recovery!;
    const from = Math.max(rec.first, opts.from);
    const to = Math.min(rec.next, from + opts.limit);
    readRingWindow(ctx.core, ctx.fs, path, from, to, (x) => emit({
      offset: -1, type: 'record',
      fields: {
        sequence: x.sequence,
        failureClass: x.evidence?.failureClass ?? null,
        code: x.evidence?.code ?? null,
        digest: x.evidence?.digest ? Array.from(x.evidence.digest, (b) => b.toString(16).padStart(2, '0')).join('') : null,
      },
      payloadLength: x.payload.length, payload: x.payload,
    }));
  },
  repair(ctx, path, opts, lockedFs) {
    const { r, report } = scan(ctx, path);
    if (report.problems.length === 0 && r.state?.clean) {
      return nothingToRepair(ctx, path);
    }
    if (r.error) {
      ctx.say(`${path}: ${r.error.message}.`);
      ctx.say(opts.force
        ? 'repair --force does not cut rings: a clean ring whose slots differ from its state record has lost durable records, and no cut brings them back. Restore the file from a backup or replica.'
        : 'Refusing: this is damage in durable data (restore from a backup or replica).');
      return { outcome: 'refused', backups: [] };
    }
    // What the open sets aside is scattered over the ring: the backup is the whole file as it is now.
    const backup = `${path}${opts.backupSuffix}`;
    backupRange(ctx.fs, path, 0, r.size, backup);
    ctx.say(`backup of the whole ring before recovery: ${backup}`);
    const ring = RingLog.open(path, { fs: lockedFs });
    const rep = ring.openReport;
    const first = ring.firstSequence;
    const next = ring.nextSequence;
    ring.close();
    ctx.say(`recovered: window ${next > first ? `${first} .. ${next - 1}` : '(empty)'}; set aside ${rep.discarded.length} record(s)${rep.discarded.length > 0 ? ` (sequences ${rep.discarded.map((d) => d.sequence).join(', ')})` : ''}; erased ${rep.junkSlots} junk slot(s); closed cleanly`);
    return { outcome: 'repaired', backups: [backup] };
  },
};
