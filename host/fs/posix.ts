/**
 * FileSystem over `node:fs` synchronous calls. Node, Deno and Bun all
 * implement these as the real system calls (pread/pwrite/fdatasync/fsync on
 * a directory fd), measured identical on all three (shared/PLATFORM.md),
 * so the three runtime adapters share this one implementation. Deno's own
 * Deno.FsFile has no positional write, and Bun.file has no fsync, so neither
 * native API could do better.
 */
import * as fs from 'node:fs';
import process from 'node:process';
import { checkOpenFlags } from './flags.js';
import { acquireLockFile } from './lock-file.js';
import type { FileHandle, FileLock, FileStat, FileSystem, OpenFlags } from './types.js';

const { O_RDONLY, O_RDWR, O_CREAT, O_EXCL } = fs.constants;
const O_DIRECTORY = fs.constants.O_DIRECTORY ?? 0;

class PosixFile implements FileHandle {
  #fd: number;
  /** syncAsync() calls whose fdatasync is still running in the thread pool. */
  #syncing = 0;
  /** A descriptor whose close() waits for #syncing to reach 0 (-1: none). */
  #closeAfterSync = -1;
  constructor(readonly path: string, fd: number, readonly abandonsSync: boolean) {
    this.#fd = fd;
  }
  private get fd(): number {
    if (this.#fd < 0) throw Object.assign(new Error(`${this.path}: file handle is closed`), { code: 'EBADF' });
    return this.#fd;
  }
  read(buf: Uint8Array, position: number): number {
    let done = 0;
    while (done < buf.length) {
      const n = fs.readSync(this.fd, buf, done, buf.length - done, position + done);
      if (n === 0) break;
      done += n;
    }
    return done;
  }
  write(buf: Uint8Array, position: number): void {
    let done = 0;
    while (done < buf.length) done += fs.writeSync(this.fd, buf, done, buf.length - done, position + done);
  }
  truncate(size: number): void {
    fs.ftruncateSync(this.fd, size);
  }
  size(): number {
    return fs.fstatSync(this.fd).size;
  }
  sync(): void {
    fs.fdatasyncSync(this.fd);
  }
  /** fdatasync in libuv's thread pool (node:fs callback API; Node, Deno and Bun all run it off the JS thread). */
  syncAsync(): Promise<void> {
    let fd: number;
    try { fd = this.fd; } catch (e) { return Promise.reject(e); }
    this.#syncing++;
    return new Promise<void>((resolve, reject) => {
      fs.fdatasync(fd, (err) => {
        if (--this.#syncing === 0 && this.#closeAfterSync >= 0) {
          const deferred = this.#closeAfterSync;
          this.#closeAfterSync = -1;
          try { fs.closeSync(deferred); } catch { /* close() already returned; nothing to report to */ }
        }
        if (err) reject(err);
        else resolve();
      });
    });
  }
  close(abandonSync = false): void {
    if (this.#fd < 0) return;
    const fd = this.#fd;
    this.#fd = -1;
    // Never close (and let the OS reuse) a descriptor a pool thread is fdatasyncing, unless its result does not matter
    // (abandonSync: an fdatasync already running keeps its own reference to the file; one not yet started fails or
    // syncs whatever the number names then).
    if (this.#syncing > 0 && !abandonSync) this.#closeAfterSync = fd;
    else fs.closeSync(fd);
  }
}

export class PosixFileSystem implements FileSystem {
  readonly name: string = 'node';

  /** Whether close(true) releases a descriptor at once with an fdatasync in flight (FileHandle.abandonsSync). */
  protected readonly abandonsSync: boolean = true;
  open(path: string, flags: OpenFlags = {}): FileHandle {
    checkOpenFlags(flags);
    const mode = (flags.write ? O_RDWR : O_RDONLY) | (flags.create ? O_CREAT : 0) | (flags.exclusive ? O_EXCL : 0);
    return new PosixFile(path, fs.openSync(path, mode, 0o644), this.abandonsSync);
  }
  stat(path: string): FileStat | undefined {
    try {
      const st = fs.statSync(path);
      return { size: st.size, isDirectory: st.isDirectory() };
    } catch (e) {
      if ((e as { code?: string }).code === 'ENOENT') return undefined;
      throw e;
    }
  }
  rename(from: string, to: string): void {
    fs.renameSync(from, to);
  }
  remove(path: string): void {
    fs.unlinkSync(path);
  }
  list(dir: string): string[] {
    return fs.readdirSync(dir).sort();
  }
  mkdir(path: string): void {
    fs.mkdirSync(path, { recursive: true });
  }
  syncDir(path: string): void {
    if (process.platform === 'win32') return; // Windows cannot fsync a directory (EPERM); see README.
    const fd = fs.openSync(path, O_RDONLY | O_DIRECTORY);
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }
  lock(path: string): FileLock {
    return acquireLockFile(path);
  }
}
