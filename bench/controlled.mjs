#!/usr/bin/env node
/**
 * controlled.mjs — the controlled-mode section (docs/cli.md "Controlled mode"), run beside the
 * free-running figures:
 *
 *   speed:   per sound protocol, scheduling points/s and schedules/s (pct and random);
 *   find:    per broken protocol, schedules to the first violation over N seeds (20 in a full
 *            pass), pct and random: median, max, how many seeds found one within 1,000;
 *   clean:   sound protocols, violations over M schedules (--clean M; 0 is the only pass);
 *   detect:  time to detect, free-running (stopOnViolation, seeded) vs controlled (pct), median
 *            over the same seeds.
 *
 * `node bench/controlled.mjs [--quick] [--seeds N] [--clean M] [--sections speed,find,clean,detect]
 * [--protocols a,b] [--out FILE]` prints a Markdown table per section (only those named; the
 * protocols named, else every one) and writes the JSON (default bench/results/controlled.json).
 */
import os from 'node:os';
import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runStress, listProtocols } from '../dist/index.js';
import { schedulesToFirst } from './lib/controlled-find.mjs';

const args = process.argv.slice(2);
const opt = (k) => (args.includes(k) ? args[args.indexOf(k) + 1] : undefined);
const quick = args.includes('--quick');
const seeds = Number(opt('--seeds') ?? (quick ? 5 : 20));
const cleanN = Number(opt('--clean') ?? (quick ? 300 : 100_000));
const out = opt('--out') ?? join(dirname(fileURLToPath(import.meta.url)), 'results', 'controlled.json');
const MAX = 1000;
/** @type {('pct' | 'random')[]} */
const STRATEGIES = ['pct', 'random'];
/** @param {number[]} xs */
const med = (xs) => (xs.length ? xs.slice().sort((a, b) => a - b)[xs.length >> 1] : null);
const sections = new Set((opt('--sections') ?? 'speed,find,clean,detect').split(','));
const only = opt('--protocols')?.split(',');
const protos = (await listProtocols()).filter((p) => !only || only.includes(p.name));
const sound = protos.filter((p) => p.expect === 'sound').map((p) => p.name);
const broken = protos.filter((p) => p.expect !== 'sound').map((p) => p.name);
/** @type {{ machine: object, quick: boolean, seeds: number, speed: any[], find: any[], clean: any[], detect: any[] }} */
const res = {
  machine: { cpu: os.cpus()[0]?.model, cores: os.cpus().length, node: process.version, load: os.loadavg() },
  quick,
  seeds,
  speed: [],
  find: [],
  clean: [],
  detect: [],
};

if (sections.has('speed')) {
  console.log(
    '## speed (sound protocols, 200 schedules of 2,000 points)\n\n| protocol | strategy | points/s | schedules/s | switches/schedule |\n|---|---|---|---|---|',
  );
  for (const name of sound)
    for (const strategy of STRATEGIES) {
      const c = /** @type {any} */ (
        (await runStress({ protocol: name, mode: 'controlled', strategy, seed: 1, schedules: quick ? 50 : 200 })).protocols[0].controlled
      );
      res.speed.push({ protocol: name, strategy, ...c });
      console.log(
        `| ${name} | ${strategy} | ${c.pointsPerSec.toLocaleString('en-US')} | ${c.schedulesPerSec} | ${Math.round(c.switches / c.schedules)} |`,
      );
    }
}

if (sections.has('find')) {
  console.log(
    `\n## schedules to the first violation (${seeds} seeds, at most ${MAX} schedules each)\n\n| protocol | strategy | found | median | max | median ms |\n|---|---|---|---|---|---|`,
  );
  for (const name of broken)
    for (const strategy of STRATEGIES) {
      // seeds 1, 1001, 2001, ...: each as `stress --mode controlled --seed S --stop-on-violation` counts
      const rows = await schedulesToFirst(
        name,
        strategy,
        Array.from({ length: seeds }, (_, s) => 1000 * s + 1),
        MAX,
      );
      const firsts = rows.filter((r) => r.first !== null).map((r) => /** @type {number} */ (r.first));
      const ms = rows.filter((r) => r.ms !== null).map((r) => /** @type {number} */ (r.ms));
      res.find.push({
        protocol: name,
        strategy,
        found: firsts.length,
        seeds,
        median: med(firsts),
        max: firsts.length ? Math.max(...firsts) : null,
        medianMs: med(ms),
        firsts: rows.map((r) => r.first),
      });
      console.log(
        `| ${name} | ${strategy} | ${firsts.length}/${seeds} | ${med(firsts) ?? '-'} | ${firsts.length ? Math.max(...firsts) : '-'} | ${med(ms) ?? '-'} |`,
      );
    }
}

if (sections.has('clean')) {
  console.log(
    `\n## sound protocols, ${cleanN.toLocaleString('en-US')} schedules each (pct, then random for a tenth)\n\n` +
      '| protocol | schedules | points | violations | harness errors | wall s | schedules/s |\n|---|---|---|---|---|---|---|',
  );
  for (const name of sound) {
    let schedules = 0,
      points = 0,
      violations = 0,
      errors = 0;
    /** @type {string[]} */
    const messages = [];
    const t0 = performance.now();
    for (const [strategy, n] of /** @type {[('pct' | 'random'), number][]} */ ([
      ['pct', cleanN],
      ['random', Math.ceil(cleanN / 10)],
    ])) {
      const p = /** @type {any} */ (
        (await runStress({ protocol: name, mode: 'controlled', strategy, seed: 77, schedules: n })).protocols[0]
      );
      schedules += p.controlled.schedules;
      points += p.controlled.points;
      errors += p.controlled.harnessErrors;
      if (p.error) messages.push(p.error.message);
      violations += Object.values(p.violations).reduce((/** @type {number} */ a, /** @type {number} */ b) => a + b, 0);
      for (const w of p.witnesses) messages.push(w.text);
    }
    const wall = (performance.now() - t0) / 1000;
    const rate = Math.round((schedules / wall) * 10) / 10;
    res.clean.push({
      protocol: name,
      schedules,
      points,
      violations,
      harnessErrors: errors,
      wallS: Math.round(wall),
      schedulesPerSec: rate,
      messages,
    });
    console.log(
      `| ${name} | ${schedules.toLocaleString('en-US')} | ${points.toLocaleString('en-US')} | ${violations} | ${errors} | ${Math.round(wall)} | ${rate} |`,
    );
    for (const m of messages) console.log(`\n    ${m.replace(/\n/g, '\n    ')}`);
  }
}

if (sections.has('detect')) {
  // one table for every broken protocol of the registry (the kernel-history bugs included): the
  // controlled columns are the find section's (ms from a seed's first schedule to its violation)
  console.log(
    `\n## time to detect, free-running vs controlled, median ms over ${seeds} seeds (found/seeds)\n\n` +
      '| protocol | history | free-running | controlled pct | controlled random |\n|---|---|---|---|---|',
  );
  for (const name of broken) {
    /** @type {number[]} */
    const free = [];
    for (let s = 0; s < seeds; s++) {
      const f = (await runStress({ protocol: name, seed: 1000 * s + 1, durationMs: 5000, stopOnViolation: true, watchdogMs: 1000 }))
        .protocols[0];
      if (f.firstViolationMs !== null) free.push(f.firstViolationMs);
    }
    const c = res.find.find((x) => x.protocol === name && x.strategy === 'pct');
    const cr = res.find.find((x) => x.protocol === name && x.strategy === 'random');
    const history = protos.find((p) => p.name === name)?.history?.commit ?? null;
    res.detect.push({
      protocol: name,
      history,
      freeMedianMs: med(free),
      freeFound: free.length,
      controlledMedianMs: c?.medianMs ?? null,
      controlledFound: c?.found ?? 0,
      controlledRandomMedianMs: cr?.medianMs ?? null,
      controlledRandomFound: cr?.found ?? 0,
      seeds,
    });
    const cell = (/** @type {number | null | undefined} */ ms, /** @type {number} */ n) => `${ms ?? '-'} (${n}/${seeds})`;
    console.log(
      `| ${name} | ${history ?? ''} | ${cell(med(free), free.length)} | ${cell(c?.medianMs, c?.found ?? 0)} | ${cell(cr?.medianMs, cr?.found ?? 0)} |`,
    );
  }
}

mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify(res, null, 2) + '\n');
console.log(`\nwrote ${out}`);
