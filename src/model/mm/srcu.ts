/**
 * srcu.ts — an SRCU-like grace period for the notifier core (the kernel's `srcu` in
 * mm/mmu_notifier.c). The core brackets every notifier callback with a read section
 * (model/mm/notifier.ts, exit.ts); `srcuSynchronize` waits until every read section that had
 * begun when it was called has ended: after it, no callback that could have found a subscription
 * before it was unlinked is still running. A protocol may use it (or forget to: that is
 * 6d7c3cde93c1's bug) before its removed subscription is freed.
 *
 * Per thread, T_SRCU is odd while the thread is inside a read section (nested sections count
 * once), and T_SRCU_WAITERS counts synchronizers asleep on it: the reader wakes them when it leaves.
 * Neither is a witness event (they are the model's, like a lock's fast path), except the
 * synchronize itself.
 */
import { L } from '../../memory/layout.js';
import { EV } from '../../oracle/events.js';
import { WAIT, block, now } from '../../sync/env.js';
import type { Ctx } from '../ctx.js';

const srcuWord = (ctx: Ctx, tid: number): number => ctx.layout.threadsBase + tid * L.THREAD_SIZE + L.T_SRCU;

/** srcu_read_lock: enter a read section. */
export function srcuReadLock(ctx: Ctx): void {
  if (ctx.srcuDepth++ === 0) Atomics.add(ctx.env.i32, srcuWord(ctx, ctx.tid) >> 2, 1);
}

/** srcu_read_unlock: leave it; wake a synchronizer waiting for this section. */
export function srcuReadUnlock(ctx: Ctx): void {
  if (--ctx.srcuDepth !== 0) return;
  const word = srcuWord(ctx, ctx.tid);
  Atomics.add(ctx.env.i32, word >> 2, 1);
  if (Atomics.load(ctx.env.i32, (word - L.T_SRCU + L.T_SRCU_WAITERS) >> 2) !== 0) Atomics.notify(ctx.env.i32, word >> 2);
}

/** A synchronizer is asleep on this thread's read section (untraced: for directed widening). */
export function srcuWaitedOn(ctx: Ctx): boolean {
  const word = srcuWord(ctx, ctx.tid);
  return Atomics.load(ctx.env.i32, (word - L.T_SRCU + L.T_SRCU_WAITERS) >> 2) !== 0;
}

/**
 * synchronize_srcu: wait until every read section that other threads were inside when it was
 * called has ended (bounded by the lock timeout, like every wait). Must not be called inside a
 * read section of its own thread (the kernel would deadlock; here that section is skipped).
 */
export function srcuSynchronize(ctx: Ctx): void {
  const i32 = ctx.env.i32;
  let waited = 0;
  const deadline = now() + ctx.env.lockTimeoutMs;
  for (let t = 0; t < ctx.layout.config.threads; t++) {
    if (t === ctx.tid) continue;
    const word = srcuWord(ctx, t);
    const seq = Atomics.load(i32, word >> 2);
    if ((seq & 1) === 0) continue;
    waited++;
    const waiters = (word - L.T_SRCU + L.T_SRCU_WAITERS) >> 2;
    Atomics.add(i32, waiters, 1);
    try {
      while (Atomics.load(i32, word >> 2) === seq) if (block(ctx.env, word, seq, WAIT.srcu, deadline) === 'timeout') break;
    } finally {
      Atomics.sub(i32, waiters, 1);
    }
  }
  ctx.trace(EV.SRCU_SYNC, waited);
}
