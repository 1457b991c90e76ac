/**
 * oracle-cost.mjs — the oracle's cost in one sitting: bench/throughput.mjs's throughput section
 * (quick cells: each sound protocol, 1 and 2 workers per role, oracle on and off, interleaved in
 * every pass) for this build, and with --before for an older build too, in turn; several passes,
 * medians of ops/s with the oracle on and off, and the on/off ratio for each.
 *
 *   node scripts/oracle-cost.mjs [--passes 5]                         this build alone
 *   node scripts/oracle-cost.mjs --before /path/to/old/dist [--passes 3]
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { runThroughput } from '../bench/throughput.mjs';

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
};
const after = path.resolve(new URL('../dist', import.meta.url).pathname);
const before = arg('before', '');
/** @type {Record<string, string>} */
const builds = before ? { before: path.resolve(before), after } : { this: after };
const passes = Number(arg('passes', 3));
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const samples = {};
for (let pass = 0; pass < passes; pass++)
  for (const [label, dist] of Object.entries(builds)) {
    const mod = await import(pathToFileURL(path.join(dist, 'run/runner.js')).href);
    const t = await runThroughput({ quick: true, log: () => {}, mod });
    for (const row of t.rows)
      (samples[`${label} ${row.protocol} w${row.workers} oracle ${row.oracle ? 'on' : 'off'}`] ??= []).push(row.opsPerSec);
  }
const med = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)]));
for (const [k, v] of Object.entries(med))
  console.log(`${k.padEnd(44)} ${Math.round(v).toLocaleString('en-US').padStart(12)} ops/s  (${samples[k].map(Math.round).join(', ')})`);
for (const label of Object.keys(builds)) {
  const ratios = [];
  for (const key of Object.keys(med).filter((k) => k.startsWith(label) && k.endsWith('oracle on'))) {
    const off = med[key.replace('oracle on', 'oracle off')];
    ratios.push(med[key] / off);
    console.log(`${key.replace(' oracle on', '')}: oracle on/off = ${(med[key] / off).toFixed(3)}`);
  }
  console.log(`${label}: median oracle on/off over ${ratios.length} cells = ${median(ratios).toFixed(3)} (${passes} passes)`);
}
