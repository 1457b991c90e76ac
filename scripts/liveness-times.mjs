/**
 * liveness-times.mjs — time to catch a liveness bug over N seeds: for each seed, when the first
 * violation was reported and when the deadlock/stall witness was (ms since the run started).
 *
 *   node scripts/liveness-times.mjs [--protocol odp-nonblock-rwsem-leak] [--seeds 20] [--duration 5000]
 */
import { runStress } from '../dist/index.js';

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
};
const protocol = arg('protocol', 'odp-nonblock-rwsem-leak');
const seeds = Number(arg('seeds', 20));
const durationMs = Number(arg('duration', 5000));
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : null;
};
const first = [],
  live = [];
for (let seed = 1; seed <= seeds; seed++) {
  const r = await runStress({ protocol, seed, durationMs, stopOnViolation: false });
  const p = r.protocols[0];
  const w = p.witnesses.find((x) => x.kind === 'deadlock' || x.kind === 'stall');
  if (p.firstViolationMs !== null) first.push(p.firstViolationMs);
  if (w) live.push(w.atMs);
  console.log(
    `seed ${seed}: verdict ${p.verdict}, first violation ${p.firstViolationMs ?? '-'} ms, ${w ? `${w.kind} at ${w.atMs.toFixed(0)} ms: ${w.summary}` : 'no liveness witness'}`,
  );
}
console.log(
  `${protocol}: caught ${first.length}/${seeds} seeds, median first violation ${median(first)} ms; liveness witness ${live.length}/${seeds}, median ${median(live)?.toFixed(0)} ms`,
);
