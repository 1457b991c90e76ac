/**
 * nouveau-exclusive-folio-leak — the bug fixed by b3fefbb30a16 "nouveau/svm: fix missing folio
 * unlock + put after make_device_exclusive_range()" (Linux 6.14; it names 8f187163eb89
 * "nouveau/svm: implement atomic SVM access" as the commit it fixes).
 *
 * For a GPU atomic access, nouveau_atomic_range_fault makes the page device-exclusive:
 * make_device_exclusive_range() returns it referenced and locked (folio_lock), and the fault path
 * must unlock and put it once the GPU is programmed. When mmu_interval_read_retry() said an
 * invalidation had run meanwhile, the loop went round again without unlocking and putting the
 * folio. The commit: "we will keep failing make_device_exclusive_range() because we cannot grab
 * the folio lock, and even return from the function with the folio locked and referenced,
 * effectively never succeeding the make_device_exclusive_range()". It was found by inspection.
 *
 *   nouveau_atomic_range_fault                          (loop)
 *     notifier_seq = mmu_interval_read_begin()
 *     make_device_exclusive_range(page)                 -> page locked + referenced
 *     mutex_lock(svmm->mutex)
 *     if (!mmu_interval_read_retry(notifier_seq)) break
 *     mutex_unlock(svmm->mutex)
 *     BUG: no folio_unlock(folio); folio_put(folio)
 *
 * In hmmsim the walk takes the reference and the lock (ctx.hmmRangeFault with grab, model/mm/
 * frame-refs.ts); a frame whose lock is taken is left out, and the fault fails (-EINVAL). The
 * leaked lock is never released: the next migration of that page waits for it (folio_lock), and
 * the watchdog reports the invalidator stalled, naming the frame and the driver that holds it.
 *
 * State: interval-v5.5's (kernel/interval-v5.5.ts); the per-interval user_lock is svmm->mutex.
 */
import type { MirrorProtocol } from '../api.js';
import type { Ctx } from '../../model/ctx.js';
import type { HmmRange, PopulateResult, Sub } from '../../model/range.js';
import interval, { mmu_interval_read_begin, mmu_interval_read_retry } from '../kernel/interval-v5.5.js';

const EINVAL = -22;

/**
 * nouveau_atomic_range_fault for one page, up to the retry check. Returns the result to give
 * back, or null when the retry check passed (svmm->mutex held, the page locked and referenced).
 */
export function atomicFaultTry(ctx: Ctx, svmm: Sub, range: HmmRange, releaseOnRetry: boolean): PopulateResult | null {
  range.setup(range.start, range.start + 1, true, true, svmm.id, svmm.device); // one page, for an atomic write
  const notifier_seq = mmu_interval_read_begin(ctx, svmm);
  ctx.mmapReadLock();
  const ret = ctx.hmmRangeFault(range, undefined, { get: true, lock: true }); // make_device_exclusive_range
  ctx.mmapReadUnlock();
  if (ret === ctx.errno.EBUSY) return 'retry';
  if (ret) return ret;
  if (range.pfn(range.start) < 0) return EINVAL; // `!page`: its folio lock was taken
  ctx.widen(1, 50); // before the retry check: an invalidation may slip in (widened in both twins)
  svmm.state.user_lock.lock(); // svmm->mutex
  if (!mmu_interval_read_retry(svmm, notifier_seq)) return null;
  svmm.state.user_lock.unlock();
  if (releaseOnRetry) ctx.releasePages(range); // the fix: folio_unlock(folio); folio_put(folio)
  return 'retry';
}

/** Map the page on the GPU, drop svmm->mutex, then unlock and put the folio. */
export function atomicFaultMap(ctx: Ctx, svmm: Sub, range: HmmRange): PopulateResult {
  ctx.programDevice(svmm, range);
  svmm.state.user_lock.unlock();
  ctx.releasePages(range);
  return 'ok';
}

const protocol: MirrorProtocol = {
  ...interval,
  name: 'nouveau-exclusive-folio-leak',
  description:
    'BUG (b3fefbb30a16): the atomic fault retries without unlocking and putting the device-exclusive folio; migration waits on it forever',
  expect: { violates: ['stall'] },
  populate(ctx, svmm, range) {
    return atomicFaultTry(ctx, svmm, range, false) ?? atomicFaultMap(ctx, svmm, range);
  },
  history: {
    commit: 'b3fefbb30a16',
    subject: 'nouveau/svm: fix missing folio unlock + put after make_device_exclusive_range()',
    kernel: '6.14',
    side: 'bug',
    twin: 'nouveau-exclusive-folio-leak-fix',
  },
};
export default protocol;
