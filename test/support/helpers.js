// Shared by the test files: temp directories, seeds that are printed so a
// failure replays, the runtime's own command for child processes, and the
// independent CRC-32C oracle.
import { createRequire } from 'node:module';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import process from 'node:process';
import { WalError, detectRuntime, seededRandom } from 'walcore';

const require = createRequire(import.meta.url);
/** crc-32/crc32c, the oracle the core's CRC is checked against. */
export const CRC32C = require('crc-32/crc32c');

export const runtime = detectRuntime();

/** What `fn()` throws: a WalError's code, another error's name; 'no error' when it returns. */
export function codeOf(fn) {
  try { fn(); } catch (e) { return e instanceof WalError ? e.code : e.name; }
  return 'no error';
}

/** A fresh temp directory; removed at process exit. */
export function tempDir(label = 'walcore') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${label}-${runtime}-`));
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * A seed for a randomized test: WALCORE_SEED if set, else random. Printed,
 * so a failing run can be replayed with WALCORE_SEED=<seed>.
 */
export function seedFor(name) {
  const env = process.env.WALCORE_SEED;
  const seed = env !== undefined ? Number(env) : (Math.random() * 2 ** 32) >>> 0;
  console.log(`[seed] ${name}: WALCORE_SEED=${seed}`);
  return seed;
}

export function rng(seed) {
  const r = seededRandom(seed);
  return {
    next: r,
    int: (lo, hi) => lo + Math.floor(r() * (hi - lo + 1)),
    bytes(n) {
      const b = new Uint8Array(n);
      for (let i = 0; i < n; i++) b[i] = (r() * 256) | 0;
      return b;
    },
  };
}

/** argv prefix that runs a script in the current runtime (for child processes). */
export function selfCommand() {
  if (runtime === 'deno') return [globalThis.Deno.execPath(), 'run', '-A', '--no-lock'];
  return [process.execPath];
}

export const enc = (s) => new TextEncoder().encode(s);
export const dec = (b) => new TextDecoder().decode(b);
export const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
export function fromHex(s) {
  const clean = s.replace(/\s+/g, '');
  const b = new Uint8Array(clean.length / 2);
  for (let i = 0; i < b.length; i++) b[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return b;
}
