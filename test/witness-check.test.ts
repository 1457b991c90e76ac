/**
 * The soak's witness checker (scripts/witness-check.mjs) accepts the witnesses a broken protocol
 * really produces, the first ones and the most recent ones (latestWitnessMs), and rejects every
 * deliberately corrupted copy: events reordered, the violation dropped, another frame, page,
 * thread or role, tickets wrapped to 32 bits.
 */
import { describe, it, expect } from 'vitest';
import { runStress } from '../dist/index.js';
import { checkWitness, corruptions, pastWrap } from '../scripts/witness-check.mjs';
import { Oracle, CAPTURES_PER_KIND } from '../dist/oracle/oracle.js';
import { harness } from './mm-harness.js';

describe('witness check', () => {
  it('passes real witnesses, first and latest, and fails corrupted ones', async () => {
    const r = await runStress({ protocol: 'interval-no-retry', ops: 400_000, durationMs: 20_000, seed: 7, latestWitnessMs: 200 });
    const p = r.protocols[0];
    expect(p.events).toBeGreaterThan(0);
    const checked = p.witnesses.filter((w) => w.record);
    expect(checked.length).toBeGreaterThan(0);
    for (const w of checked) expect(checkWitness(w, { protocol: p.name, ticketAbove: false })).toEqual([]);
    // a witness with another thread's event too, where one exists: then every corruption applies
    const others = (w: (typeof checked)[number]) => w.events.some((e) => e.thread >= 0 && e.thread !== w.thread);
    const sample = checked.find((w) => w.events.length >= 3 && others(w)) ?? checked.find((w) => w.events.length >= 3)!;
    const moved = pastWrap(sample);
    expect(checkWitness(moved, { protocol: p.name, ticketAbove: true })).toEqual([]);
    const bent = [...corruptions(sample), ...corruptions(moved)];
    expect(bent.length).toBeGreaterThanOrEqual(others(sample) ? 14 : 12); // 12 without the role change
    for (const b of bent) expect(checkWitness(b.w, { protocol: p.name, ticketAbove: b.ticketAbove }), b.what).not.toEqual([]);
  }, 60_000);

  it('latestEveryMs keeps the first witnesses of a kind and the most recent one, refreshed at most that often', async () => {
    const h = await harness('kvm');
    let clock = 0;
    const oracle = new Oracle(
      h.s.i32,
      h.s.wasm,
      h.s.layout,
      0,
      () => 0,
      false,
      () => clock,
    );
    oracle.latestEveryMs = 100;
    const useAfterFree = -2; // -(kind index 1 + 1)
    for (const at of [0, 10, 20, 50, 130, 140, 300]) {
      clock = at;
      oracle.onViolation(useAfterFree);
    }
    expect(oracle.captures.filter((c) => !c.latest).map((c) => c.atMs)).toEqual([0, 10].slice(0, CAPTURES_PER_KIND));
    // 20 (first after the firsts), then refreshed at 130 (>= 100 later) and 300; 50 and 140 too soon
    expect(oracle.captures.filter((c) => c.latest).map((c) => c.atMs)).toEqual([300]);
    oracle.latestEveryMs = 0;
    clock = 1000;
    oracle.onViolation(useAfterFree);
    expect(oracle.captures.filter((c) => c.latest).map((c) => c.atMs)).toEqual([300]);
  });
});
