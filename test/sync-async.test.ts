/**
 * The non-blocking paths for threads that must not block (a browser page's main thread):
 * Mutex.lockAsync and WaitQueue.waitEventAsync wait with Atomics.waitAsync, wake on notify,
 * and time out.
 */
import { describe, it, expect } from 'vitest';
import { testMemory } from './helpers.js';
import { addr, L } from '../src/memory/layout.js';
import { Mutex } from '../src/sync/mutex.js';
import { WaitQueue } from '../src/sync/waitqueue.js';
import { LockTimeout } from '../src/sync/env.js';

describe('async waits', () => {
  it('lockAsync gets the mutex once its holder unlocks, without blocking the event loop', async () => {
    const m = testMemory();
    const a = new Mutex({ ...m.env, tid: 0 }, addr.protoMm(m.layout, 0));
    const b = new Mutex({ ...m.env, tid: 1, sliceMs: 5000 }, addr.protoMm(m.layout, 0));
    a.lock();
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    setTimeout(() => a.unlock(), 100);
    const t0 = performance.now();
    await b.lockAsync(2000);
    clearInterval(timer);
    expect(b.owner()).toBe(1);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(90);
    expect(performance.now() - t0).toBeLessThan(1000); // woken by the notify, not the 5 s slice
    expect(ticks).toBeGreaterThan(3); // the event loop kept running
    b.unlock();
    expect(m.i32[(addr.protoMm(m.layout, 0) + L.MX_STATE) >> 2]).toBe(0);
  });

  it('lockAsync times out naming the owner', async () => {
    const m = testMemory();
    const a = new Mutex({ ...m.env, tid: 2 }, addr.protoMm(m.layout, 1), 'user_lock');
    const b = new Mutex({ ...m.env, tid: 3 }, addr.protoMm(m.layout, 1), 'user_lock');
    a.lock();
    await expect(b.lockAsync(100)).rejects.toThrow(LockTimeout);
    await expect(b.lockAsync(50)).rejects.toThrow(/user_lock .* \(held by T2\)/);
  });

  it('waitEventAsync wakes on wakeUpAll and times out otherwise', async () => {
    const m = testMemory();
    const flag = addr.protoMm(m.layout, 3) >> 2;
    const wq = new WaitQueue({ ...m.env, sliceMs: 5000 }, addr.protoMm(m.layout, 2));
    setTimeout(() => {
      Atomics.store(m.i32, flag, 1);
      wq.wakeUpAll();
    }, 50);
    const t0 = performance.now();
    expect(await wq.waitEventAsync(() => Atomics.load(m.i32, flag) === 1, 2000)).toBe(true);
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(await wq.waitEventAsync(() => Atomics.load(m.i32, flag) === 2, 60)).toBe(false);
  });
});
