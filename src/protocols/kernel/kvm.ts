/**
 * kvm — KVM's secondary MMU (virt/kvm/kvm_main.c, arch/x86/kvm/mmu): mmu_invalidate_seq and
 * mmu_invalidate_in_progress under kvm->mmu_lock.
 *
 * mm state (struct kvm): mmu_lock, mmu_invalidate_seq, mmu_invalidate_in_progress (plain longs
 * changed only under mmu_lock: 'plain', so that an update outside it can be lost)
 */
import type { MirrorProtocol } from '../api.js';
import type { Ctx } from '../../model/ctx.js';
import type { Invalidation } from '../../model/range.js';

/** kvm_mmu_notifier_invalidate_range_start: in_progress++, zap the SPTEs, flush the TLB. */
export function invalidateStart(ctx: Ctx, inv: Invalidation): boolean {
  const kvm = ctx.mm;
  if (inv.blockable) kvm.mmu_lock.lock();
  else if (!kvm.mmu_lock.tryLock()) return false;
  kvm.mmu_invalidate_in_progress.inc();
  for (const slot of inv.subs) ctx.zapDevice(slot, inv.start, inv.end); // kvm_unmap_gfn_range
  for (const d of new Set(inv.subs.map((s) => s.device))) ctx.deviceFence(d); // kvm_flush_remote_tlbs
  kvm.mmu_lock.unlock();
  return true;
}

/** kvm_mmu_notifier_invalidate_range_end: seq++ before in_progress-- (the retry check relies on it). */
export function invalidateEnd(ctx: Ctx, _inv: Invalidation): void {
  const kvm = ctx.mm;
  kvm.mmu_lock.lock();
  kvm.mmu_invalidate_seq.inc();
  kvm.mmu_invalidate_in_progress.dec();
  kvm.mmu_lock.unlock();
}

/** mmu_invalidate_retry: caller holds mmu_lock. */
export function mmu_invalidate_retry(ctx: Ctx, mmu_seq: number): boolean {
  const kvm = ctx.mm;
  return kvm.mmu_invalidate_in_progress.read() !== 0 || kvm.mmu_invalidate_seq.read() !== mmu_seq;
}

const protocol: MirrorProtocol = {
  name: 'kvm',
  description: 'KVM (mmu_invalidate_seq + mmu_invalidate_in_progress under mmu_lock): retry the fault if either moved',
  expect: 'sound',
  mmState: { mmu_lock: 'mutex', mmu_invalidate_seq: 'plain', mmu_invalidate_in_progress: 'plain' },

  invalidateStart,
  invalidateEnd,

  /** kvm_faultin_pfn + direct_page_fault: read seq, gup, then check under mmu_lock. */
  populate(ctx, slot, range) {
    const kvm = ctx.mm;
    const mmu_seq = kvm.mmu_invalidate_seq.read();
    ctx.mmapReadLock();
    const ret = ctx.hmmRangeFault(range); // __gfn_to_pfn_memslot -> get_user_pages
    ctx.mmapReadUnlock();
    if (ret) return ret === ctx.errno.EBUSY ? 'retry' : ret;
    kvm.mmu_lock.lock();
    if (mmu_invalidate_retry(ctx, mmu_seq)) {
      kvm.mmu_lock.unlock();
      return 'retry'; // RET_PF_RETRY
    }
    ctx.programDevice(slot, range); // map the SPTEs
    kvm.mmu_lock.unlock();
    return 'ok';
  },
};

export default protocol;
