/**
 * xen-gntdev-unmap-wait — the bug fixed by dbe97cff7dd9 "xen/gntdev: Avoid blocking in
 * unmap_grant_pages()" (Linux 5.19; it names 745282256c75 "xen/gntdev: safely unmap grants in
 * case they are still in use" as the commit it fixes).
 *
 * gntdev maps another domain's grant pages into a process; its mmu notifier unmaps the grants
 * when the process's range is invalidated. unmap_grant_pages() waited until the pages were no
 * longer used: until every reference beyond the mapping's had been dropped. The commit: "this
 * lead to a deadlock against i915: i915 was waiting for gntdev's MMU notifier to finish, while
 * gntdev was waiting for i915 to free its pages" (Qubes OS issue 7481).
 *
 *   invalidator                                    second device (i915-like userptr)
 *                                                  pins the pages of its object (get_page)
 *   mn_itree_inv_start_range: seq odd
 *   the device's interval: zap, set its seq
 *   gntdev's interval: unmap_grant_pages()
 *     waits for the pins to drop  ........ ->      mmu_interval_read_begin(): waits for the
 *                                 <- ........        invalidation to end, still holding its pins
 *
 * In hmmsim both are interval notifiers spanning the whole address space (whole-mm-interval.ts).
 * The device is the model's driver, one userptr object over the address space: it keeps the pages
 * of its last fault pinned (ctx.hmmRangeFault with grab, model/
 * mm/frame-refs.ts) until its next fault has passed mmu_interval_read_begin. gntdev's notifier
 * covers the whole address space and has no device entries: before the fix it waits for the
 * range's extra references (ctx.waitPageRefs). The i915 code path is the model's stand-in, *not
 * confirmed* against i915's source; the gntdev side is the commit's.
 *
 * mm state: whole-mm-interval.ts's (the mm core, the device object's obj_seq and obj_lock)
 * per range: pinned   pages the driver's last fault still holds pinned
 */
import type { MirrorProtocol } from '../api.js';
import type { Ctx } from '../../model/ctx.js';
import type { Invalidation } from '../../model/range.js';
import interval from '../kernel/interval-v5.5.js';
import { WHOLE_MM_STATE, objReadBegin, objReadRetry, wholeMmInit, wholeMmStart } from './whole-mm-interval.js';

/** gntdev's ops->invalidate (gntdev_invalidate -> unmap_grant_pages) for the part of `inv` it maps. */
export type GntdevInvalidate = (ctx: Ctx, inv: Invalidation) => boolean;

/** Before the fix: unmap_grant_pages() waits for the pages to be unused (bounded here by the lock timeout). */
const unmap_grant_pages_sync: GntdevInvalidate = (ctx, inv) => {
  if (!inv.blockable) return false; // gntdev refuses a non-blockable range
  ctx.waitPageRefs(inv.start, inv.end); // gnttab_unmap_refs_sync: WARN_ON(err) on a timeout, and goes on
  return true;
};

/** The device's interval and gntdev's (both span every range): the device's invalidate, then gntdev's. */
export const itreeStart = (ctx: Ctx, inv: Invalidation, gntdev_invalidate: GntdevInvalidate): boolean =>
  wholeMmStart(ctx, inv, gntdev_invalidate);

const protocol: MirrorProtocol = {
  ...interval,
  name: 'xen-gntdev-unmap-wait',
  description: "BUG (dbe97cff7dd9): gntdev's notifier waits for the pages' references while their holder waits for the notifier: deadlock",
  expect: { violates: ['deadlock', 'stall'] },
  mmState: WHOLE_MM_STATE,
  subState: {},
  rangeState: { pinned: 'word' },
  init: wholeMmInit,
  invalidateStart: (ctx, inv) => itreeStart(ctx, inv, unmap_grant_pages_sync),
  /** The second device's fault: read_begin with its last pages still pinned, then pin the new ones. */
  populate(ctx, sub, range) {
    const obj = ctx.mm;
    ctx.widen(1, 50); // the device's job runs on the pages it pinned (widened in both twins)
    const seq = objReadBegin(ctx); // may wait for an invalidation, pins held
    const pinned = range.state.pinned.read();
    if (pinned) {
      ctx.releasePages(range, { put: true }, pinned); // the object's previous pages
      range.state.pinned.set(0);
    }
    range.notifierSeq = seq;
    ctx.mmapReadLock();
    const ret = ctx.hmmRangeFault(range, { word: obj.obj_seq, expect: seq }, { get: true });
    ctx.mmapReadUnlock();
    if (ret) return ret === ctx.errno.EBUSY ? 'retry' : ret; // a failed walk gave its pins back
    obj.obj_lock.lock();
    if (objReadRetry(ctx, seq)) {
      obj.obj_lock.unlock();
      ctx.releasePages(range, { put: true });
      return 'retry';
    }
    ctx.programDevice(sub, range);
    obj.obj_lock.unlock();
    range.state.pinned.set(range.end - range.start); // kept until the next fault
    return 'ok';
  },
  history: {
    commit: 'dbe97cff7dd9',
    subject: 'xen/gntdev: Avoid blocking in unmap_grant_pages()',
    kernel: '5.19',
    side: 'bug',
    twin: 'xen-gntdev-unmap-wait-fix',
  },
};
export default protocol;
