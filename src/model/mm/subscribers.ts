/**
 * subscribers.ts — several mmu_notifier subscribers on one mm, each with its own callbacks,
 * chained the way mm/mmu_notifier.c walks its subscription list (mn_hlist_invalidate_range_*).
 *
 * A protocol whose mm has, say, a KVM-like subscriber and a device driver's builds its
 * invalidateStart/invalidateEnd with notifierChain(). The pairing rule is the kernel version's:
 *
 *   'none-on-failure'  4.19-5.11 (93065ac753e4): every start is called even after one fails
 *                      (-EAGAIN, non-blockable only), the chain returns -EAGAIN, and the core calls
 *                      no end at all: a subscriber whose start succeeded never gets its end.
 *   'all-on-failure'   5.12+ (c2655835fd8c): the same, but before returning -EAGAIN the chain calls
 *                      the end of every subscriber that has one; a subscriber that can fail its
 *                      start may therefore not have an end (the kernel WARNs; here it is refused).
 */
import type { Ctx } from '../ctx.js';
import type { Invalidation } from '../range.js';

/** One struct mmu_notifier with its ops. Callbacks are optional, as in mmu_notifier_ops. */
export interface NotifierSubscriber {
  readonly name: string;
  /** ops->invalidate_range_start: false = -EAGAIN, allowed only when !inv.blockable. */
  invalidateRangeStart?(ctx: Ctx, inv: Invalidation): boolean;
  /** ops->invalidate_range_end. */
  invalidateRangeEnd?(ctx: Ctx, inv: Invalidation): void;
  /** This subscriber's start may fail (then, under 'all-on-failure', it may have no end). */
  readonly startMayFail?: boolean;
}

export type EndPairing = 'none-on-failure' | 'all-on-failure';

/** invalidateStart / invalidateEnd of a protocol whose mm has `subscribers`, in list order. */
export function notifierChain(
  subscribers: readonly NotifierSubscriber[],
  pairing: EndPairing,
): { invalidateStart(ctx: Ctx, inv: Invalidation): boolean; invalidateEnd(ctx: Ctx, inv: Invalidation): void } {
  if (pairing === 'all-on-failure')
    for (const s of subscribers)
      if (s.startMayFail && s.invalidateRangeEnd) throw new Error(`subscriber ${s.name}: a start that can fail may not have an end`);
  return {
    invalidateStart(ctx, inv) {
      let ok = true;
      for (const s of subscribers) {
        if (!s.invalidateRangeStart || s.invalidateRangeStart(ctx, inv)) continue;
        if (inv.blockable) throw new Error(`subscriber ${s.name}: invalidate_range_start failed on a blockable range`);
        ok = false; // keep calling the others, as the kernel does
      }
      if (!ok && pairing === 'all-on-failure') for (const s of subscribers) s.invalidateRangeEnd?.(ctx, inv);
      return ok;
    },
    invalidateEnd(ctx, inv) {
      for (const s of subscribers) s.invalidateRangeEnd?.(ctx, inv);
    },
  };
}
