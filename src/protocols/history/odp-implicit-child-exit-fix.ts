/**
 * odp-implicit-child-exit-fix — a4e63bce1414 "RDMA/odp: Ensure the mm is still alive before
 * creating an implicit child" (Linux 5.6). ib_umem_odp_alloc_child takes mmget_not_zero() on the
 * owning mm around the registration and fails with -EFAULT when the mm has gone to exit_mmap.
 */
import type { MirrorProtocol } from '../api.js';
import bug from './odp-implicit-child-exit.js';
import { insertLocked } from './interval-remove-race.js';

const protocol: MirrorProtocol = {
  ...bug,
  name: 'odp-implicit-child-exit-fix',
  description: 'FIX (a4e63bce1414): the implicit child is registered under mmget_not_zero, or not at all (-EFAULT)',
  expect: 'sound',
  intervalInsert(ctx, umem) {
    if (!ctx.mmgetNotZero()) return false; // -EFAULT: the mm is exiting
    insertLocked(ctx, umem);
    ctx.mmput();
    return true;
  },
  history: { ...bug.history!, side: 'fix', twin: 'odp-implicit-child-exit' },
};
export default protocol;
