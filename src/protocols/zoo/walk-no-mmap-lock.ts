/**
 * walk-no-mmap-lock — BROKEN: interval-v5.5's driver calls hmm_range_fault() without
 * mmap_read_lock(). The sequence count still keeps stale pfns off the device, but munmap
 * (which holds mmap_lock for write) frees page-table pages the walk is reading.
 */
import type { MirrorProtocol } from '../api.js';
import base, { mmu_interval_read_begin, mmu_interval_read_retry } from '../kernel/interval-v5.5.js';

const protocol: MirrorProtocol = {
  ...base,
  history: undefined, // a variant written for hmmsim, not a kernel commit
  name: 'walk-no-mmap-lock',
  description: 'BROKEN interval-v5.5: page-table walk without the mmap read lock',
  expect: { violates: ['page-table-use-after-free'] },
  populate(ctx, sub, range) {
    range.notifierSeq = mmu_interval_read_begin(ctx, sub);
    const ret = ctx.hmmRangeFault(range, { word: sub.state.invalidate_seq, expect: range.notifierSeq }); // BUG: no mmap lock
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
