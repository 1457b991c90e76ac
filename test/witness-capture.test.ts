/**
 * A role thread hands back each capture reduced to the events its witness shows
 * (selectedCapture): the witness reads the same as from the whole ring snapshot, and what crosses
 * between threads is a few dozen events, not every ring's entries (copying those took seconds on
 * a loaded machine, past the harness timeout).
 */
import { describe, it, expect } from 'vitest';
import { renderWitness, selectedCapture } from '../dist/oracle/witness.js';
import { EV } from '../dist/oracle/events.js';
import type { Capture } from '../dist/oracle/oracle.js';

describe('captures handed back', () => {
  it('hold only the witness events, and render the same witness', () => {
    const events: Capture['events'] = [];
    let ticket = 1;
    const ev = (thread: number, type: number, a = 0, b = 0, c = 0, d = 0, e = 0, f = 0) =>
      events.push({ ticket: ticket++, thread, type, a, b, c, d, e, f });
    const noise = (k: number) => {
      for (let i = 0; i < k; i++) ev(3, EV.FAULT, 0x90 + (i % 16), 1, 0); // the CPU faulter, elsewhere
    };
    noise(20_000);
    ev(1, EV.WALK_BEGIN, 0x40, 0x48);
    noise(10_000);
    ev(1, EV.WALK, 0x40, 0x48, 0, 917, 3);
    ev(0, EV.INV_START, 0x42, 0x43, 0, 1, 1);
    ev(0, EV.INV_END, 0x42, 0x43);
    noise(10_000);
    ev(1, EV.PROGRAM, 0x40, 0x48, 0, 0, 917, 3);
    ev(2, EV.DMA, 0x42, 0, 917, 4);
    ev(2, EV.VIOLATION, 1, 0x42, 917, 3, 4, 0);
    const capture: Capture = {
      kind: 'use-after-free',
      thread: 2,
      ticket: ticket - 1,
      atMs: 12,
      page: 0x42,
      pfn: 917,
      genWant: 3,
      genHave: 4,
      device: 0,
      programmer: 1,
      events,
    };
    const names = { fields: { mm: [], sub: [], range: [] }, notes: [], roles: ['invalidator', 'driver', 'dma', 'cpu'] };
    const handed = selectedCapture(capture);
    expect(handed.events.length).toBeLessThan(50);
    expect(JSON.stringify(structuredClone(handed)).length).toBeLessThan(10_000);
    expect(renderWitness(handed, names, 'p', 1)).toEqual(renderWitness(capture, names, 'p', 1));
    expect(selectedCapture(handed)).toBe(handed);
  });
});
