/**
 * hmm-eagain-leak-fix — 5a136b4ae327 "mm/hmm: Fix error flows in hmm_invalidate_range_start"
 * (Linux 5.3, *not confirmed*), the fix of the zoo's hmm-eagain-leak. When the trylock fails on a
 * non-blockable range, hmm_invalidate_range_start now undoes its notifiers++ before returning
 * -EAGAIN (the core calls no end after a failed start), so the count returns to 0 and ranges
 * become valid again; and a mirror's -EAGAIN is returned instead of being lost. That is
 * kernel/hmm-v5.2.ts's start (notifiers_decrement on the failed trylock).
 *
 * This twin cannot be sound: the fixed code still marks ranges valid again at the end of every
 * invalidation, so an invalidation that starts and ends between a driver's snapshot and its
 * check passes unseen (hmm-v5.2's race, which only the interval notifier removed, 99cb252f5e68),
 * and the OOM reaper that triggers the leak takes mmap_lock for read, as the driver does. So
 * its expectation is hmm-v5.2's: the use-after-free kinds of that race, and no stall. The stall
 * is what the commit fixed; a run that still stalls is a failure.
 */
import type { MirrorProtocol } from '../api.js';
import bug from '../zoo/hmm-eagain-leak.js';
import hmm from '../kernel/hmm-v5.2.js';

const protocol: MirrorProtocol = {
  ...bug,
  name: 'hmm-eagain-leak-fix',
  description: 'FIX (5a136b4ae327): a failed non-blockable start undoes notifiers++; the range->valid race of hmm-v5.2 remains',
  expect: hmm.expect,
  invalidateStart: hmm.invalidateStart,
  history: { ...bug.history!, side: 'fix', twin: 'hmm-eagain-leak' },
};
export default protocol;
