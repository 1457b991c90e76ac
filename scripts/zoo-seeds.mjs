/**
 * zoo-seeds.mjs — every built-in protocol over N seeds: verdict and kinds per seed, to compare the
 * oracle's verdicts before and after a change (no variant may be lost).
 *
 *   node scripts/zoo-seeds.mjs [--seeds 5] [--duration 1000] [--dist path/to/dist] [--protocol a,b]
 */
import { pathToFileURL } from 'node:url';
import path from 'node:path';

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
};
const seeds = Number(arg('seeds', 5));
const durationMs = Number(arg('duration', 1000));
const dist = path.resolve(arg('dist', new URL('../dist', import.meta.url).pathname));
const { runStress, listProtocols } = await import(pathToFileURL(path.join(dist, 'run/runner.js')).href);
const names = arg('protocol', '') ? arg('protocol', '').split(',') : (await listProtocols()).map((p) => p.name);
const rows = {};
for (let s = 1; s <= seeds; s++) {
  const res = await runStress({ protocol: names, durationMs, seed: 1000 + s });
  for (const p of res.protocols) {
    const kinds =
      Object.entries(p.violations)
        .filter(([, n]) => n > 0)
        .map(([k]) => k)
        .join('+') || '-';
    const mark = p.error ? `ERROR(${p.error.message.slice(0, 60)})` : `${p.verdict}:${kinds}`;
    (rows[p.name] ??= []).push(mark + (p.coverage && p.expect === 'sound' ? `(aba ${p.coverage.aba})` : ''));
  }
}
for (const [name, marks] of Object.entries(rows)) {
  const pass = marks.filter((m) => m.startsWith('pass')).length;
  console.log(`${name.padEnd(26)} ${pass}/${marks.length} pass  ${marks.join(' ')}`);
}
