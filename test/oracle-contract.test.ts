/**
 * Contract breaches are the protocol's violation (kind `contract`), stepped by hand on one
 * thread: each breach is reported with its witness details and the run goes on as the kernel
 * would. A correct protocol doing the same steps reports nothing.
 */
import { describe, it, expect } from 'vitest';
import { harness, L, type Harness } from './mm-harness.js';
import { invalidateRangeStart, invalidateRangeEnd } from '../dist/model/mm/notifier.js';
import { BREACH } from '../dist/oracle/contract.js';
import { driverOp } from '../dist/roles/driver.js';
import { Rng } from '../dist/model/random.js';

const C = L.V_CONTRACT;
const breach = (h: Harness) => h.s.i32[((h.s.layout.threadsBase + L.T_VIOL) >> 2) + 2];
const count = (h: Harness) => Atomics.load(h.s.i32, ((L.BASE + L.H_VIOLATIONS) >> 2) + C);

/** Replace a protocol callback for the length of `fn`. */
function patched<K extends 'invalidateStart' | 'invalidateEnd' | 'populate'>(h: Harness, key: K, impl: any, fn: () => void) {
  const proto = h.ctx.proto as any;
  const saved = proto[key];
  proto[key] = impl(saved.bind(proto));
  try {
    fn();
  } finally {
    proto[key] = saved;
  }
}

describe('contract breaches', () => {
  it('a blockable invalidateStart returning false: reported, and the CPU side proceeds', async () => {
    const h = await harness('interval-v5.5');
    expect(h.deviceFault(0, 4, false)).toBe('ok');
    patched(
      h,
      'invalidateStart',
      (start: any) => (ctx: any, inv: any) => (start(ctx, inv), false),
      () => {
        const inv = invalidateRangeStart(h.ctx, 0, 4, 'clear');
        expect(inv).not.toBeNull(); // ignored, as the kernel does
        invalidateRangeEnd(h.ctx, inv!);
      },
    );
    expect(h.violations).toEqual([C]);
    expect(breach(h)).toBe(BREACH.BLOCKABLE_FALSE);
  });

  it('a non-blockable invalidateStart returning false is allowed', async () => {
    const h = await harness('interval-v5.5');
    patched(
      h,
      'invalidateStart',
      () => () => false,
      () => expect(invalidateRangeStart(h.ctx, 0, 4, 'clear', false)).toBeNull(),
    );
    expect(h.violations).toEqual([]);
  });

  it('invalidateStart returning true with entries of its range still valid', async () => {
    const h = await harness('interval-v5.5');
    expect(h.deviceFault(40, 44, false)).toBe('ok');
    patched(
      h,
      'invalidateStart',
      () => () => true,
      () => invalidateRangeEnd(h.ctx, invalidateRangeStart(h.ctx, 40, 44, 'unmap')!),
    );
    expect(h.violations).toEqual([C]);
    expect(breach(h)).toBe(BREACH.NOT_ZAPPED);
  });

  it('a failed non-blockable start that keeps a lock it took', async () => {
    const h = await harness('odp-nonblock-rwsem-leak');
    expect(h.deviceFault(0, 4, false)).toBe('ok');
    h.ctx.subs[0].state.umem_mutex.lock(); // another thread is in the umem: the trylock fails
    const inv = invalidateRangeStart(h.ctx, 0, 4, 'clear', false);
    expect(inv).toBeNull();
    expect(h.violations).toEqual([C]);
    expect(breach(h)).toBe(BREACH.LOCK_HELD);
  });

  it('populate returning while holding a lock it took', async () => {
    const h = await harness('interval-v5.5');
    const rc = {
      ctx: h.ctx,
      rng: new Rng(1, 0),
      stats: { ops: 1, retries: 0, errors: 0, eagain: 0 },
      role: 'driver',
      device: 0,
      events: [],
      stopped: () => false,
      progress: () => {},
    };
    patched(
      h,
      'populate',
      (populate: any) => (ctx: any, sub: any, range: any) => {
        const r = populate(ctx, sub, range);
        sub.state.user_lock.lock(); // and keep the driver's lock
        return r;
      },
      () => driverOp(rc as any),
    );
    expect(h.violations).toEqual([C]);
    expect(breach(h)).toBe(BREACH.LOCK_HELD);
  });

  it('invalidateEnd without a start (or twice)', async () => {
    const h = await harness('interval-v5.5');
    const inv = invalidateRangeStart(h.ctx, 8, 12, 'clear')!;
    invalidateRangeEnd(h.ctx, inv);
    expect(h.violations).toEqual([]);
    invalidateRangeEnd(h.ctx, inv);
    expect(h.violations).toEqual([C]);
    expect(breach(h)).toBe(BREACH.END_WITHOUT_START);
    expect(count(h)).toBe(1);
  });
});
