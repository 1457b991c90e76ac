/**
 * The zoo (issue 4): every broken variant is caught with the violation kind it declares, with a
 * witness (two threads' events) or, for liveness, the lock/owner dump.
 */
import { describe, it, expect } from 'vitest';
import { runStress, type EventName } from '../dist/index.js';

interface Case {
  name: string;
  kinds: string[];
  events?: EventName[];
  liveness?: boolean;
}

const CASES: Case[] = [
  { name: 'hmm-valid-unlocked', kinds: ['use-after-free', 'device-pte-during-invalidation'] },
  { name: 'interval-retry-unlocked', kinds: ['use-after-free', 'device-pte-during-invalidation'] },
  { name: 'interval-no-retry', kinds: ['use-after-free', 'device-pte-during-invalidation'] },
  { name: 'odp-seq-only', kinds: ['use-after-free', 'device-pte-during-invalidation'] },
  { name: 'walk-no-mmap-lock', kinds: ['page-table-use-after-free'] },
  { name: 'sync-no-fence', kinds: ['use-after-free'] },
  // the count leak needs a failed non-blockable start (the OOM reaper); what it causes is a stall
  { name: 'hmm-eagain-leak', kinds: ['stall'], events: ['munmap', 'mprotect', 'oom'], liveness: true },
  { name: 'odp-nonblock-rwsem-leak', kinds: ['deadlock'], liveness: true },
];

describe('broken protocols are caught with their declared kind', () => {
  for (const c of CASES) {
    it(`${c.name}: ${c.kinds.join(' or ')}`, async () => {
      const r = await runStress({
        protocol: c.name, seed: 11, durationMs: 8000, events: c.events,
        stopOnViolation: !c.liveness, watchdogMs: c.liveness ? 1000 : undefined,
      });
      const p = r.protocols[0];
      expect(p.error).toBeUndefined();
      expect(p.verdict).toBe('pass');
      const caught = c.kinds.filter((k) => (p.violations as Record<string, number>)[k] > 0);
      expect(caught.length).toBeGreaterThan(0);
      const w = p.witnesses.find((x) => c.kinds.includes(x.kind));
      expect(w).toBeDefined();
      if (c.liveness) {
        expect(w!.text).toMatch(/locks held:/);
        expect(w!.text).toMatch(c.kinds[0] === 'deadlock' ? /blocked on rwsem (read|write) umem_rwsem; held by: T\d/ : /T\d driver/);
      } else {
        expect(new Set(w!.events.filter((e) => e.thread >= 0).map((e) => e.thread)).size).toBeGreaterThanOrEqual(2);
      }
    });
  }
});
