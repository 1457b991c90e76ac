/**
 * hmm-valid-unlocked — BROKEN: hmm-v5.2's driver checks range->valid before taking
 * driver->update, against Jérôme's own rule in the seed message ("That lock must be held
 * before calling hmm_range_valid() to avoid any race with a concurrent CPU page table
 * update"). An invalidation between the check and the device update leaves a stale entry.
 */
import type { MirrorProtocol } from '../api.js';
import base, {
  hmm_range_register,
  hmm_range_unregister,
  hmm_range_wait_until_valid,
  hmm_range_valid,
  TIMEOUT_IN_MSEC,
} from '../kernel/hmm-v5.2.js';

const protocol: MirrorProtocol = {
  ...base,
  history: undefined, // a variant written for hmmsim, not a kernel commit
  name: 'hmm-valid-unlocked',
  description: 'BROKEN hmm-v5.2: checks range->valid before taking the driver lock',
  expect: { violates: ['use-after-free', 'device-pte-during-invalidation', 'contract'] },
  populate(ctx, sub, range) {
    hmm_range_register(ctx, range);
    hmm_range_wait_until_valid(ctx, range, TIMEOUT_IN_MSEC);
    ctx.mmapReadLock();
    const ret = ctx.hmmRangeFault(range, { word: range.state.valid, expect: 1 });
    if (ret) {
      ctx.mmapReadUnlock();
      hmm_range_unregister(ctx, range);
      return ret === ctx.errno.EBUSY ? 'retry' : ret;
    }
    const valid = hmm_range_valid(range); // BUG: not under driver->update
    sub.state.user_lock.lock();
    if (!valid) {
      sub.state.user_lock.unlock();
      ctx.mmapReadUnlock();
      hmm_range_unregister(ctx, range);
      return 'retry';
    }
    ctx.programDevice(sub, range);
    hmm_range_unregister(ctx, range);
    sub.state.user_lock.unlock();
    ctx.mmapReadUnlock();
    return 'ok';
  },
};
export default protocol;
