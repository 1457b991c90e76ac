/**
 * nouveau-exclusive-folio-leak-fix — b3fefbb30a16 "nouveau/svm: fix missing folio unlock + put
 * after make_device_exclusive_range()" (Linux 6.14). When mmu_interval_read_retry() sends the
 * atomic fault round again, it now unlocks and puts the folio first (folio_unlock(folio);
 * folio_put(folio)), so the next make_device_exclusive_range() can lock it and no migration
 * waits on a lock nobody will release. Otherwise as nouveau-exclusive-folio-leak.
 */
import type { MirrorProtocol } from '../api.js';
import bug, { atomicFaultTry, atomicFaultMap } from './nouveau-exclusive-folio-leak.js';

const protocol: MirrorProtocol = {
  ...bug,
  name: 'nouveau-exclusive-folio-leak-fix',
  description: 'FIX (b3fefbb30a16): the retry path unlocks and puts the folio before going round again',
  expect: 'sound',
  populate(ctx, svmm, range) {
    return atomicFaultTry(ctx, svmm, range, true) ?? atomicFaultMap(ctx, svmm, range);
  },
  history: { ...bug.history!, side: 'fix', twin: 'nouveau-exclusive-folio-leak' },
};
export default protocol;
