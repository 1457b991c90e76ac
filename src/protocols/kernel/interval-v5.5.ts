/**
 * interval-v5.5 — mmu_interval_notifier (Linux 5.5+, mm/mmu_notifier.c), as a driver uses it
 * (Documentation/mm/hmm.rst).
 *
 * mm state (struct mmu_notifier_subscriptions):
 *   lock                       spinlock (here a mutex) protecting the two words below, which are
 *                              plain unsigned longs (mn_itree_is_invalidating asserts the lock):
 *                              declared 'plain', so that an update outside it can be lost
 *   invalidate_seq             even = idle, odd = an invalidation is active; starts at 2
 *   active_invalidate_ranges   invalidations between start and end
 *   wq                         read_begin sleeps here until the active invalidation ends
 * per interval notifier (struct mmu_interval_notifier + the driver's lock):
 *   invalidate_seq             set to the mm's odd seq by each invalidation that overlaps it
 *   user_lock                  the driver's lock (driver->update): held by the invalidate
 *                              callback and around read_retry + programming the device
 */
import type { MirrorProtocol } from '../api.js';
import type { Ctx } from '../../model/ctx.js';
import type { Sub, Invalidation } from '../../model/range.js';

/** mn_itree_inv_start_range + each overlapping interval's ops->invalidate */
export function invalidateStart(ctx: Ctx, inv: Invalidation): boolean {
  const subs = ctx.mm;
  subs.lock.lock();
  subs.active_invalidate_ranges.inc();
  if (inv.subs.length) subs.invalidate_seq.or(1);
  const cur = subs.invalidate_seq.read();
  subs.lock.unlock();
  for (const sub of inv.subs) {
    if (!invalidate(ctx, sub, inv, cur)) {
      invalidateEnd(ctx, inv); // -EAGAIN: the core undoes its part (mn_itree_inv_end)
      return false;
    }
  }
  return true;
}

/** The driver's mmu_interval_notifier_ops.invalidate. */
export function invalidate(ctx: Ctx, sub: Sub, inv: Invalidation, cur: number): boolean {
  if (inv.blockable) sub.state.user_lock.lock();
  else if (!sub.state.user_lock.tryLock()) return false;
  mmu_interval_set_seq(sub, cur);
  ctx.zapDevice(sub, inv.start, inv.end);
  ctx.deviceFence(sub.device);
  sub.state.user_lock.unlock();
  return true;
}

/** mmu_interval_set_seq: caller holds user_lock. */
export function mmu_interval_set_seq(sub: Sub, cur: number): void {
  sub.state.invalidate_seq.set(cur);
}

/** mn_itree_inv_end */
export function invalidateEnd(ctx: Ctx, _inv: Invalidation): void {
  const subs = ctx.mm;
  subs.lock.lock();
  const active = subs.active_invalidate_ranges.dec();
  if (active === 0 && subs.invalidate_seq.read() & 1) subs.invalidate_seq.inc();
  subs.lock.unlock();
  subs.wq.wakeUpAll();
}

/** mmu_interval_read_begin: if an invalidation of this interval is active, wait for its end. */
export function mmu_interval_read_begin(ctx: Ctx, sub: Sub): number {
  const subs = ctx.mm;
  subs.lock.lock();
  const seq = sub.state.invalidate_seq.read();
  const is_invalidating = seq === subs.invalidate_seq.read();
  subs.lock.unlock();
  if (is_invalidating) subs.wq.waitEvent(() => subs.invalidate_seq.peek() !== seq);
  return seq;
}

/** mmu_interval_read_retry: caller holds user_lock. */
export function mmu_interval_read_retry(sub: Sub, seq: number): boolean {
  return sub.state.invalidate_seq.read() !== seq;
}

const protocol: MirrorProtocol = {
  name: 'interval-v5.5',
  description: "mmu_interval_notifier (Linux 5.5+): per-interval sequence count, read_begin waits, read_retry under the driver's lock",
  expect: 'sound',
  mmState: { lock: 'mutex', invalidate_seq: 'plain', active_invalidate_ranges: 'plain', wq: 'waitqueue' },
  subState: { invalidate_seq: 'word', user_lock: 'mutex' },
  history: {
    commit: '99cb252f5e68',
    subject: 'mm/mmu_notifier: add an interval tree notifier (with 04ec32fbc2b2)',
    kernel: '5.5',
    side: 'fix',
    twin: 'hmm-v5.2',
  },

  init(ctx) {
    ctx.mm.invalidate_seq.set(2);
    // an interval not under invalidation starts odd and != the mm's seq (mmu_interval_notifier_insert)
    for (const sub of ctx.subs) sub.state.invalidate_seq.set(1);
  },

  invalidateStart,
  invalidateEnd,

  populate(ctx, sub, range) {
    range.notifierSeq = mmu_interval_read_begin(ctx, sub);
    ctx.mmapReadLock();
    const ret = ctx.hmmRangeFault(range, { word: sub.state.invalidate_seq, expect: range.notifierSeq });
    ctx.mmapReadUnlock();
    if (ret === ctx.errno.EBUSY) return 'retry';
    if (ret) return ret;

    sub.state.user_lock.lock();
    if (mmu_interval_read_retry(sub, range.notifierSeq)) {
      sub.state.user_lock.unlock();
      return 'retry';
    }
    ctx.programDevice(sub, range);
    sub.state.user_lock.unlock();
    return 'ok';
  },
};

export default protocol;
