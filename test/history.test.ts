/**
 * The kernel's own fixed races (src/protocols/history, docs/history.md): each bug is caught with
 * a kind it declares, and its fix, under the same seed and mix, shows nothing. Short runs: the
 * 20-seed figures come from scripts/history-check.mjs.
 */
import { describe, it, expect } from 'vitest';
import { runStress, listProtocols } from '../dist/index.js';
import { notifierChain } from '../dist/model/mm/subscribers.js';

const history = (await listProtocols()).filter((p) => p.history);
const bugs = history.filter((p) => p.history!.side === 'bug' && p.history!.twin.endsWith('-fix'));

describe('history pairs: the bug is caught, its fix is clean', () => {
  it('every bug/fix pair is registered both ways', () => {
    expect(bugs.length).toBeGreaterThanOrEqual(9);
    for (const b of bugs) {
      const fix = history.find((p) => p.name === b.history!.twin);
      expect(fix?.history).toMatchObject({ side: 'fix', twin: b.name, commit: b.history!.commit });
      // hmm-eagain-leak-fix keeps hmm-v5.2's range->valid race (docs/history.md): its kinds, never the stall
      if (b.name === 'hmm-eagain-leak')
        expect(fix?.expect).toEqual({ violates: ['use-after-free', 'device-pte-during-invalidation', 'contract'] });
      else expect(fix?.expect).toBe('sound');
      expect(b.expect).not.toBe('sound');
    }
  });
  for (const b of bugs) {
    // the zoo's odp-nonblock-rwsem-leak has its own (longer) test in zoo.test.ts
    const liveness = b.expect !== 'sound' && b.expect.violates.every((k) => k === 'stall' || k === 'deadlock');
    if (b.name !== 'odp-nonblock-rwsem-leak')
      it(`${b.name} (${b.history!.commit}): caught`, async () => {
        // detection is statistical (the 20-seed figures: docs/history.md): up to three seeds, the first that catches it
        let p = (await runStress({ protocol: b.name, seed: 5, durationMs: 4000, stopOnViolation: !liveness, watchdogMs: 1000 }))
          .protocols[0];
        for (let seed = 6; seed <= 7 && p.verdict !== 'pass' && !p.error; seed++)
          p = (await runStress({ protocol: b.name, seed, durationMs: 4000, stopOnViolation: !liveness, watchdogMs: 1000 })).protocols[0];
        expect(p.error).toBeUndefined();
        expect(p.verdict).toBe('pass');
        expect(p.witnesses.length).toBeGreaterThan(0);
      });
    it(`${b.history!.twin}: clean`, async () => {
      const r = await runStress({ protocol: b.history!.twin, seed: 5, durationMs: 1500 });
      const p = r.protocols[0];
      expect(p.error).toBeUndefined();
      if (p.expect === 'sound') expect(p.violations).toEqual({});
      else expect(p.violations.stall ?? 0).toBe(0); // the bug's stall is gone; the older race it keeps may show
      expect(p.roleOps.driver ?? 0).toBeGreaterThan(10); // a fix may retry a lot while invalidations run
      expect(p.roleOps.invalidator ?? 0).toBeGreaterThan(100);
    });
  }
});

describe("5a136b4ae327's second error flow: a mirror's -EAGAIN on a non-blockable range", () => {
  it('hmm-mirror-eagain-lost: the start hides the failed trylock, and the device keeps the pages', async () => {
    // the contract breach is the lost -EAGAIN itself: a start that returned success with device entries still valid
    const run = async (seed: number) => (await runStress({ protocol: 'hmm-mirror-eagain-lost', seed, durationMs: 3000 })).protocols[0];
    let p = await run(5);
    for (let seed = 6; seed <= 7 && !p.error && !p.violations.contract; seed++) p = await run(seed);
    expect(p.error).toBeUndefined();
    expect(p.verdict).toBe('pass');
    expect(p.violations.contract ?? 0).toBeGreaterThan(0);
    expect(p.witnesses.some((w) => /inv_start \[[^\]]*\) clear non-blockable/.test(w.text))).toBe(true);
  });
  it('hmm-mirror-eagain-lost-fix: the -EAGAIN is returned (the reaper skips the chunk), and nothing is caught', async () => {
    const p = (await runStress({ protocol: 'hmm-mirror-eagain-lost-fix', seed: 5, durationMs: 3000 })).protocols[0];
    expect(p.error).toBeUndefined();
    expect(p.violations).toEqual({});
    expect(p.coverage?.['nonblock-failed'] ?? 0).toBeGreaterThan(0);
  });
});

describe('notifierChain: the kernel pairing rules', () => {
  it('refuses a subscriber whose start may fail and that has an end, under end-pairing', () => {
    const sub = { name: 'x', startMayFail: true, invalidateRangeStart: () => false, invalidateRangeEnd: () => {} };
    expect(() => notifierChain([sub], 'all-on-failure')).toThrow(/may not have an end/);
    expect(() => notifierChain([sub], 'none-on-failure')).not.toThrow();
  });
  it('calls every start after a failure; ends only with all-on-failure', () => {
    for (const pairing of ['none-on-failure', 'all-on-failure'] as const) {
      const calls: string[] = [];
      const chain = notifierChain(
        [
          { name: 'a', invalidateRangeStart: () => (calls.push('a-start'), true), invalidateRangeEnd: () => void calls.push('a-end') },
          { name: 'b', startMayFail: true, invalidateRangeStart: () => (calls.push('b-start'), false) },
          { name: 'c', invalidateRangeStart: () => (calls.push('c-start'), true), invalidateRangeEnd: () => void calls.push('c-end') },
        ],
        pairing,
      );
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      expect(chain.invalidateStart({} as any, { start: 0, end: 1, event: 'clear', blockable: false, subs: [] })).toBe(false);
      expect(calls).toEqual(
        pairing === 'none-on-failure' ? ['a-start', 'b-start', 'c-start'] : ['a-start', 'b-start', 'c-start', 'a-end', 'c-end'],
      );
    }
  });
});

describe('interval removal and exit are general: the kernel protocols stay clean with them', () => {
  // interval-v5.5 has no intervalRemove (only exit frees its intervals; the model re-registers
  // them); kvm has no release (exit invalidates the whole mm through its start/end)
  for (const protocol of ['interval-v5.5', 'kvm'])
    it(`${protocol} with interval,exit in the mix`, async () => {
      const events = ['munmap', 'dontneed', 'migrate', 'reclaim', 'interval', 'exit'] as const;
      const r = await runStress({ protocol, seed: 3, durationMs: 1500, events: [...events] });
      const p = r.protocols[0];
      expect(p.error).toBeUndefined();
      expect(p.violations).toEqual({});
      expect(p.roleOps.driver ?? 0).toBeGreaterThan(10);
    });
});
