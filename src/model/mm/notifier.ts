/**
 * notifier.ts — the mmu notifier chain: invalidate_range_start / invalidate_range_end.
 *
 * The protocol's callbacks run here, and the oracle brackets them: when start's callbacks are
 * done, no device may map a page of the range, and until end no device entry may become valid
 * again (the per-page `inval` counts let programDevice and DMA check that).
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
  if (ctx.opts.oracle) {
    const devs = new Set(inv.subs.map((s) => s.device));
    for (const d of devs) if (ctx.wasm.check_zapped(d, start, end, ctx.tid) >= 0) ctx.opts.onViolation(-(L.V_DEVICE_PTE_DURING_INVALIDATION + 1));
  }
  ctx.wasm.inval_mark(start, end, 1);
  ctx.trace(EV.INV_CALLBACKS_DONE, start, end);
  ctx.widen();
  return inv;
}

/** mmu_notifier_invalidate_range_end. Frames unmapped by the change are freed after this. */
export function invalidateRangeEnd(ctx: Ctx, inv: Invalidation): void {
  ctx.wasm.inval_mark(inv.start, inv.end, -1);
  callProto(ctx, 'invalidateEnd', () => ctx.proto.invalidateEnd(ctx, inv));
  ctx.trace(EV.INV_END, inv.start, inv.end);
}
