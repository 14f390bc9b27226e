// Render the README's benchmark tables from the rows `npm run bench` last
// collected (bench/results/latest.jsonl): one table per bench file, one row
// per workload, one column per runtime, then Node's baseline and ratio.
//
//   node scripts/bench-tables.mjs            print the tables
//   node scripts/bench-tables.mjs --write    replace the README block between
//                                            <!-- bench:begin --> and <!-- bench:end -->
import { readFileSync, writeFileSync } from 'node:fs';

const RUNTIMES = ['node', 'deno', 'bun'];
const rows = readFileSync('bench/results/latest.jsonl', 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));

const fmt = (rate, unit) => {
  if (rate === undefined || Number.isNaN(rate)) return '-';
  if (unit === 'B/s') return `${(rate / 1e9).toFixed(2)} GB/s`;
  if (rate >= 1e6) return `${(rate / 1e6).toFixed(2)} M${unit}`;
  if (rate >= 1e3) return `${(rate / 1e3).toFixed(1)} k${unit}`;
  return `${rate.toFixed(0)} ${unit}`;
};
/** A row's figure: a rate, or a latency (p50/p99 in ms) for rows that measure delay. */
const figure = (r) => {
  if (!r) return '-';
  const ms = (v) => (v < 1 ? `${(v * 1000).toFixed(0)} µs` : `${v.toFixed(2)} ms`);
  if (r.unit === 'ms') return [r.p50 !== undefined ? `p50 ${ms(r.p50)}` : '', `p99 ${ms(r.p99)}`, r.p99PerTurn !== undefined ? `per-turn p99 ${ms(r.p99PerTurn)}` : ''].filter(Boolean).join(', ');
  return fmt(r.walcore, r.unit) + (r.rough ? ` (${r.rough})` : '');
};

const files = [...new Set(rows.map((r) => r.file ?? '(untagged)'))];
const out = [];
for (const file of files) {
  const mine = rows.filter((r) => (r.file ?? '(untagged)') === file);
  const names = [...new Set(mine.map((r) => r.name))];
  out.push(`**${file.replace(/\.bench\.js$/, '')}**`, '', `| workload | ${RUNTIMES.join(' | ')} | node's baseline | node ratio |`, `|---|${RUNTIMES.map(() => '---:').join('|')}|---|---:|`);
  for (const name of names) {
    const by = Object.fromEntries(RUNTIMES.map((rt) => [rt, mine.find((r) => r.name === name && r.runtime === rt)]));
    const n = by.node;
    const base = n && n.unit !== 'ms' && n.baselineName !== undefined && !Number.isNaN(n.baseline ?? NaN) ? `${fmt(n.baseline, n.unit)} (${n.baselineName})` : '-';
    const ratio = n && typeof n.ratio === 'number' && Number.isFinite(n.ratio) ? `${n.ratio.toFixed(2)}x` : '-';
    out.push(`| ${name} | ${RUNTIMES.map((rt) => figure(by[rt])).join(' | ')} | ${base} | ${ratio} |`);
  }
  out.push('');
}
const text = out.join('\n');
if (process.argv.includes('--write')) {
  const readme = readFileSync('README.md', 'utf8');
  const re = /(<!-- bench:begin -->\n)[\s\S]*?(<!-- bench:end -->)/;
  if (!re.test(readme)) throw new Error('README.md has no <!-- bench:begin --> ... <!-- bench:end --> block');
  writeFileSync('README.md', readme.replace(re, `$1${text}\n$2`));
  console.log(`README.md: ${rows.length} rows from bench/results/latest.jsonl`);
} else {
  console.log(text);
}
