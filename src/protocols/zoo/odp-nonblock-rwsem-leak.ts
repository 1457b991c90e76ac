/**
 * odp-nonblock-rwsem-leak — BROKEN, the kernel's own bug: a non-blockable invalidate_range_start
 * returns -EAGAIN with umem_rwsem still held for read, as ib_umem_notifier_invalidate_range_start
 * did before 7608bf40cf24 "RDMA/odp: Fix missed unlock in non-blocking invalidate_start" (merged
 * for Linux 5.3; history/odp-nonblock-rwsem-leak-fix is the fixed twin). No end call follows a
 * failed start, so the read hold is never dropped: the next umem add/remove (down_write) blocks
 * forever, and every later invalidation queues behind it. In 5.2 the umem walk returned -EAGAIN
 * at the first umem of any non-blockable range; here the -EAGAIN comes when a umem_mutex trylock
 * fails, which is rarer, so the leak is one read hold at a time.
 */
import type { MirrorProtocol } from '../api.js';
import type { Ctx } from '../../model/ctx.js';
import type { Invalidation } from '../../model/range.js';
import base from '../kernel/odp-v5.4.js';
import { notifier_end_account } from '../kernel/odp-v5.4.js';

function invalidateStart(ctx: Ctx, inv: Invalidation): boolean {
  const per_mm = ctx.mm;
  if (inv.blockable) per_mm.umem_rwsem.downRead();
  else if (!per_mm.umem_rwsem.downReadTrylock()) return false;
  // the umem tree as it is under umem_rwsem (umems come and go), as odp-v5.4's start walks it
  const umems = ctx.subsIn(inv.start, inv.end);
  for (let i = 0; i < umems.length; i++) {
    const umem = umems[i];
    if (inv.blockable) umem.state.umem_mutex.lock();
    else if (!umem.state.umem_mutex.tryLock()) {
      for (let j = 0; j < i; j++) notifier_end_account(umems[j]);
      return false; // BUG: umem_rwsem is still read-held
    }
    if (umem.state.notifiers_count.inc() === 1) umem.state.notifier_completion.reinit();
    ctx.zapDevice(umem, inv.start, inv.end);
    ctx.deviceFence(umem.device);
    umem.state.umem_mutex.unlock();
  }
  return true;
}

const protocol: MirrorProtocol = {
  ...base,
  name: 'odp-nonblock-rwsem-leak',
  description: 'BROKEN odp-v5.4: -EAGAIN from a non-blockable start with umem_rwsem still read-held',
  expect: { violates: ['deadlock', 'contract'] },
  invalidateStart,
  history: {
    commit: '7608bf40cf24',
    subject: 'RDMA/odp: Fix missed unlock in non-blocking invalidate_start',
    kernel: '5.3',
    side: 'bug',
    twin: 'odp-nonblock-rwsem-leak-fix',
  },
};
export default protocol;
