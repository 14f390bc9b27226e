/** The single-file WAL (WalFsWriter / WalFsReader): header kind 1. */
import { WalFsWriter } from '../../logs/wal-file/wal-fs-writer.js';
import { inspectWalFile, walFileFrames, type WalFileInspection } from '../../logs/wal-file/inspect.js';
import type { LogKind, Problem, Report } from '../kind.js';
import { bytes, fileOfKind, nothingToRepair, repairFileTail, scanReports, u64 } from '../util.js';

function scan(ctx: Parameters<LogKind['inspect']>[0], path: string): { r: WalFileInspection; report: Report } {
  const c = ctx.core.c;
  let started = false;
  const r = inspectWalFile(ctx.core, ctx.fs, path, (done, total) => {
    if (!started) { ctx.progress.start(total); started = true; }
    ctx.progress.set(done);
  });
  ctx.progress.end();
  const problems: Problem[] = [];
  if (r.failure) {
    const f = r.failure;
    problems.push({
      file: path, offset: f.offset, reason: f.reason, torn: f.torn,
      message: f.torn
        ? `torn tail at offset ${f.offset} (${f.reason}): ${r.size - f.offset} bytes after the last completed sync; an open (or repair) cuts them`
        : `corruption at offset ${f.offset} (${f.reason}) inside data a completed sync had made durable${f.witness >= 0 ? ` (a later frame cites offset ${f.witness} as durable)` : ''}`,
    });
  }
  const first = r.firstSequence ? u64(r.firstSequence.lo, r.firstSequence.hi) : null;
  const last = r.lastSequence ? u64(r.lastSequence.lo, r.lastSequence.hi) : null;
  const health = problems.length === 0 ? 'ok' : problems[0]!.torn ? 'torn tail (repairable)' : 'CORRUPTED';
  const json = {
    kind: 'wal-file', path, formatVersion: r.version, salt: r.salt, sizeBytes: r.size, headerBytes: c.FILE_HEADER_SIZE,
    records: r.events, frames: r.frames, firstSequence: first, lastSequence: last, validEnd: r.validEnd,
    lastSyncMarker: r.syncMarker >= 0 ? r.syncMarker : null, lastWatermark: r.lastMark, encryption: 'none', health,
  };
  const fields: Report['fields'] = [
    ['kind', 'wal-file (single-file WAL: WalFsWriter / WalFsReader)'],
    ['format version', r.version],
    ['salt', `0x${r.salt.toString(16).padStart(8, '0')}`],
    ['size', bytes(r.size)],
    ['records', r.events],
    ['sequences', r.events > 0 ? `${first} .. ${last}` : '(none)'],
    ['valid end', r.validEnd],
    ['last sync marker', r.syncMarker >= 0 ? `offset ${r.syncMarker}` : 'none (ends with an event: not closed cleanly, or being written)'],
    ['durable watermark', r.lastMark],
    ['encryption', 'none'],
    ['health', health],
  ];
  return { r, report: { kind: 'wal-file', path, fields, json, problems, notes: [], bytes: r.size } };
}

export const walFileKind: LogKind = {
  name: 'wal-file',
  description: 'single-file WAL (WalFsWriter / WalFsReader), file header kind 1',
  detect: fileOfKind(1),
  ...scanReports(scan),
  dump(ctx, path, opts, emit) {
    const c = ctx.core.c;
    let n = 0;
    for (const f of walFileFrames(ctx.core, ctx.fs, path)) {
      if (n >= opts.limit) return;
      const marker = f.type === c.TYPE_SYNC_MARK;
      const seq = u64(f.seqLo, f.seqHi);
      if (!marker && (typeof seq === 'number' ? seq : Number(seq)) < opts.from) continue;
      if (marker && opts.from > 0 && n === 0) continue;
      n++;
      const fields = marker ? { mark: f.mark } : { sequence: seq, mark: f.mark };
      if (!emit({ offset: f.offset, type: marker ? 'sync-marker' : 'event', fields, payloadLength: f.length, payload: marker ? undefined : f.payload })) return;
    }
  },
  repair(ctx, path, opts, lockedFs) {
    const { r } = scan(ctx, path);
    const f = r.failure;
    if (f === undefined) {
      return nothingToRepair(ctx, path);
    }
    const kept = r.lastSequence ? `events ${u64(r.firstSequence!.lo, r.firstSequence!.hi)} .. ${u64(r.lastSequence.lo, r.lastSequence.hi)} stay` : 'no event stays';
    // The documented recovery is the writer's own open (FORMAT.md §5): it cuts a torn tail, writes a sync marker, fsyncs.
    return repairFileTail(ctx, path, opts, r.size, { ...f, damageAt: f.offset }, 'event', kept, () => {
      const w = WalFsWriter.open(path, { fs: lockedFs });
      const truncated = w.openReport.truncatedBytes;
      w.close();
      return { truncated, after: `${kept}; the file now ends with a sync marker` };
    });
  },
};
