/** SegmentedWal: a directory of `wal-<first LSN, 20 digits>.seg` segments (header kind 2). */
import { SegmentedWal } from '../../logs/segmented/segmented-wal.js';
import { type SegmentInspection, inspectSegment, listSegmentFiles, segmentRecords } from '../../logs/segmented/inspect.js';
import { WalError } from '../../errors.js';
import type { Context, LogKind, Problem, Report } from '../kind.js';
import { backupRange, bytes, cutFile, fileOfKind, moveAside, nothingToRepair, scanReports, u64 } from '../util.js';

const SEGMENT = /^wal-\d{20}\.seg$/;

interface Scan { segs: SegmentInspection[]; problems: Problem[]; report: Report; total: number }

function scan(ctx: Context, dir: string): Scan {
  const list = listSegmentFiles(ctx.fs, dir);
  let total = 0;
  for (const s of list) total += ctx.fs.stat(s.path)?.size ?? 0;
  ctx.progress.start(total);
  const segs: SegmentInspection[] = [];
  const problems: Problem[] = [];
  for (let i = 0; i < list.length; i++) {
    const entry = list[i]!;
    const active = i === list.length - 1;
    let s: SegmentInspection;
    try {
      s = inspectSegment(ctx.core, ctx.fs, entry, (b) => ctx.progress.add(b));
    } catch (e) {
      if (!(e instanceof WalError) || e.code === 'IO_ERROR') throw e;
      problems.push({ file: entry.path, offset: e.offset ?? 0, reason: e.reason ?? e.code, message: e.message, torn: false });
      break;
    }
    segs.push(s);
    const prev = segs[segs.length - 2];
    if (prev !== undefined && prev.failure === undefined && s.firstLsn !== prev.lastLsn + 1) {
      problems.push({ file: s.path, offset: 0, reason: 'sequence-order', torn: false,
        message: `LSN gap: ${prev.path} ends at LSN ${prev.lastLsn}, ${s.path} starts at ${s.firstLsn}` });
      break;
    }
    if (s.failure) {
      const f = s.failure;
      // Only the active segment can have a torn tail: a roll fsyncs the sealed one first.
      const torn = active && f.torn;
      problems.push({
        file: s.path, offset: f.offset, reason: f.reason, torn,
        message: torn
          ? `torn tail at offset ${f.offset} (${f.reason}): ${s.size - f.offset} bytes after the last completed sync; an open (or repair) cuts them`
          : `corruption at offset ${f.offset} (${f.reason}) in ${active ? 'data a completed sync had made durable' : 'a sealed segment'}`,
      });
      break;
    }
  }
  ctx.progress.end();
  const records = segs.reduce((n, s) => n + s.records, 0);
  const first = segs.find((s) => s.records > 0)?.firstLsn;
  const last = segs.length > 0 ? segs[segs.length - 1]!.lastLsn : undefined;
  const encrypted = segs.filter((s) => s.header.enc !== 0);
  const keyIds = [...new Set(encrypted.map((s) => s.header.keyId))];
  const activeSeg = segs[segs.length - 1];
  const health = problems.length === 0 ? 'ok' : problems[0]!.torn ? 'torn tail (repairable)' : 'CORRUPTED';
  const encryption = encrypted.length === 0 ? 'none' : `AES-256-GCM in ${encrypted.length} of ${segs.length} segments (key ids ${keyIds.join(', ')})`;
  const json = {
    kind: 'segmented', path: dir, formatVersion: 1, segments: segs.map((s) => ({
      name: s.name, firstLsn: s.firstLsn, lastLsn: s.lastLsn, records: s.records, sizeBytes: s.size,
      encrypted: s.header.enc !== 0, keyId: s.header.enc !== 0 ? s.header.keyId : null, lastSyncMarker: s.syncMarker >= 0 ? s.syncMarker : null,
    })),
    records, firstLsn: records > 0 ? first : null, lastLsn: records > 0 ? last : null, nextLsn: last !== undefined ? last + 1 : null,
    sizeBytes: total, encryption, lastSyncMarker: activeSeg && activeSeg.syncMarker >= 0 ? { segment: activeSeg.name, offset: activeSeg.syncMarker } : null, health,
  };
  const fields: Report['fields'] = [
    ['kind', 'segmented (SegmentedWal directory)'],
    ['format version', 1],
    ['segments', `${list.length}${segs.length > 0 ? ` (${segs[0]!.name} .. ${segs[segs.length - 1]!.name})` : ''}`],
    ['size', bytes(total)],
    ['records', records],
    ['LSNs', records > 0 ? `${first} .. ${last}` : '(none)'],
    ['next LSN', last !== undefined ? last + 1 : '(unknown)'],
    ['encryption', encryption],
    ['last sync marker', json.lastSyncMarker ? `${activeSeg!.name} offset ${activeSeg!.syncMarker}` : 'none in the active segment (not closed cleanly, or being written)'],
    ['health', health],
  ];
  for (const s of segs) fields.push([`  ${s.name}`, `LSN ${s.firstLsn} .. ${s.lastLsn}, ${s.records} records, ${s.size} bytes${s.header.enc !== 0 ? `, encrypted (key id ${s.header.keyId})` : ''}`]);
  return { segs, problems, total, report: { kind: 'segmented', path: dir, fields, json, problems, notes: [], bytes: total } };
}

export const segmentedKind: LogKind = {
  name: 'segmented',
  description: 'SegmentedWal directory of wal-<20 digits>.seg segments (file header kind 2)',
  detect: (p) => (p.isDirectory && (p.names ?? []).some((n) => SEGMENT.test(n))) || fileOfKind(2)(p),
  ...scanReports(scan),
  dump(ctx, dir, opts, emit) {
    let n = 0;
    const list = listSegmentFiles(ctx.fs, dir);
    for (let i = 0; i < list.length; i++) {
      const seg = list[i]!;
      const next = list[i + 1];
      if (next !== undefined && next.firstLsn <= opts.from) continue; // every record of this one is below --from
      for (const r of segmentRecords(ctx.core, ctx.fs, seg, opts.from, ctx.keys)) {
        if (n++ >= opts.limit) return;
        const rec = {
          file: seg.name, offset: r.offset, type: 'record',
          fields: {
            lsn: r.lsn, recordType: r.recordType, tenantId: u64(r.tenantLo, r.tenantHi), vshardId: r.vshardId,
            databaseId: u64(r.databaseLo, r.databaseHi), encrypted: r.encrypted, keyId: r.encrypted ? r.keyId : null, mark: r.mark,
          },
          payloadLength: r.payload?.length ?? r.bodyLength, payload: r.payload,
          ...(r.payloadError ? { payloadNote: r.payloadError === 'no-key' ? `encrypted with key id ${r.keyId}: no key given (--key-file)` : `decryption failed (wrong key for id ${r.keyId}, or tampered)` } : {}),
        };
        if (!emit(rec)) return;
      }
    }
  },
  repair(ctx, dir, opts, lockedFs) {
    const { segs, problems } = scan(ctx, dir);
    const p = problems[0];
    if (p === undefined) {
      return nothingToRepair(ctx, dir);
    }
    const list = listSegmentFiles(ctx.fs, dir);
    const at = list.findIndex((s) => s.path === p.file);
    const seg = segs.find((s) => s.path === p.file);
    if (seg === undefined || (p.reason !== 'sequence-order' && seg.failure === undefined)) {
      ctx.say(`${p.file}: ${p.message}. repair cuts frames only; a damaged segment header is never rewritten: restore the segment from a backup or replica`);
      return { outcome: 'refused', backups: [] };
    }
    const cutAt = seg.failure ? seg.failure.offset : 0;
    const later = list.slice(at + 1);
    const lostBytes = seg.size - cutAt + later.reduce((n, s) => n + (ctx.fs.stat(s.path)?.size ?? 0), 0);
    const loss = `bytes ${cutAt} .. ${seg.size} of ${seg.name}${later.length > 0 ? ` and ${later.length} later segment(s) (${later.map((s) => s.name).join(', ')})` : ''}, ${lostBytes} bytes in all: every record after LSN ${seg.lastLsn} is lost; LSNs up to ${seg.lastLsn} stay`;
    if (!p.torn) {
      if (!opts.force) {
        ctx.say(`${p.file}: ${p.message}. Refusing to cut durable data without --force.`);
        ctx.say(`With --force, repair would cut ${loss}.`);
        return { outcome: 'refused', backups: [] };
      }
      ctx.say(`${p.file}: ${p.message}. --force: cutting ${loss}.`);
    } else {
      ctx.say(`${p.file}: ${p.message}.`);
    }
    const backups: string[] = [];
    if (cutAt < seg.size) {
      const b = `${seg.path}${opts.backupSuffix}`;
      backupRange(ctx.fs, seg.path, cutAt, seg.size, b);
      backups.push(b);
      ctx.say(`backup of the ${seg.size - cutAt} bytes cut from ${seg.name}: ${b}`);
    }
    // Later segments go aside newest first, so a crash meanwhile leaves a prefix, never a hole.
    for (const s of [...later].reverse()) {
      const to = moveAside(ctx.fs, s.path, opts.backupSuffix);
      backups.push(to);
      ctx.say(`moved aside ${s.name} -> ${to}`);
    }
    if (!p.torn) cutFile(ctx.fs, seg.path, cutAt);
    const wal = SegmentedWal.open({ dir, fs: lockedFs });
    const rep = wal.openReport;
    const next = wal.nextLsn;
    wal.close();
    ctx.say(`recovered: ${seg.name} ends at offset ${cutAt}${p.torn ? ` (the open cut ${rep.truncatedBytes} bytes: ${rep.truncatedReason})` : ''}; next LSN ${next}`);
    return { outcome: 'repaired', backups };
  },
};
