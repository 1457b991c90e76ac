/**
 * amdgpu-userptr-shared-range — the bug fixed by 4458da0bb09d "drm/amdgpu: fix userptr HMM range
 * handling v2" (Linux 6.1; a regression of the 6.1 merge window, dd80d9c8eeca in the regression
 * tracker's report).
 *
 * A userptr buffer object kept the hmm_range of its page walk in the BO itself (gtt->range).
 * amdgpu_ttm_tt_get_user_pages() warned and failed if gtt->range was set ("Another
 * get_user_pages is running at the same time??"), read_begin + hmm_range_fault'ed into a new range
 * and stored it in gtt->range; amdgpu_ttm_tt_get_user_pages_done() checked whatever range
 * gtt->range held with mmu_interval_read_retry(), cleared it, and reported the pages valid when
 * it found none. The commit: "it's not allowed to page fault while holding the reservation
 * lock. So it can happen that multiple processes try to validate an userptr at the same time";
 * the fix hands the range to the caller, so each validation checks its own.
 *
 *   validator A                                   validator B (same BO)
 *   gtt->range == NULL: go on                     gtt->range == NULL: go on
 *   range A: seq = read_begin, walk
 *                                                 range B: seq' = read_begin, walk
 *   gtt->range = A
 *                                                 gtt->range = B
 *   done: read_retry(B's seq'), gtt->range = NULL
 *                                                 done: gtt->range == NULL -> "valid", unchecked
 *
 * A checks B's later sequence and misses an invalidation that ran between its own read_begin and
 * B's; B maps its pages with no check at all. In hmmsim the process has one userptr BO over the
 * whole address space, with its interval notifier (whole-mm-interval.ts; adev->notifier_lock is
 * its obj_lock); gtt->range is a word holding the owning validator's thread + 1, the ranges are
 * the validators' own (ctx.ranges), and the scenario runs two driver threads (roles) that validate
 * it concurrently, each for the part of the BO its device fault needs.
 *
 * mm state: whole-mm-interval.ts's, and gtt_range (the BO's range pointer: owner thread + 1, 0 = NULL)
 */
import type { MirrorProtocol } from '../api.js';
import interval from '../kernel/interval-v5.5.js';
import { WHOLE_MM_STATE, objReadBegin, objReadRetry, wholeMmInit, wholeMmStart } from './whole-mm-interval.js';

const protocol: MirrorProtocol = {
  ...interval,
  name: 'amdgpu-userptr-shared-range',
  description: "BUG (4458da0bb09d): one hmm_range pointer per userptr BO; concurrent validations check each other's range, or none",
  expect: { violates: ['use-after-free', 'device-pte-during-invalidation', 'write-to-readonly', 'access-to-protnone', 'contract'] },
  mmState: { ...WHOLE_MM_STATE, gtt_range: 'word' },
  subState: {},
  roles: { driver: 2 },
  init: wholeMmInit,
  invalidateStart: (ctx, inv) => wholeMmStart(ctx, inv),
  /** amdgpu_cs: get_user_pages for the BO, then amdgpu_cs_submit's get_user_pages_done under notifier_lock. */
  populate(ctx, sub, range) {
    const bo = ctx.mm;
    // amdgpu_ttm_tt_get_user_pages
    if (bo.gtt_range.read()) return ctx.errno.EFAULT; // WARN_ON(gtt->range): another get_user_pages is running
    range.notifierSeq = objReadBegin(ctx); // amdgpu_hmm_range_get_pages
    ctx.mmapReadLock();
    const ret = ctx.hmmRangeFault(range, { word: bo.obj_seq, expect: range.notifierSeq });
    ctx.mmapReadUnlock();
    if (ret === ctx.errno.EBUSY) return 'retry';
    if (ret) return ret;
    ctx.widen(1, 150); // the rest of the CS preparation before amdgpu_cs_submit (widened in both twins)
    bo.gtt_range.set(ctx.tid + 1); // *phmm_range = hmm_range, i.e. gtt->range
    // amdgpu_cs_submit
    bo.obj_lock.lock(); // adev->notifier_lock
    // amdgpu_ttm_tt_get_user_pages_done
    let invalid = false;
    const owner = bo.gtt_range.read();
    if (owner) {
      invalid = objReadRetry(ctx, ctx.ranges[owner - 1].notifierSeq); // whoever's range gtt->range holds
      bo.gtt_range.set(0);
    }
    if (invalid) {
      bo.obj_lock.unlock();
      return 'retry'; // -EAGAIN: the CS starts over
    }
    ctx.programDevice(sub, range);
    bo.obj_lock.unlock();
    return 'ok';
  },
  history: {
    commit: '4458da0bb09d',
    subject: 'drm/amdgpu: fix userptr HMM range handling v2',
    kernel: '6.1',
    side: 'bug',
    twin: 'amdgpu-userptr-shared-range-fix',
  },
};
export default protocol;
