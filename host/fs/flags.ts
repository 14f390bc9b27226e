/**
 * Open-flag validation shared by every FileSystem adapter. Free of node:
 * imports so the in-memory simulator loads where node:fs does not exist.
 */
import type { OpenFlags } from './types.js';

/** Throws TypeError for unknown keys, create without write, exclusive without create. */
export function checkOpenFlags(flags: OpenFlags): void {
  for (const key of Object.keys(flags)) {
    if (key !== 'write' && key !== 'create' && key !== 'exclusive') throw new TypeError(`open: unknown flag ${key}`);
  }
  if (flags.create && !flags.write) throw new TypeError('open: create requires write');
  if (flags.exclusive && !flags.create) throw new TypeError('open: exclusive requires create');
}
