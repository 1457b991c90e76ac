#!/usr/bin/env node
/**
 * campaign.mjs — `node bench/campaign.mjs [--ops N] [--protocols a,b] [--seeds K] [--shards N] [--merge-files 100]`
 *
 *   1. The same campaign (protocols x seeds, each unit capped at --ops operations) run two ways,
 *      side by side: N shard processes at once (`--shard i/N`, then `hmmsim merge`) and one
 *      process doing every unit. Prints that both ran the same units and protocols, the ops and
 *      violation counts of each, and the throughput ratio (ops per second of wall time).
 *      Then each shard alone, one after another: the slowest one's wall time is what N machines
 *      like this one would take for the campaign (shards share nothing until the merge).
 *   2. `hmmsim merge` of 100 shard reports (copies of a real shard, relabelled 1/100 .. 100/100):
 *      wall time of the whole command, and of mergeShards alone in this process.
 *
 * Writes bench/results/campaign.json (or --out FILE). Speed is reported as ratios, never asserted.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin', 'hmmsim.js');
const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : def;
};
const OPS = Number(opt('--ops', '300000'));
const PROTOCOLS = opt('--protocols', 'interval-v5.5,odp-v5.4,kvm,hmm-v5.2');
const SEEDS = Number(opt('--seeds', '2'));
const SHARDS = Number(opt('--shards', '4'));
const MERGE_FILES = Number(opt('--merge-files', '100'));
const OUT = opt('--out', join(ROOT, 'bench', 'results', 'campaign.json'));
const SEED = 2026;

function hmmsim(argv) {
  return new Promise((done) => {
    const child = spawn(process.execPath, [BIN, ...argv], { cwd: ROOT });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('close', (code) => done({ code, out }));
  });
}

const dir = mkdtempSync(join(tmpdir(), 'hmmsim-bench-campaign-'));
const common = ['stress', '-p', PROTOCOLS, '--seeds', String(SEEDS), '--seed', String(SEED), '--ops', String(OPS), '-q'];
const totals = (report) =>
  Object.fromEntries(
    report.protocols.map((p) => [
      p.name,
      { ops: p.ops, violations: Object.values(p.violations).reduce((s, n) => s + n, 0), coverage: p.coverage ?? null },
    ]),
  );

// 1. N processes at once, then merge
mkdirSync(join(dir, 'shards'));
let t0 = performance.now();
const shardRuns = await Promise.all(
  Array.from({ length: SHARDS }, (_, i) =>
    hmmsim([...common, '--shard', `${i + 1}/${SHARDS}`, '--json', join(dir, 'shards', `s${i + 1}.json`)]),
  ),
);
const shardedWall = (performance.now() - t0) / 1000;
for (const r of shardRuns) if (r.code !== 0 && r.code !== 1) throw new Error(`shard failed (${r.code}): ${r.out}`);
const merge = await hmmsim(['merge', join(dir, 'shards'), '--json', join(dir, 'merged.json')]);
if (merge.code !== 0 && merge.code !== 1) throw new Error(`merge failed: ${merge.out}`);
const merged = JSON.parse(readFileSync(join(dir, 'merged.json'), 'utf8'));

// 2. one process, the same units
t0 = performance.now();
const single = await hmmsim([...common, '--shard', '1/1', '--json', join(dir, 'single.json')]);
const singleWall = (performance.now() - t0) / 1000;
if (single.code !== 0 && single.code !== 1) throw new Error(`single run failed: ${single.out}`);
const one = JSON.parse(readFileSync(join(dir, 'single.json'), 'utf8'));

// 3. each shard alone, as if on its own machine
const alone = [];
for (let i = 0; i < SHARDS; i++) {
  t0 = performance.now();
  const r = await hmmsim([...common, '--shard', `${i + 1}/${SHARDS}`, '--json', join(dir, `alone${i + 1}.json`)]);
  if (r.code !== 0 && r.code !== 1) throw new Error(`shard alone failed: ${r.out}`);
  const report = JSON.parse(readFileSync(join(dir, `alone${i + 1}.json`), 'utf8'));
  alone.push({ wallS: (performance.now() - t0) / 1000, ops: report.protocols.reduce((s, p) => s + p.ops, 0) });
}
const machinesWall = Math.max(...alone.map((a) => a.wallS));
const machinesOps = alone.reduce((s, a) => s + a.ops, 0);

const unitsKey = (units) =>
  units
    .map((u) => `${u.protocol}@${u.seed}`)
    .sort()
    .join(',');
const sameUnits = unitsKey(merged.campaign.units) === unitsKey(one.campaign.units);
const sameCampaign = merged.campaign.id === one.campaign.id;
const opsOf = (r) => r.protocols.reduce((s, p) => s + p.ops, 0);
const shardedOps = opsOf(merged);
const singleOps = opsOf(one);
const ratio = shardedOps / shardedWall / (singleOps / singleWall);

// 4. merging 100 shard files
const template = JSON.parse(readFileSync(join(dir, 'shards', 's1.json'), 'utf8'));
mkdirSync(join(dir, 'many'));
for (let i = 1; i <= MERGE_FILES; i++) {
  const copy = structuredClone(template);
  copy.campaign.shard = { index: i, count: MERGE_FILES };
  writeFileSync(join(dir, 'many', `s${String(i).padStart(3, '0')}.json`), JSON.stringify(copy, null, 2));
}
t0 = performance.now();
const many = await hmmsim(['merge', join(dir, 'many'), '--json', join(dir, 'many.json'), '--html', join(dir, 'many.html')]);
const mergeWall = (performance.now() - t0) / 1000;
if (many.code !== 0 && many.code !== 1) throw new Error(`merge of ${MERGE_FILES} failed: ${many.out}`);
const { expandInputs, readShard, checkShards, mergeShards } = await import(join(ROOT, 'dist/cli/merge.js'));
t0 = performance.now();
const loaded = expandInputs([join(dir, 'many')]).map(readShard);
mergeShards(loaded, checkShards(loaded));
const mergeInProcess = (performance.now() - t0) / 1000;

const result = {
  date: new Date().toISOString(),
  cpus: cpus().length,
  loadavg: (await import('node:os')).loadavg(),
  campaign: { protocols: PROTOCOLS, seeds: SEEDS, opsPerUnit: OPS, shards: SHARDS, units: one.campaign.unitCount },
  sameCampaignId: sameCampaign,
  sameUnits,
  sharded: { wallS: shardedWall, ops: shardedOps, opsPerWallS: shardedOps / shardedWall, perProtocol: totals(merged) },
  single: { wallS: singleWall, ops: singleOps, opsPerWallS: singleOps / singleWall, perProtocol: totals(one) },
  throughputRatio: ratio,
  machines: {
    shards: alone,
    wallS: machinesWall,
    ops: machinesOps,
    opsPerWallS: machinesOps / machinesWall,
    ratioToSingle: machinesOps / machinesWall / (singleOps / singleWall),
  },
  merge100: { files: MERGE_FILES, commandWallS: mergeWall, inProcessS: mergeInProcess },
};
mkdirSync(join(OUT, '..'), { recursive: true });
writeFileSync(OUT, JSON.stringify(result, null, 2) + '\n');

const f = (n) => Math.round(n).toLocaleString('en-US');
console.log(
  `campaign ${PROTOCOLS} x ${SEEDS} seeds, ${f(OPS)} ops per unit (${one.campaign.unitCount} units), ` +
    `${cpus().length} cpus, load ${result.loadavg.map((l) => l.toFixed(1)).join(' ')}`,
);
console.log(`same campaign id: ${sameCampaign}; same units: ${sameUnits}`);
console.log('protocol                 ops (N shards, merged)  ops (1 process)  violations (merged / 1 process)');
for (const name of Object.keys(result.single.perProtocol)) {
  const a = result.sharded.perProtocol[name];
  const b = result.single.perProtocol[name];
  console.log(`${name.padEnd(24)} ${f(a?.ops ?? 0).padStart(22)}  ${f(b.ops).padStart(15)}  ${a?.violations ?? '-'} / ${b.violations}`);
}
console.log(
  `${SHARDS} processes: ${shardedWall.toFixed(1)} s wall, ${f(shardedOps / shardedWall)} ops/s; ` +
    `1 process: ${singleWall.toFixed(1)} s wall, ${f(singleOps / singleWall)} ops/s; ratio ${ratio.toFixed(2)}x`,
);
console.log(
  `${SHARDS} machines (each shard alone, the slowest ${machinesWall.toFixed(1)} s): ${f(machinesOps / machinesWall)} ops/s, ` +
    `${result.machines.ratioToSingle.toFixed(2)}x one process (shard walls ${alone.map((a) => a.wallS.toFixed(1)).join(', ')} s)`,
);
console.log(
  `merge of ${MERGE_FILES} shard files: ${mergeWall.toFixed(2)} s (the command, with --json and --html), ` +
    `${mergeInProcess.toFixed(3)} s in process`,
);
console.log(`wrote ${OUT}`);
