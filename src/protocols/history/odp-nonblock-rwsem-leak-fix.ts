/**
 * odp-nonblock-rwsem-leak-fix — 7608bf40cf24 "RDMA/odp: Fix missed unlock in non-blocking
 * invalidate_start" (merged for Linux 5.3, also taken into 5.2.y). When the start returns -EAGAIN
 * on a non-blockable range, ib_umem_notifier_invalidate_range_start now drops umem_rwsem first,
 * since no invalidate_range_end will follow. That is kernel/odp-v5.4.ts's start (which also undoes
 * the umems it already accounted); the rest is the zoo's odp-nonblock-rwsem-leak.
 */
import type { MirrorProtocol } from '../api.js';
import { invalidateStart } from '../kernel/odp-v5.4.js';
import bug from '../zoo/odp-nonblock-rwsem-leak.js';

const protocol: MirrorProtocol = {
  ...bug,
  name: 'odp-nonblock-rwsem-leak-fix',
  description: 'FIX (7608bf40cf24): a non-blockable start that returns -EAGAIN drops umem_rwsem first',
  expect: 'sound',
  invalidateStart,
  history: { ...bug.history!, side: 'fix', twin: 'odp-nonblock-rwsem-leak' },
};
export default protocol;
