/**
 * hmm-eagain-leak — BROKEN: hmm-v5.2's non-blockable invalidate_range_start fails with
 * -EAGAIN (a trylock failed, the OOM-reaper case) without undoing notifiers++. No end call
 * follows a failed start, so notifiers never returns to 0 and no range is ever valid again:
 * every device fault waits and retries forever. This is the first of the two error flows that
 * 5a136b4ae327 "mm/hmm: Fix error flows in hmm_invalidate_range_start" fixed (the commit: the
 * notifiers count becomes "permanently incremented"); hmm-v5.2's start, which undoes the count,
 * is the fixed code, and keeps the range->valid race that only the interval notifier removed.
 */
import type { MirrorProtocol } from '../api.js';
import type { Ctx } from '../../model/ctx.js';
import type { Invalidation } from '../../model/range.js';
import base from '../kernel/hmm-v5.2.js';

function invalidateStart(ctx: Ctx, inv: Invalidation): boolean {
  const hmm = ctx.mm;
  if (inv.blockable) hmm.lock.lock();
  else if (!hmm.lock.tryLock()) return false;
  hmm.notifiers.inc();
  for (const range of ctx.ranges) if (range.registered && range.overlaps(inv.start, inv.end)) range.state.valid.set(0);
  hmm.lock.unlock();
  for (const sub of inv.subs) {
    if (inv.blockable) sub.state.user_lock.lock();
    else if (!sub.state.user_lock.tryLock()) return false; // BUG: notifiers is never decremented
    ctx.zapDevice(sub, inv.start, inv.end);
    ctx.deviceFence(sub.device);
    sub.state.user_lock.unlock();
  }
  return true;
}

const protocol: MirrorProtocol = {
  ...base,
  name: 'hmm-eagain-leak',
  description: 'BROKEN hmm-v5.2: a failed non-blockable start leaks the notifier count: ranges never valid again',
  expect: { violates: ['stall', 'use-after-free', 'device-pte-during-invalidation', 'contract'] },
  invalidateStart,
  history: {
    commit: '5a136b4ae327',
    subject: 'mm/hmm: Fix error flows in hmm_invalidate_range_start',
    kernel: '5.3',
    side: 'bug',
    twin: 'hmm-eagain-leak-fix',
  },
};
export default protocol;
