#!/usr/bin/env node
// Regenerates test/corpus/: for every built-in broken protocol, the first failing schedule of a
// seeded controlled run (pct), shrunk, stored as a one-witness report. `npm test` replays them
// (test/controlled.test.ts). Run after a change that alters schedules (a new hmmsim version).
// A kernel-history bug is searched with pct, then random; one not found in 1000 schedules has no
// entry (test/controlled.test.ts's NOT_YET). `npm run corpus -- NAME...` records only those
// protocols and keeps the rest of the corpus.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runStress, listProtocols, shrink } from '../dist/index.js';
import { corpusName } from '../dist/schedule/corpus.js';

const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'test', 'corpus');
mkdirSync(dir, { recursive: true });
const only = process.argv.slice(2);
for (const f of readdirSync(dir))
  if (f.endsWith('.json') && (!only.length || only.some((name) => f.startsWith(`${name}-`)))) rmSync(join(dir, f));
for (const p of await listProtocols()) {
  if (p.expect === 'sound' || (only.length && !only.includes(p.name))) continue;
  let r;
  let w;
  /** @type {('pct' | 'random')[]} */
  const strategies = p.history ? ['pct', 'random'] : ['pct'];
  for (const strategy of strategies) {
    r = await runStress({ protocol: p.name, mode: 'controlled', strategy, seed: 1, schedules: 1000, stopOnViolation: true });
    w = r.protocols[0].witnesses[0];
    if (w) break;
  }
  if (!w && p.history) {
    console.log(`${p.name}: no violation in 1000 schedules (pct, random): no entry`);
    continue;
  }
  if (!w) throw new Error(`${p.name}: no violation in 1000 schedules`);
  if (!w.schedule) throw new Error(`${p.name}: the witness has no schedule`);
  const s = await shrink({ schedule: w.schedule, witness: w, where: p.name }, { maxRuns: 200 });
  const name = corpusName(p.name, s.witness);
  const entry = {
    version: r.version,
    seed: s.schedule.seed,
    config: r.config,
    protocols: [{ name: p.name, expect: p.expect, witnesses: [s.witness] }],
  };
  writeFileSync(join(dir, name), JSON.stringify(entry, null, 2) + '\n');
  console.log(
    `${name}: ${s.witness.kind}, ${s.switchesBefore} -> ${s.switchesAfter} switches, ${s.witness.events.length} events (${s.runs} replays)`,
  );
}
