/**
 * Export and import of an AppendLogSnapshot artifact (docs/kv-snapshot.md
 * "Export and import"):
 *
 *   <artifact>/MANIFEST.json   schema, backend, generation, cursor, files
 *   <artifact>/data/kv.snapshot the fold as a fresh §12 file
 *
 * Export assembles `<dest>.tmp-<hex>/`, fsyncs every file and directory,
 * writes the manifest last, renames the directory into place and fsyncs the
 * parent: after a crash `<dest>` is absent or complete. Import trusts
 * nothing: it bounds the manifest before reading it, refuses unknown fields,
 * undeclared or missing files, symlinks and any path that is not a plain
 * name under data/, copies each file to a staged temp file beside the
 * destination while hashing exactly the bytes it copies and loading them
 * strictly (one read of each byte: the replay reads through the copy),
 * checks size and SHA-256, compares the loaded cursor to the manifest's,
 * fsyncs the copy, and only then renames it into place (the destination
 * must not exist).
 */
import type { Core } from '../../core/core.js';
import { WalError, ioError } from '../../errors.js';
import type { FileHandle, FileSystem } from '../../fs/types.js';
import { removeTempFilesOf, tempPathFor } from '../../lifecycle/atomic-file.js';
import { type Acquired, quietly } from '../../lifecycle/lifecycle.js';
import { dirname, join } from '../../platform/path.js';
import { randomU32 } from '../../platform/random.js';
import { sha256 } from '../../platform/sha256.js';
import { isSymlink } from '../../platform/symlink.js';
import type { KvIndex } from './kv-index.js';
import { WHAT, writeFold } from './kv-file.js';
import { type LoadedFile, loadStoreFile } from './store-open.js';
import type { ExportManifest, ExportedFile } from './types.js';
import { WatchCursor } from './watch-cursor.js';

export const MANIFEST_NAME = 'MANIFEST.json';
export const DATA_DIR = 'data';
export const DATA_FILE = 'kv.snapshot';
export const BACKEND = 'walcore.AppendLogSnapshot';
export const SCHEMA_VERSION = 1;
/** The on-disk format generation of the data file: walcore format version 1, FORMAT.md §12. */
export const FORMAT_GENERATION = 1;
/** A manifest larger than this is refused before it is read. */
export const MAX_MANIFEST_BYTES = 64 << 10;
const MANIFEST_KEYS = ['schemaVersion', 'backend', 'formatGeneration', 'cursor', 'createdAt', 'files'];
const FILE_KEYS = ['path', 'size', 'sha256'];
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/;
const COPY_CHUNK = 1 << 20;

function bad(what: string, path: string, cause?: unknown): WalError {
  return new WalError('BAD_ARTIFACT', `${path}: not a valid AppendLogSnapshot artifact: ${what}`, { path, cause });
}

function exists(path: string): WalError {
  return new WalError('IO_ERROR', `${path} already exists (open it instead, or choose a new path)`, { path, cause: Object.assign(new Error(`EEXIST: ${path}`), { code: 'EEXIST' }) });
}

/** Export `fold` at `cursor` to the new directory `destDir`. */
export function exportFold(core: Core, fs: FileSystem, destDir: string, fold: KvIndex, cursor: WatchCursor): ExportManifest {
  let st;
  try { st = fs.stat(destDir); } catch (e) { throw ioError('stat', destDir, e); }
  if (st !== undefined) throw exists(destDir);
  const parent = dirname(destDir);
  try {
    if (!fs.stat(parent)?.isDirectory) throw Object.assign(new Error(`ENOENT: ${parent}`), { code: 'ENOENT' });
  } catch (e) { throw ioError('stat', parent, e); }
  const tmp = tempPathFor(destDir);
  const created: string[] = [];
  try {
    fs.mkdir(tmp);
    fs.mkdir(join(tmp, DATA_DIR));
    // The data file: the fold as a fresh file, hashed as it is written.
    const dataPath = join(join(tmp, DATA_DIR), DATA_FILE);
    const hash = sha256();
    let size = 0;
    let h: FileHandle | undefined = fs.open(dataPath, { write: true, create: true, exclusive: true });
    created.push(dataPath);
    try {
      const r = writeFold(core, fold, WatchCursor.bytesOf(cursor), randomU32(), 0, (bytes, at) => {
        h!.write(bytes, at);
        hash.update(bytes);
      });
      size = r.size;
      h.sync();
    } finally {
      quietly(() => h?.close());
      h = undefined;
    }
    fs.syncDir(join(tmp, DATA_DIR));
    const manifest: ExportManifest = {
      schemaVersion: SCHEMA_VERSION,
      backend: BACKEND,
      formatGeneration: FORMAT_GENERATION,
      cursor: cursor.toHex(),
      createdAt: new Date().toISOString(),
      files: [{ path: `${DATA_DIR}/${DATA_FILE}`, size, sha256: hash.hex() }],
    };
    // The manifest last: an artifact with a manifest has every file it lists.
    const text = new TextEncoder().encode(`${JSON.stringify(manifest, null, 2)}\n`);
    const mPath = join(tmp, MANIFEST_NAME);
    const m = fs.open(mPath, { write: true, create: true, exclusive: true });
    created.push(mPath);
    try {
      m.write(text, 0);
      m.sync();
    } finally {
      quietly(() => m.close());
    }
    fs.syncDir(tmp);
    fs.rename(tmp, destDir);
    created.length = 0;
    fs.syncDir(parent);
    return manifest;
  } catch (e) {
    // Best effort: remove the files made so far (the FileSystem cannot remove directories; an empty `<dest>.tmp-*` may stay).
    for (const p of created) quietly(() => fs.remove(p));
    throw ioError('export', destDir, e);
  }
}

function isPosix(fs: FileSystem): boolean {
  return fs.name === 'node' || fs.name === 'deno' || fs.name === 'bun';
}

/** Parse and check MANIFEST.json (every field, no unknown ones). */
function readManifest(fs: FileSystem, artifactDir: string): ExportManifest {
  const path = join(artifactDir, MANIFEST_NAME);
  let st;
  try { st = fs.stat(path); } catch (e) { throw ioError('stat', path, e); }
  if (st === undefined) throw bad(`${MANIFEST_NAME} is missing`, artifactDir);
  if (st.isDirectory) throw bad(`${MANIFEST_NAME} is a directory`, artifactDir);
  if (st.size > MAX_MANIFEST_BYTES) throw bad(`${MANIFEST_NAME} is ${st.size} bytes, over the ${MAX_MANIFEST_BYTES}-byte limit`, artifactDir);
  const buf = new Uint8Array(MAX_MANIFEST_BYTES + 1);
  let got: number;
  let h: FileHandle | undefined;
  try {
    h = fs.open(path);
    got = h.read(buf, 0);
  } catch (e) {
    throw ioError('read', path, e);
  } finally {
    quietly(() => h?.close());
  }
  if (got > MAX_MANIFEST_BYTES) throw bad(`${MANIFEST_NAME} is over the ${MAX_MANIFEST_BYTES}-byte limit`, artifactDir);
  let m: unknown;
  try {
    m = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(0, got)));
  } catch (e) {
    throw bad(`${MANIFEST_NAME} is not valid UTF-8 JSON`, artifactDir, e);
  }
  if (m === null || typeof m !== 'object' || Array.isArray(m)) throw bad('the manifest is not a JSON object', artifactDir);
  const o = m as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!MANIFEST_KEYS.includes(k)) throw bad(`unknown manifest field '${k}'`, artifactDir);
  for (const k of MANIFEST_KEYS) if (!(k in o)) throw bad(`manifest field '${k}' is missing`, artifactDir);
  if (o.schemaVersion !== SCHEMA_VERSION) throw bad(`schemaVersion ${JSON.stringify(o.schemaVersion)} is not ${SCHEMA_VERSION}`, artifactDir);
  if (o.backend !== BACKEND) throw bad(`backend ${JSON.stringify(o.backend)} is not '${BACKEND}'`, artifactDir);
  if (o.formatGeneration !== FORMAT_GENERATION) throw bad(`formatGeneration ${JSON.stringify(o.formatGeneration)} is not ${FORMAT_GENERATION}`, artifactDir);
  if (typeof o.cursor !== 'string' || !/^(?:[0-9a-f]{2}){0,1024}$/.test(o.cursor)) throw bad('cursor is not lowercase hex of at most 1024 bytes', artifactDir);
  if (typeof o.createdAt !== 'string' || Number.isNaN(Date.parse(o.createdAt))) throw bad('createdAt is not a date', artifactDir);
  if (!Array.isArray(o.files)) throw bad('files is not an array', artifactDir);
  const seen = new Set<string>();
  for (const f of o.files as unknown[]) {
    if (f === null || typeof f !== 'object' || Array.isArray(f)) throw bad('a files entry is not an object', artifactDir);
    const e = f as Record<string, unknown>;
    for (const k of Object.keys(e)) if (!FILE_KEYS.includes(k)) throw bad(`unknown files field '${k}'`, artifactDir);
    if (typeof e.path !== 'string') throw bad('a file path is not a string', artifactDir);
    const parts = e.path.split('/');
    if (parts.length !== 2 || parts[0] !== DATA_DIR || !NAME_RE.test(parts[1]!) || parts[1] === '.' || parts[1] === '..') {
      throw bad(`file path ${JSON.stringify(e.path)} is not a plain name under ${DATA_DIR}/`, artifactDir);
    }
    if (seen.has(e.path)) throw bad(`file ${e.path} is listed twice`, artifactDir);
    seen.add(e.path);
    if (typeof e.size !== 'number' || !Number.isSafeInteger(e.size) || e.size < 0) throw bad(`size of ${e.path} is not a non-negative integer`, artifactDir);
    if (typeof e.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(e.sha256)) throw bad(`sha256 of ${e.path} is not 64 lowercase hex digits`, artifactDir);
  }
  const files = o.files as ExportedFile[];
  if (files.length !== 1 || files[0]!.path !== `${DATA_DIR}/${DATA_FILE}`) throw bad(`this backend's artifact holds exactly ${DATA_DIR}/${DATA_FILE}`, artifactDir);
  return o as unknown as ExportManifest;
}

/** The artifact holds exactly MANIFEST.json and data/ with exactly the declared files; no symlinks. */
function checkListing(fs: FileSystem, artifactDir: string, manifest: ExportManifest): void {
  let st;
  try { st = fs.stat(artifactDir); } catch (e) { throw ioError('stat', artifactDir, e); }
  if (st === undefined || !st.isDirectory) throw bad('not a directory', artifactDir);
  const posix = isPosix(fs);
  const list = (dir: string): string[] => {
    try { return fs.list(dir); } catch (e) { throw ioError('list', dir, e); }
  };
  const top = list(artifactDir);
  for (const name of top) if (name !== MANIFEST_NAME && name !== DATA_DIR) throw bad(`undeclared entry '${name}'`, artifactDir);
  const dataDir = join(artifactDir, DATA_DIR);
  if (!top.includes(DATA_DIR) || !fs.stat(dataDir)?.isDirectory) throw bad(`${DATA_DIR}/ is missing or not a directory`, artifactDir);
  if (posix && (isSymlink(join(artifactDir, MANIFEST_NAME)) || isSymlink(dataDir))) throw bad(`${MANIFEST_NAME} or ${DATA_DIR}/ is a symlink`, artifactDir);
  const declared = new Set(manifest.files.map((f) => f.path.slice(DATA_DIR.length + 1)));
  const names = list(dataDir);
  for (const name of names) if (!declared.has(name)) throw bad(`undeclared file ${DATA_DIR}/${name}`, artifactDir);
  for (const name of declared) {
    if (!names.includes(name)) throw bad(`declared file ${DATA_DIR}/${name} is missing`, artifactDir);
    const p = join(dataDir, name);
    if (posix && isSymlink(p)) throw bad(`${DATA_DIR}/${name} is a symlink`, artifactDir);
    if (fs.stat(p)?.isDirectory) throw bad(`${DATA_DIR}/${name} is a directory`, artifactDir);
  }
}

/**
 * Verify the artifact and publish its data file at `destPath` (which must
 * not exist; the caller holds its lock). Throws BAD_ARTIFACT or IO_ERROR and
 * leaves nothing at `destPath` (a staged temp file is removed, or removed by
 * the next open of `destPath`). Returns the published file as replayed
 * from the staged copy, its handle registered on `acquired`.
 */
export function importArtifact(core: Core, fs: FileSystem, artifactDir: string, destPath: string, acquired: Acquired): LoadedFile {
  // Leftovers of an import that crashed are the staged temp files beside destPath.
  const dir = dirname(destPath);
  let st;
  try {
    removeTempFilesOf(fs, destPath);
    st = fs.stat(destPath);
  } catch (e) { throw ioError('stat', destPath, e); }
  if (st !== undefined) throw exists(destPath);
  const manifest = readManifest(fs, artifactDir);
  checkListing(fs, artifactDir, manifest);
  const file = manifest.files[0]!;
  const src = join(artifactDir, file.path);
  const tmp = tempPathFor(destPath);
  let out: FileHandle | undefined;
  let inp: FileHandle | undefined;
  let published = false;
  try {
    try {
      inp = fs.open(src);
      out = fs.open(tmp, { write: true, create: true, exclusive: true });
    } catch (e) { throw ioError('open', src, e); }
    // One pass over the source: the replay of the staged copy reads it through a tee that hashes and
    // writes every byte the first time it is read (so each byte is read once, and is hashed exactly as
    // copied); then the rest up to one byte past the declared size is copied the same way.
    const hash = sha256();
    const o = out;
    const input = inp;
    let teed = 0;
    const tee = (bytes: Uint8Array, at: number): void => {
      if (at > teed || at + bytes.length <= teed) return; // never ahead of the copy: the drain below fills it in order
      const part = bytes.subarray(teed - at);
      if (teed + part.length > file.size) throw bad(`${file.path} is larger than its declared ${file.size} bytes`, artifactDir);
      hash.update(part);
      try { o.write(part, teed); } catch (e) { throw ioError('write', tmp, e); }
      teed += part.length;
    };
    const source: FileHandle = {
      path: src,
      read(buf: Uint8Array, position: number): number {
        let n: number;
        try { n = input.read(buf, position); } catch (e) { throw ioError('read', src, e); }
        tee(buf.subarray(0, n), position);
        return n;
      },
      size: () => file.size,
      write: () => { throw new Error('read-only'); },
      truncate: () => { throw new Error('read-only'); },
      sync: () => { throw new Error('read-only'); },
      close: () => {},
    };
    // Load the staged copy strictly (as it is copied): any invalid frame or unfinished batch is a bad artifact.
    let loaded: LoadedFile | undefined;
    let invalid: unknown;
    try {
      loaded = { ...loadStoreFile(core, source, tmp, false), h: out };
    } catch (e) {
      if (e instanceof WalError && (e.code === 'IO_ERROR' || e.code === 'BAD_ARTIFACT')) throw e;
      invalid = e;
    }
    // Whatever the replay did not read (after an invalid frame), and one byte more to catch a longer file.
    const buf = new Uint8Array(COPY_CHUNK);
    for (let n; (n = source.read(buf.subarray(0, Math.min(buf.length, file.size + 1 - teed)), teed)) > 0;) {
      if (teed + n > file.size) throw bad(`${file.path} is larger than its declared ${file.size} bytes`, artifactDir);
    }
    if (teed !== file.size) throw bad(`${file.path} has ${teed} bytes, ${file.size} declared`, artifactDir);
    if (hash.hex() !== file.sha256) throw bad(`${file.path}: SHA-256 does not match the manifest`, artifactDir);
    if (loaded === undefined) throw bad(`${file.path} is not a ${WHAT}: ${(invalid as Error).message}`, artifactDir, invalid);
    const r = loaded.replayed;
    if (r.scanner.failure !== undefined) {
      throw bad(`${file.path} has an invalid frame at offset ${r.scanner.failure.offset} (${r.scanner.failure.reason})`, artifactDir);
    }
    if (r.pendingStart >= 0) throw bad(`${file.path} ends inside a batch (offset ${r.pendingStart})`, artifactDir);
    const cursor = WatchCursor.from(r.cursor).toHex();
    if (cursor !== manifest.cursor) throw bad(`the data's cursor ${cursor || 'none'} is not the manifest's ${manifest.cursor || 'none'}`, artifactDir);
    // Synced after the replay, so the kernel's writeback of the copy overlapped it.
    try { out.sync(); } catch (e) { throw ioError('fsync', tmp, e); }
    if (fs.stat(destPath) !== undefined) throw exists(destPath);
    try { fs.rename(tmp, destPath); } catch (e) { throw ioError('rename', destPath, e); }
    published = true;
    try { fs.syncDir(dir); } catch (e) { throw ioError('fsync directory', dir, e); }
    // The staged handle is the published file's: the store keeps it.
    acquired.add(out, (x) => x.close());
    out = undefined;
    return loaded;
  } catch (e) {
    if (!published) quietly(() => fs.remove(tmp));
    throw e;
  } finally {
    quietly(() => inp?.close());
    quietly(() => out?.close());
  }
}
