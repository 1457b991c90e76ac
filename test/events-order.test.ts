/**
 * The event ticket orders witnesses across threads; it is 64-bit and must not wrap. Forced here:
 * the ticket starts just below 2^32 and events recorded across the boundary stay in order.
 */
import { describe, it, expect } from 'vitest';
import { harness, L } from './mm-harness.js';
import { readRings } from '../dist/oracle/events.js';

describe('event order', () => {
  it('the ticket goes past 2^32 without wrapping; rings read back in order', async () => {
    const h = await harness('kvm');
    const tickets = new BigInt64Array(h.s.memory.buffer, L.BASE + L.H_TICKET, 1);
    tickets[0] = 2n ** 32n - 3n;
    const got: number[] = [];
    for (let i = 0; i < 6; i++) got.push(h.s.wasm.ev(i % 2, 4, i, 0, 0, 0, 0, 0)); // threads 0 and 1 in turn
    expect(got).toEqual([0, 1, 2, 3, 4, 5].map((i) => 2 ** 32 - 2 + i));
    const c = h.s.layout.config;
    const evs = readRings(h.s.i32, h.s.layout.ringsBase, c.threads, c.ringEntries, 2 ** 32 - 10);
    expect(evs.map((e) => e.ticket)).toEqual(got);
    expect(evs.map((e) => [e.thread, e.type, e.a])).toEqual([0, 1, 2, 3, 4, 5].map((i) => [i % 2, 4, i]));
  });
});
