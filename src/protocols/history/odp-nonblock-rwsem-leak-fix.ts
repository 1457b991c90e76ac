/**
 * odp-nonblock-rwsem-leak-fix — 7608bf40cf24 "RDMA/odp: Fix missed unlock in non-blocking
 * invalidate_start" (merged for Linux 5.3, backported to 5.2.y). When the umem walk returns
 * -EAGAIN on a non-blockable range, ib_umem_notifier_invalidate_range_start now drops umem_rwsem
 * before returning, since no invalidate_range_end will follow. Otherwise as the zoo's
 * odp-nonblock-rwsem-leak (Linux 5.2's umem_odp.c).
 */
import type { MirrorProtocol } from '../api.js';
import type { Ctx } from '../../model/ctx.js';
import type { Invalidation } from '../../model/range.js';
import { invalidate_range_start_trampoline } from '../kernel/odp-v5.4.js';
import bug from '../zoo/odp-nonblock-rwsem-leak.js';

function invalidateStart(ctx: Ctx, inv: Invalidation): boolean {
  const per_mm = ctx.mm;
  if (inv.blockable) per_mm.umem_rwsem.downRead();
  else if (!per_mm.umem_rwsem.downReadTrylock()) return false;
  for (const umem of inv.subs) {
    if (!inv.blockable) {
      per_mm.umem_rwsem.upRead(); // the fix: if (rc) up_read(&per_mm->umem_rwsem)
      return false;
    }
    invalidate_range_start_trampoline(ctx, umem, inv);
  }
  return true;
}

const protocol: MirrorProtocol = {
  ...bug,
  name: 'odp-nonblock-rwsem-leak-fix',
  description: 'FIX (7608bf40cf24): a non-blockable start that returns -EAGAIN drops umem_rwsem first',
  expect: 'sound',
  invalidateStart,
  history: { ...bug.history!, side: 'fix', twin: 'odp-nonblock-rwsem-leak' },
};
export default protocol;
