/**
 * The soak's witness checker (scripts/witness-check.mjs) accepts the witnesses a broken protocol
 * really produces, the first ones and the most recent ones (latestWitnessMs), and rejects every
 * deliberately corrupted copy: events reordered, the violation dropped, another frame, page,
 * thread or role, tickets wrapped to 32 bits.
 */
import { describe, it, expect } from 'vitest';
import { runStress } from '../dist/index.js';
import { checkWitness, corruptions, pastWrap } from '../scripts/witness-check.mjs';

describe('witness check', () => {
  it('passes real witnesses, first and latest, and fails corrupted ones', async () => {
    const r = await runStress({ protocol: 'interval-no-retry', durationMs: 1500, seed: 7, latestWitnessMs: 200 });
    const p = r.protocols[0];
    expect(p.events).toBeGreaterThan(0);
    const checked = p.witnesses.filter((w) => w.record);
    expect(checked.length).toBeGreaterThan(0);
    expect(checked.some((w) => w.latest)).toBe(true);
    for (const w of checked) expect(checkWitness(w, { protocol: p.name, ticketAbove: false })).toEqual([]);
    const sample = checked.find((w) => w.events.length >= 3)!;
    const moved = pastWrap(sample);
    expect(checkWitness(moved, { protocol: p.name, ticketAbove: true })).toEqual([]);
    const bent = [...corruptions(sample), ...corruptions(moved)];
    expect(bent.length).toBeGreaterThanOrEqual(14);
    for (const b of bent) expect(checkWitness(b.w, { protocol: p.name, ticketAbove: b.ticketAbove }), b.what).not.toEqual([]);
  }, 30_000);
});
