/**
 * kvm-gpc-refresh-fix — 58cd407ca4c6 "KVM: Fix multiple races in gfn=>pfn cache refresh". The
 * refresh marks the cache invalid before dropping gpc->lock, and after resolving the pfn it
 * re-takes gpc->lock and starts over while mn_active_invalidate_count is raised (that count rises
 * before an invalidation takes gpc->lock and falls only after the sequence moved) or the sequence
 * changed; only then is the cache valid again. The invalidation side is unchanged.
 * (The commit also serialises concurrent refreshes with a refresh_in_progress flag; one driver
 * thread refreshes a given cache here, so that part is not exercised.)
 */
import type { MirrorProtocol } from '../api.js';
import bug from './kvm-gpc-refresh.js';

const protocol: MirrorProtocol = {
  ...bug,
  name: 'kvm-gpc-refresh-fix',
  description: 'FIX (58cd407ca4c6): refresh invalidates the cache first and retries while mn_active_invalidate_count is raised',
  expect: 'sound',
  /** kvm_gfn_to_pfn_cache_refresh + hva_to_pfn_retry after the fix. */
  populate(ctx, gpc, range) {
    const kvm = ctx.mm;
    gpc.state.gpc_lock.lock();
    gpc.state.gpc_valid.set(0); // invalidate the cache prior to dropping gpc->lock
    const mmu_seq = kvm.mmu_invalidate_seq.read();
    gpc.state.gpc_lock.unlock();
    ctx.mmapReadLock();
    const ret = ctx.hmmRangeFault(range);
    ctx.mmapReadUnlock();
    if (ret) return ret === ctx.errno.EBUSY ? 'retry' : ret;
    gpc.state.gpc_lock.lock();
    if (kvm.mn_active_invalidate_count.read() || kvm.mmu_invalidate_seq.read() !== mmu_seq) {
      gpc.state.gpc_lock.unlock();
      return 'retry';
    }
    gpc.state.gpc_valid.set(1);
    ctx.programDevice(gpc, range);
    gpc.state.gpc_lock.unlock();
    return 'ok';
  },
  history: { ...bug.history!, side: 'fix', twin: 'kvm-gpc-refresh' },
};
export default protocol;
