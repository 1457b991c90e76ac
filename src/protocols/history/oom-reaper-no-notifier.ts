/**
 * oom-reaper-no-notifier — the bug fixed by 4d4bbd8526a8 "mm, oom_reaper: skip mm structs with
 * mmu notifiers" (Linux 4.14; it names aac453635549 "mm, oom: introduce oom reaper" as the commit it fixes).
 *
 * The OOM reaper unmapped a victim's anonymous memory with unmap_page_range and never called
 * mmu_notifier_invalidate_range_start/end around it; the commit notes that the invalidate_range
 * call inside the TLB flush does nothing for KVM, which implements start/end only. So the
 * secondary MMU kept its entries for frames the reaper had freed ("can corrupt the memory of the
 * kvm guest"). Here the secondary MMU is kernel/kvm.ts, unchanged; the mm core runs the old
 * reaper (mmOptions.oomReaper = 'unmap-without-notifier', model/mm/ops.ts).
 */
import type { MirrorProtocol } from '../api.js';
import kvm from '../kernel/kvm.js';

const protocol: MirrorProtocol = {
  ...kvm,
  name: 'oom-reaper-no-notifier',
  description: 'BUG (4d4bbd8526a8): the OOM reaper zaps and frees without invalidate_range_start/end; KVM keeps the freed frames',
  expect: { violates: ['use-after-free'] },
  mmOptions: { oomReaper: 'unmap-without-notifier' },
  history: {
    commit: '4d4bbd8526a8',
    subject: 'mm, oom_reaper: skip mm structs with mmu notifiers',
    kernel: '4.14',
    side: 'bug',
    twin: 'oom-reaper-no-notifier-fix',
  },
};
export default protocol;
