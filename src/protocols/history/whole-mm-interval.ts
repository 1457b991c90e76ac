/**
 * whole-mm-interval.ts — one mmu_interval_notifier spanning the whole address space (a userptr
 * object over all of the model's pages), for history scenarios where every invalidation must hit
 * the same object: two validations of one buffer object, or a device whose pinned pages an
 * invalidation is waiting for. The mm core is kernel/interval-v5.5.ts's; the object's interval
 * is obj_seq (its invalidate_seq) and obj_lock (the driver's lock, held by its invalidate and
 * around read_retry + programming). Device entries are zapped in every subscription the range
 * overlaps.
 *
 * mm state: lock, invalidate_seq, active_invalidate_ranges, wq   (interval-v5.5's core)
 *           obj_seq, obj_lock                                    (the object's interval)
 */
import type { StateSchema } from '../api.js';
import type { Ctx } from '../../model/ctx.js';
import type { Invalidation } from '../../model/range.js';
import interval, { invalidateEnd } from '../kernel/interval-v5.5.js';

export const WHOLE_MM_STATE: StateSchema = { ...interval.mmState, obj_seq: 'word', obj_lock: 'mutex' };

/** mmu_interval_notifier_insert: the mm's seq starts even, the object's odd and different. */
export function wholeMmInit(ctx: Ctx): void {
  ctx.mm.invalidate_seq.set(2);
  ctx.mm.obj_seq.set(1);
}

/** The object's ops->invalidate: under obj_lock, set its seq, zap, fence. */
function objInvalidate(ctx: Ctx, inv: Invalidation, cur: number): boolean {
  const mm = ctx.mm;
  if (inv.blockable) mm.obj_lock.lock();
  else if (!mm.obj_lock.tryLock()) return false;
  mm.obj_seq.set(cur); // mmu_interval_set_seq
  for (const sub of inv.subs) ctx.zapDevice(sub, inv.start, inv.end);
  for (const d of new Set(inv.subs.map((s) => s.device))) ctx.deviceFence(d);
  mm.obj_lock.unlock();
  return true;
}

/** mn_itree_inv_start_range, the object's invalidate, then `other` (another interval over the range), if any. */
export function wholeMmStart(ctx: Ctx, inv: Invalidation, other?: (ctx: Ctx, inv: Invalidation) => boolean): boolean {
  const mm = ctx.mm;
  mm.lock.lock();
  mm.active_invalidate_ranges.inc();
  mm.invalidate_seq.or(1);
  const cur = mm.invalidate_seq.read();
  mm.lock.unlock();
  if (!objInvalidate(ctx, inv, cur) || (other && !other(ctx, inv))) {
    invalidateEnd(ctx, inv); // -EAGAIN: the core undoes its part
    return false;
  }
  return true;
}

/** mmu_interval_read_begin on the object: waits while an invalidation of it runs. */
export function objReadBegin(ctx: Ctx): number {
  const mm = ctx.mm;
  mm.lock.lock();
  const seq = mm.obj_seq.read();
  const is_invalidating = seq === mm.invalidate_seq.read();
  mm.lock.unlock();
  if (is_invalidating) mm.wq.waitEvent(() => mm.invalidate_seq.peek() !== seq);
  return seq;
}

/** mmu_interval_read_retry on the object: caller holds obj_lock. */
export const objReadRetry = (ctx: Ctx, seq: number): boolean => ctx.mm.obj_seq.read() !== seq;
