// A tiny static HTTP server on 127.0.0.1 (a free port) for the browser test
// and `npm run example:browser`: it serves dist/ and examples/browser/ from
// the package root, plus any in-memory files the caller adds. 127.0.0.1 is a
// secure context, so OPFS is available without TLS.
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const PACKAGE = fileURLToPath(new URL('..', import.meta.url));
const MOUNTS = ['/dist/', '/examples/browser/'];
const TYPES = { '.js': 'text/javascript', '.mjs': 'text/javascript', '.html': 'text/html', '.map': 'application/json', '.json': 'application/json', '.css': 'text/css' };

/** Start serving; `files` maps extra URL paths to { body, type }. Resolves to { url, close() }. */
export async function startStaticServer({ port = 0, files = {} } = {}) {
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    const send = (status, body, type = 'text/plain') => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    if (files[path]) return send(200, files[path].body, files[path].type);
    const target = path === '/' ? '/examples/browser/index.html' : path.endsWith('/') ? `${path}index.html` : path;
    if (!MOUNTS.some((m) => target.startsWith(m))) return send(404, 'not found');
    const file = resolve(PACKAGE, `.${normalize(target)}`);
    if (!file.startsWith(PACKAGE)) return send(404, 'not found');
    try {
      send(200, await readFile(file), TYPES[extname(file)] ?? 'application/octet-stream');
    } catch {
      send(404, 'not found');
    }
  });
  await new Promise((ok, fail) => { server.once('error', fail); server.listen(port, '127.0.0.1', ok); });
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    close: () => new Promise((ok) => { server.closeAllConnections?.(); server.close(() => ok()); }),
  };
}

// `node scripts/static-server.mjs [port]`: serve the browser example until interrupted.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { url } = await startStaticServer({ port: Number(process.argv[2] ?? 8080) });
  console.log(`walcore browser example: open ${url}/examples/browser/ (Ctrl-C to stop)`);
}
