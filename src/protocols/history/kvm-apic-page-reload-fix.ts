/**
 * kvm-apic-page-reload-fix — e649b3f0188f "KVM: x86: Fix APIC page invalidation race" (Linux
 * 5.8). The reload request moves from invalidate_range_start to the ->invalidate_range callback
 * (kvm_mmu_notifier_invalidate_range), which the mm calls after the page is unmapped: a vCPU that
 * takes the request resolves the page anew, and one that had resolved the old frame before the
 * unmap finds the request pending when it enters the guest. The commit quotes mmu_notifier.h: a
 * subsystem that cannot guarantee no new references are taken after invalidate_range_start must
 * implement invalidate_range. Otherwise as kvm-apic-page-reload.
 */
import type { MirrorProtocol } from '../api.js';
import { invalidateStart as kvmStart } from '../kernel/kvm.js';
import bug, { widenBeforeUnmap, kvm_arch_mmu_notifier_invalidate_range } from './kvm-apic-page-reload.js';

const protocol: MirrorProtocol = {
  ...bug,
  name: 'kvm-apic-page-reload-fix',
  description: 'FIX (e649b3f0188f): the APIC-access page reload is requested from ->invalidate_range, after the unmap',
  expect: 'sound',
  invalidateStart(ctx, inv) {
    if (!kvmStart(ctx, inv)) return false;
    widenBeforeUnmap(ctx, inv);
    return true;
  },
  invalidateRange: kvm_arch_mmu_notifier_invalidate_range,
  history: { ...bug.history!, side: 'fix', twin: 'kvm-apic-page-reload' },
};
export default protocol;
