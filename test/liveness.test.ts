/**
 * Liveness reports that name what went wrong: a wait-for cycle (found from the thread records),
 * a worker that ended itself, and a callback that never returns.
 */
import { describe, it, expect } from 'vitest';
import { fileURLToPath } from 'node:url';
import { runStress } from '../dist/index.js';
import { livenessWitness, waitForCycle } from '../dist/oracle/watchdog.js';
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

  it('a lock nobody holds that a waiter could take is a stall (woken but not run), never a deadlock', async () => {
    // the watchdog's samples: T0 and T1 seen waiting on mmap_lock for the whole bound. On a loaded
    // machine that is what a waiter woken by the last release but not yet run looks like.
    const h = await harness('kvm');
    const lay = h.s.layout;
    const i32 = h.s.i32;
    const rec = (t: number) => (lay.threadsBase + t * L.THREAD_SIZE) >> 2;
    const mmap = L.BASE + L.H_MMAP_LOCK;
    const word = (off: number, v: number) => Atomics.store(i32, (mmap + off) >> 2, v);
    const wait = (t: number, kind: number) => {
      i32[rec(t) + (L.T_WAIT_ADDR >> 2)] = kind ? mmap + L.RW_SEQ : 0;
      i32[rec(t) + (L.T_WAIT_KIND >> 2)] = kind;
    };
    wait(0, 3); // rwsem write (an invalidator's munmap)
    wait(1, 2); // rwsem read (a driver's populate)
    word(L.RW_WWAIT, 1);
    word(L.RW_RWAIT, 1);
    const names = { fields: { mm: [], sub: [], range: [] }, notes: [], roles: ['invalidator', 'driver', 'main'] };
    const judge = () => livenessWitness(i32, lay, h.s.options.proto, names, [0, 1], 2000, 2000, 1, [2000, 2000]);
    // free, and the writer may take it (no read budget): a stall, and the report says why
    let w = judge();
    expect(w.kind).toBe('stall');
    expect(w.text).toContain('held by: nobody');
    expect(w.text).toContain('lock word: free; 1 writer(s) and 1 reader(s) waiting, read budget 0 (free: a waiter can take it');
    // write-held (whoever the thread records say holds it): nobody releases it, a deadlock
    word(L.RW_STATE, L.RW_WRITER);
    word(L.RW_OWNER, 2 + 1);
    w = judge();
    expect(w.kind).toBe('deadlock');
    expect(w.text).toContain('lock word: write-held (owner word T2)');
    // ... unless it changed hands while they waited (a chain of slow holders on a loaded machine)
    w = livenessWitness(i32, lay, h.s.options.proto, names, [0, 1], 2000, 2000, 1, [2000, 2000], undefined, '', [], undefined, [
      true,
      true,
    ]);
    expect(w.kind).toBe('stall');
    // ... or its holder sleeps on a device fence (waits for a DMA thread to finish an access)
    i32[rec(1) + (L.T_HELD_N >> 2)] = 1;
    i32[rec(1) + (L.T_HELD >> 2)] = mmap | L.HELD_WRITE;
    wait(1, 0);
    i32[rec(1) + (L.T_WAIT_ADDR >> 2)] = L.BASE + L.H_ANON_VMA_LOCK; // any word: a fence's is a DMA thread's in-flight word
    i32[rec(1) + (L.T_WAIT_KIND >> 2)] = 7;
    word(L.RW_OWNER, 1 + 1);
    w = judge();
    expect(w.kind).toBe('stall');
    expect(w.text).toContain('held by: T1 driver (write, stuck)');
    i32[rec(1) + (L.T_HELD_N >> 2)] = 0;
    wait(1, 2);
    // free, but no waiter may enter (the read budget holds the writer back, and no reader waits to use it): stuck
    word(L.RW_STATE, 0);
    word(L.RW_RBUDGET, 1);
    word(L.RW_RWAIT, 1);
    wait(1, 0); // the driver runs
    w = livenessWitness(i32, lay, h.s.options.proto, names, [0], 2000, 2000, 1, [2000, 0]);
    expect(w.kind).toBe('deadlock');
    expect(w.text).toContain('lock word: free; 1 writer(s) and 1 reader(s) waiting, read budget 1');
    expect(w.text).not.toContain('(free: a waiter can take it');
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
