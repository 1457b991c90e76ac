#!/usr/bin/env node
/**
 * history.mjs — the kernel-history pairs (`hmmsim list --history`, docs/history.md) in the bench:
 *
 *   free:        per bug, seeds 1..N (20), free-running (widening on, default watchdog, stop at the
 *                first violation, cap --cap-ms): ms to the first violation, median / max, found/N;
 *   controlled:  per bug, schedules to the first violation, pct and random, seeds 1, 1001, ...
 *                (bench/lib/controlled-find.mjs, as `stress --mode controlled --seed S
 *                --stop-on-violation` counts them): median / worst, found/N. A bug in
 *                test/controlled.test.ts's NOT_YET list gets --not-yet-max schedules a seed, the
 *                others --max (1,000);
 *   fix:         per fix, one free-running run (--fix-ms): ops, violations, the race windows hit
 *                (coverage), and --fix-schedules controlled schedules (pct), which must be clean.
 *
 * `node bench/history.mjs [--quick] [--seeds N] [--sections free,controlled,fix] [--pair NAME]...
 * [--out FILE] [--no-md]` writes bench/results/history.json and the "Kernel history pairs"
 * section of bench/PERFORMANCE.md (lib/history-table.mjs; `npm run bench` keeps it when it
 * regenerates the file). --merge keeps the rows of pairs and sections it does not measure.
 * About 15 minutes in full on 2 busy cores.
 */
import os from 'node:os';
import { existsSync, readFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runStress, listProtocols } from '../dist/index.js';
import { schedulesToFirst } from './lib/controlled-find.mjs';
import { historyMarkdown, spliceHistory } from './lib/history-table.mjs';
import { writeAtomic } from './lib/util.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    seeds: { type: 'string' },
    sections: { type: 'string', default: 'free,controlled,fix' },
    pair: { type: 'string', multiple: true },
    'cap-ms': { type: 'string', default: '6000' },
    max: { type: 'string', default: '1000' },
    'not-yet-max': { type: 'string', default: '25' },
    'fix-ms': { type: 'string', default: '3000' },
    'fix-schedules': { type: 'string', default: '200' },
    out: { type: 'string', default: join(HERE, 'results', 'history.json') },
    merge: { type: 'boolean', default: false },
    'no-md': { type: 'boolean', default: false },
  },
});
const quick = values.quick;
const seeds = Number(values.seeds ?? (quick ? 5 : 20));
const sections = new Set(values.sections.split(','));
const capMs = Number(values['cap-ms']);
const maxSchedules = Number(values.max);
const notYetMax = Number(values['not-yet-max']);
const fixMs = Number(values['fix-ms']);
const fixSchedules = Number(values['fix-schedules']);
const log = (/** @type {string} */ s) => process.stderr.write(`${s}\n`);
/** @param {number[]} xs */
const med = (xs) => (xs.length ? xs.slice().sort((a, b) => a - b)[xs.length >> 1] : null);
/** @param {number} x */
const r1 = (x) => Math.round(x * 10) / 10;

/** The bugs controlled mode does not find yet: test/controlled.test.ts's NOT_YET list (one source of truth). */
function notYet() {
  const file = join(HERE, '..', 'test', 'controlled.test.ts');
  if (!existsSync(file)) return [];
  const m = /const NOT_YET(?::\s*string\[\])?\s*=\s*\[([^\]]*)\]/.exec(readFileSync(file, 'utf8'));
  return m ? [...m[1].matchAll(/'([^']+)'/g)].map((x) => x[1]) : [];
}

const history = (await listProtocols()).filter(
  (p) => p.history && (!values.pair || values.pair.some((n) => p.name === n || p.history?.twin === n)),
);
const bugs = history.filter((p) => p.history?.side === 'bug');
const fixes = history.filter((p) => p.history?.side === 'fix');
const NOT_YET = notYet();

/** @type {any} */
const res = {
  date: new Date().toISOString(),
  machine: { cpu: os.cpus()[0]?.model, cores: os.cpus().length, node: process.version, loadAtStart: os.loadavg().map(r1) },
  quick,
  seeds,
  capMs,
  notYet: NOT_YET,
  free: [],
  controlled: [],
  fix: [],
};
if (values.merge && existsSync(values.out)) {
  const prev = JSON.parse(readFileSync(values.out, 'utf8'));
  const measured = new Set(history.map((p) => p.name));
  for (const s of ['free', 'controlled', 'fix'])
    res[s] = (prev[s] ?? []).filter((/** @type {any} */ row) => !sections.has(s) || !measured.has(row.protocol));
}
const t0 = performance.now();

if (sections.has('free'))
  for (const b of bugs) {
    /** @type {number[]} */
    const times = [];
    /** @type {Record<string, number>} */
    const kinds = {};
    /** @type {string[]} */
    const errors = [];
    log(`free-running ${b.name}: ${seeds} seeds`);
    for (let seed = 1; seed <= seeds; seed++) {
      const p = (await runStress({ protocol: b.name, seed, durationMs: capMs, stopOnViolation: true })).protocols[0];
      if (p.error) errors.push(`seed ${seed}: ${p.error.message}`);
      else if (p.verdict === 'pass' && p.firstViolationMs !== null) times.push(p.firstViolationMs);
      for (const [k, n] of Object.entries(p.violations)) if (n) kinds[k] = (kinds[k] ?? 0) + n;
    }
    res.free.push({
      protocol: b.name,
      commit: b.history?.commit,
      seeds,
      found: times.length,
      medianMs: times.length ? r1(/** @type {number} */ (med(times))) : null,
      maxMs: times.length ? r1(Math.max(...times)) : null,
      kinds,
      errors,
    });
  }

if (sections.has('controlled'))
  for (const b of bugs) {
    const max = NOT_YET.includes(b.name) ? notYetMax : maxSchedules;
    for (const strategy of /** @type {('pct' | 'random')[]} */ (['pct', 'random'])) {
      log(`controlled ${b.name} ${strategy}: ${seeds} seeds, at most ${max} schedules each`);
      /** @type {{ seed: number, first: number | null, ms: number | null, kind: string | null }[]} */
      let rows = [];
      let error = null;
      try {
        rows = await schedulesToFirst(
          b.name,
          strategy,
          Array.from({ length: seeds }, (_, s) => 1000 * s + 1),
          max,
        );
      } catch (e) {
        error = e.message;
      }
      const firsts = rows.filter((r) => r.first !== null).map((r) => /** @type {number} */ (r.first));
      res.controlled.push({
        protocol: b.name,
        strategy,
        seeds,
        maxSchedules: max,
        notYet: NOT_YET.includes(b.name),
        found: firsts.length,
        median: med(firsts),
        worst: firsts.length ? Math.max(...firsts) : null,
        medianMs: med(rows.filter((r) => r.ms !== null).map((r) => /** @type {number} */ (r.ms))),
        kinds: [...new Set(rows.map((r) => r.kind).filter(Boolean))],
        error,
      });
    }
  }

if (sections.has('fix'))
  for (const f of fixes) {
    log(`fix ${f.name}: ${fixMs} ms free-running, ${fixSchedules} controlled schedules`);
    const p = (await runStress({ protocol: f.name, seed: 1, durationMs: fixMs })).protocols[0];
    const c = (await runStress({ protocol: f.name, mode: 'controlled', strategy: 'pct', seed: 1, schedules: fixSchedules })).protocols[0];
    const count = (/** @type {Record<string, number>} */ v) => Object.values(v).reduce((a, n) => a + n, 0);
    res.fix.push({
      protocol: f.name,
      commit: f.history?.commit,
      expect: f.expect,
      verdict: p.error ? 'error' : p.verdict,
      ops: p.ops,
      opsPerSec: p.opsPerSec,
      deviceFaults: p.roleOps.driver ?? 0,
      invalidations: p.roleOps.invalidator ?? 0,
      violations: p.violations,
      coverage: p.coverage ?? {},
      error: p.error?.message ?? null,
      controlledSchedules: c.controlled?.schedules ?? 0,
      controlledViolations: count(c.violations),
      controlledError: c.error?.message ?? null,
    });
  }

res.elapsedS = Math.round((performance.now() - t0) / 1000);
res.loadAtEnd = os.loadavg().map(r1);
mkdirSync(dirname(values.out), { recursive: true });
writeAtomic(values.out, `${JSON.stringify(res, null, 2)}\n`);
const md = historyMarkdown(res);
process.stdout.write(`${md}\n`);
if (!values['no-md']) {
  const perf = join(HERE, 'PERFORMANCE.md');
  writeAtomic(perf, spliceHistory(readFileSync(perf, 'utf8'), md));
  log(`wrote ${values.out} and the history section of ${perf} (${res.elapsedS} s)`);
} else log(`wrote ${values.out} (${res.elapsedS} s)`);
