// What both CLI suites share: the built CLI run as a subprocess of the
// current runtime, and a one-byte flip for byte surgery on a real file.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { selfCommand } from '../support/helpers.js';

export const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

/** Run `walcore ...args`: exit code, stdout, stderr. */
export function walcore(...args) {
  const [cmd, ...pre] = selfCommand();
  const r = spawnSync(cmd, [...pre, CLI, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** Invert every bit of the byte at `offset` of the file at `path`. */
export function flipByte(path, offset) {
  const b = fs.readFileSync(path);
  b[offset] ^= 0xff;
  fs.writeFileSync(path, b);
}
