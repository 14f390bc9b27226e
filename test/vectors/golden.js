// How the golden WAL file in wal-file-v1.hex is built, from the core's own
// encoders. scripts/make-vectors.mjs writes it (through vectors.js);
// test/vectors/vectors.test.js checks the committed bytes still equal what the
// core produces, test/format/wal-file.test.js does byte surgery on them and
// test/compat/wal-file.test.js opens them (a format change must be deliberate).
export const GOLDEN_SALT = 0x5eed0001;

/** [sequence, payload text, watermark] per frame; null sequence = sync marker. */
export const GOLDEN_FRAMES = [
  [1, 'hello', 64], // @64, 37 bytes; the header was durable when the file was created
  [2, 'world!', 64], // @101, 38 bytes; flush() made [0,139) durable
  [3, '!', 139], // @139, 33 bytes; flush() made [0,172) durable
  [null, '', 172], // @172, 32 bytes: the sync marker written after that flush
];
export const GOLDEN_OFFSETS = [64, 101, 139, 172, 204];

export function buildGolden(core) {
  const c = core.c;
  core.ensure(4096);
  let at = core.staging;
  at += core.x.encodeFileHeader(at, c.KIND_WAL_FILE, GOLDEN_SALT, 0, 0, 0);
  for (const [seq, text, mark] of GOLDEN_FRAMES) {
    const p = new TextEncoder().encode(text);
    core.u8.set(p, at + c.FRAME_HEADER_SIZE);
    at += core.x.encodeFrame(at, p.length, seq === null ? c.TYPE_SYNC_MARK : c.TYPE_EVENT, GOLDEN_SALT, seq ?? 0, 0, mark);
  }
  return core.u8.slice(core.staging, at);
}
