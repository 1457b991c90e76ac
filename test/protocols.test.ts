/**
 * The four kernel protocols under full parallel stress (docs/ARCHITECTURE.md, Oracle checks): the
 * sound ones never report a violation; hmm-v5.2 (the 2019 scheme) is clean when every
 * invalidation takes mmap_lock for write, and loses the ABA race as soon as migration is in the mix.
 */
import { describe, it, expect } from 'vitest';
import { runStress } from '../dist/index.js';

const SOUND = ['interval-v5.5', 'odp-v5.4', 'kvm'];

describe('sound kernel protocols: zero violations with all four roles in parallel', () => {
  for (const name of SOUND) {
    it(`${name}: >= 1e5 operations, every role busy, no violation`, async () => {
      const r = await runStress({ protocol: name, durationMs: 1500, seed: 1234 });
      const p = r.protocols[0];
      expect(p.error).toBeUndefined();
      expect(p.violations).toEqual({});
      expect(p.verdict).toBe('pass');
      expect(p.ops).toBeGreaterThanOrEqual(100_000);
      for (const role of ['cpu', 'invalidator', 'driver', 'dma'] as const) expect(p.roleOps[role] ?? 0).toBeGreaterThan(1000);
      expect(p.firstViolationMs).toBeNull();
    });
  }
});

describe('hmm-v5.2, the seed scheme', () => {
  it('is clean when the only invalidations are munmap and mprotect (mmap_lock held for write)', async () => {
    const r = await runStress({ protocol: 'hmm-v5.2', durationMs: 1500, seed: 99, events: ['munmap', 'mprotect'] });
    const p = r.protocols[0];
    expect(p.error).toBeUndefined();
    expect(p.violations).toEqual({});
    expect(p.ops).toBeGreaterThanOrEqual(100_000);
    expect(p.roleOps.invalidator ?? 0).toBeGreaterThan(1000);
    expect(p.roleOps.driver ?? 0).toBeGreaterThan(1000);
  });

  it('loses the ABA race with migration in the mix, with a witness of at least two threads', async () => {
    const r = await runStress({ protocol: 'hmm-v5.2', durationMs: 5000, seed: 7, events: ['migrate', 'reclaim'], stopOnViolation: true });
    const p = r.protocols[0];
    expect(p.error).toBeUndefined();
    const uaf = (p.violations['use-after-free'] ?? 0) + (p.violations['device-pte-during-invalidation'] ?? 0);
    expect(uaf).toBeGreaterThan(0);
    expect(p.verdict).toBe('pass'); // it violates, as it is expected to
    const w = p.witnesses[0];
    expect(['use-after-free', 'device-pte-during-invalidation']).toContain(w.kind);
    expect(new Set(w.events.filter((e) => e.thread >= 0).map((e) => e.thread)).size).toBeGreaterThanOrEqual(2);
    expect(w.text).toMatch(/(migrate|reclaim) page 0x[0-9a-f]+: pfn \d+/);
    expect(w.text).toMatch(/hmm_range_fault/);
    expect(w.text).toMatch(/--seed 7/);
  });
});
