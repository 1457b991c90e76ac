/**
 * exit.ts — the process exits (the 'exit' event, played by the CPU role): mmput drops the
 * process's reference, exit_mmap runs once no other reference is left, and a new mm takes its
 * place so the run goes on.
 *
 *   exit_mmap
 *     mmu_notifier_release     no mmap_lock (reclaim and migration may still unmap pages)
 *       srcu read section: each linked subscription's ->release (the protocol's `release`; without
 *       one, mn_itree_release: one blockable invalidation of the whole mm, event 'release'), and
 *       each is unhashed, in the order mmOptions.notifierRelease names:
 *         'release-then-unhash'   3ad3d901bbcf, and again d34883d4e35c (the default)
 *         'unhash-then-release'   before 3ad3d901bbcf, and after 751efd8610d3 broke it: in between,
 *                                 an invalidation finds no notifier and frees pages the device maps
 *       synchronize_srcu
 *     unmap_vmas + free_pgtables   mmap_lock and anon_vma for write: every PTE zapped and every
 *                                  frame freed (the oracle checks, as at every free, that no device
 *                                  entry still maps it); the released subscriptions are freed
 *   a new mm: the VMAs mapped again, mm_users 1; drivers insert their subscriptions again on fault
 *
 * After exit_mmap no device may touch the old mm's pages: every frame was freed under the oracle's
 * check, and a DMA through a stale entry is a use-after-free like any other.
 */
import { L } from '../../memory/layout.js';
import { EV } from '../../oracle/events.js';
import { callProto } from '../../protocols/call.js';
import type { Ctx } from '../ctx.js';
import type { Sub } from '../range.js';
import { freeFrame } from './fault.js';
import { LIFE, SUB_LIFE, freeSub, intervalUnlink, subLife, subLinked, touchSub, traceLife, waitMmUsers } from './lifetime.js';
import { invalidateRangeEnd, invalidateRangeStart } from './notifier.js';
import { VMA_RW, zapPtes } from './ops.js';
import { srcuReadLock, srcuReadUnlock, srcuSynchronize } from './srcu.js';

/** mmput of the process's reference and exit_mmap. False if another exit is under way. */
export function exitMmap(ctx: Ctx): boolean {
  const i32 = ctx.env.i32;
  const pages = ctx.pages;
  if (Atomics.compareExchange(i32, (L.BASE + L.H_MM_DEAD) >> 2, 0, 1) !== 0) return false;
  try {
    ctx.trace(EV.MM_EXIT, 0, pages);
    waitMmUsers(ctx);
    const released = mmuNotifierRelease(ctx);
    ctx.trace(EV.MM_EXIT, 1, pages);
    ctx.spin(1, 100); // exit_mmap takes a while: a fault path racing with it has time to act
    teardown(ctx, released);
    ctx.trace(EV.MM_EXIT, 2, pages);
  } finally {
    Atomics.store(i32, (L.BASE + L.H_MM_DEAD) >> 2, 0); // the next mm
    Atomics.notify(i32, (L.BASE + L.H_MM_DEAD) >> 2);
  }
  return true;
}

/** __mmu_notifier_release. Returns the subscriptions it unhashed (their owners are gone: exit_mmap frees them). */
function mmuNotifierRelease(ctx: Ctx): Sub[] {
  const proto = ctx.proto;
  const order = proto.mmOptions?.notifierRelease ?? 'release-then-unhash';
  const subs = ctx.subs.filter((sub) => subLinked(ctx, sub));
  const ownerless = subs.filter((sub) => subLife(ctx, sub) === LIFE.LIVE);
  const release = (sub: Sub) => {
    touchSub(ctx, sub.id);
    traceLife(ctx, sub, SUB_LIFE.RELEASE);
    callProto(ctx, 'release', () => proto.release!(ctx, sub));
  };
  srcuReadLock(ctx);
  try {
    if (!proto.release) {
      // mn_itree_release: the intervals are invalidated, then unhashed
      const inv = invalidateRangeStart(ctx, 0, ctx.pages, 'release');
      if (inv) invalidateRangeEnd(ctx, inv);
      for (const sub of subs) if (subLife(ctx, sub) === LIFE.LIVE) intervalUnlink(ctx, sub);
    } else if (order === 'release-then-unhash') {
      for (const sub of subs) release(sub);
      widenForUnmap(ctx);
      for (const sub of subs) intervalUnlink(ctx, sub);
    } else {
      for (const sub of subs) intervalUnlink(ctx, sub);
      widenForUnmap(ctx); // the same point of both orderings: here the notifiers are gone and ->release has not run
      for (const sub of subs) release(sub);
    }
  } finally {
    srcuReadUnlock(ctx);
  }
  srcuSynchronize(ctx);
  return ownerless;
}

/**
 * Directed widening between the two loops of the release: let two invalidations that begin from
 * now on end (reclaim and migration take no mmap_lock: try_to_unmap runs here), at most 2 ms.
 */
function widenForUnmap(ctx: Ctx): void {
  const i32 = ctx.env.i32;
  const since = Atomics.load(i32, (L.BASE + L.H_INV_BEGUN) >> 2);
  ctx.widenUntil(() => Atomics.load(i32, (L.BASE + L.H_INV_ENDED) >> 2) >= since + 2, 2);
}

/** unmap_vmas + free_pgtables under mmap_lock and anon_vma for write, then a fresh mm. */
function teardown(ctx: Ctx, released: Sub[]): void {
  ctx.mmapWriteLock();
  ctx.anonVmaLock.downWrite();
  try {
    const chunk = Math.max(1, ctx.layout.config.rangeMax);
    for (let start = 0; start < ctx.pages; start += chunk) {
      const unmapped = zapPtes(ctx, start, Math.min(ctx.pages, start + chunk));
      for (let i = 0; i < unmapped.length; i += 2) freeFrame(ctx, unmapped[i], unmapped[i + 1]);
    }
    const tables = ctx.wasm.free_tables(0, ctx.pages);
    if (tables) ctx.trace(EV.FREE_TABLES, 0, ctx.pages, tables);
    for (const sub of released) if (subLife(ctx, sub) === LIFE.REMOVED) freeSub(ctx, sub);
    ctx.wasm.vma_set(0, ctx.pages, 0);
    ctx.wasm.vma_set(0, ctx.pages, VMA_RW);
  } finally {
    ctx.anonVmaLock.upWrite();
    ctx.mmapWriteUnlock();
  }
}
