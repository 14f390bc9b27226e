// The three runtimes, all from this package's own devDependencies (Node is
// the one running npm).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const bin = (name) => fileURLToPath(new URL(`../node_modules/.bin/${name}`, import.meta.url));

/** argv prefix that runs a script in runtime `rt`. */
export function runtimeCommand(rt) {
  if (rt === 'node') return [process.execPath];
  if (rt === 'deno') return [bin('deno'), 'run', '-A', '--no-lock'];
  if (rt === 'bun') return [bin('bun')];
  throw new Error(`unknown runtime ${rt}`);
}

export function haveRuntime(rt) {
  return rt === 'node' || existsSync(bin(rt));
}

/** Files under `dir` (recursively), as paths relative to it, sorted. */
function walk(dir, readdir, prefix = '') {
  const out = [];
  for (const e of readdir(`${dir}/${prefix}`, { withFileTypes: true })) {
    if (e.isDirectory()) out.push(...walk(dir, readdir, `${prefix}${e.name}/`));
    else out.push(`${prefix}${e.name}`);
  }
  return out;
}

/**
 * Parse `[--runtime a,b] [filter ...]` and list the files under `dir` (in
 * subfolders too) ending in `suffix` whose path relative to `dir` contains a filter.
 */
export function selectFiles(argv, dir, suffix, readdir) {
  let runtimes = ['node', 'deno', 'bun'];
  const filters = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--runtime') runtimes = argv[++i].split(',');
    else filters.push(argv[i]);
  }
  const files = walk(dir, readdir).filter((f) => f.endsWith(suffix) && (filters.length === 0 || filters.some((p) => f.includes(p)))).sort();
  return { runtimes, files };
}
