/** The key-value snapshot store (AppendLogSnapshot): one file, header kind 6, TYPE_KV_BATCH frames (FORMAT.md §12). */
import { AppendLogSnapshot } from '../../logs/kv-snapshot/append-log-snapshot.js';
import { type KvFileInspection, inspectKvFile } from '../../logs/kv-snapshot/inspect.js';
import type { Context, LogKind, Problem, Report } from '../kind.js';
import { encodePayload } from '../output.js';
import { bytes, fileOfKind, nothingToRepair, repairFileTail, scanReports } from '../util.js';

const hex = (b: Uint8Array): string => encodePayload(b, 'hex');

function scan(ctx: Context, path: string): { r: KvFileInspection; report: Report } {
  let started = false;
  const r = inspectKvFile(ctx.core, ctx.fs, path, {
    progress: (done, total) => {
      if (!started) { ctx.progress.start(total); started = true; }
      ctx.progress.set(done);
    },
  });
  ctx.progress.end();
  const problems: Problem[] = [];
  if (r.failure) {
    const f = r.failure;
    const batch = f.frameOffset !== f.offset ? ` (the batch whose last frame is missing starts at offset ${f.offset}${f.frameOffset >= 0 ? `; the first invalid frame is at offset ${f.frameOffset}` : ''})` : '';
    problems.push({
      file: path, offset: f.offset, reason: f.reason, torn: f.torn,
      message: f.torn
        ? `torn tail at offset ${f.offset} (${f.reason})${batch}: ${r.size - f.offset} bytes after the last completed sync; an open (or repair) cuts them`
        : `corruption at offset ${f.frameOffset} (${f.reason}) inside data a completed sync had made durable${f.witness >= 0 ? ` (a later frame cites offset ${f.witness} as durable)` : ''}`,
    });
  }
  const health = problems.length === 0 ? 'ok' : problems[0]!.torn ? 'torn tail (repairable)' : 'CORRUPTED';
  const cursor = hex(r.cursor);
  const json = {
    kind: 'kv', path, formatVersion: r.version, salt: r.salt, generation: r.generation, sizeBytes: r.size, validEnd: r.validEnd,
    batches: r.batches, records: r.ops, puts: r.puts, deletes: r.deletes, keys: r.keys, liveBytes: r.liveBytes, cursor,
    lastSyncMarker: r.syncMarker >= 0 ? r.syncMarker : null, encryption: 'none', health,
  };
  const fields: Report['fields'] = [
    ['kind', 'kv (key-value snapshot store: AppendLogSnapshot)'],
    ['format version', r.version],
    ['salt', `0x${r.salt.toString(16).padStart(8, '0')}`],
    ['generation', r.generation],
    ['size', bytes(r.size)],
    ['batches', r.batches],
    ['records', `${r.ops} (${r.puts} puts, ${r.deletes} deletes)`],
    ['keys', r.keys],
    ['live bytes', bytes(r.liveBytes)],
    ['cursor', cursor === '' ? 'none' : cursor],
    ['valid end', r.validEnd],
    ['last sync marker', r.syncMarker >= 0 ? `offset ${r.syncMarker}` : 'none (ends with a batch: not closed cleanly, or being written)'],
    ['encryption', 'none'],
    ['health', health],
  ];
  return { r, report: { kind: 'kv', path, fields, json, problems, notes: [], bytes: r.size } };
}

export const kvKind: LogKind = {
  name: 'kv',
  description: 'key-value snapshot store (AppendLogSnapshot), file header kind 6',
  detect: fileOfKind(6),
  ...scanReports(scan),
  dump(ctx, path, opts, emit) {
    // One 'batch' record (offset, sequence of its last frame, cursor), then its ops in order; --from/--limit count batches (1-based).
    let n = 0;
    inspectKvFile(ctx.core, ctx.fs, path, {
      keepFold: false,
      onBatch: (b) => {
        if (n >= opts.limit) return false;
        if (b.index < opts.from) return true;
        n++;
        const head = { batch: b.index, sequence: b.seq, ops: b.ops.length, cursor: hex(b.cursor) };
        if (!emit({ offset: b.offset, type: 'batch', fields: head, payloadLength: b.end - b.offset, payload: undefined })) return false;
        for (const op of b.ops) {
          const fields = { batch: b.index, key: op.key, version: hex(op.version) };
          const put = op.type === 'put';
          if (!emit({ offset: -1, type: op.type, fields, payloadLength: op.value.length, payload: put ? op.value : undefined })) return false;
        }
        return n < opts.limit;
      },
    });
  },
  repair(ctx, path, opts, lockedFs) {
    const { r } = scan(ctx, path);
    const f = r.failure;
    if (f === undefined) {
      return nothingToRepair(ctx, path);
    }
    const kept = `${r.batches} complete batch(es) before offset ${f.offset} stay (${r.keys} keys, cursor ${hex(r.cursor) || 'none'})`;
    // The documented recovery is the store's own open (docs/kv-snapshot.md): it cuts a torn tail (a batch without its
    // last frame whole), settles the file and syncs. No compaction: repair changes nothing but the cut.
    return repairFileTail(ctx, path, opts, r.size, { ...f, damageAt: f.frameOffset }, 'batch', kept, () => {
      const { store } = AppendLogSnapshot.open(path, { fs: lockedFs, compactThreshold: Number.MAX_SAFE_INTEGER });
      const rep = store.openReport;
      store.close();
      return { truncated: rep.truncatedBytes, after: `${rep.batches} batch(es) replayed; ${rep.batches > 0 ? 'the file now ends with a sync marker' : 'the file now holds only its header'}` };
    });
  },
};
