/**
 * sync-no-fence — BROKEN: the invalidate callback zaps the device page table but does not
 * flush the device TLB / wait for DMA in flight. A transfer that translated before the zap
 * keeps using the frame after invalidate_range_end frees it.
 */
import type { MirrorProtocol } from '../api.js';
import type { Ctx } from '../../model/ctx.js';
import type { Invalidation } from '../../model/range.js';
import base, { invalidateEnd, mmu_interval_set_seq } from '../kernel/interval-v5.5.js';

function invalidateStart(ctx: Ctx, inv: Invalidation): boolean {
  const subs = ctx.mm;
  subs.lock.lock();
  subs.active_invalidate_ranges.inc();
  if (inv.subs.length) subs.invalidate_seq.or(1);
  const cur = subs.invalidate_seq.read();
  subs.lock.unlock();
  for (const sub of inv.subs) {
    if (inv.blockable) sub.state.user_lock.lock();
    else if (!sub.state.user_lock.tryLock()) {
      invalidateEnd(ctx, inv);
      return false;
    }
    mmu_interval_set_seq(sub, cur);
    ctx.zapDevice(sub, inv.start, inv.end); // BUG: no ctx.deviceFence(sub.device)
    sub.state.user_lock.unlock();
  }
  return true;
}

const protocol: MirrorProtocol = {
  ...base,
  history: undefined, // a variant written for hmmsim, not a kernel commit
  name: 'sync-no-fence',
  description: 'BROKEN interval-v5.5: zaps device entries without waiting for DMA in flight',
  expect: { violates: ['use-after-free', 'device-pte-during-invalidation', 'write-to-readonly', 'contract', 'access-to-protnone'] },
  invalidateStart,
};
export default protocol;
