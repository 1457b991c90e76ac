/**
 * The campaign as the repository ships it to an engine: .github/workflows/hmmsim-campaign.yml and
 * deploy/k8s/campaign-job.yaml are parsed (yaml), and their shard and merge commands are run here
 * as local processes, with the engine's expressions (matrix.shard, strategy.job-total,
 * JOB_COMPLETION_INDEX, inputs) given small values: 300 ms units, no network. The merged report
 * must hold every shard and unit, and sums of the shards' counts.
 */
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';

const ROOT = resolve(import.meta.dirname, '..');

interface Step {
  id?: string;
  run?: string;
  env?: Record<string, string>;
}

/** Evaluate a GitHub Actions expression of the forms this workflow uses: `a.b` and `a.b || 'literal'`. */
function evalExpression(expr: string, context: Record<string, string | number | undefined>): string {
  return expr.replace(/\$\{\{\s*(.*?)\s*\}\}/g, (_, body: string) => {
    const alternatives = body.split('||').map((s) => s.trim());
    for (const alt of alternatives) {
      const literal = /^'(.*)'$/.exec(alt);
      if (literal) return literal[1];
      if (!(alt in context)) throw new Error(`the test does not know the expression ${alt}: give it a value`);
      const value = context[alt];
      if (value !== undefined && value !== '') return String(value);
    }
    return '';
  });
}

/** Run `script` with bash (as a runner's `run:` step) or sh; resolves to the exit code and output. */
function sh(shell: string, script: string, env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  return new Promise((done) => {
    const child = spawn(shell, shell === 'bash' ? ['-e', '-c', script] : ['-c', script], { cwd: ROOT, env: { ...process.env, ...env } });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('close', (code) => done({ code, out }));
  });
}

describe('the GitHub Actions campaign workflow, run locally', () => {
  it('runs the matrix of shards and the merge job; the merged report covers every shard', async () => {
    const workflow = parse(readFileSync(join(ROOT, '.github/workflows/hmmsim-campaign.yml'), 'utf8'));
    const shardJob = workflow.jobs.shard;
    const shards: number[] = shardJob.strategy.matrix.shard;
    expect(shards).toEqual(Array.from({ length: shards.length }, (_, i) => i + 1));
    expect(workflow.jobs.merge.needs).toBe('shard');
    const shardStep: Step = shardJob.steps.find((s: Step) => s.id === 'shard');
    const mergeStep: Step = workflow.jobs.merge.steps.find((s: Step) => s.id === 'merge');
    const upload = workflow.jobs.merge.steps.find((s: { uses?: string }) => s.uses?.startsWith('actions/upload-artifact'));
    expect(upload.with.path).toBe('report/');

    const dir = mkdtempSync(join(tmpdir(), 'hmmsim-workflow-'));
    const outDir = join(dir, 'shards');
    // what the engine would give: the run id as seed, and small inputs (4 units of 300 ms)
    const inputs = { 'inputs.protocols': 'kvm,hmm-v5.2', 'inputs.seeds': '2', 'inputs.budget': '1200ms', 'github.run_id': 9876543210 };
    const runs = await Promise.all(
      shards.map((shard) => {
        const env = Object.fromEntries(
          Object.entries(shardStep.env!).map(([k, v]) => [
            k,
            evalExpression(String(v), { ...inputs, 'matrix.shard': shard, 'strategy.job-total': shards.length }),
          ]),
        );
        return sh('bash', shardStep.run!, { ...env, OUT_DIR: outDir });
      }),
    );
    for (const r of runs) expect(r.code, r.out).toBe(0);
    const mergeEnv = { ...mergeStep.env!, SHARDS_DIR: outDir, REPORT_DIR: join(dir, 'report') };
    const merge = await sh('bash', mergeStep.run!, mergeEnv);
    expect([0, 1], merge.out).toContain(merge.code); // 1: hmm-v5.2 showed nothing in its 300 ms units
    const merged = JSON.parse(readFileSync(join(dir, 'report', 'campaign.json'), 'utf8'));
    expect(merged.campaign).toMatchObject({
      shardCount: shards.length,
      shards,
      missingShards: [],
      unitCount: 4,
      seed: 9876543210 % 2 ** 32,
      seedCount: 2,
    });
    expect(merged.campaign.budget).toMatchObject({ ms: 1200, unitMs: 300, unitsRun: 4, unitsPlanned: 4 });
    const perShard = [1, 2, 3, 4].map((i) => JSON.parse(readFileSync(join(outDir, `shard-${i}.json`), 'utf8')));
    for (const name of ['kvm', 'hmm-v5.2']) {
      const sum = perShard
        .flatMap((s) => s.protocols)
        .filter((p) => p.name === name)
        .reduce((n, p) => n + p.ops, 0);
      expect(merged.protocols.find((p: { name: string }) => p.name === name).ops).toBe(sum);
    }
    // a sound protocol never violates (inconclusive: the short shards missed a race window)
    expect(['pass', 'inconclusive']).toContain(merged.protocols.find((p: { name: string }) => p.name === 'kvm').verdict);
    expect(readFileSync(join(dir, 'report', 'campaign.html'), 'utf8')).toMatch(/4 of 4 shards merged/);
    expect(readFileSync(join(dir, 'report', 'campaign-junit.xml'), 'utf8')).toMatch(/<testcase classname="hmmsim" name="kvm"/);
  }, 90_000);
});

describe('the Kubernetes Indexed Job, run locally', () => {
  it('maps JOB_COMPLETION_INDEX to the shard and completions to the shard count; its merge job merges them', async () => {
    const docs = parseAllDocuments(readFileSync(join(ROOT, 'deploy/k8s/campaign-job.yaml'), 'utf8')).map((d) => d.toJS());
    const job = docs.find((d: { kind: string; metadata: { name: string } }) => d.kind === 'Job' && d.metadata.name === 'hmmsim-campaign');
    const mergeJob = docs.find(
      (d: { kind: string; metadata: { name: string } }) => d.kind === 'Job' && d.metadata.name === 'hmmsim-campaign-merge',
    );
    expect(job.spec.completionMode).toBe('Indexed');
    const container = job.spec.template.spec.containers[0];
    const env = Object.fromEntries(container.env.map((e: { name: string; value: string }) => [e.name, e.value]));
    expect(Number(env.SHARD_COUNT)).toBe(job.spec.completions);

    // `hmmsim` on the PATH, as the image has it; 2 shards of 2 units of 300 ms here
    const dir = mkdtempSync(join(tmpdir(), 'hmmsim-k8s-'));
    mkdirSync(join(dir, 'bin'));
    writeFileSync(join(dir, 'bin', 'hmmsim'), `#!/bin/sh\nexec "${process.execPath}" "${join(ROOT, 'bin/hmmsim.js')}" "$@"\n`);
    chmodSync(join(dir, 'bin', 'hmmsim'), 0o755);
    const local = {
      ...env,
      SHARD_COUNT: '2',
      PROTOCOLS: 'kvm',
      SEEDS: '2',
      BUDGET: '600ms',
      OUT_DIR: dir,
      PATH: `${join(dir, 'bin')}:${process.env.PATH}`,
    };
    const script = container.args.join('\n');
    const runs = await Promise.all([0, 1].map((index) => sh('sh', script, { ...local, JOB_COMPLETION_INDEX: String(index) })));
    for (const r of runs) expect(r.code, r.out).toBe(0);
    const merge = await sh('sh', mergeJob.spec.template.spec.containers[0].args.join('\n'), { OUT_DIR: dir, PATH: local.PATH });
    expect(merge.code, merge.out).toBe(0);
    const merged = JSON.parse(readFileSync(join(dir, 'report', 'campaign.json'), 'utf8'));
    expect(merged.campaign).toMatchObject({ shards: [1, 2], shardCount: 2, unitCount: 2, seed: Number(env.CAMPAIGN_SEED) });
    expect(merged.protocols.map((p: { name: string }) => p.name)).toEqual(['kvm']);
    expect(['pass', 'inconclusive']).toContain(merged.protocols[0].verdict);
  }, 60_000);
});
