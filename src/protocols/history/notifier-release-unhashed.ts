/**
 * notifier-release-unhashed — the bug fixed by 3ad3d901bbcf "mm: mmu_notifier: fix freed page
 * still mapped in secondary MMU" (Linux 3.6), brought back by 751efd8610d3 ("mmu_notifier_unregister
 * NULL Pointer deref and multiple ->release()") and fixed again by d34883d4e35c "mm: mmu_notifier:
 * re-fix freed page still mapped in secondary MMU" (Linux 3.10).
 *
 * At exit, __mmu_notifier_release unhashed each notifier (hlist_del_init_rcu) and only then called
 * its ->release. Reclaim and migration run try_to_unmap without mmap_sem, so in between:
 *
 *   CPU0 mmu_notifier_release           CPU1 try_to_unmap
 *   hlist_del_init_rcu(&mn->hlist)
 *                                       ptep_clear_flush_notify: no notifier found
 *                                       free page   <- still mapped in the secondary MMU
 *   mn->ops->release(mn, mm)
 *
 * Here the secondary MMU is KVM (kernel/kvm.ts) with a ->release that flushes all its shadow
 * entries (kvm_mmu_notifier_release -> kvm_arch_flush_shadow_all), the CPU role exits now and then
 * (the 'exit' event, model/mm/exit.ts), and the mm core orders release as before the fix
 * (mmOptions.notifierRelease = 'unhash-then-release'). A reclaim or migration in the window frees a
 * frame that KVM still maps: a use-after-free at the free (or, when DMA reads the page first, while
the invalidation that found no notifier is still between its start and end, a
device-pte-during-invalidation).
 */
import type { MirrorProtocol } from '../api.js';
import type { Ctx } from '../../model/ctx.js';
import type { Sub } from '../../model/range.js';
import kvm from '../kernel/kvm.js';

/** kvm_mmu_notifier_release: kvm_arch_flush_shadow_all under mmu_lock. */
export function kvmRelease(ctx: Ctx, slot: Sub): void {
  ctx.mm.mmu_lock.lock();
  ctx.zapDevice(slot, slot.start, slot.end);
  ctx.deviceFence(slot.device);
  ctx.mm.mmu_lock.unlock();
}

const protocol: MirrorProtocol = {
  ...kvm,
  name: 'notifier-release-unhashed',
  description:
    'BUG (3ad3d901bbcf, again after 751efd8610d3): exit unhashes the notifier before ->release; reclaim finds none and frees mapped pages',
  expect: { violates: ['use-after-free', 'device-pte-during-invalidation'] },
  events: ['munmap', 'mprotect', 'dontneed', 'migrate', 'reclaim', 'cow', 'exit'],
  mmOptions: { notifierRelease: 'unhash-then-release' },
  release: kvmRelease,
  history: {
    commit: '3ad3d901bbcf',
    subject: 'mm: mmu_notifier: fix freed page still mapped in secondary MMU (re-fixed by d34883d4e35c)',
    kernel: '3.6',
    side: 'bug',
    twin: 'notifier-release-unhashed-fix',
  },
};
export default protocol;
