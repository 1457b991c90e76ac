/**
 * odp-v5.4 — RDMA on-demand paging before mmu_interval_notifier (Linux 5.4,
 * drivers/infiniband/core/umem_odp.c): a per-mm umem_rwsem held for read across each
 * invalidation, and per-umem notifiers_seq / notifiers_count under umem_mutex.
 *
 * mm state (ib_ucontext_per_mm):  umem_rwsem  — read-held from invalidate_range_start to _end,
 *                                               across each walk of the umem tree; a umem's release
 *                                               and creation (intervalRemove, intervalInsert: the
 *                                               'interval' event) take it for write
 * per umem (ib_umem_odp):         umem_mutex, notifiers_seq, notifiers_count (plain ints changed
 *                                 under umem_mutex, or under umem_rwsem for write at the add: 'plain'),
 *                                 notifier_completion (faults wait here while count > 0)
 */
import { DEFAULT_EVENTS } from '../../api/types.js';
import type { MirrorProtocol } from '../api.js';
import type { Ctx } from '../../model/ctx.js';
import type { Sub, Invalidation } from '../../model/range.js';

const TIMEOUT_MS = 1000;

/** ib_umem_notifier_invalidate_range_start */
export function invalidateStart(ctx: Ctx, inv: Invalidation): boolean {
  const per_mm = ctx.mm;
  if (inv.blockable) per_mm.umem_rwsem.downRead();
  else if (!per_mm.umem_rwsem.downReadTrylock()) return false;
  // rbt_ib_umem_for_each_in_range: the umem tree as it is under umem_rwsem (umems come and go)
  const umems = ctx.subsIn(inv.start, inv.end);
  for (let i = 0; i < umems.length; i++) {
    const umem = umems[i];
    // invalidate_range_start_trampoline -> ib_umem_notifier_start_account + driver zap (MTTs)
    if (inv.blockable) umem.state.umem_mutex.lock();
    else if (!umem.state.umem_mutex.tryLock()) {
      for (let j = 0; j < i; j++) notifier_end_account(umems[j]); // undo, then -EAGAIN
      per_mm.umem_rwsem.upRead();
      return false;
    }
    if (umem.state.notifiers_count.inc() === 1) umem.state.notifier_completion.reinit();
    ctx.zapDevice(umem, inv.start, inv.end);
    ctx.deviceFence(umem.device);
    umem.state.umem_mutex.unlock();
  }
  return true;
}

/** ib_umem_notifier_end_account (takes umem_mutex) */
export function notifier_end_account(umem: Sub): void {
  umem.state.umem_mutex.lock();
  umem.state.notifiers_seq.inc();
  if (umem.state.notifiers_count.dec() === 0) umem.state.notifier_completion.completeAll();
  umem.state.umem_mutex.unlock();
}

/** ib_umem_notifier_invalidate_range_end */
export function invalidateEnd(ctx: Ctx, inv: Invalidation): void {
  // the same umems as the start found: umem_rwsem has been read-held since, so the tree has not changed
  for (const umem of ctx.subsIn(inv.start, inv.end)) notifier_end_account(umem);
  ctx.mm.umem_rwsem.upRead();
}

/** ib_umem_mmu_notifier_retry: caller holds umem_mutex. */
export function ib_umem_mmu_notifier_retry(umem: Sub, mmu_seq: number): boolean {
  return umem.state.notifiers_count.read() > 0 || umem.state.notifiers_seq.read() !== mmu_seq;
}

const protocol: MirrorProtocol = {
  name: 'odp-v5.4',
  description: 'RDMA ODP (Linux 5.4): umem_rwsem read-held across invalidations, per-umem notifiers_seq/notifiers_count under umem_mutex',
  expect: 'sound',
  mmState: { umem_rwsem: 'rwsem' },
  subState: { umem_mutex: 'mutex', notifiers_seq: 'plain', notifiers_count: 'plain', notifier_completion: 'completion' },
  // MRs are destroyed and registered again (intervalRemove, intervalInsert): the writers of umem_rwsem
  events: [...DEFAULT_EVENTS, 'interval'],

  init(ctx) {
    for (const umem of ctx.subs) umem.state.notifier_completion.completeAll();
  },

  invalidateStart,
  invalidateEnd,

  /** pagefault_mr -> ib_umem_odp_map_dma_pages, as mlx5 did it */
  populate(ctx, umem, range) {
    const current_seq = umem.state.notifiers_seq.read();
    ctx.mmapReadLock(); // get_user_pages_remote under mmap_sem
    const ret = ctx.hmmRangeFault(range);
    ctx.mmapReadUnlock();
    if (ret) return ret === ctx.errno.EBUSY ? 'retry' : ret;

    umem.state.umem_mutex.lock();
    if (!ib_umem_mmu_notifier_retry(umem, current_seq)) {
      ctx.programDevice(umem, range); // mlx5_ib_update_xlt
      umem.state.umem_mutex.unlock();
      return 'ok';
    }
    umem.state.umem_mutex.unlock();
    // an invalidation raced us: wait for it to finish, then fault again
    umem.state.notifier_completion.wait(TIMEOUT_MS);
    return 'retry';
  },

  /**
   * ib_umem_odp_release (the 'interval' event: the MR is destroyed and its umem freed when this
   * returns): unmap its pages from the device under umem_mutex, then take it out of the umem tree
   * under umem_rwsem for write, which waits for every invalidation that found it (they read-hold
   * umem_rwsem from start to end) to end.
   */
  intervalRemove(ctx, umem) {
    umem.state.umem_mutex.lock();
    ctx.zapDevice(umem, umem.start, umem.end); // ib_umem_odp_unmap_dma_pages
    ctx.deviceFence(umem.device);
    umem.state.umem_mutex.unlock();
    ctx.mm.umem_rwsem.downWrite();
    ctx.intervalUnlink(umem); // interval_tree_remove
    ctx.mm.umem_rwsem.upWrite();
  },
  /** ib_umem_odp_get -> ib_init_umem_odp: a new umem (zeroed), put in the umem tree under umem_rwsem for write. */
  intervalInsert(ctx, umem) {
    if (!ctx.mmgetNotZero()) return false; // the process holds its mm while it registers an MR
    umem.state.notifier_completion.completeAll(); // no invalidation counted on it yet
    ctx.mm.umem_rwsem.downWrite();
    ctx.intervalLink(umem); // interval_tree_insert
    ctx.mm.umem_rwsem.upWrite();
    ctx.mmput();
    return true;
  },
};

export default protocol;
