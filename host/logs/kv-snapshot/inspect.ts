/**
 * Read-only inspection of an AppendLogSnapshot file for tools (the walcore
 * CLI): replay it exactly as open does (replayKvFile into the store's own index, KvIndex: every
 * frame's CRC, the sequence and watermark rules, the batch rules of
 * FORMAT.md §12), classify the first invalid frame (torn tail or corruption,
 * FORMAT.md §5) and say where open would cut, and stream every complete
 * batch with its ops. Nothing is written, no lock is taken, so it may run
 * beside a live writer (it then sees a prefix of what that writer had
 * written when each chunk was read).
 */
import type { Core } from '../../core/core.js';
import { directoryError, readFileHeader } from '../../codec/file-header.js';
import { ioError } from '../../errors.js';
import type { FileHandle, FileSystem } from '../../fs/types.js';
import { KvIndex } from './kv-index.js';
import { type OpSink, WHAT, replayKvFile } from './kv-file.js';

/** One op of a batch as replay applied it. */
export interface KvInspectedOp {
  type: 'put' | 'delete';
  key: string;
  version: Uint8Array;
  /** The value (empty for a delete). */
  value: Uint8Array;
}

/** One complete batch: where its frames lie, its cursor and its ops in order. */
export interface KvInspectedBatch {
  /** 1-based ordinal of the batch in the file. */
  index: number;
  offset: number;
  end: number;
  /** Sequence of its last frame. */
  seq: number;
  cursor: Uint8Array;
  ops: KvInspectedOp[];
}

export interface KvFileInspection {
  size: number;
  salt: number;
  version: number;
  /** The file's generation (header p0; compaction increments it). */
  generation: number;
  /** Complete batches. */
  batches: number;
  /** Ops (puts and deletes) of the complete batches. */
  ops: number;
  puts: number;
  deletes: number;
  /** Live keys of the fold. */
  keys: number;
  /** Encoded size of the live entries. */
  liveBytes: number;
  /** Cursor of the last complete batch (empty: none). */
  cursor: Uint8Array;
  /** Offset just after the last valid frame (where open would keep the file up to). */
  validEnd: number;
  /** Offset of the sync marker ending the valid prefix, -1 when there is none. */
  syncMarker: number;
  /**
   * The first damage: `offset` is where open would cut (a batch whose last
   * frame is missing is cut whole, from its first frame), `frameOffset` the
   * first invalid frame (-1: the file ends inside a batch).
   */
  failure: { offset: number; frameOffset: number; reason: string; torn: boolean; witness: number } | undefined;
}

/**
 * Counts each op, hands it to `record`, and folds it into the same index the
 * store uses (KvIndex), when `keep`: so inspect's keys and live bytes are the
 * store's by construction.
 */
class RecordingSink implements OpSink {
  puts = 0;
  deletes = 0;
  readonly index: KvIndex | undefined;
  constructor(keep: boolean, private readonly record: ((op: KvInspectedOp) => void) | undefined) {
    this.index = keep ? new KvIndex() : undefined;
  }

  put(key: string, _keyLen: number, src: Uint8Array, verAt: number, verLen: number, valAt: number, valLen: number): void {
    this.puts++;
    this.record?.({ type: 'put', key, version: src.slice(verAt, verAt + verLen), value: src.slice(valAt, valAt + valLen) });
    this.index?.put(key, src.subarray(valAt, valAt + valLen), src.subarray(verAt, verAt + verLen));
  }

  delete(key: string, _keyLen: number, src: Uint8Array, verAt: number, verLen: number): void {
    this.deletes++;
    this.record?.({ type: 'delete', key, version: src.slice(verAt, verAt + verLen), value: new Uint8Array(0) });
    this.index?.delete(key);
  }
}

function openReadOnly(core: Core, fs: FileSystem, path: string): { h: FileHandle; salt: number; version: number; generation: number; size: number } {
  if (fs.stat(path)?.isDirectory) throw directoryError(path, WHAT);
  let h: FileHandle;
  try { h = fs.open(path); } catch (e) { throw ioError('open', path, e); }
  try {
    readFileHeader(core, h, path, core.c.KIND_KV_SNAPSHOT, WHAT);
    const salt = core.out('hdrSalt');
    const version = core.out('hdrVersion');
    const generation = core.out('hdrP0');
    let size: number;
    try { size = h.size(); } catch (e) { throw ioError('stat', path, e); }
    return { h, salt, version, generation, size };
  } catch (e) {
    h.close();
    throw e;
  }
}

/**
 * Replay the file at `path` read-only. `onBatch` (optional) gets every
 * complete batch with its ops (valid only during the call); returning false
 * stops the replay (the inspection then covers only what was read). With
 * `keepFold` false no entries are kept (constant memory beyond one batch;
 * `keys` and `liveBytes` are then 0). `progress(done, total)` is called
 * after each batch.
 */
export function inspectKvFile(core: Core, fs: FileSystem, path: string, options: {
  onBatch?: (b: KvInspectedBatch) => boolean | void;
  keepFold?: boolean;
  progress?: (done: number, total: number) => void;
} = {}): KvFileInspection {
  const { h, salt, version, generation, size } = openReadOnly(core, fs, path);
  const c = core.c;
  let ops: KvInspectedOp[] = [];
  const onBatch = options.onBatch;
  const fold = new RecordingSink(options.keepFold !== false, onBatch ? (op) => { ops.push(op); } : undefined);
  try {
    let index = 0;
    let stopped = false;
    const r = replayKvFile(core, h, path, salt, size, fold, (b) => {
      index++;
      options.progress?.(b.end, size);
      if (onBatch === undefined) return true;
      const batch: KvInspectedBatch = { index, offset: b.offset, end: b.end, seq: b.seq, cursor: b.cursor, ops };
      ops = [];
      if (onBatch(batch) === false) { stopped = true; return false; }
      return true;
    });
    options.progress?.(size, size);
    const scanner = r.scanner;
    let failure: KvFileInspection['failure'];
    if (!stopped) {
      if (scanner.failure !== undefined) {
        const f = scanner.failure;
        const { torn, witness } = scanner.classify();
        const cut = r.pendingStart >= 0 ? Math.min(r.pendingStart, f.offset) : f.offset;
        failure = { offset: cut, frameOffset: f.offset, reason: f.reason, torn, witness };
      } else if (r.pendingStart >= 0) {
        // Every frame is valid but the last batch has no last frame: written after the last sync, never acknowledged (open cuts it whole).
        failure = { offset: r.pendingStart, frameOffset: -1, reason: 'incomplete-payload', torn: true, witness: -1 };
      }
    }
    const validEnd = failure ? failure.offset : scanner.pos;
    const endsWithMarker = scanner.lastStart >= 0 && scanner.lastType === c.TYPE_SYNC_MARK && scanner.lastStart < validEnd;
    return {
      size, salt, version, generation,
      batches: r.batches, ops: fold.puts + fold.deletes, puts: fold.puts, deletes: fold.deletes,
      keys: fold.index?.size ?? 0, liveBytes: fold.index?.liveBytes ?? 0, cursor: r.cursor,
      validEnd, syncMarker: endsWithMarker ? scanner.lastStart : -1, failure,
    };
  } finally {
    fold.index?.dispose(); // its core instance's memory goes now, not when collected
    h.close();
  }
}
