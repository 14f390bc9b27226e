// The one container syntax of every `test/vectors/*.hex` file (docs/FORMAT.md
// §8), so that one loader reads the vectors of every log kind:
//
//   # file: <name>   starts a file called <name>; the lines below are its bytes
//   # zeros: <n>     <n> zero bytes (long zero runs, such as a ring's gaps)
//   # <anything>     any other line starting with '#' is a comment
//   <hex>            bytes as two hex digits each, separated by spaces
//
// Blank lines are ignored. A vector holds one `# file:` section per file: one
// for the single-file WAL and the ring, one per segment for a SegmentedWal
// directory, in the order the files sort. The writer puts 16 bytes on a line
// and replaces a run of at least 4 all-zero lines by one `# zeros:` line.

const ZERO_RUN_LINES = 4;

/** Parse a vector's text into [{ name, bytes }], in file order. */
export function parseVector(text) {
  const files = [];
  let cur;
  let lineNo = 0;
  for (const raw of text.split('\n')) {
    lineNo++;
    const line = raw.trim();
    if (line === '') continue;
    let m;
    if ((m = /^# file: (\S+)$/.exec(line))) {
      if (files.some((f) => f.name === m[1])) throw new Error(`line ${lineNo}: file ${m[1]} appears twice`);
      cur = { name: m[1], parts: [] };
      files.push(cur);
    } else if ((m = /^# zeros: (\d+)$/.exec(line))) {
      if (!cur) throw new Error(`line ${lineNo}: bytes before the first "# file:" line`);
      cur.parts.push(new Uint8Array(Number(m[1])));
    } else if (line.startsWith('#')) {
      continue;
    } else {
      if (!cur) throw new Error(`line ${lineNo}: bytes before the first "# file:" line`);
      const pairs = line.split(/\s+/);
      if (!pairs.every((p) => /^[0-9a-f]{2}$/.test(p))) throw new Error(`line ${lineNo}: not hex bytes: ${line}`);
      cur.parts.push(Uint8Array.from(pairs, (p) => parseInt(p, 16)));
    }
  }
  return files.map(({ name, parts }) => {
    const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) { bytes.set(p, at); at += p.length; }
    return { name, bytes };
  });
}

/**
 * Format files as a vector. `comments` are lines put first; each file may
 * carry its own `comments`, put just before its `# file:` line.
 */
export function formatVector(comments, files) {
  const out = comments.map((c) => `# ${c}`.trimEnd());
  for (const { name, bytes, comments: notes = [] } of files) {
    if (!/^\S+$/.test(name)) throw new Error(`file name without spaces expected: ${name}`);
    out.push('');
    for (const c of notes) out.push(`# ${c}`.trimEnd());
    out.push(`# file: ${name}`);
    const lines = [];
    for (let i = 0; i < bytes.length; i += 16) lines.push(bytes.subarray(i, i + 16));
    for (let i = 0; i < lines.length;) {
      let j = i;
      while (j < lines.length && lines[j].length === 16 && lines[j].every((b) => b === 0)) j++;
      if (j - i >= ZERO_RUN_LINES) {
        out.push(`# zeros: ${(j - i) * 16}`);
        i = j;
      } else {
        out.push(Array.from(lines[i], (b) => b.toString(16).padStart(2, '0')).join(' '));
        i++;
      }
    }
  }
  return out.join('\n') + '\n';
}
