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
import { BREACH, breachDetails, heldLocks, reportBreach, reportLeak } from '../../oracle/contract.js';
import { WINDOW, countWindow, windowsAtCallbacksDone } from '../../oracle/coverage.js';
import { srcuReadLock, srcuReadUnlock } from './srcu.js';
import { foundSubs, subLinked } from './lifetime.js';

/** Invalidations whose start has run (and, for each, the locks its thread held before it). */
const begun = new WeakMap<Invalidation, number>();

/**
 * mmu_notifier_invalidate_range_start. Returns the Invalidation to pass to end, or null when a
 * non-blockable start failed (-EAGAIN): then the caller must not change the page table and
 * must not call end. A blockable start that fails is a contract breach: reported, then ignored
 * as the kernel does (the CPU side proceeds). Caller holds whatever the CPU-side operation holds
 * (mmap_lock, anon_vma).
 */
export function invalidateRangeStart(ctx: Ctx, start: number, end: number, event: InvEvent, blockable = true): Invalidation | null {
  // the subscriptions are found, and their callbacks run, inside an SRCU read section (srcu.ts)
  srcuReadLock(ctx);
  let ok: boolean;
  let inv: Invalidation;
  let held: number;
  try {
    inv = { start, end, event, blockable, subs: ctx.subsIn(start, end) };
    ctx.trace(EV.INV_START, start, end, INV_EVENTS.indexOf(event), blockable ? 1 : 0, 1);
    held = heldLocks(ctx);
    Atomics.add(ctx.env.i32, (L.BASE + L.H_INV_BEGUN) >> 2, 1);
    foundSubs(ctx, inv.subs, 1);
    try {
      ok = callProto(ctx, 'invalidateStart', () => ctx.proto.invalidateStart(ctx, inv));
    } finally {
      foundSubs(ctx, inv.subs, -1);
    }
  } finally {
    srcuReadUnlock(ctx);
  }
  if (!ok) {
    ctx.trace(EV.INV_START, start, end, INV_EVENTS.indexOf(event), blockable ? 1 : 0, 0);
    if (heldLocks(ctx) > held) reportLeak(ctx, held, start, end); // no end will release it
    if (!blockable) {
      Atomics.add(ctx.env.i32, (L.BASE + L.H_INV_ENDED) >> 2, 1);
      countWindow(ctx, WINDOW.NONBLOCK_FAILED);
      ctx.hook?.startFailed?.();
      return null;
    }
    reportBreach(ctx, BREACH.BLOCKABLE_FALSE, start, end);
  }
  begun.set(inv, held);
  // the mark first, then the scan: a program racing with them stores before it checks the mark,
  // so either it sees the mark or the scan sees its entry. Entries left by a start that claimed
  // success are its contract breach; after a failed start they are the consequence.
  ctx.wasm.inval_mark(start, end, 1);
  if (ctx.opts.oracle) {
    const kind = ok ? L.V_CONTRACT : L.V_DEVICE_PTE_DURING_INVALIDATION;
    for (const d of devicesOf(inv)) {
      const page = ctx.wasm.check_zapped(d, start, end, ctx.tid, kind);
      if (page < 0) continue;
      if (ok) breachDetails(ctx, BREACH.NOT_ZAPPED, page, end);
      ctx.opts.onViolation(-(kind + 1));
    }
  }
  ctx.trace(EV.INV_CALLBACKS_DONE, start, end);
  windowsAtCallbacksDone(ctx, start, end);
  ctx.spin();
  return inv;
}

/**
 * mmu_notifier_invalidate_range: the CPU page table change is done (the kernel calls it from the
 * TLB flush), invalidate_range_end has not run yet. Only a protocol with the optional
 * `invalidateRange` callback is called: a user that may take new references after its start
 * (a TLB-like cache) drops them here (protocols/callbacks.ts).
 */
export function invalidateRange(ctx: Ctx, inv: Invalidation): void {
  const cb = ctx.proto.invalidateRange;
  if (cb === undefined) return;
  ctx.trace(EV.INV_RANGE, inv.start, inv.end);
  callProto(ctx, 'invalidateRange', () => cb.call(ctx.proto, ctx, inv));
}

/** mmu_notifier_invalidate_range_end. Frames unmapped by the change are freed after this. */
export function invalidateRangeEnd(ctx: Ctx, inv: Invalidation): void {
  const held = begun.get(inv);
  if (held === undefined) reportBreach(ctx, BREACH.END_WITHOUT_START, inv.start, inv.end);
  else ctx.wasm.inval_mark(inv.start, inv.end, -1);
  begun.delete(inv);
  srcuReadLock(ctx);
  try {
    // like the kernel's walk of the subscription list at end: a subscription unlinked since start is not passed again
    const now = inv.subs.every((sub) => subLinked(ctx, sub)) ? inv : { ...inv, subs: inv.subs.filter((sub) => subLinked(ctx, sub)) };
    callProto(ctx, 'invalidateEnd', () => ctx.proto.invalidateEnd(ctx, now));
  } finally {
    srcuReadUnlock(ctx);
  }
  Atomics.add(ctx.env.i32, (L.BASE + L.H_INV_ENDED) >> 2, 1);
  ctx.trace(EV.INV_END, inv.start, inv.end);
  if (held !== undefined && heldLocks(ctx) > held) reportLeak(ctx, held, inv.start, inv.end);
  // a protection change is done: no device entry may allow more than the new PTE
  if (ctx.opts.oracle && inv.event === 'protection')
    for (const d of devicesOf(inv)) {
      const ret = ctx.wasm.check_prot(d, inv.start, inv.end, ctx.tid);
      if (ret < 0) ctx.opts.onViolation(ret);
    }
}

const devicesOf = (inv: Invalidation): Set<number> => new Set(inv.subs.map((s) => s.device));
