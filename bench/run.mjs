#!/usr/bin/env node
/**
 * run.mjs — `npm run bench` (full) / `npm run bench -- --quick` (short pass).
 *
 *   1. micro (tinybench): range walk Wasm vs JS vs C; locks hmmsim vs pthread vs multithreading;
 *      wake hand-off hmmsim vs JS Atomics vs futex                         (bench/micro.mjs)
 *   2. throughput / per-op cost vs pages / time to detect, through runStress (bench/throughput.mjs);
 *      skipped with a message while dist/run/runner.js does not exist
 *   3. output: a table on stdout; bench/results/latest.json (atomically: temp file + rename);
 *      bench/results/chart.svg; bench/PERFORMANCE.md (the README's Performance fragment).
 *      A --quick pass writes bench/results/quick.json and quick-chart.svg instead and leaves the
 *      full run's files and PERFORMANCE.md alone.
 *
 * Options: --quick; --only micro,throughput,pages,detect; --seeds N (time to detect);
 *          --out DIR (default bench/results); --no-md; --merge (measure only the --only sections and keep
 *          the others from the existing JSON); --report-only (re-render the table, chart
 *          and PERFORMANCE.md from the existing JSON, measuring nothing).
 * Progress goes to stderr; the table to stdout.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { textReport, markdownReport } from './lib/report.mjs';
import { evaluateTargets } from './lib/targets.mjs';
import { renderChart } from './lib/chart.mjs';
import { historySection, spliceHistory } from './lib/history-table.mjs';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.findIndex((a) => a === name || a.startsWith(`${name}=`));
  if (i < 0) return undefined;
  return args[i].includes('=') ? args[i].split('=').slice(1).join('=') : args[i + 1];
};
const quick = args.includes('--quick');
const only = opt('--only')?.split(',') ?? ['micro', 'throughput', 'pages', 'detect'];
const seeds = opt('--seeds') ? Number(opt('--seeds')) : undefined;
const outDir = opt('--out') ?? join(HERE, 'results');
const log = (s) => process.stderr.write(s + '\n');
/** The new PERFORMANCE.md text, with the kernel-history section of the old one (bench/history.mjs) carried over. */
const withHistory = (/** @type {string} */ md) => {
  const path = join(HERE, 'PERFORMANCE.md');
  const kept = existsSync(path) ? historySection(readFileSync(path, 'utf8')) : '';
  return kept ? spliceHistory(md, kept) : md;
};

if (!existsSync(join(HERE, '..', 'dist', 'memory', 'wasm.js')) || !existsSync(join(HERE, '..', 'build', 'hmmsim.wasm'))) {
  console.error('hmmsim bench: dist/ or build/hmmsim.wasm is missing: run `npm run build` (npm install does it) first');
  process.exit(2);
}
// these import dist/: loaded only after the check above
const { machine, writeAtomic } = await import('./lib/util.mjs');
const { buildNative, cleanupNative } = await import('./lib/native.mjs');

// --report-only: re-render the table, chart and PERFORMANCE.md from an existing latest.json
if (args.includes('--report-only')) {
  const jsonPath = join(outDir, quick ? 'quick.json' : 'latest.json');
  const res = JSON.parse(readFileSync(jsonPath, 'utf8'));
  res.targets = evaluateTargets(res);
  writeAtomic(jsonPath, JSON.stringify(res, null, 2) + '\n');
  writeAtomic(join(outDir, quick ? 'quick-chart.svg' : 'chart.svg'), await renderChart(res));
  if (!quick && !args.includes('--no-md')) {
    const limitsPath = join(HERE, 'lib', 'limits.md');
    writeAtomic(
      join(HERE, 'PERFORMANCE.md'),
      withHistory(markdownReport(res, { limits: existsSync(limitsPath) ? readFileSync(limitsPath, 'utf8') : '' })),
    );
  }
  process.stdout.write(textReport(res) + '\n');
  process.exit(0);
}

const t0 = Date.now();
const now = new Date().toISOString();
let res = { schema: 1, quick, date: now, machine: machine(), sections: only };
// --merge: keep the sections of the existing JSON that this run does not measure (same machine only)
if (args.includes('--merge')) {
  const prevPath = join(outDir, quick ? 'quick.json' : 'latest.json');
  if (existsSync(prevPath)) {
    const prev = JSON.parse(readFileSync(prevPath, 'utf8'));
    if (prev.machine?.cpuModel === res.machine.cpuModel && prev.machine?.cores === res.machine.cores) {
      const kept = ['micro', 'throughput', 'pages', 'detect'].filter((s) => !only.includes(s) && prev[s] && !prev[s].skipped);
      const sectionDates = prev.sectionDates ?? Object.fromEntries(['micro', 'throughput', 'pages', 'detect'].map((s) => [s, prev.date]));
      for (const s of only) sectionDates[s] = now;
      res = { ...res, sectionDates, sections: [...new Set([...kept, ...only])] };
      for (const s of kept) res[s] = prev[s];
    } else log('--merge: the existing JSON is from another machine: not merged');
  }
}
res.sectionDates ??= Object.fromEntries(only.map((s) => [s, now]));

log(`hmmsim bench${quick ? ' --quick' : ''}: ${res.machine.cpuModel}, ${res.machine.cores} cores, Node ${res.machine.node}`);
const nat = buildNative();
res.native = nat.ok ? { ok: true, cc: nat.cc, version: nat.version, flags: nat.flags } : { ok: false, reason: nat.reason };
if (!nat.ok) log(`native baselines: ${nat.reason}`);

try {
  if (only.includes('micro')) {
    log('micro-benchmarks (tinybench)...');
    const { runMicro } = await import('./micro.mjs');
    res.micro = await runMicro({ quick, nat, log });
  }

  const wantRunner = ['throughput', 'pages', 'detect'].filter((s) => only.includes(s));
  if (wantRunner.length) {
    const { loadRunner, runThroughput, runPages, runDetect } = await import('./throughput.mjs');
    const got = await loadRunner();
    if (got.skipped) {
      log(`runner sections skipped: ${got.skipped}`);
      for (const s of wantRunner) res[s] = { skipped: got.skipped };
    } else {
      if (only.includes('throughput')) {
        log('throughput (runStress)...');
        res.throughput = await runThroughput({ quick, log, mod: got.mod });
      }
      if (only.includes('pages')) {
        log('per-op cost vs pages (runStress)...');
        res.pages = await runPages({ quick, log, mod: got.mod });
      }
      if (only.includes('detect')) {
        log('time to detect (runStress, broken protocols)...');
        res.detect = await runDetect({ quick, log, mod: got.mod, seeds });
      }
    }
  }
  for (const s of ['micro', 'throughput', 'pages', 'detect']) res[s] ??= { skipped: 'not selected (--only)' };
} finally {
  cleanupNative(nat);
}

res.targets = evaluateTargets(res);
res.elapsedS = Math.round((Date.now() - t0) / 100) / 10;

const jsonPath = join(outDir, quick ? 'quick.json' : 'latest.json');
const svgPath = join(outDir, quick ? 'quick-chart.svg' : 'chart.svg');
writeAtomic(jsonPath, JSON.stringify(res, null, 2) + '\n');
try {
  writeAtomic(svgPath, await renderChart(res));
} catch (e) {
  log(`chart: ${e.message}`);
}
if (!quick && !args.includes('--no-md')) {
  const limitsPath = join(HERE, 'lib', 'limits.md');
  const limits = existsSync(limitsPath) ? readFileSync(limitsPath, 'utf8') : '';
  writeAtomic(join(HERE, 'PERFORMANCE.md'), withHistory(markdownReport(res, { limits })));
}

process.stdout.write(textReport(res) + '\n');
log(`wrote ${jsonPath}, ${svgPath}${!quick && !args.includes('--no-md') ? `, ${join(HERE, 'PERFORMANCE.md')}` : ''} (${res.elapsedS} s)`);
// the npm `multithreading` package may keep a worker pool alive
process.exit(0);
