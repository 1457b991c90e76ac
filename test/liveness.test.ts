/**
 * Liveness reports that name what went wrong: a wait-for cycle (found from the thread records),
 * a worker that ended itself, and a callback that never returns.
 */
import { describe, it, expect } from 'vitest';
import { fileURLToPath } from 'node:url';
import { runStress } from '../dist/index.js';
import { waitForCycle } from '../dist/oracle/watchdog.js';
import { harness, L } from './mm-harness.js';

const fx = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

describe('liveness', () => {
  it('a wait-for cycle is found from the thread records (and none without one)', async () => {
    const h = await harness('kvm');
    const lay = h.s.layout;
    const rec = (t: number) => (lay.threadsBase + t * L.THREAD_SIZE) >> 2;
    const lockA = L.BASE + L.H_MMAP_LOCK,
      lockB = L.BASE + L.H_ANON_VMA_LOCK;
    const hold = (t: number, lock: number, mode: number, waitOn: number, waitKind: number) => {
      h.s.i32[rec(t) + (L.T_HELD_N >> 2)] = 1;
      h.s.i32[rec(t) + (L.T_HELD >> 2)] = lock | mode;
      h.s.i32[rec(t) + (L.T_WAIT_ADDR >> 2)] = waitOn;
      h.s.i32[rec(t) + (L.T_WAIT_KIND >> 2)] = waitKind;
    };
    hold(0, lockA, L.HELD_WRITE, 0, 0);
    hold(1, lockB, L.HELD_WRITE, lockA, 3);
    expect(waitForCycle(h.s.i32, lay, ['driver', 'dma', 'main'])).toBeNull(); // T1 waits for T0, which runs
    hold(0, lockA, L.HELD_WRITE, lockB, 2);
    expect(waitForCycle(h.s.i32, lay, ['driver', 'dma', 'main'])?.tids).toEqual([0, 1]);
  });

  it('a worker that exits ends its protocol at once, naming thread, role and callback', async () => {
    const r = await runStress({ protocol: fx('exiting-plugin.mjs'), durationMs: 20_000, seed: 3 });
    const p = r.protocols[0];
    expect(p.durationMs).toBeLessThan(2000); // not the 20 s run, nor the 2 s watchdog
    expect(p.error?.message).toMatch(/^harness: T1 driver: worker crashed in populate\(\)/);
    expect(p.violations.stall ?? 0).toBe(0);
  });

  it('a callback that never returns is named, and its thread ended without a harness failure', async () => {
    const r = await runStress({ protocol: fx('spinning-plugin.mjs'), durationMs: 200, watchdogMs: 300, seed: 3 });
    const p = r.protocols[0];
    expect(p.error).toBeUndefined();
    expect(p.verdict).toBe('pass'); // it declares stall
    expect(p.witnesses[0].summary).toMatch(/T1 driver: populate\(\) has not returned for (\d+ ms|[\d.]+ s)/);
    expect(p.witnesses[0].text).toMatch(
      /rerun: hmmsim stress --protocol \S*spinning-plugin\.mjs --duration 200ms --watchdog 300ms --seed 3/,
    );
  });
});
