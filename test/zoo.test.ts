/**
 * The zoo (README.md, "The protocols"): every broken variant is caught with the violation kind it
 * declares, with a witness (two threads' events) or, for liveness, the lock/owner dump.
 */
import { describe, it, expect } from 'vitest';
import { runStress, listProtocols, type EventName } from '../dist/index.js';

interface Case {
  name: string;
  /** The kind the test insists on (liveness); otherwise any kind the protocol declares. */
  kind?: 'stall' | 'deadlock';
  events?: EventName[];
}

const CASES: Case[] = [
  { name: 'hmm-valid-unlocked' },
  { name: 'interval-retry-unlocked' },
  { name: 'interval-no-retry' },
  { name: 'odp-seq-only' },
  { name: 'walk-no-mmap-lock' },
  { name: 'sync-no-fence' },
  // the count leak needs a failed non-blockable start (the OOM reaper); what it causes is a stall
  { name: 'hmm-eagain-leak', kind: 'stall', events: ['munmap', 'mprotect', 'oom'] },
  { name: 'odp-nonblock-rwsem-leak', kind: 'deadlock' },
];

describe('broken protocols are caught with their declared kind', async () => {
  const declared = new Map((await listProtocols()).map((p) => [p.name, p.expect === 'sound' ? [] : p.expect.violates]));
  for (const c of CASES) {
    const kinds: string[] = c.kind ? [c.kind] : declared.get(c.name)!;
    it(`${c.name}: ${kinds.join(' or ')}`, async () => {
      expect(kinds.length).toBeGreaterThan(0);
      const r = await runStress({
        protocol: c.name,
        seed: 11,
        durationMs: 8000,
        events: c.events,
        stopOnViolation: !c.kind,
        watchdogMs: c.kind ? 1000 : undefined,
      });
      const p = r.protocols[0];
      expect(p.error).toBeUndefined();
      expect(p.verdict).toBe('pass');
      const caught = kinds.filter((k) => (p.violations as Record<string, number>)[k] > 0);
      expect(caught.length).toBeGreaterThan(0);
      const w = p.witnesses.find((x) => kinds.includes(x.kind));
      expect(w).toBeDefined();
      if (c.kind) {
        expect(w!.text).toMatch(/locks held:/);
        expect(w!.text).toMatch(c.kind === 'deadlock' ? /blocked on rwsem (read|write) umem_rwsem; held by: T\d/ : /T\d driver/);
      } else {
        expect(new Set(w!.events.filter((e) => e.thread >= 0).map((e) => e.thread)).size).toBeGreaterThanOrEqual(2);
      }
    });
  }
});
