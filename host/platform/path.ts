/**
 * Path arithmetic on '/'-separated paths, without node:path (so the logs and
 * the in-memory simulator load where node:path does not exist). Logs build
 * paths only by joining a directory and a name they made themselves, and
 * split a user's path into its directory and base name.
 */

/** The directory part of `path` ('.' for a bare name, '/' for a file in the root). */
export function dirname(path: string): string {
  const trimmed = path.length > 1 ? path.replace(/\/+$/, '') : path;
  const i = trimmed.lastIndexOf('/');
  if (i < 0) return '.';
  if (i === 0) return '/';
  return trimmed.slice(0, i);
}

/** The last component of `path`. */
export function basename(path: string): string {
  const trimmed = path.length > 1 ? path.replace(/\/+$/, '') : path;
  return trimmed.slice(trimmed.lastIndexOf('/') + 1);
}

/** `dir` + '/' + `name`. */
export function join(dir: string, name: string): string {
  return dir.endsWith('/') ? `${dir}${name}` : `${dir}/${name}`;
}

/**
 * The components of `path` with '.' and empty parts dropped and '..'
 * applied ("/a/./b/../c/" → ['a', 'c']): the in-memory and OPFS file systems
 * name files by these. TypeError for an empty or non-string path.
 */
export function pathParts(path: string): string[] {
  if (typeof path !== 'string' || path.length === 0) throw new TypeError('path must be a non-empty string');
  const parts: string[] = [];
  for (const p of path.split('/')) {
    if (p === '' || p === '.') continue;
    if (p === '..') parts.pop();
    else parts.push(p);
  }
  return parts;
}
