/**
 * odp-implicit-child-exit — the bug fixed by a4e63bce1414 "RDMA/odp: Ensure the mm is still alive
 * before creating an implicit child" (Linux 5.6; it names c571feca2dc9 "RDMA/odp: use
 * mmu_notifier_get/put for 'struct ib_ucontext_per_mm'" as the commit it fixes).
 *
 * Registering an mmu notifier requires a reference on the mm (mmget): registration may not race
 * with exit_mmap, and a BUG_ON inside the mmu_notifier code guards that. A umem is normally created
 * by the process itself, which holds the mm; but an implicit ODP MR's child umem is created from
 * the page-fault work queue (ib_umem_odp_alloc_child), which held only an mmgrab, so it could
 * register its interval notifier after the mm had begun to exit.
 *
 * Here the umems are interval notifiers (ODP since 5.5), removed with the fixed remove and the
 * deferred list of interval-remove-race-fix, and re-created on a device fault (intervalInsert,
 * from the fault path's work queue: model/mm/lifetime.ts); the CPU role exits now and then (the
 * 'exit' event). Linking while the mm is exiting is reported as a contract breach: the BUG_ON.
 */
import type { MirrorProtocol } from '../api.js';
import { insertLocked } from './interval-remove-race.js';
import fixedRemove from './interval-remove-race-fix.js';

const protocol: MirrorProtocol = {
  ...fixedRemove,
  name: 'odp-implicit-child-exit',
  description: 'BUG (a4e63bce1414): an implicit ODP child registers its notifier from a work queue without mmget, racing with exit_mmap',
  expect: { violates: ['contract'] },
  events: ['interval', 'exit', 'munmap', 'migrate', 'reclaim'],
  /** ib_umem_odp_alloc_child -> ib_init_umem_odp -> mmu_interval_notifier_insert, before the fix: no mmget. */
  intervalInsert(ctx, umem) {
    insertLocked(ctx, umem);
    return true;
  },
  history: {
    commit: 'a4e63bce1414',
    subject: 'RDMA/odp: Ensure the mm is still alive before creating an implicit child',
    kernel: '5.6',
    side: 'bug',
    twin: 'odp-implicit-child-exit-fix',
  },
};
export default protocol;
