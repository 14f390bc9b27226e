// Shared by the kill -9 tests: run a child script in this same runtime,
// SIGKILL it `delayMs` after it prints "start", and collect what it
// acknowledged ("ack <n>" lines, written synchronously by the child).
import { spawn } from 'node:child_process';
import { selfCommand } from './helpers.js';

/**
 * Resolves { maxAck, acks, start } once the child is dead. `whileAlive` runs
 * just before the kill, while the child still holds its locks; if it throws,
 * the promise rejects with that error. A child that exits by itself rejects.
 */
export function runAndKill(script, args, delayMs, whileAlive) {
  return new Promise((resolve, reject) => {
    const [cmd, ...pre] = selfCommand();
    const child = spawn(cmd, [...pre, script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let timer;
    let failure;
    child.stdout.on('data', (d) => {
      out += d;
      if (timer === undefined && out.includes('start')) {
        timer = setTimeout(() => {
          try { whileAlive?.(); } catch (e) { failure = e; }
          child.kill('SIGKILL');
        }, delayMs);
      }
    });
    child.stderr.on('data', (d) => { err += d; });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (failure) return reject(failure);
      if (signal !== 'SIGKILL') return reject(new Error(`child ended by itself (code ${code}): ${err}`));
      const acks = [...out.matchAll(/ack (\d+)/g)].map((m) => Number(m[1]));
      const start = Number(/start (\d+)/.exec(out)?.[1] ?? NaN);
      resolve({ maxAck: acks.length ? Math.max(...acks) : 0, acks: acks.length, start });
    });
  });
}
