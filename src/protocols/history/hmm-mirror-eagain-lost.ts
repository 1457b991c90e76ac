/**
 * hmm-mirror-eagain-lost — the second error flow fixed by 5a136b4ae327 "mm/hmm: Fix error flows in
 * hmm_invalidate_range_start" (Linux 5.3, *not confirmed*; the first flow, the leaked notifiers
 * count, is the zoo's hmm-eagain-leak).
 *
 * hmm_invalidate_range_start called each mirror's sync_cpu_device_pagetables(). A mirror that
 * must block on a non-blockable range (the OOM reaper's) returns -EAGAIN without touching its
 * device page table. Before the commit, the loop declared its own `int ret`, shadowing the
 * function's:
 *
 *   list_for_each_entry(mirror, &hmm->mirrors, list) {
 *           int ret;
 *
 *           ret = mirror->ops->sync_cpu_device_pagetables(mirror, &update);
 *           if (!update.blockable && ret == -EAGAIN)
 *                   break;
 *   }
 *   up_read(&hmm->mirrors_sem);
 * out:
 *   hmm_put(hmm);
 *   return ret;          <- the outer ret: still 0
 *
 * so the start reported success. The commit: "the function will not return EAGAIN even though the
 * device continues to touch the pages. This is a violation of the mmu notifier contract." The
 * reaper then unmaps and frees the pages while the device still maps them.
 *
 * The model. A mirror's sync takes its update lock (sub.user_lock, nouveau's svmm->mutex), a
 * trylock on a non-blockable range. The driver here holds that lock from before its snapshot to
 * the device update, so the sync of a range it is faulting in waits for the whole fault: that
 * closes hmm-v5.2's range->valid ABA race (an invalidation that starts and ends between the
 * snapshot and the check), which real 5.3 drivers still had (they took the lock after the
 * snapshot), and leaves this pair's twins differing in the error flow alone. The fix, which also
 * undoes notifiers++ on the way out, is then sound. The OOM reaper's chunks are the non-blockable
 * ranges; its trylock fails whenever the driver is inside a fault of the same mirror.
 *
 * mm state (struct hmm):  lock, notifiers, wq   (as hmm-v5.2)
 * per mirror (device):    user_lock             (as hmm-v5.2; held by a fault from snapshot to program)
 * per range:              valid                 (as hmm-v5.2)
 */
import type { MirrorProtocol } from '../api.js';
import type { Ctx } from '../../model/ctx.js';
import type { HmmRange, Invalidation, PopulateResult, Sub } from '../../model/range.js';
import hmm, {
  TIMEOUT_IN_MSEC,
  hmm_range_register,
  hmm_range_unregister,
  hmm_range_valid,
  hmm_range_wait_until_valid,
  notifiers_decrement,
} from '../kernel/hmm-v5.2.js';

/**
 * hmm_invalidate_range_start up to its mirror loop (as both sides of the commit have it):
 * hmm->lock (a trylock on a non-blockable range, failing before notifiers++), notifiers++, every
 * overlapping range invalid.
 */
export function invalidateStartBegin(ctx: Ctx, inv: Invalidation): boolean {
  const hmm = ctx.mm;
  if (inv.blockable) hmm.lock.lock();
  else if (!hmm.lock.tryLock()) return false;
  hmm.notifiers.inc();
  for (const range of ctx.ranges) if (range.registered && range.overlaps(inv.start, inv.end)) range.state.valid.set(0);
  hmm.lock.unlock();
  return true;
}

/** mirror->ops->sync_cpu_device_pagetables(): 0, or -EAGAIN when it would block on a non-blockable range. */
export function sync_cpu_device_pagetables(ctx: Ctx, inv: Invalidation, mirror: Sub): number {
  if (inv.blockable) mirror.state.user_lock.lock();
  else if (!mirror.state.user_lock.tryLock()) return ctx.errno.EAGAIN;
  ctx.zapDevice(mirror, inv.start, inv.end);
  ctx.deviceFence(mirror.device);
  mirror.state.user_lock.unlock();
  return 0;
}

/** Before 5a136b4ae327: the mirror's -EAGAIN lands in the loop's own `ret`, and the function returns its outer one. */
function invalidateStart(ctx: Ctx, inv: Invalidation): boolean {
  if (!invalidateStartBegin(ctx, inv)) return false;
  const ret = 0;
  for (const mirror of inv.subs) {
    const ret = sync_cpu_device_pagetables(ctx, inv, mirror); // `int ret;` inside the loop
    if (!inv.blockable && ret === ctx.errno.EAGAIN) break;
  }
  return ret === 0; // 0: the core goes on, unmaps and frees
}

/**
 * The driver's fault, hmm-v5.2's, except that the mirror's update lock is taken before the
 * snapshot and held to the device update (see the header).
 */
export function populate(ctx: Ctx, sub: Sub, range: HmmRange): PopulateResult {
  hmm_range_register(ctx, range);
  hmm_range_wait_until_valid(ctx, range, TIMEOUT_IN_MSEC);
  ctx.mmapReadLock();
  sub.state.user_lock.lock(); // take_lock(driver->update), before the snapshot
  const ret = ctx.hmmRangeFault(range, { word: range.state.valid, expect: 1 });
  if (ret || !hmm_range_valid(range)) {
    sub.state.user_lock.unlock();
    ctx.mmapReadUnlock();
    hmm_range_unregister(ctx, range);
    return ret && ret !== ctx.errno.EBUSY ? ret : 'retry';
  }
  // widening (both twins): the fault holds the mirror's lock until an invalidation begins
  // (at most 2 ms), so that the OOM reaper's trylock meets it; a blockable one waits for the lock
  ctx.widenUntil(() => ctx.mm.notifiers.peek() !== 0, 2);
  ctx.programDevice(sub, range);
  hmm_range_unregister(ctx, range);
  sub.state.user_lock.unlock();
  ctx.mmapReadUnlock();
  return 'ok';
}

const protocol: MirrorProtocol = {
  ...hmm,
  name: 'hmm-mirror-eagain-lost',
  description: "BUG (5a136b4ae327): a mirror's -EAGAIN on a non-blockable range is lost to a shadowed ret; the start reports success",
  expect: { violates: ['contract', 'use-after-free', 'device-pte-during-invalidation'] },
  // the OOM reaper's chunks are the only non-blockable ranges, half of the changes here; migration,
  // blockable, waits for the faults. (With five kinds of change in the mix, the lost -EAGAIN showed
  // within 2 s in only 5 seeds of 20; with munmap as a third, in 17 at load average 29; with the
  // reaper alone, the faults retried behind its back-to-back invalidations.)
  events: ['oom', 'migrate'],
  invalidateStart,
  invalidateEnd: (ctx) => notifiers_decrement(ctx),
  populate,
  history: {
    commit: '5a136b4ae327',
    subject: 'mm/hmm: Fix error flows in hmm_invalidate_range_start',
    kernel: '5.3',
    side: 'bug',
    twin: 'hmm-mirror-eagain-lost-fix',
  },
};
export default protocol;
