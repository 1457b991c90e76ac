/**
 * Campaigns: the deterministic split into shards (plan.ts), combining results (combine.ts) and
 * `hmmsim merge` (merge.ts) on fabricated shard reports, then the real CLI end to end: two shards
 * of 300 ms units, their merge, --budget, and merge's refusals (exit 2, nothing overwritten).
 */
import { describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { campaignId, parseShard, planCampaign } from '../src/cli/plan.js';
import { combineProtocol, dedupeWitnesses, sumCoverage, witnessSignature } from '../src/cli/combine.js';
import { boundsOf, ruleOfThree } from '../src/cli/bounds.js';
import { checkShards, mergeShards, readShard } from '../src/cli/merge.js';

const ROOT = resolve(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'hmmsim.js');
const tmp = () => mkdtempSync(join(tmpdir(), 'hmmsim-campaign-'));

/** Run several hmmsim processes at once (as a CI matrix would). */
function hmmsimAll(argvs: string[][]): Promise<{ code: number | null; stdout: string; stderr: string }[]> {
  return Promise.all(
    argvs.map(
      (args) =>
        new Promise<{ code: number | null; stdout: string; stderr: string }>((done) => {
          const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT });
          let stdout = '';
          let stderr = '';
          child.stdout.on('data', (d) => (stdout += d));
          child.stderr.on('data', (d) => (stderr += d));
          child.on('close', (code) => done({ code, stdout, stderr }));
        }),
    ),
  );
}

function hmmsim(args: string[], timeoutMs = 60_000) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: timeoutMs });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const PROTOCOLS = ['interval-v5.5', 'odp-v5.4', 'kvm', 'hmm-v5.2', 'fixture'];
const plan = (index: number, count: number, extra: Partial<Parameters<typeof planCampaign>[0]> = {}) =>
  planCampaign({ protocols: PROTOCOLS, seed: 4294967294, seeds: 3, shard: { index, count }, base: { durationMs: 300 }, ...extra });

describe('plan: the campaign split into shards', () => {
  it('--shard i/N parses 1-based and refuses anything else', () => {
    expect(parseShard('2/4')).toEqual({ index: 2, count: 4 });
    for (const bad of ['0/4', '5/4', '1/0', 'a/b', '1', '1/2/3', '-1/2']) expect(() => parseShard(bad), bad).toThrow(/shard/);
  });

  it('shards are disjoint, cover every unit, and agree on the campaign id', () => {
    const shards = [1, 2, 3, 4].map((i) => plan(i, 4));
    const all = plan(1, 1);
    expect(all.units).toHaveLength(PROTOCOLS.length * 3);
    expect(all.seeds).toEqual([4294967294, 4294967295, 0]); // seed, seed+1, ... wrapping at 2^32
    const taken = shards.flatMap((s) => s.mine.map((u) => u.unit)).sort((a, b) => a - b);
    expect(taken).toEqual(all.units.map((u) => u.unit));
    expect(new Set(shards.map((s) => s.id))).toEqual(new Set([all.id]));
    // the same inputs give the same shard: a shard is a pure function of the configuration
    expect(plan(3, 4).mine).toEqual(shards[2].mine);
    // balanced: shard sizes differ by at most one
    const sizes = shards.map((s) => s.mine.length);
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
  });

  it('the campaign id changes with anything that changes what the units do', () => {
    const id = plan(1, 2).id;
    expect(plan(1, 2, { seed: 1 }).id).not.toBe(id);
    expect(plan(1, 2, { seeds: 4 }).id).not.toBe(id);
    expect(plan(1, 2, { base: { durationMs: 301 } }).id).not.toBe(id);
    expect(plan(1, 2, { protocols: PROTOCOLS.slice(1) }).id).not.toBe(id);
    expect(campaignId({ a: 1, b: [2, 3] })).toBe(campaignId({ b: [2, 3], a: 1 }));
  });

  it('--budget divides the whole campaign among its units, and refuses a budget too small', () => {
    const p = plan(2, 4, { budgetMs: 15 * 60_000 });
    expect(p.unitMs).toBe(60_000); // 15 units
    expect(() => plan(1, 1, { budgetMs: 1000 })).toThrow(/give at least 1500ms, or fewer --seeds or protocols/);
  });
});

const ev = (thread: number, role: string, text: string, ticket = 0) => ({ thread, role, text, ticket });
const witness = (page: number, extra: Record<string, unknown> = {}) => ({
  kind: 'use-after-free' as const,
  thread: 1,
  role: 'driver',
  atMs: page,
  page,
  summary: `uaf on page ${page}`,
  events: [
    ev(
      1,
      'driver',
      `hmm_range_fault [0x${page.toString(16)},0x${(page + 4).toString(16)}) returns 0 pfn[0x${page.toString(16)}]=${page * 7} gen 1`,
    ),
    ev(0, 'invalidator', `free pfn ${page * 7} (page 0x${page.toString(16)}) gen 1->2`),
    ev(1, 'driver', `dev0[0x${page.toString(16)}] -> pfn ${page * 7} gen 2 != 1  USE-AFTER-FREE`),
  ],
  text: `rerun: hmmsim stress --protocol p --seed ${page}`,
  ...extra,
});

describe('combine: counts, coverage, signatures, bounds', () => {
  it('a witness signature ignores addresses and numbers but not the shape', () => {
    expect(witnessSignature('p', witness(0x20))).toBe(witnessSignature('p', witness(0x91)));
    const other = witness(0x20);
    other.events = [other.events[1], other.events[0], other.events[2]];
    expect(witnessSignature('p', other)).not.toBe(witnessSignature('p', witness(0x20)));
    expect(witnessSignature('q', witness(0x20))).not.toBe(witnessSignature('p', witness(0x20)));
  });

  it('dedupe keeps the first witness of each signature with its unknown fields, and counts the rest', () => {
    const parts = [
      { seed: 1, shard: 2, result: { witnesses: [witness(0x20, { schedule: [1, 0, 1] }), witness(0x30)] } },
      { seed: 2, shard: 1, result: { witnesses: [witness(0x40)] } },
    ] as never;
    const out = dedupeWitnesses('p', parts);
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ page: 0x20, seen: 3, seed: 1, shard: 2, schedule: [1, 0, 1] });
  });

  it('sums coverage maps key by key, whatever their keys, and bounds each window by 3/hits', () => {
    expect(sumCoverage({ a: 1, b: 2 }, { b: 3, c: 4 })).toEqual({ a: 1, b: 5, c: 4 });
    expect(sumCoverage(undefined, { a: 1 })).toEqual({ a: 1 });
    expect(ruleOfThree(3_000_000)).toBeCloseTo(1e-6);
    const b = boundsOf({ ops: 300, violations: {}, error: null, coverage: { 'fault-vs-inv': 30, never: 0 } });
    expect(b).toEqual({ ops: 300, perOp: 0.01, windows: { 'fault-vs-inv': { hits: 30, perHit: 0.1 }, never: { hits: 0, perHit: null } } });
    expect(boundsOf({ ops: 300, violations: { 'use-after-free': 1 }, error: null })).toBeUndefined();
  });

  it('judges the verdict again on the sums: a broken protocol passes when any unit showed its kind', () => {
    const part = (uaf: number, verdict: 'pass' | 'fail') => ({
      seed: 1,
      result: {
        name: 'b',
        description: '',
        expect: { violates: ['use-after-free'] },
        verdict,
        ops: 100,
        opsPerSec: 1,
        retries: 1,
        violations: { 'use-after-free': uaf },
        firstViolationMs: uaf ? 5 : null,
        witnesses: [],
        durationMs: 100,
        roleOps: { cpu: 100 },
      },
    });
    const c = combineProtocol([part(0, 'fail'), part(2, 'pass')] as never);
    expect(c).toMatchObject({ verdict: 'pass', ops: 200, opsPerSec: 1000, retries: 2, firstViolationMs: 5, roleOps: { cpu: 200 } });
    expect(c.violations['use-after-free']).toBe(2);
  });
});

/** A fabricated shard report: protocol 'kvm' with `ops` ops and coverage. */
function fakeShard(dir: string, index: number, count: number, over: { id?: string; version?: string } = {}): string {
  const report = {
    version: over.version ?? '0.1.0',
    seed: 9,
    config: { durationMs: 300 },
    protocols: [
      {
        name: 'kvm',
        description: '',
        expect: 'sound',
        verdict: 'pass',
        ops: 1000 * index,
        opsPerSec: 1,
        retries: 0,
        violations: { 'use-after-free': 0 },
        firstViolationMs: null,
        durationMs: 300,
        roleOps: {},
        witnesses: [],
        error: null,
        coverage: { 'fault-vs-inv': index },
      },
    ],
    campaign: {
      id: over.id ?? 'c0ffee',
      version: over.version ?? '0.1.0',
      shard: { index, count },
      seed: 9,
      seedCount: 1,
      modes: ['free'],
      protocols: ['kvm'],
      unitCount: count,
      units: [{ unit: index - 1, protocol: 'kvm', seed: 9, mode: 'free', ran: true, ops: 1000 * index }],
      budget: null,
      rerun: 'hmmsim stress --protocol kvm',
    },
  };
  const file = join(dir, `shard-${index}-${over.id ?? 'c0ffee'}-${over.version ?? 'v'}.json`);
  writeFileSync(file, JSON.stringify(report));
  return file;
}

describe('merge: one campaign, every shard once', () => {
  it('sums ops and coverage, names missing shards', () => {
    const dir = tmp();
    const files = [1, 2, 4].map((i) => fakeShard(dir, i, 4));
    const shards = files.map(readShard);
    const missing = checkShards(shards);
    expect(missing).toEqual([3]);
    const m = mergeShards(shards, missing);
    expect(m.protocols[0]).toMatchObject({ name: 'kvm', ops: 7000, verdict: 'pass', coverage: { 'fault-vs-inv': 7 } });
    expect(m.protocols[0].bounds).toEqual({ ops: 7000, perOp: 3 / 7000, windows: { 'fault-vs-inv': { hits: 7, perHit: 3 / 7 } } });
    expect(m.campaign).toMatchObject({ shards: [1, 2, 4], missingShards: [3], shardCount: 4 });
  });

  it('refuses two campaigns, two versions, a shard twice, a truncated file', () => {
    const dir = tmp();
    const a = readShard(fakeShard(dir, 1, 2));
    expect(() => checkShards([a, readShard(fakeShard(dir, 2, 2, { id: 'beef' }))])).toThrow(/from campaign c0ffee, .* from campaign beef/);
    expect(() => checkShards([a, readShard(fakeShard(dir, 2, 2, { version: '0.2.0' }))])).toThrow(/version mismatch: .*0\.1\.0.*0\.2\.0/);
    expect(() => checkShards([a, a])).toThrow(/shard 1\/2 given twice/);
    const cut = join(dir, 'cut.json');
    writeFileSync(cut, readFileSync(a.file, 'utf8').slice(0, 100));
    expect(() => readShard(cut)).toThrow(/cut\.json: truncated or not JSON/);
  });
});

describe('hmmsim stress --shard / --seeds / --budget and hmmsim merge, end to end', () => {
  it("two shards of kvm,hmm-v5.2 x 2 seeds merge into one report whose counts are the shards' sums", async () => {
    const dir = tmp();
    const shardArgs = (i: number) => [
      'stress',
      '-p',
      'kvm,hmm-v5.2',
      '--seeds',
      '2',
      '--seed',
      '11',
      '-d',
      '300ms',
      '-q',
      '--shard',
      `${i}/2`,
      '--json',
      join(dir, `s${i}.json`),
      '--html',
      join(dir, `s${i}.html`),
    ];
    const runs = await hmmsimAll([1, 2].map(shardArgs));
    for (const r of runs) {
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(/^campaign [0-9a-f]{16}: 2 protocols x 2 seeds \(11\.\.12\) x 1 mode \(free\) = 4 units, 300ms each$/m);
    }
    expect(runs[0].stdout).toMatch(/^shard 1\/2: 2 units .*: kvm@11, kvm@12$/m);
    const shards = [1, 2].map((i) => JSON.parse(readFileSync(join(dir, `s${i}.json`), 'utf8')));
    expect(shards.map((s) => s.campaign.shard)).toEqual([
      { index: 1, count: 2 },
      { index: 2, count: 2 },
    ]);
    expect(shards[0].campaign.id).toBe(shards[1].campaign.id);
    expect(shards[0].campaign.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(readFileSync(join(dir, 's1.html'), 'utf8')).toMatch(
      /^<!DOCTYPE html>[\s\S]*campaign <code>[0-9a-f]{16}<\/code>: shard 1\/2[\s\S]*<\/html>\n$/,
    );

    const out = join(dir, 'merged.json');
    const m = hmmsim(['merge', dir, '--json', out, '--junit', join(dir, 'merged.xml')]);
    expect(m.stderr).toBe('');
    expect([0, 1]).toContain(m.code); // hmm-v5.2 may, rarely, show nothing in 2 x 300 ms
    expect(m.stdout).toMatch(/2 of 2 shards merged, 4 of 4 units/);
    const merged = JSON.parse(readFileSync(out, 'utf8'));
    const kvm = merged.protocols.find((p: { name: string }) => p.name === 'kvm');
    const shardKvm = shards[0].protocols.find((p: { name: string }) => p.name === 'kvm');
    expect(kvm.ops).toBe(shardKvm.ops);
    expect(kvm.verdict).toBe('pass'); // a sound protocol never violates
    expect(kvm.bounds.perOp).toBeCloseTo(3 / kvm.ops);
    expect(m.stdout).toMatch(/^kvm: clean over [\d,]+ ops: violation rate < \S+ per op \(95%, rule of three\)$/m);
    const hmm = merged.protocols.find((p: { name: string }) => p.name === 'hmm-v5.2');
    expect(hmm.ops).toBe(shards[1].protocols[0].ops);
    for (const w of hmm.witnesses) expect(w.signature).toMatch(/^hmm-v5\.2\/[a-z-]+\/[0-9a-f]{12}$/);
    expect(new Set(hmm.witnesses.map((w: { signature: string }) => w.signature)).size).toBe(hmm.witnesses.length);

    // bad input: exit 2, one line, and the earlier report is left as it was
    const before = readFileSync(out, 'utf8');
    writeFileSync(join(dir, 's2.json'), readFileSync(join(dir, 's2.json'), 'utf8').slice(0, 200));
    const bad = hmmsim(['merge', dir, '--json', out]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^hmmsim: .*s2\.json: truncated or not JSON .*run that shard again\n$/);
    expect(readFileSync(out, 'utf8')).toBe(before);
    const missing = hmmsim(['merge', join(dir, 's1.json'), '--json', out]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^hmmsim: campaign [0-9a-f]+ is missing shard 2\/2: give every shard, or --allow-partial/);
    expect(readFileSync(out, 'utf8')).toBe(before);
  }, 60_000);

  it("--budget: the plan says each unit's share, the report how much ran; --shard without --seed is refused", () => {
    const dir = tmp();
    const r = hmmsim(['stress', '-p', 'kvm', '--seeds', '2', '--seed', '3', '--budget', '600ms', '-q', '--json', join(dir, 'b.json')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^budget 600ms of protocol time for the whole campaign: 300ms per unit$/m);
    expect(r.stdout).toMatch(/^budget: ran 2 of 2 units of this shard, 0\.\d s of protocol time \(0\.6 s for the campaign\), [\d,]+ ops$/m);
    const j = JSON.parse(readFileSync(join(dir, 'b.json'), 'utf8'));
    expect(j.campaign.budget).toMatchObject({ ms: 600, unitMs: 300, unitsRun: 2, unitsPlanned: 2 });
    expect(j.campaign.budget.ranMs).toBeGreaterThanOrEqual(600);
    expect(j.protocols).toHaveLength(1); // kvm under two seeds, reported once
    expect(j.protocols[0].ops).toBe(j.campaign.units[0].ops + j.campaign.units[1].ops);
    const noSeed = hmmsim(['stress', '-p', 'kvm', '--shard', '1/2']);
    expect(noSeed.code).toBe(2);
    expect(noSeed.stderr).toMatch(/^hmmsim: --shard needs --seed/);
    const both = hmmsim(['stress', '-p', 'kvm', '--budget', '1s', '-d', '1s']);
    expect(both.code).toBe(2);
  }, 30_000);

  it('the default campaign takes --shard, --seed, --budget: shard 1 of 50 runs the first built-in only', () => {
    const dir = tmp();
    const r = hmmsim(['--shard', '1/50', '--seed', '4', '--budget', '2400ms', '-q', '--json', join(dir, 'd.json')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^shard 1\/50: 1 unit .*: interval-v5\.5@4$/m);
    const j = JSON.parse(readFileSync(join(dir, 'd.json'), 'utf8'));
    expect(j.campaign.shard).toEqual({ index: 1, count: 50 });
    expect(j.protocols.map((p: { name: string }) => p.name)).toEqual(['interval-v5.5']);
    expect(j.campaign.rerun).toMatch(/^hmmsim stress --protocol all --budget 2400ms --shard 1\/50$/);
  }, 30_000);
});
