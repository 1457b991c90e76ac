/**
 * interval-no-retry — BROKEN: uses mmu_interval_read_begin() but never
 * mmu_interval_read_retry(): any invalidation overlapping the snapshot goes unnoticed.
 */
import type { MirrorProtocol } from '../api.js';
import base, { mmu_interval_read_begin } from '../kernel/interval-v5.5.js';

const protocol: MirrorProtocol = {
  ...base,
  history: undefined, // a variant written for hmmsim, not a kernel commit
  name: 'interval-no-retry',
  description: 'BROKEN interval-v5.5: never calls read_retry',
  expect: { violates: ['device-pte-during-invalidation', 'use-after-free', 'write-to-readonly', 'contract', 'access-to-protnone'] },
  populate(ctx, sub, range) {
    range.notifierSeq = mmu_interval_read_begin(ctx, sub);
    ctx.mmapReadLock();
    const ret = ctx.hmmRangeFault(range); // BUG: no lockless check either
    ctx.mmapReadUnlock();
    if (ret === ctx.errno.EBUSY) return 'retry';
    if (ret) return ret;
    sub.state.user_lock.lock();
    ctx.programDevice(sub, range); // BUG: no mmu_interval_read_retry()
    sub.state.user_lock.unlock();
    return 'ok';
  },
};
export default protocol;
