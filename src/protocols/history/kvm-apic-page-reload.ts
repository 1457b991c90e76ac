/**
 * kvm-apic-page-reload — the bug fixed by e649b3f0188f "KVM: x86: Fix APIC page invalidation race"
 * (Linux 5.8; it names b1394e745b94 "KVM: x86: fix APIC page invalidation" as the commit it fixes).
 *
 * With APICv the VMCS holds the host-physical address of the APIC-access page: a pfn KVM caches
 * outside its page tables. Each vCPU (a driver thread here) keeps it in a pfn cache
 * (rangeState apic_access_page, model/pfn-cache.ts); the guest touches it on every entry. When
 * the page is invalidated, KVM requests KVM_REQ_APIC_PAGE_RELOAD on every vCPU and kicks them;
 * a vCPU reloads the address (gfn_to_page) before it enters the guest again.
 *
 * b1394e745b94 made that request from kvm_mmu_notifier_invalidate_range_start, before the page
 * is unmapped. A vCPU could take the request at once, re-resolve the APIC page while the PTE
 * still mapped the old frame, and write it into the VMCS; the invalidator then unmapped and
 * freed that frame, and the vCPU entered the guest with a stale APIC-access address (the commit
 * names a Windows BSOD, CRITICAL_STRUCTURE_CORRUPTION). Nothing requests a reload again.
 *
 *   invalidator                                       vCPU
 *   invalidate_range_start: request RELOAD, kick
 *                                                     kvm_check_request(RELOAD)
 *                                                     page = gfn_to_page(APIC)   (the old frame)
 *                                                     VMCS.apic_access = page
 *   PTE changed, invalidate_range_end, frame freed
 *                                                     enter guest: APIC access -> freed frame
 *
 * mm state:    mmu_lock, mmu_invalidate_seq, mmu_invalidate_in_progress   (KVM, as kernel/kvm.ts)
 * per vCPU:    apic_access_page   the VMCS's APIC-access address (a pfn cache)
 *              apic_reload_req    KVM_REQ_APIC_PAGE_RELOAD pending
 */
import type { MirrorProtocol } from '../api.js';
import type { Ctx } from '../../model/ctx.js';
import type { Invalidation } from '../../model/range.js';
import type { State } from '../../model/state.js';
import kvm, { invalidateStart as kvmStart } from '../kernel/kvm.js';

/** The APIC-access page's address (APIC_DEFAULT_PHYS_BASE's hva) in the model's address space. */
export const APIC_ACCESS_PAGE = 0x21;

/** kvm_make_all_cpus_request(kvm, KVM_REQ_APIC_PAGE_RELOAD): set it on every vCPU, then kick and wait. */
function kvm_make_all_cpus_request(ctx: Ctx): void {
  for (const vcpu of ctx.ranges) vcpu.state.apic_reload_req.set(1);
  for (const vcpu of ctx.ranges) vcpu.state.apic_access_page.fence(); // wait for vCPUs in guest mode
}

/** kvm_arch_mmu_notifier_invalidate_range: the APIC page is in the range: every vCPU reloads it. */
export function kvm_arch_mmu_notifier_invalidate_range(ctx: Ctx, inv: Invalidation): void {
  if (inv.start <= APIC_ACCESS_PAGE && APIC_ACCESS_PAGE < inv.end) kvm_make_all_cpus_request(ctx);
}

/** With the APIC page in range, the end of the start callback (before the PTE change) is widened: both twins. */
export function widenBeforeUnmap(ctx: Ctx, inv: Invalidation): void {
  if (inv.start <= APIC_ACCESS_PAGE && APIC_ACCESS_PAGE < inv.end) ctx.widen(1, 1000);
}

/** kvm_vcpu_reload_apic_access_page: gfn_to_page, then the VMCS field. */
function kvm_vcpu_reload_apic_access_page(ctx: Ctx, vcpu: State): void {
  ctx.mmapReadLock();
  const pfn = vcpu.apic_access_page.resolve(APIC_ACCESS_PAGE); // gfn_to_page (GUP: faults the page in)
  ctx.mmapReadUnlock();
  if (pfn < 0) {
    vcpu.apic_reload_req.set(1); // GUP would have waited (a migration entry): try again at the next entry
    return;
  }
  ctx.widen(0.5, 50);
  vcpu.apic_access_page.set(); // kvm_x86_ops->set_apic_access_page_addr(vcpu, page_to_phys(page))
}

const protocol: MirrorProtocol = {
  ...kvm,
  name: 'kvm-apic-page-reload',
  description: 'BUG (e649b3f0188f): the APIC-access page reload is requested in invalidate_range_start; a vCPU reloads the old frame',
  expect: { violates: ['use-after-free'] },
  rangeState: { apic_access_page: 'pfncache', apic_reload_req: 'word' },
  events: ['munmap', 'dontneed', 'migrate', 'reclaim', 'cow'], // the changes that free the APIC page's frame
  /** kvm_mmu_notifier_invalidate_range_start as b1394e745b94 left it: KVM's start, then the request. */
  invalidateStart(ctx, inv) {
    if (!kvmStart(ctx, inv)) return false;
    kvm_arch_mmu_notifier_invalidate_range(ctx, inv);
    widenBeforeUnmap(ctx, inv);
    return true;
  },
  /** vcpu_enter_guest: a pending reload first; then the guest runs (it touches the APIC page), then KVM's fault path. */
  populate(ctx, slot, range) {
    const vcpu = range.state;
    if (vcpu.apic_reload_req.read()) {
      vcpu.apic_reload_req.set(0); // kvm_check_request
      kvm_vcpu_reload_apic_access_page(ctx, vcpu);
    }
    // vcpu->mode = IN_GUEST_MODE, then a request pending now cancels the entry (the use aborts)
    if (vcpu.apic_access_page.use({ word: vcpu.apic_reload_req, expect: 0 }) === 'aborted') return 'retry';
    return kvm.populate(ctx, slot, range);
  },
  history: {
    commit: 'e649b3f0188f',
    subject: 'KVM: x86: Fix APIC page invalidation race',
    kernel: '5.8',
    side: 'bug',
    twin: 'kvm-apic-page-reload-fix',
  },
};
export default protocol;
