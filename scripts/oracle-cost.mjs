/**
 * oracle-cost.mjs — the oracle's cost in one sitting, as paired measurements: each cell (a sound
 * protocol, 1 or 2 workers per role, a seed) runs with the oracle on and off back to back, the
 * order alternating from pass to pass, and the pair gives one on/off ratio. Background load that
 * drifts between two runs a second apart moves both sides of a pair alike, so the ratios are far
 * steadier than ops/s (which a shared machine moves by 2x). Prints each cell's median ratio, and
 * the median and interquartile range of all pairs; with --before, the same for an older build, the
 * builds taking turns within every pass.
 *
 *   node scripts/oracle-cost.mjs [--passes 3] [--seeds 2] [--ms 600]      this build alone
 *   node scripts/oracle-cost.mjs --before /path/to/old/dist [--passes 3]
 */
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { workerCounts } from '../bench/throughput.mjs';

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
};
const SOUND = ['interval-v5.5', 'odp-v5.4', 'kvm'];
const after = path.resolve(new URL('../dist', import.meta.url).pathname);
const before = arg('before', '');
/** @type {Record<string, string>} */
const builds = before ? { before: path.resolve(before), after } : { this: after };
const passes = Number(arg('passes', 3));
const seeds = Number(arg('seeds', 2));
const durationMs = Number(arg('ms', 600));
const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  const i = (s.length - 1) * q;
  return s[Math.floor(i)] + (s[Math.ceil(i)] - s[Math.floor(i)]) * (i - Math.floor(i));
};
const load = () =>
  os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');

const mods = {};
for (const [label, dist] of Object.entries(builds)) mods[label] = await import(pathToFileURL(path.join(dist, 'index.js')).href);

/** One run's ops/s (throws on a harness error). */
async function opsPerSec(mod, protocol, workers, oracle, seed) {
  const res = await mod.runStress({
    protocol,
    durationMs,
    roles: { cpu: workers, invalidator: workers, driver: workers, dma: workers },
    oracle,
    recordEvents: oracle,
    widenWindows: false,
    seed,
  });
  const p = res.protocols[0];
  if (p.error) throw new Error(`${protocol}: ${p.error.message}`);
  return p.opsPerSec;
}

const cells = [];
for (const protocol of SOUND)
  for (const workers of workerCounts()) for (let s = 0; s < seeds; s++) cells.push({ protocol, workers, seed: 1000 + s });
/** ratios[label][cell key] = on/off ratio of each pass */
const ratios = Object.fromEntries(Object.keys(builds).map((label) => [label, {}]));
console.log(
  `oracle-cost: ${cells.length} cells x ${passes} passes x ${Object.keys(builds).length} build(s), ${durationMs} ms a run, load ${load()}`,
);
for (let pass = 0; pass < passes; pass++) {
  const labels = Object.keys(builds);
  if (pass % 2) labels.reverse(); // builds take turns going first
  for (const cell of cells)
    for (const label of labels) {
      const order = (pass + cells.indexOf(cell)) % 2 ? [false, true] : [true, false]; // on first, or off first
      const ops = {};
      for (const oracle of order) ops[oracle] = await opsPerSec(mods[label], cell.protocol, cell.workers, oracle, cell.seed);
      const key = `${cell.protocol} w${cell.workers} seed ${cell.seed}`;
      (ratios[label][key] ??= []).push(ops.true / ops.false);
    }
  console.log(`  pass ${pass + 1}/${passes} done, load ${load()}`);
}
for (const [label, byCell] of Object.entries(ratios)) {
  const all = Object.values(byCell).flat();
  for (const [key, xs] of Object.entries(byCell))
    console.log(
      `${label} ${key.padEnd(30)} oracle on/off median ${quantile(xs, 0.5).toFixed(3)}  (${xs.map((x) => x.toFixed(3)).join(', ')})`,
    );
  console.log(
    `${label}: oracle on/off over ${all.length} pairs (${Object.keys(byCell).length} cells x ${passes} passes): median ${quantile(all, 0.5).toFixed(3)}, ` +
      `interquartile ${quantile(all, 0.25).toFixed(3)}-${quantile(all, 0.75).toFixed(3)}, median of cell medians ` +
      `${quantile(
        Object.values(byCell).map((xs) => quantile(xs, 0.5)),
        0.5,
      ).toFixed(3)}`,
  );
}
console.log(`load at the end ${load()}`);
