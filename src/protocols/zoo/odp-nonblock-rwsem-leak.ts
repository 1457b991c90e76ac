/**
 * odp-nonblock-rwsem-leak — BROKEN, and the kernel's own bug: Linux 5.2's
 * ib_umem_notifier_invalidate_range_start (drivers/infiniband/core/umem_odp.c) before
 * 7608bf40cf24 "RDMA/odp: Fix missed unlock in non-blocking invalidate_start" (history/
 * odp-nonblock-rwsem-leak-fix is the fixed twin). On a non-blockable range it takes umem_rwsem
 * with down_read_trylock, and rbt_ib_umem_for_each_in_range returns -EAGAIN at the first umem
 * in the range; the -EAGAIN goes back with umem_rwsem still read-held. No end call follows a
 * failed start, so the read hold is never dropped: the next umem add/remove (down_write) blocks
 * forever, and every later invalidation queues behind it.
 */
import type { MirrorProtocol } from '../api.js';
import type { Ctx } from '../../model/ctx.js';
import type { Invalidation } from '../../model/range.js';
import base, { invalidate_range_start_trampoline } from '../kernel/odp-v5.4.js';

function invalidateStart(ctx: Ctx, inv: Invalidation): boolean {
  const per_mm = ctx.mm;
  if (inv.blockable) per_mm.umem_rwsem.downRead();
  else if (!per_mm.umem_rwsem.downReadTrylock()) return false;
  // rbt_ib_umem_for_each_in_range: "TODO move the blockable decision up to the callback"
  for (const umem of inv.subs) {
    if (!inv.blockable) return false; // BUG: -EAGAIN with umem_rwsem still read-held
    invalidate_range_start_trampoline(ctx, umem, inv);
  }
  return true;
}

const protocol: MirrorProtocol = {
  ...base,
  name: 'odp-nonblock-rwsem-leak',
  description: 'BROKEN odp-v5.4: -EAGAIN from a non-blockable start with umem_rwsem still read-held',
  expect: { violates: ['deadlock'] },
  invalidateStart,
  history: {
    commit: '7608bf40cf24', subject: 'RDMA/odp: Fix missed unlock in non-blocking invalidate_start', kernel: '5.3',
    side: 'bug', twin: 'odp-nonblock-rwsem-leak-fix',
  },
};
export default protocol;
