/**
 * Output for the CLI: a buffered stdout writer that writes synchronously
 * (so dump runs in constant memory whatever the consumer's speed: no
 * stream buffers pile up), payload encodings, and the progress bar.
 */
import * as nodeFs from 'node:fs';
import process from 'node:process';

export class Out {
  #parts: string[] = [];
  #size = 0;
  constructor(private readonly fd: number) {}
  write(s: string): void {
    this.#parts.push(s);
    this.#size += s.length;
    if (this.#size >= 64 << 10) this.flush();
  }
  line(s = ''): void { this.write(`${s}\n`); }
  flush(): void {
    if (this.#size === 0) return;
    const buf = new TextEncoder().encode(this.#parts.join(''));
    this.#parts = [];
    this.#size = 0;
    let off = 0;
    while (off < buf.length) {
      try {
        off += nodeFs.writeSync(this.fd, buf, off, buf.length - off);
      } catch (e) {
        if ((e as { code?: string }).code === 'EAGAIN') { sleepBriefly(); continue; }
        throw e;
      }
    }
  }
}

const pause = new Int32Array(new SharedArrayBuffer(4));
function sleepBriefly(): void { Atomics.wait(pause, 0, 0, 5); }

export type PayloadFormat = 'hex' | 'utf8' | 'base64' | 'none';

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const utf8 = new TextDecoder('utf-8', { fatal: false });
const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

export function encodePayload(p: Uint8Array, how: PayloadFormat): string {
  if (how === 'utf8') return utf8.decode(p);
  if (how === 'base64') {
    let s = '';
    let i = 0;
    for (; i + 2 < p.length; i += 3) {
      const n = (p[i]! << 16) | (p[i + 1]! << 8) | p[i + 2]!;
      s += B64[n >>> 18]! + B64[(n >>> 12) & 63]! + B64[(n >>> 6) & 63]! + B64[n & 63]!;
    }
    if (i < p.length) {
      const n = (p[i]! << 16) | ((p[i + 1] ?? 0) << 8);
      s += B64[n >>> 18]! + B64[(n >>> 12) & 63]! + (i + 1 < p.length ? B64[(n >>> 6) & 63]! : '=') + '=';
    }
    return s;
  }
  let s = '';
  for (let i = 0; i < p.length; i++) s += HEX[p[i]!]!;
  return s;
}

function human(n: number): string {
  const u = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1000 && i < u.length - 1) { n /= 1000; i++; }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${u[i]}`;
}

/** Draws `[=====>    ] 412.3 MB / 1.1 GB  1.4 GB/s  ETA 0.5s` on stderr, only when stderr is a TTY and the scan is over 4 MB. */
export class Progress {
  #total = 0;
  #done = 0;
  #t0 = 0;
  #last = 0;
  #on = false;
  constructor(private readonly enabled: boolean) {}
  start(total: number): void {
    this.#total = total;
    this.#done = 0;
    this.#t0 = Date.now();
    this.#on = this.enabled && total >= 4e6;
  }
  add(bytes: number): void { this.set(this.#done + bytes); }
  set(done: number): void {
    this.#done = done;
    if (!this.#on) return;
    const now = Date.now();
    if (now - this.#last < 100 && done < this.#total) return;
    this.#last = now;
    const secs = Math.max((now - this.#t0) / 1000, 1e-3);
    const rate = done / secs;
    const frac = this.#total > 0 ? Math.min(1, done / this.#total) : 1;
    const width = 30;
    const fill = Math.round(frac * width);
    const eta = rate > 0 ? (this.#total - done) / rate : 0;
    process.stderr.write(`\r[${'='.repeat(Math.max(0, fill - 1))}${fill > 0 ? '>' : ''}${' '.repeat(width - fill)}] ${human(done)} / ${human(this.#total)}  ${human(rate)}/s  ETA ${eta.toFixed(1)}s \x1b[K`);
  }
  end(): void {
    if (this.#on) process.stderr.write('\r\x1b[K');
    this.#on = false;
  }
}
