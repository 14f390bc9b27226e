/**
 * The group commit's sync off the JS thread for SegmentedWal: write the
 * buffer, then await the active segment's fdatasync (FrameFile.syncAsync)
 * while appends keep buffering; durableLsn advances to what it covered, and
 * a sync marker follows if nothing was written meanwhile (as sync() does).
 * A roll while it is in flight seals the segment synchronously (its own
 * fsync) and closes the old handle only once this fsync has settled
 * (release). If it fails, FrameFile has cut that segment back to its
 * durable end and the WAL is poisoned; if a roll sealed it meanwhile, the
 * segments created after it are removed (best effort), because their first
 * LSNs now lie past a gap and nothing in them was acknowledged by a sync
 * that proves anything (a concurrent fsync's success proves nothing once
 * another reported a writeback error): the cut segment becomes the last
 * again and the next open recovers it, LSNs contiguous.
 */
import type { FrameFile } from '../../codec/frame-file.js';
import type { FileSystem } from '../../fs/types.js';
import { quietly } from '../../lifecycle/lifecycle.js';
import type { SegmentMeta } from './recovery.js';

/** What the off-thread sync needs of the WAL (closures over its private state). */
export interface OffThreadWal {
  /** The active segment now. */
  file(): FrameFile;
  /** Check the WAL is usable and write the buffer; returns the LSN after the last record written. */
  flush(): number;
  /** Records below `next` are durable. */
  durable(next: number): void;
  /** Write a sync marker if the WAL is open, `file` still active and nothing written since `end` was synced. */
  markIfIdle(file: FrameFile, end: number): void;
  segments(): readonly SegmentMeta[];
}

export class OffThreadSync {
  /** The segment whose fsync is in flight, and a promise that settles (never rejects) when it has. */
  #syncing: { file: FrameFile; done: Promise<unknown> } | undefined;

  constructor(private readonly fs: FileSystem, private readonly dir: string, private readonly wal: OffThreadWal) {}

  async run(): Promise<void> {
    const wal = this.wal;
    const next = wal.flush();
    const file = wal.file();
    const end = file.end;
    const run = file.syncAsync();
    const done = run.then(() => undefined, () => undefined);
    this.#syncing = { file, done };
    let synced: boolean;
    try {
      synced = await run;
    } catch (e) {
      if (file !== wal.file()) this.dropSegmentsAfter(file);
      throw e;
    } finally {
      if (this.#syncing?.done === done) this.#syncing = undefined;
    }
    if (!synced) return;
    wal.durable(next);
    wal.markIfIdle(file, end);
  }

  /** Close a segment a roll replaced, once an fsync in flight on it has settled. */
  release(old: FrameFile): void {
    const syncing = this.#syncing;
    if (syncing !== undefined && syncing.file === old) void syncing.done.then(() => old.close());
    else old.close();
  }

  /** After a failed async fsync of a segment a roll sealed meanwhile: remove the segments after it. */
  private dropSegmentsAfter(file: FrameFile): void {
    const segs = this.wal.segments();
    const i = segs.findIndex((m) => m.path === file.path);
    if (i < 0 || i === segs.length - 1) return;
    quietly(() => {
      for (const m of segs.slice(i + 1).reverse()) this.fs.remove(m.path);
      this.fs.syncDir(this.dir);
    });
  }
}
