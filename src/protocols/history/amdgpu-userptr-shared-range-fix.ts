/**
 * amdgpu-userptr-shared-range-fix — 4458da0bb09d "drm/amdgpu: fix userptr HMM range handling v2"
 * (Linux 6.1). gtt->range is gone: amdgpu_ttm_tt_get_user_pages() returns the range to its caller
 * (the CS keeps it in its bo list entry, e->range), and amdgpu_ttm_tt_get_user_pages_done(ttm,
 * range) checks that very range. Two validations of one BO each check their own sequence, so the
 * WARN and its -EFAULT go too. The same two driver threads as amdgpu-userptr-shared-range.
 */
import type { MirrorProtocol } from '../api.js';
import { objReadBegin, objReadRetry } from './whole-mm-interval.js';
import bug from './amdgpu-userptr-shared-range.js';

const protocol: MirrorProtocol = {
  ...bug,
  name: 'amdgpu-userptr-shared-range-fix',
  description: 'FIX (4458da0bb09d): each validation keeps its own hmm_range and checks it',
  expect: 'sound',
  populate(ctx, sub, range) {
    const bo = ctx.mm;
    range.notifierSeq = objReadBegin(ctx);
    ctx.mmapReadLock();
    const ret = ctx.hmmRangeFault(range, { word: bo.obj_seq, expect: range.notifierSeq });
    ctx.mmapReadUnlock();
    if (ret === ctx.errno.EBUSY) return 'retry';
    if (ret) return ret;
    ctx.widen(1, 150); // as in the bug
    bo.obj_lock.lock();
    if (objReadRetry(ctx, range.notifierSeq)) {
      bo.obj_lock.unlock();
      return 'retry';
    }
    ctx.programDevice(sub, range);
    bo.obj_lock.unlock();
    return 'ok';
  },
  history: { ...bug.history!, side: 'fix', twin: 'amdgpu-userptr-shared-range' },
};
export default protocol;
