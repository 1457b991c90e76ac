/**
 * A lock that a callback returned holding, with nothing to release it (a failed non-blockable
 * start that kept umem_rwsem read-held, as the kernel's ODP did before 7608bf40cf24): a thread
 * blocked behind it can never be woken, so the watchdog calls it a deadlock at once, without the
 * 2 s bound or a wait-for cycle. The interleaving is stepped by hand on one thread.
 */
import { describe, it, expect } from 'vitest';
import { harness, L } from './mm-harness.js';
import { invalidateRangeStart } from '../dist/model/mm/notifier.js';
import { addr } from '../dist/memory/layout.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A failed non-blockable start on sub0's pages while T1 holds sub0's umem_mutex; then T1 blocks on umem_rwsem for write. */
async function leakThenBlock(protocol: string) {
  const h = await harness(protocol);
  const { s, ctx } = h;
  const i32 = s.i32;
  const rec = (t: number) => (s.layout.threadsBase + t * L.THREAD_SIZE) >> 2;
  const umemMutex = addr.protoSub(s.layout, 0, 0); // subState's first field
  const umemRwsem = addr.protoMm(s.layout, 0); // mmState's first field
  expect(s.wasm.mutex_trylock(umemMutex, 1)).toBe(1); // T1 holds sub0.umem_mutex
  expect(invalidateRangeStart(ctx, 0, 16, 'clear', false)).toBeNull(); // -EAGAIN
  s.wasm.mutex_unlock(umemMutex, 1);
  // T1 (a driver's umem remove) now waits for umem_rwsem (write)
  Atomics.add(i32, (umemRwsem + L.RW_WWAIT) >> 2, 1);
  i32[rec(1) + (L.T_WAIT_ADDR >> 2)] = umemRwsem + L.RW_SEQ;
  i32[rec(1) + (L.T_WAIT_KIND >> 2)] = 3;
  s.go();
  return { h, i32, rec, umemRwsem };
}

describe('watchdog: a waiter behind a leaked lock', () => {
  it('is a deadlock within milliseconds, naming the leak (odp-nonblock-rwsem-leak)', async () => {
    const { h, i32, rec, umemRwsem } = await leakThenBlock('odp-nonblock-rwsem-leak');
    expect(h.violations).toContain(L.V_CONTRACT); // a callback returned holding a lock it took
    expect(i32[rec(0) + (L.T_LEAKED >> 2)]).toBe(umemRwsem | L.HELD_READ);
    const bound = 2000; // far longer than this test waits: only the leak can end it
    expect(h.s.watchdog(bound)).toBeUndefined(); // seen once: confirmed at a later step
    await sleep(20);
    const w = h.s.watchdog(bound);
    expect(w?.kind).toBe('deadlock');
    expect(w?.summary).toMatch(/T1 dma blocked on umem_rwsem, leaked by T0 driver \(a callback returned holding it\)/);
    expect(w?.text).toContain('T0 driver leaked umem_rwsem (read): a callback returned holding it and nothing will release it');
  });

  it('is no deadlock once the leak is released, nor with the fixed protocol (no leak)', async () => {
    const leaky = await leakThenBlock('odp-nonblock-rwsem-leak');
    leaky.h.ctx.mm.umem_rwsem.upRead(); // whoever releases it: the mark goes with the last hold
    expect(leaky.i32[leaky.rec(0) + (L.T_LEAKED >> 2)]).toBe(0);
    const fixed = await leakThenBlock('odp-v5.4');
    expect(fixed.h.violations).toEqual([]);
    expect(fixed.i32[fixed.rec(0) + (L.T_LEAKED >> 2)]).toBe(0);
    for (const run of [leaky, fixed]) {
      expect(run.h.s.watchdog(2000)).toBeUndefined();
      await sleep(20);
      expect(run.h.s.watchdog(2000)).toBeUndefined();
    }
  });
});
