/**
 * fault.ts — the CPU fault path (handle_mm_fault), with the COW break that needs an invalidation.
 */
import { L } from '../../memory/layout.js';
import { EV } from '../../oracle/events.js';
import type { Ctx } from '../ctx.js';
import { invalidateRangeStart, invalidateRange, invalidateRangeEnd } from './notifier.js';

/**
 * Fault `page` in (writable if `write`). Caller holds mmap_lock for read. Returns 0, -EFAULT,
 * -EAGAIN (migration entry or lost race: the caller retries) or -ENOMEM. A write to a COW page
 * is broken here: invalidate [page, page+1) (MMU_NOTIFY_CLEAR), copy, switch the PTE, end, then
 * free the old frame.
 */
export function handleMmFault(ctx: Ctx, page: number, write: boolean): number {
  let r = ctx.wasm.handle_mm_fault(page, write ? 1 : 0);
  if (r === L.NEED_COW) r = cowBreak(ctx, page);
  ctx.trace(EV.FAULT, page, write ? 1 : 0, r);
  return r;
}

function cowBreak(ctx: Ctx, page: number): number {
  ctx.hook?.beforeInvalidation?.(); // a mutant's run may hold invalidations back (model/hooks.ts)
  const inv = invalidateRangeStart(ctx, page, page + 1, 'clear');
  if (!inv) return L.EAGAIN;
  const old = ctx.wasm.cow_break(page);
  invalidateRange(ctx, inv);
  invalidateRangeEnd(ctx, inv);
  if (old < 0) return old;
  const pte = ctx.wasm.pte_get(page);
  ctx.trace(EV.COW, page, old, pte >>> L.PTE_PFN_SHIFT);
  freeFrame(ctx, old, page);
  return 0;
}

/** Free a frame that an invalidation unmapped (after its invalidate_range_end); the oracle checks
 *  that no device entry still maps it. */
export function freeFrame(ctx: Ctx, pfn: number, page: number): void {
  const ret = ctx.wasm.frame_release(pfn, page, ctx.tid, ctx.opts.oracle ? 1 : 0);
  ctx.trace(EV.FREE, pfn, page, ctx.wasm.frame_gen(pfn));
  if (ret < 0) ctx.opts.onViolation(ret);
}
