/**
 * liveness-times.mjs — time to catch a liveness bug over N seeds: for each seed, when the first
 * violation was reported and when the deadlock/stall witness was (ms since the run started).
 * With --before, an older build runs each seed too, the two taking turns going first, so both see
 * the same background load; compare their medians as a ratio.
 *
 *   node scripts/liveness-times.mjs [--protocol odp-nonblock-rwsem-leak] [--seeds 20] [--duration 5000]
 *   node scripts/liveness-times.mjs --before /path/to/old/dist [--seeds 20]
 */
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
};
const protocol = arg('protocol', 'odp-nonblock-rwsem-leak');
const seeds = Number(arg('seeds', 20));
const durationMs = Number(arg('duration', 5000));
const before = arg('before', '');
const after = path.resolve(new URL('../dist', import.meta.url).pathname);
/** @type {Record<string, string>} */
const builds = before ? { before: path.resolve(before), after } : { this: after };
const libs = {};
for (const [label, dist] of Object.entries(builds)) libs[label] = await import(pathToFileURL(path.join(dist, 'index.js')).href);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : null;
};
const load = () =>
  os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
console.log(`${protocol}: ${seeds} seeds, ${Object.keys(builds).join(' and ')}, load ${load()}`);
/** @type {Record<string, number[]>} */
const first = Object.fromEntries(Object.keys(builds).map((k) => [k, []]));
/** @type {Record<string, number[]>} */
const live = Object.fromEntries(Object.keys(builds).map((k) => [k, []]));
for (let seed = 1; seed <= seeds; seed++) {
  const labels = Object.keys(builds);
  if (seed % 2 === 0) labels.reverse();
  for (const label of labels) {
    const r = await libs[label].runStress({ protocol, seed, durationMs, stopOnViolation: false });
    const p = r.protocols[0];
    const w = p.witnesses.find((x) => x.kind === 'deadlock' || x.kind === 'stall');
    if (p.firstViolationMs !== null) first[label].push(p.firstViolationMs);
    if (w) live[label].push(w.atMs);
    console.log(
      `${label === 'this' ? '' : `${label}: `}seed ${seed}: verdict ${p.verdict}, first violation ${p.firstViolationMs ?? '-'} ms, ` +
        `${w ? `${w.kind} at ${w.atMs.toFixed(0)} ms: ${w.summary}` : 'no liveness witness'}`,
    );
  }
}
for (const label of Object.keys(builds))
  console.log(
    `${label === 'this' ? '' : `${label}: `}${protocol}: caught ${first[label].length}/${seeds} seeds, median first violation ` +
      `${median(first[label])} ms; liveness witness ${live[label].length}/${seeds}, median ${median(live[label])?.toFixed(0)} ms`,
  );
if (before) {
  const [b, a] = [median(live.before), median(live.after)];
  if (a !== null && b !== null) console.log(`liveness witness median, after / before: ${(a / b).toFixed(2)}`);
}
console.log(`load at the end ${load()}`);
