/**
 * Controlled mode: every broken protocol found under PCT within a test's budget, sound ones
 * clean, a schedule replays to the same witness byte for byte, an edited schedule is reported
 * as divergent, hmm-v5.2's ABA shrinks to a few switches, and the shipped corpus still replays.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  runStress,
  listProtocols,
  replay,
  shrink,
  loadFailures,
  type Witness,
  type StoredFailure,
  type ProtocolResult,
} from '../dist/index.js';
import { ALL_PROTOCOLS, HISTORY_PROTOCOLS } from '../dist/protocols/builtin.js';
import { run } from '../dist/cli/main.js';
import { Executor } from '../dist/schedule/executor.js';
import { protocolOf, runStored } from '../dist/schedule/replay.js';
import { workloadOf } from '../dist/schedule/schedule.js';
import { Session } from '../dist/run/session.js';
import { protocolRoles } from '../dist/config/defaults.js';

const CORPUS = new URL('./corpus/', import.meta.url).pathname;

async function firstFailure(protocol: string, schedules = 400): Promise<Witness> {
  const r = await runStress({ protocol, mode: 'controlled', seed: 1, schedules, stopOnViolation: true });
  const p = r.protocols[0];
  expect(p.error).toBeUndefined();
  expect(p.witnesses.length).toBeGreaterThan(0);
  return p.witnesses[0];
}

const asFailure = (w: Witness, where = 'test'): StoredFailure => ({ schedule: w.schedule!, witness: w, where });

// Kernel-history bugs controlled mode does not find yet (so no corpus entry either): none today;
// a bug added here is skipped by the history block and needs no corpus entry
const NOT_YET: string[] = [];

describe('controlled mode finds every broken protocol (pct, seed 1)', async () => {
  const all = await listProtocols();
  // the kernel-history bugs (--protocol history): the block below
  for (const p of all.filter((x) => x.expect !== 'sound' && (ALL_PROTOCOLS as readonly string[]).includes(x.name))) {
    it(p.name, async () => {
      const r = await runStress({ protocol: p.name, mode: 'controlled', seed: 1, schedules: 400, stopOnViolation: true });
      const res = r.protocols[0];
      expect(res.error).toBeUndefined();
      expect(res.verdict).toBe('pass');
      expect(res.controlled!.firstViolationSchedule).not.toBeNull();
      expect(res.witnesses[0].schedule!.switches[0][0]).toBe(0);
    }, 60_000);
  }
});

describe('controlled mode finds the kernel-history bugs (pct, else random; seed 1)', async () => {
  const all = await listProtocols();
  for (const p of all.filter((x) => x.expect !== 'sound' && (HISTORY_PROTOCOLS as readonly string[]).includes(x.name))) {
    it.skipIf(NOT_YET.includes(p.name))(
      p.name,
      async () => {
        let res: ProtocolResult | undefined;
        for (const strategy of ['pct', 'random'] as const) {
          const r = await runStress({ protocol: p.name, mode: 'controlled', strategy, seed: 1, schedules: 400, stopOnViolation: true });
          res = r.protocols[0];
          expect(res.error).toBeUndefined();
          if (res.controlled!.firstViolationSchedule !== null) break;
        }
        expect(res!.verdict).toBe('pass');
        expect(res!.controlled!.firstViolationSchedule).not.toBeNull();
      },
      120_000,
    );
  }
});

describe('controlled mode: widening as steps and scheduling points (pct alone, default depth, seed 1)', () => {
  // interval-remove-race: ctx.widenUntil defers to the other threads for a number of steps, so the
  // removal meets an active invalidation and inv_end's window; kvm-gpc-refresh: ctx.widen in the
  // window between the cache invalidation and the in-progress count is a scheduling point
  for (const name of ['interval-remove-race', 'kvm-gpc-refresh'])
    it(name, async () => {
      const r = await runStress({ protocol: name, mode: 'controlled', strategy: 'pct', seed: 1, schedules: 400, stopOnViolation: true });
      const p = r.protocols[0];
      expect(p.error).toBeUndefined();
      expect(p.verdict).toBe('pass');
      expect(p.controlled!.firstViolationSchedule).not.toBeNull();
    }, 60_000);
});

describe("controlled mode deals a protocol's own roles, as free-running mode does", () => {
  it('amdgpu-userptr-shared-range runs two validator threads; the schedule records them and replays byte for byte', async () => {
    const w = await firstFailure('amdgpu-userptr-shared-range');
    expect(w.schedule!.config.roles).toEqual(['cpu', 'invalidator', 'driver', 'driver', 'dma']);
    // the rerun command needs no --threads: a run without it deals the same roles
    expect(w.text).not.toMatch(/--threads/);
    const [r] = await replay([asFailure(w)]);
    expect(r.identical).toBe(true);
    // one definition for both modes: --threads (or roles) wins over the protocol's own
    expect(protocolRoles({ threads: 4 }, { driver: 2 })).toEqual(['invalidator', 'driver', 'dma', 'cpu']);
    expect(protocolRoles({}, undefined)).toEqual(['invalidator', 'driver', 'dma', 'cpu']);
  }, 60_000);
});

describe('controlled mode: the liveness witness says what is stuck', () => {
  it('kvm-unpaired-range-end: a retry livelock names the driver and the fault it retried', async () => {
    const w = await firstFailure('kvm-unpaired-range-end', 50);
    expect(w.kind).toBe('stall');
    expect(w.text).toMatch(
      /\nT1 driver retry livelock: its device fault \[0x[0-9a-f]+,0x[0-9a-f]+\) of sub\d+ retried \d+ times, \d+ of them since step/,
    );
    expect(w.text).toMatch(/invalidations begun (\d+), ended \1\)/);
  }, 60_000);

  it('xen-gntdev-unmap-wait: the notifier waiting on the pages and their holder waiting on the notifier', async () => {
    const w = await firstFailure('xen-gntdev-unmap-wait', 50);
    expect(w.text).toMatch(/T0 invalidator waiting for the references on pfn \d+ .*last taken by: T1 driver \(stuck\)/);
    expect(w.text).toMatch(/T1 driver sleeping on waitqueue/);
  }, 60_000);
});

describe('controlled mode: sound protocols stay clean', async () => {
  const fixes = ['kvm-unpaired-range-end-fix', 'nouveau-exclusive-folio-leak-fix', 'xen-gntdev-unmap-wait-fix'];
  for (const name of ['interval-v5.5', 'odp-v5.4', 'kvm', ...fixes])
    for (const strategy of ['pct', 'random'] as const)
      it(`${name} (${strategy}, 30 schedules)`, async () => {
        const r = await runStress({ protocol: name, mode: 'controlled', seed: 7, schedules: 30, strategy });
        const p = r.protocols[0];
        expect(p.error).toBeUndefined();
        expect(p.violations).toEqual({});
        expect(p.controlled!.schedules).toBe(30);
      }, 60_000);
});

describe('replay', () => {
  let w: Witness;
  beforeAll(async () => {
    w = await firstFailure('hmm-v5.2');
  }, 60_000);

  it('one schedule replayed 20 times gives the identical witness every time', async () => {
    const results = await replay(Array.from({ length: 20 }, () => asFailure(w)));
    expect(results.map((r) => r.status)).toEqual(Array(20).fill('violation'));
    for (const r of results) {
      expect(r.identical).toBe(true);
      expect(r.witness!.text).toBe(w.text);
    }
  }, 60_000);

  it('an edited schedule is reported as divergent, not run differently', async () => {
    const sw = w.schedule!.switches;
    // drop one recorded switch (each of the first few in turn): the run then reaches a thread
    // that blocks where the schedule has no switch, or a switch to a thread that cannot run
    const edits = sw.slice(1, 6).map((_, k) => sw.filter((__, i) => i !== k + 1));
    const results = await replay(edits.map((switches) => asFailure({ ...w, schedule: { ...w.schedule!, switches } })));
    const diverged = results.filter((r) => r.status === 'divergence');
    expect(diverged.length).toBeGreaterThan(0);
    for (const r of diverged) {
      expect(r.divergence!.step).toBeGreaterThan(0);
      expect(r.kind).toBeUndefined();
      expect(r.identical).toBe(false);
    }
  }, 60_000);

  it('refuses another version or a changed protocol file (exit 2, one line)', async () => {
    await expect(replay([asFailure({ ...w, schedule: { ...w.schedule!, version: '0.0.0-other' } })])).rejects.toThrow(
      /recorded by hmmsim 0\.0\.0-other/,
    );
    const dir = mkdtempSync(join(tmpdir(), 'hmmsim-replay-'));
    const plugin = join(dir, 'plugin.mjs');
    copyFileSync(new URL('./fixtures/sound-plugin.mjs', import.meta.url), plugin);
    const stale = { ...w.schedule!, protocol: plugin, protocolHash: '0'.repeat(64) };
    await expect(replay([asFailure({ ...w, schedule: stale })])).rejects.toThrow(/changed since the schedule was recorded/);
    const report = join(dir, 'r.json');
    writeFileSync(
      report,
      JSON.stringify({ version: 'x', seed: 1, config: {}, protocols: [{ name: 'p', witnesses: [{ ...w, schedule: stale }] }] }),
    );
    expect(await run(['replay', report, '-q'])).toBe(2);
  }, 60_000);

  it("shrinks hmm-v5.2's ABA to at most 4 switches and 40 witness events, and the result replays", async () => {
    const s = await shrink(asFailure(w), { maxRuns: 150 });
    expect(s.witness.kind).toBe(w.kind);
    expect(s.switchesAfter).toBeLessThanOrEqual(4);
    expect(s.witness.events.length).toBeLessThanOrEqual(40);
    const [r] = await replay([asFailure(s.witness)]);
    expect(r.identical).toBe(true);
  }, 120_000);
});

describe('schedule server: workers, Wasm instances and memory reused across schedules', () => {
  it('a schedule replayed after 100 others on the same workers gives the witness of a fresh process', async () => {
    // the shipped hmm-v5.2 schedule and the witness it gave when recorded (a fresh process)
    const [f] = loadFailures(CORPUS).filter((x) => x.schedule.protocol === 'hmm-v5.2');
    const p = await protocolOf(f);
    const n = f.schedule.config.roles.length;
    const exec = new Executor(n);
    try {
      for (let i = 0; i < 100; i++) {
        const cfg = { strategy: i % 2 ? 'pct' : 'random', seed: 5000 + i, depth: 10, steps: 2000, boundSteps: 1000, threads: n } as const;
        await exec.run(p, workloadOf(f.schedule), cfg, 'rerun');
      }
      const out = await runStored(exec, p, f.schedule);
      expect(out.status).toBe('violation');
      expect(out.witness!.text).toBe(f.witness.text);
      // and what a reset leaves is a fresh session's memory, byte for byte
      const session = (exec as unknown as { lane: { session: Session } }).lane.session;
      session.reset(f.schedule.seed);
      const fresh = new Session({ ...session.options, seed: f.schedule.seed });
      expect(Buffer.compare(new Uint8Array(session.memory.buffer), new Uint8Array(fresh.memory.buffer))).toBe(0);
    } finally {
      await exec.close();
    }
  }, 60_000);
});

describe('regression corpus', () => {
  it('every shipped schedule still shows its violation (hmmsim replay test/corpus)', async () => {
    const results = await replay(CORPUS, { corpus: true });
    const names = new Set(results.map((r) => r.protocol));
    // every broken protocol controlled mode finds: the zoo's and the kernel-history bugs'
    for (const p of await listProtocols())
      if (p.expect !== 'sound' && !NOT_YET.includes(p.name)) expect(names.has(p.name), p.name).toBe(true);
    for (const r of results) expect({ where: r.where, ok: r.ok, kind: r.kind }).toEqual({ where: r.where, ok: true, kind: r.recordedKind });
  }, 120_000);

  it('hmmsim replay DIR exits 0 on the shipped corpus, 1 when a schedule is judged against a sound expectation', async () => {
    expect(await run(['replay', CORPUS, '-q'])).toBe(0);
    // the same hmm-v5.2 schedule stored under a sound plugin that is hmm-v5.2 itself: a violation is now a regression
    const dir = mkdtempSync(join(tmpdir(), 'hmmsim-corpus-'));
    const plugin = join(dir, 'hmm-as-sound.mjs');
    writeFileSync(
      plugin,
      `import p from ${JSON.stringify(new URL('../dist/protocols/kernel/hmm-v5.2.js', import.meta.url).href)};\nexport default { ...p, name: 'hmm-as-sound', expect: undefined };\n`,
    );
    const [f] = (await import('../dist/index.js')).loadFailures(CORPUS).filter((x) => x.schedule.protocol === 'hmm-v5.2');
    const { fileHash } = await import('../dist/schedule/executor.js');
    const schedule = { ...f.schedule, protocol: plugin, protocolHash: fileHash(plugin) };
    writeFileSync(
      join(dir, 'entry.json'),
      JSON.stringify({
        version: schedule.version,
        seed: 1,
        config: {},
        protocols: [{ name: 'hmm-as-sound', witnesses: [{ ...f.witness, schedule }] }],
      }),
    );
    expect(await run(['replay', dir, '-q'])).toBe(1);
  }, 60_000);
});
