// A fake OPFS directory for running OpfsFileSystem outside a browser: files
// are byte arrays that survive the pool (like OPFS across page loads); each
// file grants one sync access handle at a time (NoModificationAllowedError
// otherwise, as Chromium does). `flushed` keeps each file's bytes as of its
// last flush(), so a test can "crash" by reopening from the flushed state,
// and `tearNextWrite(name, n)` makes the next write to a file stop after n
// bytes and throw (a torn write).
class FakeSah {
  constructor(file) { this.file = file; this.closed = false; }
  #live() { if (this.closed) throw new DOMException('closed', 'InvalidStateError'); }
  read(buf, { at = 0 } = {}) {
    this.#live();
    const n = Math.max(0, Math.min(buf.length, this.file.bytes.length - at));
    if (n > 0) buf.set(this.file.bytes.subarray(at, at + n));
    return n;
  }
  write(buf, { at = 0 } = {}) {
    this.#live();
    let data = buf;
    if (this.file.tear !== undefined) {
      data = buf.subarray(0, this.file.tear);
      this.file.tear = undefined;
      this.#put(data, at);
      throw new DOMException('torn', 'InvalidStateError');
    }
    this.#put(data, at);
    return data.length;
  }
  #put(data, at) {
    if (at + data.length > this.file.bytes.length) {
      const grown = new Uint8Array(at + data.length);
      grown.set(this.file.bytes);
      this.file.bytes = grown;
    }
    this.file.bytes.set(data, at);
  }
  truncate(size) {
    this.#live();
    const b = new Uint8Array(size);
    b.set(this.file.bytes.subarray(0, Math.min(size, this.file.bytes.length)));
    this.file.bytes = b;
  }
  getSize() { this.#live(); return this.file.bytes.length; }
  flush() { this.#live(); this.file.flushed = this.file.bytes.slice(); }
  close() { if (!this.closed) { this.closed = true; this.file.held = false; } }
}

export class FakeOpfsDirectory {
  files = new Map();
  async getFileHandle(name, { create = false } = {}) {
    let file = this.files.get(name);
    if (file === undefined) {
      if (!create) throw new DOMException(name, 'NotFoundError');
      file = { bytes: new Uint8Array(0), flushed: new Uint8Array(0), held: false, tear: undefined };
      this.files.set(name, file);
    }
    return {
      async createSyncAccessHandle() {
        if (file.held) throw new DOMException(`${name} is open elsewhere`, 'NoModificationAllowedError');
        file.held = true;
        return new FakeSah(file);
      },
    };
  }
  /** A power cut: every file keeps only what it had at its last flush; every handle is released. */
  crash() {
    const d = new FakeOpfsDirectory();
    for (const [name, f] of this.files) d.files.set(name, { bytes: f.flushed.slice(), flushed: f.flushed.slice(), held: false, tear: undefined });
    return d;
  }
  tearNextWrite(name, bytes) { this.files.get(name).tear = bytes; }
}
