#!/usr/bin/env node
// Regenerates test/corpus/: for every built-in broken protocol (the kernel-history bugs included),
// the first failing schedule of a seeded controlled run (pct, else random), shrunk, stored as a
// one-witness report. `npm test` replays them (test/controlled.test.ts). Run after a change that
// alters schedules (a new hmmsim version, traced operations, the walk).
//
//   node scripts/corpus.mjs [name ...]   only these protocols (their old entries are replaced)
//
// A broken protocol that controlled mode does not find in 1,000 schedules of seed 1 under either
// strategy is reported and left out (controlled.test.ts lists those it does not find yet).
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runStress, listProtocols, shrink } from '../dist/index.js';
import { corpusName } from '../dist/schedule/corpus.js';

const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'test', 'corpus');
const only = process.argv.slice(2);
/** Entries written, formatted at the end as the repository's formatter wants them (format:check). */
const written = [];
mkdirSync(dir, { recursive: true });
const entryProtocol = (f) => JSON.parse(readFileSync(join(dir, f), 'utf8')).protocols[0].name;
for (const f of readdirSync(dir)) if (f.endsWith('.json') && (!only.length || only.includes(entryProtocol(f)))) rmSync(join(dir, f));
const missed = [];
for (const p of await listProtocols()) {
  if (p.expect === 'sound' || (only.length && !only.includes(p.name))) continue;
  let r;
  let w;
  for (const strategy of /** @type {const} */ (['pct', 'random'])) {
    r = await runStress({ protocol: p.name, mode: 'controlled', strategy, seed: 1, schedules: 1000, stopOnViolation: true });
    w = r.protocols[0].witnesses[0];
    if (w) break;
  }
  if (!w) {
    missed.push(p.name);
    console.log(`${p.name}: no violation in 1000 schedules of seed 1 (pct, random): not stored`);
    continue;
  }
  if (!w.schedule) throw new Error(`${p.name}: the witness has no schedule`);
  const s = await shrink({ schedule: w.schedule, witness: w, where: p.name }, { maxRuns: 600 });
  const name = corpusName(p.name, s.witness);
  const entry = {
    version: r.version,
    seed: s.schedule.seed,
    config: r.config,
    protocols: [{ name: p.name, expect: p.expect, witnesses: [s.witness] }],
  };
  writeFileSync(join(dir, name), JSON.stringify(entry, null, 2) + '\n');
  written.push(join(dir, name));
  console.log(
    `${name}: ${s.witness.kind}, ${s.schedule.strategy}, ${s.switchesBefore} -> ${s.switchesAfter} switches, ${s.witness.events.length} events (${s.runs} replays)`,
  );
}
if (missed.length) console.log(`not found, not stored: ${missed.join(', ')}`);
if (written.length)
  execFileSync(join(dirname(fileURLToPath(import.meta.url)), '..', 'node_modules', '.bin', 'biome'), ['format', '--write', ...written], {
    stdio: 'ignore',
  });
