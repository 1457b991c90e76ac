/**
 * interval-retry-unlocked — BROKEN: mmu_interval_read_retry() called before taking the
 * driver's user_lock. The kernel documents that read_retry must run under the lock the
 * invalidate callback takes; otherwise an invalidation can set the sequence, zap, and finish
 * its callback between the check and the device update.
 */
import type { MirrorProtocol } from '../api.js';
import base, { mmu_interval_read_begin, mmu_interval_read_retry } from '../kernel/interval-v5.5.js';

const protocol: MirrorProtocol = {
  ...base,
  history: undefined, // a variant written for hmmsim, not a kernel commit
  name: 'interval-retry-unlocked',
  description: 'BROKEN interval-v5.5: read_retry before taking the driver lock',
  expect: { violates: ['device-pte-during-invalidation', 'use-after-free', 'write-to-readonly', 'contract', 'access-to-protnone'] },
  populate(ctx, sub, range) {
    range.notifierSeq = mmu_interval_read_begin(ctx, sub);
    ctx.mmapReadLock();
    const ret = ctx.hmmRangeFault(range, { word: sub.state.invalidate_seq, expect: range.notifierSeq });
    ctx.mmapReadUnlock();
    if (ret === ctx.errno.EBUSY) return 'retry';
    if (ret) return ret;
    if (mmu_interval_read_retry(sub, range.notifierSeq)) return 'retry'; // BUG: lock not held
    sub.state.user_lock.lock();
    ctx.programDevice(sub, range);
    sub.state.user_lock.unlock();
    return 'ok';
  },
};
export default protocol;
