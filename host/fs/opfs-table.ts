/**
 * The OPFS pool's name table on disk (docs/FORMAT.md §13): the file
 * `walcore-table` holds two copies of the table, at offset 0 and at
 * OPFS_TABLE_REGION; a write goes to the copy not holding the newest
 * generation, and open takes the valid copy with the newer generation. Each
 * copy's header (magic, generation, length, CRC-32C) is written and checked
 * by the core (assembly/opfs-table.ts); this module moves the bytes and
 * turns the body, UTF-8 JSON `{ slots, entries: [[path, slot], ...] }`, into
 * values. The crash-safety argument is in host/fs/opfs.ts.
 */
import { sharedCore } from '../core/core.js';
import { WalError } from '../errors.js';

/** The subset of FileSystemSyncAccessHandle the pool uses (lib.dom lacks it outside webworker). */
export interface SyncAccessHandle {
  read(buffer: Uint8Array, options?: { at?: number }): number;
  write(buffer: Uint8Array, options?: { at?: number }): number;
  truncate(size: number): void;
  getSize(): number;
  flush(): void;
  close(): void;
}

export const TABLE_FILE = 'walcore-table';

/** What a table says: how many slots the pool has, and path -> slot (-1: a directory). */
export interface TableContents {
  slots: number;
  entries: Array<[string, number]>;
}
export interface LoadedTable extends TableContents {
  generation: number;
}

/** Bytes reserved for each copy of the table (header and body). */
export function tableRegion(): number {
  return sharedCore().c.OPFS_TABLE_REGION;
}

/** Where copy `generation` of the table goes: the copies alternate. */
export function tableOffset(generation: number): number {
  return (generation % 2) * tableRegion();
}

/** The bytes of a copy of `t` with `generation`; undefined when it does not fit in its region. */
export function encodeTable(generation: number, t: TableContents): Uint8Array | undefined {
  const core = sharedCore();
  const body = new TextEncoder().encode(JSON.stringify({ slots: t.slots, entries: t.entries }));
  const head = core.c.OPFS_TABLE_HEADER_SIZE;
  if (head + body.length > core.c.OPFS_TABLE_REGION) return undefined;
  core.ensure(head + body.length);
  core.u8.set(body, core.staging + head);
  const size = core.x.encodeOpfsTable(core.staging, generation, body.length);
  if (size < 0) return undefined;
  return core.u8.slice(core.staging, core.staging + size);
}

/** The body, if it has the table's shape. */
function parseBody(bytes: Uint8Array): TableContents | undefined {
  let t: unknown;
  try {
    t = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    return undefined;
  }
  const { slots, entries } = (t ?? {}) as { slots?: unknown; entries?: unknown };
  if (!Number.isInteger(slots) || (slots as number) < 0 || !Array.isArray(entries)) return undefined;
  for (const e of entries) {
    if (!Array.isArray(e) || e.length !== 2 || typeof e[0] !== 'string' || !Number.isInteger(e[1]) || e[1] < -1) return undefined;
  }
  return { slots: slots as number, entries: entries as Array<[string, number]> };
}

/**
 * The valid copy with the newest generation; undefined for a new pool (no
 * copy, or only copy 1: creation writes copy 1 and then copy 0, so a pool
 * whose copy 0 was never written was cut short while being created).
 * Throws CORRUPTED when copies were written but none is valid.
 */
export function readTable(sah: SyncAccessHandle): LoadedTable | undefined {
  const core = sharedCore();
  const c = core.c;
  const size = sah.getSize();
  if (size === 0) return undefined;
  let best: LoadedTable | undefined;
  let copy0Written = false;
  for (let copy = 0; copy < 2; copy++) {
    const at = copy * c.OPFS_TABLE_REGION;
    const avail = Math.min(Math.max(size - at, 0), c.OPFS_TABLE_REGION);
    core.ensure(avail);
    const got = avail === 0 ? 0 : sah.read(core.u8.subarray(core.staging, core.staging + avail), { at });
    const st = core.x.decodeOpfsTable(core.staging, got);
    if (st === c.ERR_INCOMPLETE_HEADER || st === c.ERR_BAD_MAGIC) continue; // never written
    if (copy === 0) copy0Written = true;
    if (st < 0) continue; // torn or damaged
    const generation = core.out('otGeneration');
    const body = parseBody(core.u8.subarray(core.staging + c.OPFS_TABLE_HEADER_SIZE, core.staging + c.OPFS_TABLE_HEADER_SIZE + st));
    if (body === undefined) throw new WalError('CORRUPTED', `copy ${copy} of the OPFS pool name table has a valid checksum but is not a table`, { path: TABLE_FILE, offset: at });
    // Generations are u32 and wrap: the newer of two copies is the one at most 2^31 ahead (serial-number order).
    if (best === undefined || ((generation - best.generation) >>> 0) - 1 < 2 ** 31 - 1) best = { generation, ...body };
  }
  if (best === undefined && copy0Written) throw new WalError('CORRUPTED', 'both copies of the OPFS pool name table are damaged', { path: TABLE_FILE });
  return best;
}
