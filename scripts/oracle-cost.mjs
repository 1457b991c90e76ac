/**
 * oracle-cost.mjs — the oracle's cost, before and after a change, in one sitting: bench/throughput.mjs's
 * throughput section (quick cells) for two builds in turn, several passes, medians of ops/s with
 * the oracle on and off, and the on/off ratio for each.
 *
 *   node scripts/oracle-cost.mjs --before /path/to/old/dist [--passes 3]
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { runThroughput } from '../bench/throughput.mjs';

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
};
const builds = { before: path.resolve(arg('before', '')), after: path.resolve(new URL('../dist', import.meta.url).pathname) };
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
for (const label of Object.keys(builds))
  for (const key of Object.keys(med).filter((k) => k.startsWith(label) && k.endsWith('oracle on'))) {
    const off = med[key.replace('oracle on', 'oracle off')];
    console.log(`${key.replace(' oracle on', '')}: oracle on/off = ${(med[key] / off).toFixed(3)}`);
  }
