/**
 * Mutation testing (docs/mutation.md): a redundant lock's mutant survives, a protocol whose every
 * traced operation matters scores 100%, bad input gets stress's one-line errors, and the CLI
 * writes the table, JSON and JUnit. Mutant runs stop at their first violation, so a killed
 * mutant costs its time to kill; the whole file takes about 60 s on 2 busy cores (each run has 6 threads).
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { convert } from 'xmlbuilder2';
import { mutate, runStress, ConfigError } from '../dist/index.js';
import { equivalenceOf, judge, NEVER_DIFFERED_MIN_REACHED, RETRY_ONLY_MIN_CHANGED } from '../dist/mutate/run.js';
import { chainHooks, OPS, PERFORM, SKIP, STALE, type OpHook } from '../dist/model/hooks.js';

const ROOT = resolve(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'hmmsim.js');
const fx = (f: string) => join(ROOT, 'test', 'fixtures', f);

function hmmsim(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('mutate()', () => {
  it('reports a redundant lock as survived, and says its run reached it', async () => {
    const protocol = fx('mutate-redundant-lock-plugin.mjs');
    const r = await mutate({ protocol, only: 'skip-lock stats_lock', durationMs: 400, discoveryMs: 2000, seed: 3 });
    expect(['pass', 'inconclusive']).toContain(r.baseline.verdict); // clean (inconclusive: a short run missed a race window)
    // the driver's re-registration (subscriptionRemove + subscriptionAdd, every 64th fault: hence the longer discovery) is reached and mutated too
    const stats = ['populate', 'subscriptionRemove', 'subscriptionAdd'].map((cb) => `${cb}: skip-lock stats_lock (1st)`);
    expect(r.baseline.sites.map((s) => s.description)).toEqual(expect.arrayContaining(stats));
    expect(r.mutants.map((m) => [m.description, m.outcome])).toEqual(stats.map((d) => [d, 'survived']));
    expect(r.mutants[0].coverage.fired).toBeGreaterThan(0); // the re-registration is rarer: every 64th fault of a driver
    expect(r.score).toBe(0);
  }, 30_000);

  it('scores 100% on a protocol whose every traced operation matters', async () => {
    const r = await mutate({
      // one 64-page interval: every invalidation and fault meet, so each mutant dies within about 1.5 s
      protocol: fx('mutate-tight-plugin.mjs'),
      events: ['munmap', 'migrate'],
      pages: 64,
      threads: 4, // one thread per role: the fastest kills on 2 busy cores (mutate's default has 6)
      durationMs: 6000,
      discoveryMs: 400,
      watchdogMs: 1000,
      seed: 7,
    });
    expect(['pass', 'inconclusive']).toContain(r.baseline.verdict); // clean (inconclusive: a short run missed a race window)
    const names = r.mutants.map((m) => m.description);
    for (const want of [
      'invalidateStart: skip-lock lock (1st)',
      'invalidateStart: drop-write busy add (1st)',
      'invalidateStart: drop-zap (1st)',
      'invalidateStart: drop-fence (1st)',
      'invalidateEnd: drop-write seq add (1st)',
      'invalidateEnd: drop-write busy add (1st)',
      'populate: no-mmap-lock mmap_lock (1st)',
      'populate: skip-lock lock (1st)',
      'populate: stale-read busy (1st)',
      'populate: stale-read seq (1st)',
    ])
      expect(names).toContain(want);
    const alive = r.mutants.filter((m) => m.outcome !== 'killed').map((m) => `${m.description}: ${m.outcome} ${m.error ?? ''}`);
    expect(alive).toEqual([]);
    expect(r.score).toBe(1);
    for (const m of r.mutants) {
      expect(m.kinds.length).toBeGreaterThan(0);
      expect(m.killMs).not.toBeNull();
    }
  }, 60_000);

  it("catches a plain word's lost update when the lock around it is skipped", async () => {
    // two invalidators: one's end (its lock skipped) and the other's start change the plain count at once
    const r = await mutate({
      protocol: fx('mutate-plain-word-plugin.mjs'),
      events: ['munmap', 'migrate'],
      pages: 64,
      roles: { invalidator: 2, driver: 1, dma: 1, cpu: 1 },
      only: 'invalidateEnd: skip-lock lock',
      durationMs: 6000,
      discoveryMs: 400,
      watchdogMs: 1000,
      seed: 5,
    });
    expect(['pass', 'inconclusive']).toContain(r.baseline.verdict);
    expect(r.mutants.map((m) => [m.description, m.outcome])).toEqual([['invalidateEnd: skip-lock lock (1st)', 'killed']]);
    expect(r.mutants[0].kinds.some((k) => ['stall', 'device-pte-during-invalidation', 'use-after-free', 'contract'].includes(k))).toBe(
      true,
    );
  }, 40_000);

  it("catches what a failed non-blockable start's undo leaves wrong (the -EAGAIN path)", async () => {
    // interval-v5.5's mn_itree_inv_end after a start that failed at its second interval: without its
    // increment the mm's sequence stays odd with nothing in progress, and a fault on the first
    // interval then waits for an invalidation that has not begun; the faults must get there before
    // the next invalidation (the CPU's, the other invalidator's) hides it: the run holds them back
    const r = await mutate({
      protocol: 'interval-v5.5',
      only: 'invalidateStart: drop-write mm.invalidate_seq add (2nd)',
      durationMs: 6000, // killed in 0.2-2.4 s beside a busy stress run; without the hold, 3 s runs and a 20 s one survived
      discoveryMs: 3000, // the failure path is reached 25-40 times in 3 s
      seed: 42,
    });
    expect(r.mutants.map((m) => [m.description, m.outcome])).toEqual([
      ['invalidateStart: drop-write mm.invalidate_seq add (2nd)', 'killed'],
    ]);
    expect(r.mutants[0].kinds).toContain('contract');
  }, 60_000);

  it('reports a read that never differs, and a snapshot that only makes the fault retry, as equivalent', async () => {
    const r = await mutate({
      protocol: fx('mutate-equivalent-plugin.mjs'),
      events: ['munmap', 'migrate'],
      pages: 64,
      only: 'populate: stale-read',
      threads: 4, // one thread per role: the fewest threads on 2 busy cores (mutate's default has 6)
      durationMs: 4000,
      discoveryMs: 400,
      seed: 11,
    });
    const by = Object.fromEntries(r.mutants.map((m) => [m.description, m]));
    const limit = by['populate: stale-read limit (1st)'];
    expect(limit.coverage.effective).toBe(0);
    // never differed: equivalent once reached often enough to say (a very busy machine may not get there)
    if (limit.coverage.fired >= NEVER_DIFFERED_MIN_REACHED) {
      expect(limit.outcome, JSON.stringify(limit.coverage)).toBe('equivalent');
      expect(limit.equivalence).toMatch(/^never differed: reached [\d,]+ times/);
    } else expect(limit.outcome, JSON.stringify(limit.coverage)).toBe('survived');
    // the snapshot: equivalent when the run made it stale often enough to say (retry only), else a survivor
    const snapshot = by['populate: stale-read seq (1st)'];
    if (snapshot.coverage.retryOnly >= RETRY_ONLY_MIN_CHANGED) {
      expect(snapshot.outcome).toBe('equivalent');
      expect(snapshot.equivalence).toMatch(/^retry only: each of the [\d,]+ populate calls/);
    } else expect(snapshot.outcome).toBe('survived');
    expect(by['populate: stale-read seq (2nd)'].outcome).toBe('killed');
    expect(r.equivalent).toBe(r.mutants.filter((m) => m.outcome === 'equivalent').length);
    // equivalent mutants are outside the score (the check's read of busy may survive a short run)
    expect(r.killed + r.survived + r.equivalent + r.errors).toBe(r.mutants.length);
    expect(r.score).toBe(r.killed / (r.killed + r.survived));
  }, 60_000);

  it('applies an equivalence rule only to what a run measured', () => {
    const counts = (fired: number, effective: number, retryOnly: number, escaped: number, reread = true) => ({
      fired,
      effective,
      retryOnly,
      escaped,
      reread,
    });
    expect(equivalenceOf('stale-read', counts(NEVER_DIFFERED_MIN_REACHED, 0, 0, 0))).toMatch(/^never differed/);
    expect(equivalenceOf('stale-read', counts(NEVER_DIFFERED_MIN_REACHED - 1, 0, 0, 0))).toBeNull(); // rarely reached: not exercised
    expect(equivalenceOf('stale-read', counts(5000, 30, 30, 0))).toMatch(/^retry only/);
    expect(equivalenceOf('stale-read', counts(5000, 30, 29, 1))).toBeNull(); // one changed call went on to write or program
    expect(equivalenceOf('stale-read', counts(5000, 30, 30, 0, false))).toBeNull(); // not a snapshot: nothing re-reads the word
    expect(equivalenceOf('stale-read', counts(5000, 3, 3, 0))).toBeNull(); // too few changed calls to say
    expect(equivalenceOf('no-retry-check', counts(5000, 70, 70, 0))).toMatch(/^retry only/);
    expect(equivalenceOf('no-wait', counts(50, 50, 50, 0))).toMatch(/^retry only/);
    for (const op of ['skip-lock', 'drop-write', 'drop-zap', 'drop-fence', 'no-mmap-lock'] as const)
      expect(equivalenceOf(op, counts(5000, 0, 0, 0))).toBeNull();
  });

  it('judges a run that could not be judged as an error, not a survivor', () => {
    const site = {
      callback: 'invalidateStart',
      cls: 'write',
      field: 'sub.count',
      n: 2,
      method: 'add',
      hits: 40,
      pos: 7,
      operator: 'drop-write',
    } as const;
    const counts = { fired: 40, effective: 40, retryOnly: 0, escaped: 0, durationMs: 3000 };
    const clean = { violations: {}, witnesses: [], durationMs: 3004 } as unknown as Parameters<typeof judge>[3];
    expect(judge(1, site, 'd', clean, counts).outcome).toBe('survived');
    // the watchdog left no progress unjudged: a thread it waited on was starved of CPU at the end
    const unjudged = {
      ...clean,
      durationMs: 4204,
      starvation: { steps: 9, first: 'T3', unjudged: 'T3 driver at 4100 ms: 80 ms on a CPU' },
    };
    const m = judge(1, site, 'd', unjudged, counts);
    expect([m.outcome, m.error]).toEqual(['error', 'no progress left unjudged when the run ended: T3 driver at 4100 ms: 80 ms on a CPU']);
    expect(judge(1, site, 'd', { ...clean, durationMs: 180 }, counts).outcome).toBe('error'); // ended clean too soon
    expect(judge(1, site, 'd', { ...unjudged, violations: { stall: 1 } }, counts).outcome).toBe('killed');
  });

  it('refuses bad input with the same errors as stress', async () => {
    for (const protocol of ['interval-v9', fx('no-api-plugin.mjs')]) {
      const stress = await runStress({ protocol, durationMs: 100 }).catch((e: Error) => e);
      const mut = await mutate({ protocol, durationMs: 100 }).catch((e: Error) => e);
      expect(mut).toBeInstanceOf(ConfigError);
      expect((mut as Error).message).toBe((stress as Error).message);
    }
    await expect(mutate({ protocol: 'all' })).rejects.toThrow(/mutate takes one protocol/);
  });
});

describe('chainHooks', () => {
  it('lets both hooks see every callback and operation; the first non-PERFORM answer wins', () => {
    const seen: string[] = [];
    const hook = (name: string, answer: number, value: number): OpHook => ({
      enter: (cb) => void seen.push(`${name} enter ${cb}`),
      exit: () => void seen.push(`${name} exit`),
      before: (t, op) => (seen.push(`${name} ${op.method} ${t.field}`), answer),
      stale: () => value,
    });
    const both = chainHooks(hook('sched', PERFORM, 1), hook('mutant', STALE, 42));
    both.enter('populate');
    expect(both.before({ field: 'mm.seq' }, OPS.read)).toBe(STALE);
    expect(both.stale({ field: 'mm.seq' })).toBe(42);
    both.exit();
    expect(seen).toEqual([
      'sched enter populate',
      'mutant enter populate',
      'sched read mm.seq',
      'mutant read mm.seq',
      'mutant exit',
      'sched exit',
    ]);
    expect(chainHooks(hook('a', SKIP, 0), hook('b', PERFORM, 0)).before({ field: 'x' }, OPS.lock)).toBe(SKIP);
  });
});

describe('hmmsim mutate', () => {
  it('prints the table and score, writes JSON and JUnit (one testcase per mutant)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hmmsim-mutate-'));
    const plugin = fx('mutate-redundant-lock-plugin.mjs');
    const args = ['mutate', '-p', plugin, '--only', 'populate: skip-lock stats_lock', '--duration', '300ms', '--seed', '5', '-q'];
    const r = hmmsim([...args, '--json', join(dir, 'm.json'), '--junit', join(dir, 'm.xml')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/populate: skip-lock stats_lock \(1st\)\s+survived/);
    expect(r.stdout).toMatch(/mutation score 0%: 0 of 1 killed, 1 survived/);
    expect(r.stdout).toMatch(/\d+\. populate: skip-lock stats_lock \(1st\): reached [\d,]+ times in/);
    const j = JSON.parse(readFileSync(join(dir, 'm.json'), 'utf8'));
    expect(j).toMatchObject({ protocol: 'fixture-mutate-redundant-lock', seed: 5, killed: 0, survived: 1, errors: 0, score: 0 });
    expect(j.mutants[0]).toMatchObject({
      operator: 'skip-lock',
      outcome: 'survived',
      kinds: [],
      killMs: null,
      site: { callback: 'populate', field: 'mm.stats_lock', n: 1 },
    });
    const doc = convert(readFileSync(join(dir, 'm.xml'), 'utf8'), { format: 'object' }) as any;
    const suite = doc.testsuites.testsuite;
    expect(suite['@tests']).toBe('1');
    expect(suite['@failures']).toBe('1');
    expect(suite.testcase['@name']).toBe('populate: skip-lock stats_lock (1st)');
    // --min-score turns a survivor into exit 1
    expect(hmmsim([...args, '--min-score', '50']).code).toBe(1);
  }, 60_000);

  const bad: [string, string[], RegExp][] = [
    ['unknown protocol', ['mutate', '-p', 'frob'], /unknown protocol 'frob'.*interval-v5\.5, odp-v5\.4, kvm/],
    ['plugin lacking the API', ['mutate', '-p', 'test/fixtures/no-api-plugin.mjs'], /lacks method populate/],
    ['several protocols', ['mutate', '-p', 'kvm,odp-v5.4'], /mutate takes one protocol/],
    ['all', ['mutate', '-p', 'all'], /mutate takes one protocol, not all/],
  ];
  for (const [what, args, re] of bad)
    it(`bad input: ${what} (one line, exit 2)`, () => {
      const r = hmmsim(args);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(re);
    });
});
