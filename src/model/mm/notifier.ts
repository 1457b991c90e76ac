/**
 * notifier.ts — the mmu notifier chain: invalidate_range_start / invalidate_range_end.
 *
 * The protocol's callbacks run here, and the oracle brackets them: when start's callbacks are
 * done, no device may map a page of the range, and until end no device entry may become valid
 * again (the per-page `inval` counts let programDevice and DMA check that); after the end of a
 * protection change no entry may allow more than the new PTE. The mark is dropped before the
 * protocol's end callback (a sound protocol may program again once its end has run), so a stale
 * program after that is caught where it does harm: at the frame's free (fault.ts freeFrame), by
 * the protection check here, or by the program's own check against the PTE.
 */
import { L } from '../../memory/layout.js';
import { EV, INV_EVENTS, type InvEvent } from '../../oracle/events.js';
import type { Ctx } from '../ctx.js';
import type { Invalidation } from '../range.js';
import { callProto } from '../../protocols/call.js';

/**
 * mmu_notifier_invalidate_range_start. Returns the Invalidation to pass to end, or null when a
 * non-blockable start failed (-EAGAIN): then the caller must not change the page table and
 * must not call end. Caller holds whatever the CPU-side operation holds (mmap_lock, anon_vma).
 */
export function invalidateRangeStart(ctx: Ctx, start: number, end: number, event: InvEvent, blockable = true): Invalidation | null {
  const inv: Invalidation = { start, end, event, blockable, subs: ctx.subsIn(start, end) };
  ctx.trace(EV.INV_START, start, end, INV_EVENTS.indexOf(event), blockable ? 1 : 0, 1);
  const ok = callProto(ctx, 'invalidateStart', () => ctx.proto.invalidateStart(ctx, inv));
  if (!ok) {
    ctx.trace(EV.INV_START, start, end, INV_EVENTS.indexOf(event), blockable ? 1 : 0, 0);
    if (blockable) throw new Error(`protocol ${ctx.proto.name}: invalidateStart returned false for a blockable invalidation`);
    return null;
  }
  // the mark first, then the scan: a program racing with them stores before it checks the mark,
  // so either it sees the mark or the scan sees its entry
  ctx.wasm.inval_mark(start, end, 1);
  if (ctx.opts.oracle) {
    const kind = L.V_DEVICE_PTE_DURING_INVALIDATION;
    for (const d of devicesOf(inv)) if (ctx.wasm.check_zapped(d, start, end, ctx.tid, kind) >= 0) ctx.opts.onViolation(-(kind + 1));
  }
  ctx.trace(EV.INV_CALLBACKS_DONE, start, end);
  ctx.widen();
  return inv;
}

/** mmu_notifier_invalidate_range_end. Frames unmapped by the change are freed after this. */
export function invalidateRangeEnd(ctx: Ctx, inv: Invalidation): void {
  ctx.wasm.inval_mark(inv.start, inv.end, -1);
  callProto(ctx, 'invalidateEnd', () => ctx.proto.invalidateEnd(ctx, inv));
  ctx.trace(EV.INV_END, inv.start, inv.end);
  // a protection change is done: no device entry may allow more than the new PTE
  if (ctx.opts.oracle && inv.event === 'protection')
    for (const d of devicesOf(inv)) {
      const ret = ctx.wasm.check_prot(d, inv.start, inv.end, ctx.tid);
      if (ret < 0) ctx.opts.onViolation(ret);
    }
}

const devicesOf = (inv: Invalidation): Set<number> => new Set(inv.subs.map((s) => s.device));
