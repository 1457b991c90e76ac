/**
 * interval-remove-race — the bug fixed by 319561669a59 "mm/mmu_notifier.c: fix race in
 * mmu_interval_notifier_remove()" (Linux 5.18; it names 99cb252f5e68 "mm/mmu_notifier: add an
 * interval tree notifier" as the commit it fixes).
 *
 * An interval removed while an invalidation is active cannot leave the interval tree at once: it
 * goes on the mm's deferred list, and mn_itree_inv_end removes it from the tree, under
 * subscriptions->lock, after making invalidate_seq even again. mmu_interval_notifier_remove then
 * waits for that seq to move. It read the seq WITHOUT the lock:
 *
 *   CPU0 mn_itree_inv_end()              CPU1 mmu_interval_notifier_remove()
 *                                        spin_lock(lock); seq = invalidate_seq; spin_unlock(lock)
 *   spin_lock(lock)
 *   invalidate_seq++
 *                                        wait_event(READ_ONCE(invalidate_seq) != seq): true at once
 *                                        return; the caller kfree()s the interval
 *   interval_tree_remove(interval_sub)   <- use after free
 *   spin_unlock(lock); wake_up_all()
 *
 * Here the driver removes one of its intervals now and then (the 'interval' event, model/mm/
 * lifetime.ts), the model frees it when intervalRemove returns, and the deferred removal in
 * invalidateEnd touches it: a notifier-use-after-free. The rest is interval-v5.5.
 *
 * mm state:   lock, invalidate_seq, active_invalidate_ranges, wq   (as interval-v5.5)
 *             deferred_list   bit i: interval i is waiting for mn_itree_inv_end to leave the tree
 * per interval: invalidate_seq, user_lock                          (as interval-v5.5)
 */
import type { MirrorProtocol } from '../api.js';
import type { Ctx } from '../../model/ctx.js';
import type { Sub, Invalidation } from '../../model/range.js';
import interval, { invalidate } from '../kernel/interval-v5.5.js';

/**
 * Bounds of the directed widenings in this pair and hmm-notifier-free (ms). Both twins run them;
 * the fix is only delayed, and less: each wait ends as soon as its remover is seen waiting for the
 * waiter. Bounds of 2 ms let about one 2 s run in 20 miss the race on a loaded machine, where the
 * thread to wait for may not get a CPU for milliseconds (docs/history.md).
 */
export const REMOVAL_WIDEN_MS = 50;
export const SEQ_WIDEN_MS = 50;

/**
 * A widening bound: `ms` free-running; controlled mode, which counts widening in scheduling steps
 * (docs/cli.md, "Controlled mode") and has no loaded machine to make up for, keeps the 2 ms its
 * schedules (and the corpus) were recorded with.
 */
export const widenMs = (ctx: Ctx, ms: number): number => (ctx.sched ? 2 : ms);

/** mn_itree_inv_end, with the deferred list. */
export function invalidateEnd(ctx: Ctx, _inv: Invalidation): void {
  const subscriptions = ctx.mm;
  subscriptions.lock.lock();
  const active = subscriptions.active_invalidate_ranges.dec();
  if (active !== 0 || !(subscriptions.invalidate_seq.read() & 1)) {
    subscriptions.lock.unlock();
    return;
  }
  subscriptions.invalidate_seq.inc(); // make invalidate_seq even
  const deferred = subscriptions.deferred_list.read();
  if (deferred) {
    for (const sub of ctx.subs) {
      if (!(deferred & (1 << sub.id))) continue;
      // the window of the commit's diagram (seq moved, the interval still in the tree), widened
      // here, in the code both twins share: up to REMOVAL_WIDEN_MS for the remover, woken by the
      // seq, to be scheduled and return; it ends at once when the remover waits for this lock (the fix)
      ctx.widenRemoval(sub, widenMs(ctx, REMOVAL_WIDEN_MS), () => subscriptions.lock.contended());
      ctx.intervalUnlink(sub); // interval_tree_remove
    }
    subscriptions.deferred_list.set(0);
  }
  subscriptions.lock.unlock();
  subscriptions.wq.wakeUpAll();
}

/** mn_itree_inv_start_range + each overlapping interval's ops->invalidate (interval-v5.5), undone by this end on -EAGAIN. */
export function invalidateStart(ctx: Ctx, inv: Invalidation): boolean {
  const subscriptions = ctx.mm;
  subscriptions.lock.lock();
  subscriptions.active_invalidate_ranges.inc();
  // the tree lookup is under the lock, as an insert's link is (interval_tree_iter_first)
  const subs = ctx.subsIn(inv.start, inv.end);
  if (subs.length) subscriptions.invalidate_seq.or(1);
  const cur = subscriptions.invalidate_seq.read();
  subscriptions.lock.unlock();
  for (const sub of subs)
    if (!invalidate(ctx, sub, inv, cur)) {
      invalidateEnd(ctx, inv);
      return false;
    }
  return true;
}

/**
 * The driver's teardown of an interval and mmu_interval_notifier_remove up to its wait. Returns
 * the seq to wait for (0: the interval left the tree at once).
 */
export function removeBegin(ctx: Ctx, sub: Sub): number {
  // the driver first stops using the interval: its device entries go
  sub.state.user_lock.lock();
  ctx.zapDevice(sub, sub.start, sub.end);
  ctx.deviceFence(sub.device);
  sub.state.user_lock.unlock();
  const subscriptions = ctx.mm;
  let seq = 0;
  // widening (both twins): the removal meets an active invalidation, the case with a deferred list
  ctx.widenUntil(() => (subscriptions.invalidate_seq.peek() & 1) === 1, 2);
  subscriptions.lock.lock();
  if (subscriptions.invalidate_seq.read() & 1) {
    subscriptions.deferred_list.or(1 << sub.id); // hlist_add_head(&interval_sub->deferred_item, ...)
    seq = subscriptions.invalidate_seq.read();
  } else ctx.intervalUnlink(sub); // interval_tree_remove
  subscriptions.lock.unlock();
  // widening: the wait's first check comes right after mn_itree_inv_end moves the seq (both twins).
  // The invalidation that made the seq odd may take milliseconds (a DMA fence, frees) on a loaded
  // machine; a wait that gave up earlier would sleep on the wq, which the end wakes only after it
  // has unlocked, and the window would be missed.
  if (seq) ctx.widenUntilChanged(subscriptions.invalidate_seq, seq, widenMs(ctx, SEQ_WIDEN_MS));
  return seq;
}

/** mmu_interval_notifier_insert (from the fault path: takes the mm reference itself). */
export function intervalInsert(ctx: Ctx, sub: Sub): boolean {
  if (!ctx.mmgetNotZero()) return false;
  insertLocked(ctx, sub);
  ctx.mmput();
  return true;
}

/**
 * The locked part of __mmu_interval_notifier_insert. While any invalidation is active the new
 * interval may be in its range: the mm's seq is made odd and the interval takes it, so
 * read_begin waits for every active invalidation to end; otherwise it takes seq - 1. (The kernel
 * defers the tree insert to mn_itree_inv_end when the seq was already odd; here it is linked at
 * once, which invalidations that began earlier do not see either.)
 */
export function insertLocked(ctx: Ctx, sub: Sub): void {
  const subscriptions = ctx.mm;
  subscriptions.lock.lock();
  if (subscriptions.active_invalidate_ranges.read()) {
    subscriptions.invalidate_seq.or(1);
    sub.state.invalidate_seq.set(subscriptions.invalidate_seq.read());
  } else sub.state.invalidate_seq.set(subscriptions.invalidate_seq.read() - 1);
  ctx.intervalLink(sub);
  subscriptions.lock.unlock();
}

const protocol: MirrorProtocol = {
  ...interval,
  name: 'interval-remove-race',
  description:
    'BUG (319561669a59): mmu_interval_notifier_remove reads invalidate_seq without the lock and returns before inv_end is done with it',
  expect: { violates: ['notifier-use-after-free'] },
  mmState: { ...interval.mmState, deferred_list: 'word' },
  events: ['interval', 'munmap', 'dontneed', 'migrate', 'reclaim'],
  init(ctx) {
    if (ctx.subs.length > 31) throw new Error('interval-remove-race: at most 31 subscriptions (deferred_list is one word)');
    interval.init!(ctx);
  },
  invalidateStart,
  invalidateEnd,
  /** mmu_interval_notifier_remove before the fix. */
  intervalRemove(ctx, sub) {
    const seq = removeBegin(ctx, sub);
    if (seq) ctx.mm.wq.waitEvent(() => ctx.mm.invalidate_seq.peek() !== seq); // READ_ONCE, no lock
  },
  intervalInsert,
  history: {
    commit: '319561669a59',
    subject: 'mm/mmu_notifier.c: fix race in mmu_interval_notifier_remove()',
    kernel: '5.18',
    side: 'bug',
    twin: 'interval-remove-race-fix',
  },
};
export default protocol;
