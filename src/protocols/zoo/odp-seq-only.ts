/**
 * odp-seq-only — BROKEN: odp-v5.4's retry check looks at notifiers_seq only and ignores
 * notifiers_count. notifiers_seq moves at invalidate_range_END, so a fault that reads the seq
 * during an active invalidation (after its callbacks zapped the device) passes the check and
 * maps pages while the invalidation is still changing them.
 */
import type { MirrorProtocol } from '../api.js';
import base from '../kernel/odp-v5.4.js';

const protocol: MirrorProtocol = {
  ...base,
  name: 'odp-seq-only',
  description: 'BROKEN odp-v5.4: retry check ignores notifiers_count',
  expect: { violates: ['device-pte-during-invalidation', 'use-after-free', 'write-to-readonly', 'contract', 'access-to-protnone'] },
  populate(ctx, umem, range) {
    const current_seq = umem.state.notifiers_seq.read();
    ctx.mmapReadLock();
    const ret = ctx.hmmRangeFault(range);
    ctx.mmapReadUnlock();
    if (ret) return ret === ctx.errno.EBUSY ? 'retry' : ret;
    umem.state.umem_mutex.lock();
    if (umem.state.notifiers_seq.read() === current_seq) {
      // BUG: notifiers_count > 0 not checked
      ctx.programDevice(umem, range);
      umem.state.umem_mutex.unlock();
      return 'ok';
    }
    umem.state.umem_mutex.unlock();
    return 'retry';
  },
};
export default protocol;
