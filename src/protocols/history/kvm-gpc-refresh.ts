/**
 * kvm-gpc-refresh — the bug fixed by 58cd407ca4c6 "KVM: Fix multiple races in gfn=>pfn cache
 * refresh" (it names 982ed0de4753 "KVM: Reinstate gfn_to_pfn_cache with invalidation support" as
 * the commit it fixes). Each subscription here holds a gfn=>pfn cache (gpc): pfns KVM resolved
 * outside its page tables; the device entries are the cached pfns, and every DMA is a use that
 * the oracle checks.
 *
 * KVM's invalidate_range_start first raises mn_active_invalidate_count, then invalidates the
 * caches (gpc->valid = false under gpc->lock), and only then takes mmu_lock and raises
 * mmu_invalidate_in_progress. The old refresh marked the cache valid speculatively, resolved the
 * pfn, and checked only in_progress and the sequence (mmu_notifier_retry_hva). A refresh that
 * started after the cache was invalidated but before in_progress rose passed that check with the
 * old pfn and left a valid cache that the invalidation had already passed over; the page was
 * then freed under it (the commit's own CPU0/CPU1 diagram).
 *
 * mm state:   mmu_lock, mmu_invalidate_seq, mmu_invalidate_in_progress   (KVM, as kernel/kvm.ts)
 *             mn_invalidate_lock, mn_active_invalidate_count              raised before the caches are touched
 * per gpc:    gpc_lock, gpc_valid
 */
import type { MirrorProtocol } from '../api.js';
import type { Ctx } from '../../model/ctx.js';
import type { Invalidation } from '../../model/range.js';
import { mmu_invalidate_retry } from '../kernel/kvm.js';

/** kvm_mmu_notifier_invalidate_range_start */
export function invalidateStart(ctx: Ctx, inv: Invalidation): boolean {
  const kvm = ctx.mm;
  kvm.mn_invalidate_lock.lock();
  kvm.mn_active_invalidate_count.inc();
  kvm.mn_invalidate_lock.unlock();
  // gfn_to_pfn_cache_invalidate_start: before mmu_lock and before in_progress rises (spinlocks: never fails)
  for (const gpc of inv.subs) {
    gpc.state.gpc_lock.lock();
    gpc.state.gpc_valid.set(0);
    ctx.zapDevice(gpc, inv.start, inv.end);
    ctx.deviceFence(gpc.device);
    gpc.state.gpc_lock.unlock();
  }
  // the window the commit's diagram lives in (caches invalidated, count not yet raised): widened
  // here, in the invalidation both twins share, so the fix is tried against the same schedules
  ctx.widen(1, 150);
  kvm.mmu_lock.lock();
  kvm.mmu_invalidate_in_progress.inc(); // kvm_inc_notifier_count, then kvm_unmap_gfn_range
  kvm.mmu_lock.unlock();
  return true;
}

/** kvm_mmu_notifier_invalidate_range_end: seq++ and in_progress-- under mmu_lock, then the active count. */
export function invalidateEnd(ctx: Ctx, _inv: Invalidation): void {
  const kvm = ctx.mm;
  kvm.mmu_lock.lock();
  kvm.mmu_invalidate_seq.inc();
  kvm.mmu_invalidate_in_progress.dec();
  kvm.mmu_lock.unlock();
  kvm.mn_invalidate_lock.lock();
  kvm.mn_active_invalidate_count.dec();
  kvm.mn_invalidate_lock.unlock();
}

const protocol: MirrorProtocol = {
  name: 'kvm-gpc-refresh',
  description:
    'BUG (58cd407ca4c6): gpc refresh marks the cache valid early and checks only in_progress/seq, which rise after the cache is invalidated',
  expect: { violates: ['device-pte-during-invalidation', 'use-after-free', 'write-to-readonly', 'contract', 'access-to-protnone'] },
  mmState: {
    mmu_lock: 'mutex',
    mmu_invalidate_seq: 'word',
    mmu_invalidate_in_progress: 'word',
    mn_invalidate_lock: 'mutex',
    mn_active_invalidate_count: 'word',
  },
  subState: { gpc_lock: 'mutex', gpc_valid: 'word' },
  invalidateStart,
  invalidateEnd,

  /** kvm_gfn_to_pfn_cache_refresh + hva_to_pfn_retry before the fix (one `retry` per loop). */
  populate(ctx, gpc, range) {
    const kvm = ctx.mm;
    gpc.state.gpc_lock.lock();
    gpc.state.gpc_valid.set(1); // BUG: speculatively valid, lock dropped below
    gpc.state.gpc_lock.unlock();
    const mmu_seq = kvm.mmu_invalidate_seq.read();
    ctx.mmapReadLock();
    const ret = ctx.hmmRangeFault(range); // hva_to_pfn
    ctx.mmapReadUnlock();
    if (ret) return ret === ctx.errno.EBUSY ? 'retry' : ret;
    kvm.mmu_lock.lock();
    const retry = mmu_invalidate_retry(ctx, mmu_seq); // mmu_notifier_retry_hva: blind to an invalidation that has not raised the count
    kvm.mmu_lock.unlock();
    if (retry) return 'retry';
    gpc.state.gpc_lock.lock();
    if (gpc.state.gpc_valid.read()) ctx.programDevice(gpc, range); // gpc->pfn = new_pfn, valid still set
    gpc.state.gpc_lock.unlock();
    return 'ok';
  },
  history: {
    commit: '58cd407ca4c6',
    subject: 'KVM: Fix multiple races in gfn=>pfn cache refresh',
    kernel: '5.19',
    side: 'bug',
    twin: 'kvm-gpc-refresh-fix',
  },
};
export default protocol;
