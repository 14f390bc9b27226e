// The browser run (Node only; scripts/test.mjs runs test/browser/ in Node
// alone): serve dist/ and a test page on 127.0.0.1, start Debian's chromium
// headless through playwright-core (it downloads nothing), and in dedicated
// workers run worker.js against dist/browser.js: the FileSystem conformance
// cases over OpfsFileSystem, the lifecycle cases, each log's basics, a second
// worker refused with LOCKED, logs moved between OPFS and Node both ways, the
// example page, and a benchmark against Node. Prints uvu's Total/Passed/
// Skipped lines so the runner counts the cases. Without chromium: skipped.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { RingLog, WalFsReader, WalFsWriter } from 'walcore';
import { startStaticServer } from '../../scripts/static-server.mjs';

const ROOT = new URL('../../', import.meta.url);
const BENCH_RECORDS = Number(process.env.WALCORE_BROWSER_BENCH_RECORDS ?? 200_000);
const DEADLINE_MS = 150_000;

function findChromium() {
  if (process.env.WALCORE_CHROMIUM) return process.env.WALCORE_CHROMIUM;
  for (const name of ['chromium', 'chromium-browser']) {
    try {
      return execFileSync('which', [name], { encoding: 'utf8' }).trim() || undefined;
    } catch { /* not on PATH */ }
  }
  return undefined;
}

const results = [];
const record = (suite, name, ok, error) => {
  results.push({ suite, name, ok });
  console.log(`${ok ? '  ok  ' : '  FAIL'} ${suite}: ${name}${ok ? '' : `\n${String(error).split('\n').map((l) => `        ${l}`).join('\n')}`}`);
};
async function check(suite, name, fn) {
  try {
    await fn();
    record(suite, name, true);
  } catch (e) {
    record(suite, name, false, e?.stack ?? e);
  }
}
function summary(skipped = 0) {
  const passed = results.filter((r) => r.ok).length;
  console.log(`\n  Total:     ${results.length + skipped}\n  Passed:    ${passed}\n  Skipped:   ${skipped}`);
  return passed === results.length;
}
const equal = (a, b, what) => {
  if (JSON.stringify(a) !== JSON.stringify(b)) throw new Error(`${what}: expected ${JSON.stringify(b)}, got ${JSON.stringify(a)}`);
};

const executablePath = findChromium();
if (executablePath === undefined || !existsSync(executablePath)) {
  console.log('skipped: chromium not installed (apt-get install chromium)');
  summary(1);
  process.exit(0);
}

const PAGE = `<!doctype html><meta charset="utf-8"><title>walcore browser tests</title>
<script type="module">
  const workers = [];
  let next = 0;
  const pending = new Map();
  window.spawn = () => new Promise((resolve, reject) => {
    const w = new Worker('/test/worker.js', { type: 'module' });
    const id = workers.push(w) - 1;
    w.onerror = (e) => reject(new Error('worker failed to start: ' + e.message));
    w.onmessage = ({ data }) => {
      if (data === 'ready') return resolve(id);
      const p = pending.get(data.id);
      pending.delete(data.id);
      data.ok ? p.resolve(data.result) : p.reject(new Error(data.error));
    };
  });
  window.call = (worker, fn, ...args) => new Promise((resolve, reject) => {
    const id = next++;
    pending.set(id, { resolve, reject });
    workers[worker].postMessage({ id, fn, args });
  });
  window.kill = (worker) => workers[worker].terminate();
</script>`;

const started = Date.now();
const deadline = setTimeout(() => {
  console.log(`FAIL: the browser run passed its ${DEADLINE_MS / 1000}s deadline`);
  summary();
  console.log('  (counted as a failure)');
  process.exit(1);
}, DEADLINE_MS);
deadline.unref();

const bundle = await build({
  entryPoints: [new URL('worker.js', import.meta.url).pathname],
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  write: false,
  logLevel: 'warning',
  plugins: [{ name: 'walcore-dist', setup(b) { b.onResolve({ filter: /^walcore$/ }, () => ({ path: '/dist/browser.js', external: true })); } }],
});
const server = await startStaticServer({
  files: {
    '/test/page.html': { body: PAGE, type: 'text/html' },
    '/test/worker.js': { body: bundle.outputFiles[0].text, type: 'text/javascript' },
  },
});
const profile = mkdtempSync(join(tmpdir(), 'walcore-chromium-'));
const { chromium } = await import('playwright-core');
let context;
let ok = false;
try {
  // A persistent profile, so OPFS lives on disk (an off-the-record context keeps it in memory).
  context = await chromium.launchPersistentContext(profile, {
    executablePath, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'], timeout: 60_000,
  });
  const page = context.pages()[0] ?? await context.newPage();
  page.on('pageerror', (e) => console.log(`page error: ${e.message}`));
  await page.goto(`${server.url}/test/page.html`);
  const spawn = () => page.evaluate(() => window.spawn());
  const call = (w, fn, ...args) => page.evaluate(([w, fn, args]) => window.call(w, fn, ...args), [w, fn, args]);
  const main = await spawn();

  for (const fn of ['conformance', 'lifecycle', 'logs']) {
    let got;
    try {
      got = await call(main, fn);
    } catch (e) {
      record(fn, 'worker call', false, e.message);
      continue;
    }
    for (const r of got) record(`opfs ${fn}`, r.name, r.ok, r.error);
  }

  await check('two workers', 'a second worker is LOCKED while the first holds the pool; free at once after terminate', async () => {
    const a = await spawn();
    await call(a, 'hold', 'walcore-held', 5);
    const b = await spawn();
    const refused = await call(b, 'tryPool', 'walcore-held');
    equal(refused.code, 'LOCKED', `second pool: ${refused.message}`);
    await page.evaluate((a) => window.kill(a), a);
    let got;
    for (let i = 0; i < 20; i++) { // "released at once", measured; allow a little slack for a loaded machine
      got = await call(b, 'tryPool', 'walcore-held');
      if (got.code === 'ok') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    equal(got, { code: 'ok', events: 5 }, 'after terminate');
  });

  const dir = mkdtempSync(join(tmpdir(), 'walcore-browser-node-'));
  try {
    await check('cross-environment', 'a WalFsWriter log written in OPFS opens in Node', async () => {
      const bytes = Buffer.from(await call(main, 'writeForNode', 'walcore-to-node', 50), 'base64');
      writeFileSync(join(dir, 'browser.wal'), bytes);
      const got = [...WalFsReader.open(join(dir, 'browser.wal'))].map((e) => new TextDecoder().decode(e.payload));
      equal(got, Array.from({ length: 50 }, (_, i) => `from the browser ${i + 1}`), 'events');
      const w = WalFsWriter.open(join(dir, 'browser.wal')); // and Node can keep appending to it
      equal(w.currentSequence, 50, 'sequence');
      w.close();
    });
    await check('cross-environment', 'a Node-written WalFsWriter log and RingLog copied into OPFS open in the browser', async () => {
      const w = WalFsWriter.open(join(dir, 'node.wal'));
      for (let i = 1; i <= 30; i++) w.append({ sequence: i, payload: Buffer.from(`from node ${i}`) });
      w.flush();
      w.close();
      const wal = await call(main, 'readFromNode', 'walcore-from-node', 'wal', readFileSync(join(dir, 'node.wal')).toString('base64'));
      equal(wal, Array.from({ length: 30 }, (_, i) => `from node ${i + 1}`), 'wal events');
      const r = RingLog.open(join(dir, 'node.ring'), { capacity: 8, slotSize: 64 });
      for (let i = 1; i <= 12; i++) r.append(Buffer.from(`ring ${i}`));
      r.sync();
      r.close();
      const ring = await call(main, 'readFromNode', 'walcore-from-node', 'ring', readFileSync(join(dir, 'node.ring')).toString('base64'));
      equal(ring, Array.from({ length: 8 }, (_, i) => `ring ${i + 5}`), 'ring records');
    });

    await check('bench', `buffered append and replay of ${BENCH_RECORDS} x 100 B, OPFS vs Node`, async () => {
      const b = await call(main, 'bench', BENCH_RECORDS, 100);
      const payload = new Uint8Array(100).fill(7);
      let t = performance.now();
      const w = WalFsWriter.open(join(dir, 'bench.wal'));
      for (let i = 1; i <= BENCH_RECORDS; i++) w.append({ sequence: i, payload });
      w.flush();
      w.close();
      const appendMs = performance.now() - t;
      t = performance.now();
      let count = 0;
      for (const e of WalFsReader.open(join(dir, 'bench.wal'))) count += e.payload.length === 100 ? 1 : 0;
      const replayMs = performance.now() - t;
      equal(count, BENCH_RECORDS, 'node replay');
      const rate = (ms) => `${((BENCH_RECORDS / ms) * 1000 / 1e6).toFixed(2)} M rec/s`;
      console.log(`bench: append  browser ${b.appendMs.toFixed(0)} ms (${rate(b.appendMs)}), node ${appendMs.toFixed(0)} ms (${rate(appendMs)}): browser/node throughput ${(appendMs / b.appendMs).toFixed(2)}x`);
      console.log(`bench: replay  browser ${b.replayMs.toFixed(0)} ms (${rate(b.replayMs)}), node ${replayMs.toFixed(0)} ms (${rate(replayMs)}): browser/node throughput ${(replayMs / b.replayMs).toFixed(2)}x`);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  await check('example', 'examples/browser appends in OPFS and replays on reload', async () => {
    const load = async () => {
      await page.goto(`${server.url}/examples/browser/`);
      await page.waitForSelector('body[data-done]', { timeout: 20_000 });
      const done = await page.evaluate(() => [document.body.dataset.done, document.getElementById('out').textContent]);
      if (done[0] !== 'ok') throw new Error(`example failed: ${done[1]}`);
      return Number(await page.evaluate(() => document.body.dataset.events));
    };
    const first = await load();
    const second = await load();
    equal(second, first + 1, 'events after a reload');
  });

  await check('bundle', 'dist/browser.js imports no node:* module', () => {
    const text = readFileSync(new URL('dist/browser.js', ROOT), 'utf8');
    const hit = /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|\bimport\s+)["']node:[^"']*["']/.exec(text);
    if (hit) throw new Error(`found ${hit[0]}`);
  });
  ok = true;
} catch (e) {
  record('browser', 'the run', false, e?.stack ?? e);
} finally {
  await context?.close().catch(() => {});
  await server.close();
  rmSync(profile, { recursive: true, force: true });
}
console.log(`browser run: ${((Date.now() - started) / 1000).toFixed(1)}s`);
const allPassed = summary() && ok;
process.exit(allPassed ? 0 : 1);
