/**
 * The group commit's sync off the JS thread for a log of segment files
 * (SegmentedWal, WalLog): write what is buffered, then await the active
 * segment's fdatasync (FrameFile.syncAsync) while appends keep buffering;
 * the log learns what it covered, and a sync marker follows if nothing was
 * written meanwhile (as sync() does). A roll while it is in flight seals the
 * segment synchronously (its own fsync) and closes the old handle only once
 * this fsync has settled (closeAfterSync). If it fails, FrameFile has cut
 * that segment back to its durable end and the log is poisoned; if a roll
 * sealed it meanwhile, the segments created after it are removed (best
 * effort), because their entries now lie past a gap and nothing in them was
 * acknowledged by a sync that proves anything (a concurrent fsync's success
 * proves nothing once another reported a writeback error): the cut segment
 * becomes the last again and the next open recovers it.
 */
import type { FrameFile } from '../codec/frame-file.js';
import type { FileSystem } from '../fs/types.js';
import { quietly } from './lifecycle.js';

/** What the off-thread sync needs of the log (closures over its private state). */
export interface OffThreadLog {
  /** The active segment now. */
  file(): FrameFile;
  /** Check the log is usable and write the buffer; returns a token for durable() (e.g. the LSN after the last record written). */
  flush(): number;
  /** What flush() returned is durable. */
  durable(token: number): void;
  /** Write a sync marker if the log is open, `file` still active and nothing written since `end` was synced. */
  markIfIdle(file: FrameFile, end: number): void;
  /** The log's segment files, oldest first. */
  segments(): readonly { readonly path: string }[];
}

export class OffThreadSync {
  /** The segment whose fsync is in flight, and a promise that settles (never rejects) when it has. */
  #syncing: { file: FrameFile; done: Promise<unknown> } | undefined;

  constructor(private readonly fs: FileSystem, private readonly dir: string, private readonly log: OffThreadLog) {}

  async run(): Promise<void> {
    const log = this.log;
    const token = log.flush();
    const file = log.file();
    const end = file.end;
    const run = file.syncAsync();
    const done = run.then(() => undefined, () => undefined);
    this.#syncing = { file, done };
    let synced: boolean;
    try {
      synced = await run;
    } catch (e) {
      if (file !== log.file()) this.dropSegmentsAfter(file);
      throw e;
    } finally {
      if (this.#syncing?.done === done) this.#syncing = undefined;
    }
    if (!synced) return;
    log.durable(token);
    log.markIfIdle(file, end);
  }

  /** Close the handle of the segment at `path` (a roll replaced it, or it is deleted) now, or once an fsync in flight on it has settled. */
  closeAfterSync(path: string, close: () => void): void {
    const syncing = this.#syncing;
    if (syncing !== undefined && syncing.file.path === path) void syncing.done.then(() => quietly(close));
    else close();
  }

  /** After a failed async fsync of a segment a roll sealed meanwhile: remove the segments after it, newest first. */
  private dropSegmentsAfter(file: FrameFile): void {
    const segs = this.log.segments();
    const i = segs.findIndex((m) => m.path === file.path);
    if (i < 0 || i === segs.length - 1) return;
    quietly(() => {
      for (const m of segs.slice(i + 1).reverse()) this.fs.remove(m.path);
      this.fs.syncDir(this.dir);
    });
  }
}
