/**
 * hmm-v5.2 — HMM's range->valid scheme (Linux 5.2, mm/hmm.c), driven the way the May 2019 linux-mm
 * thread on range->valid and Documentation/vm/hmm.rst told drivers to: register the range, snapshot it
 * under mmap_sem, then take driver->update and check range->valid before programming.
 *
 * mm state (struct hmm):  lock, notifiers (invalidations in progress), wq (ranges wait valid)
 * per mirror (device):    user_lock = driver->update, taken by sync_cpu_device_pagetables
 * per range:              valid
 *
 * Sound against invalidations that take mmap_sem for write (munmap, mprotect): the driver
 * holds mmap_sem for read from snapshot to programming. NOT sound against those that do not
 * (migration, reclaim, COW break, DONTNEED): a whole invalidation can start and end between the
 * snapshot and the check; valid is true again (ABA) and stale pfns are programmed.
 */
import type { MirrorProtocol } from '../api.js';
import type { Ctx } from '../../model/ctx.js';
import type { HmmRange, Invalidation } from '../../model/range.js';

export const TIMEOUT_IN_MSEC = 1000;

/** hmm_invalidate_range_start + each mirror's sync_cpu_device_pagetables */
export function invalidateStart(ctx: Ctx, inv: Invalidation): boolean {
  const hmm = ctx.mm;
  if (inv.blockable) hmm.lock.lock();
  else if (!hmm.lock.tryLock()) return false;
  hmm.notifiers.inc();
  for (const range of ctx.ranges) if (range.registered && range.overlaps(inv.start, inv.end)) range.state.valid.set(0);
  hmm.lock.unlock();

  for (const sub of inv.subs) {
    // sync_cpu_device_pagetables(mirror, update)
    if (inv.blockable) sub.state.user_lock.lock();
    else if (!sub.state.user_lock.tryLock()) {
      notifiers_decrement(ctx); // -EAGAIN: undo our part (the fix of the count leak)
      return false;
    }
    ctx.zapDevice(sub, inv.start, inv.end);
    ctx.deviceFence(sub.device);
    sub.state.user_lock.unlock();
  }
  return true;
}

/** Last invalidation done: every range is valid again. */
export function notifiers_decrement(ctx: Ctx): void {
  const hmm = ctx.mm;
  hmm.lock.lock();
  if (hmm.notifiers.dec() === 0) for (const range of ctx.ranges) if (range.registered) range.state.valid.set(1);
  hmm.lock.unlock();
  hmm.wq.wakeUpAll();
}

export function hmm_range_register(ctx: Ctx, range: HmmRange): void {
  const hmm = ctx.mm;
  hmm.lock.lock();
  range.registered = true;
  range.state.valid.set(hmm.notifiers.read() === 0 ? 1 : 0);
  hmm.lock.unlock();
}

export function hmm_range_unregister(ctx: Ctx, range: HmmRange): void {
  const hmm = ctx.mm;
  hmm.lock.lock();
  range.registered = false;
  range.state.valid.set(0);
  hmm.lock.unlock();
}

export function hmm_range_wait_until_valid(ctx: Ctx, range: HmmRange, timeout: number): boolean {
  return ctx.mm.wq.waitEvent(() => range.state.valid.peek() === 1, timeout);
}

export function hmm_range_valid(range: HmmRange): boolean {
  return range.state.valid.read() === 1;
}

const protocol: MirrorProtocol = {
  name: 'hmm-v5.2',
  description: 'HMM range->valid flag + driver lock (Linux 5.2, the 2019 scheme): ABA race under migration/reclaim/DONTNEED/COW',
  expect: { violates: ['use-after-free', 'device-pte-during-invalidation', 'contract'] },
  mmState: { lock: 'mutex', notifiers: 'word', wq: 'waitqueue' },
  subState: { user_lock: 'mutex' },
  rangeState: { valid: 'word' },
  history: {
    commit: '99cb252f5e68',
    subject: 'mm/mmu_notifier: add an interval tree notifier (with 04ec32fbc2b2)',
    kernel: '5.5',
    side: 'bug',
    twin: 'interval-v5.5',
  },

  invalidateStart,
  invalidateEnd: (ctx) => notifiers_decrement(ctx),

  /** driver_populate_range() from the seed message, one `goto again` per 'retry'. */
  populate(ctx, sub, range) {
    hmm_range_register(ctx, range);
    hmm_range_wait_until_valid(ctx, range, TIMEOUT_IN_MSEC);
    ctx.mmapReadLock();
    const ret = ctx.hmmRangeFault(range, { word: range.state.valid, expect: 1 }); // hmm_range_snapshot
    if (ret) {
      ctx.mmapReadUnlock();
      hmm_range_unregister(ctx, range);
      return ret === ctx.errno.EBUSY ? 'retry' : ret;
    }
    sub.state.user_lock.lock(); // take_lock(driver->update)
    if (!hmm_range_valid(range)) {
      sub.state.user_lock.unlock();
      ctx.mmapReadUnlock();
      hmm_range_unregister(ctx, range);
      return 'retry';
    }
    ctx.programDevice(sub, range); // use pfns array content to update device page table
    hmm_range_unregister(ctx, range);
    sub.state.user_lock.unlock();
    ctx.mmapReadUnlock();
    return 'ok';
  },
};

export default protocol;
