/**
 * hmm-notifier-free — the bug fixed by 6d7c3cde93c1 "mm/hmm: fix use after free with struct hmm
 * in the mmu notifiers" (Linux 5.3, the HMM rework series).
 *
 * struct hmm embeds the mmu_notifier that HMM registers on an mm. hmm_free() unregistered it with
 * mmu_notifier_unregister_no_release() and then kfree()d the hmm at once. But that unregister only
 * unhashes the notifier (hlist_del_init_rcu): it is no fence, and an invalidation that found the
 * notifier before the unhash may still be about to call into it:
 *
 *   CPU0                                      CPU1
 *                                             __mmu_notifier_invalidate_range_start()
 *                                               srcu_read_lock; hlist_for_each(): mn == hmm->mn
 *   hmm_mirror_unregister() -> hmm_put()
 *     hmm_free()
 *       mmu_notifier_unregister_no_release()
 *         hlist_del_init_rcu(hmm->mn)
 *                                               mn->ops->invalidate_range_start(mn, range)
 *                                                 mm_get_hmm()
 *       mm->hmm = NULL; kfree(hmm)
 *                                                 mutex_lock(&hmm->lock)   <- use after free
 *
 * Here each subscription stands for one struct hmm with its mirror (the model has no separate
 * mirror object), the mirroring itself is interval-v5.5's (sound), and the driver unregisters a
 * mirror now and then (the 'interval' event): the model frees the subscription when intervalRemove
 * returns, and the invalidation's callback then takes its lock: a notifier-use-after-free.
 *
 * mm state:   as interval-v5.5
 * per hmm:    invalidate_seq, user_lock (hmm->lock and the mirror's update lock), kref
 */
import type { MirrorProtocol } from '../api.js';
import type { Ctx } from '../../model/ctx.js';
import type { Sub, Invalidation } from '../../model/range.js';
import interval, { invalidate, invalidateEnd } from '../kernel/interval-v5.5.js';
import { REMOVAL_WIDEN_MS, insertLocked, widenMs } from './interval-remove-race.js';

/**
 * hmm_invalidate_range_start for each hmm found on the list. `get`: the fix's
 * kref_get_unless_zero (null: the bug, which reaches the hmm through mm->hmm and takes its lock).
 */
export function hmmInvalidateStart(ctx: Ctx, inv: Invalidation, get: ((hmm: Sub) => boolean) | null): boolean {
  const subscriptions = ctx.mm;
  subscriptions.lock.lock();
  subscriptions.active_invalidate_ranges.inc();
  const found = ctx.subsIn(inv.start, inv.end); // under the lock, as an insert's link is
  if (found.length) subscriptions.invalidate_seq.or(1);
  const cur = subscriptions.invalidate_seq.read();
  subscriptions.lock.unlock();
  for (const hmm of found) {
    // between finding the notifier and touching the hmm (the commit's window), widened in code
    // both twins share, when its removal is under way: up to REMOVAL_WIDEN_MS, for the remover's
    // zap, DMA fence and unhash (it ends at once when the fix's remover waits for this SRCU read
    // section: ctx.widenRemoval)
    ctx.widenRemoval(hmm, widenMs(ctx, REMOVAL_WIDEN_MS));
    if (get && !get(hmm)) continue; // being freed: its mirror is gone
    const ok = invalidate(ctx, hmm, inv, cur);
    if (get) hmm.state.kref.dec();
    if (!ok) {
      invalidateEnd(ctx, inv);
      return false;
    }
  }
  return true;
}

/** The mirror's teardown and hmm_put -> hmm_free up to the kfree. */
export function hmmMirrorUnregister(ctx: Ctx, hmm: Sub): void {
  hmm.state.user_lock.lock();
  ctx.zapDevice(hmm, hmm.start, hmm.end); // the mirror's device entries go first
  ctx.deviceFence(hmm.device);
  hmm.state.user_lock.unlock();
  hmm.state.kref.dec(); // hmm_put: the last reference
  ctx.intervalUnlink(hmm); // mmu_notifier_unregister_no_release: hlist_del_init_rcu, not a fence
}

const protocol: MirrorProtocol = {
  ...interval,
  name: 'hmm-notifier-free',
  description: 'BUG (6d7c3cde93c1): hmm_free kfree()s struct hmm right after mmu_notifier_unregister_no_release, which is no fence',
  expect: { violates: ['notifier-use-after-free'] },
  subState: { ...interval.subState, kref: 'word' },
  events: ['interval', 'munmap', 'dontneed', 'migrate', 'reclaim'],
  init(ctx) {
    interval.init!(ctx);
    for (const hmm of ctx.subs) hmm.state.kref.set(1);
  },
  invalidateStart: (ctx, inv) => hmmInvalidateStart(ctx, inv, null),
  invalidateEnd,
  intervalRemove(ctx, hmm) {
    hmmMirrorUnregister(ctx, hmm);
    // kfree(hmm): the model frees it when this returns
  },
  intervalInsert(ctx, hmm) {
    if (!ctx.mmgetNotZero()) return false;
    hmm.state.kref.set(1);
    insertLocked(ctx, hmm);
    ctx.mmput();
    return true;
  },
  history: {
    commit: '6d7c3cde93c1',
    subject: 'mm/hmm: fix use after free with struct hmm in the mmu notifiers',
    kernel: '5.3',
    side: 'bug',
    twin: 'hmm-notifier-free-fix',
  },
};
export default protocol;
