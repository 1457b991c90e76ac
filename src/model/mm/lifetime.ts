/**
 * lifetime.ts — subscriptions that come and go while the run goes on, and the mm's users.
 *
 * Each subscription (model/range.ts Sub: an mmu_interval_notifier, an hmm mirror, a umem) has a
 * lifetime word, S_LIFE in its record (memory/constants.ts):
 *
 *   LIVE       linked: invalidations find it (ctx.subsIn), device faults go through it
 *   CLOSING    its owner is removing it: still linked, no new device fault through it
 *   REMOVED    unlinked (ctx.intervalUnlink): new invalidations no longer find it
 *   FREED      kfree'd: any use is a notifier-use-after-free (oracle/lifetime.ts); LIFE_REPORTED
 *              is or'ed in once the free has been counted
 *   ALLOCATED  allocated again, not yet linked (the protocol's intervalInsert links it);
 *              LIFE_UNREPORTED_FREE is or'ed in when no use had counted the free before it
 *
 * Every subscription starts LIVE. A driver removes one (the 'interval' event: removeSubscription):
 * LIVE -> CLOSING, wait for the device faults through it, the protocol's intervalRemove (which
 * unlinks it, and must make sure no callback still uses it before it returns), then the model
 * frees it. A driver's fault on a freed one inserts it again first (insertSubscription, from the
 * fault path's work queue: without a reference on the mm), through the protocol's intervalInsert.
 * Uses are checked where they happen: Ctx.trace (a declared word or lock of the subscription),
 * zapDevice/programDevice, intervalLink/intervalUnlink, and the core's ->release call (exit.ts).
 *
 * The mm's users: H_MM_DEAD is 1 from the moment the process drops its reference (exit.ts) until
 * the next mm replaces it; H_MM_USERS counts the other references (mmgetNotZero/mmput). So
 * mm_users is (H_MM_DEAD ? 0 : 1) + H_MM_USERS, and linking a subscription while it is 0 is the
 * kernel's BUG_ON in mmu_notifier_register (a contract breach).
 */
import { L, addr } from '../../memory/layout.js';
import { EV } from '../../oracle/events.js';
import { WAIT, block, now } from '../../sync/env.js';
import { LIFE_REPORTED, LIFE_UNREPORTED_FREE, reportNotifierUaf } from '../../oracle/lifetime.js';
import { BREACH, reportBreach } from '../../oracle/contract.js';
import { callProto } from '../../protocols/call.js';
import type { Ctx } from '../ctx.js';
import type { Sub } from '../range.js';

export const LIFE = { LIVE: 0, CLOSING: 1, REMOVED: 2, FREED: 3, ALLOCATED: 4 } as const;
export const LIFE_STATE = 0xff;
/** EV.SUB_LIFE's `d` (oracle/events.ts SUB_LIFE_WHAT). */
export const SUB_LIFE = { REMOVE: 0, UNLINK: 1, FREE: 2, ALLOC: 3, LINK: 4, RELEASE: 5 } as const;

const lifeIdx = (ctx: Ctx, sub: Sub): number => (addr.subrec(ctx.layout, sub.id) + L.S_LIFE) >> 2;
const recIdx = (ctx: Ctx, sub: Sub, off: number): number => (addr.subrec(ctx.layout, sub.id) + off) >> 2;

/** The subscription's lifetime state (LIFE). */
export const subLife = (ctx: Ctx, sub: Sub): number => Atomics.load(ctx.env.i32, lifeIdx(ctx, sub)) & LIFE_STATE;

/** Linked: new invalidations find it. */
export const subLinked = (ctx: Ctx, sub: Sub): boolean => {
  const life = subLife(ctx, sub);
  return life === LIFE.LIVE || life === LIFE.CLOSING;
};

/** Its owner is removing it (CLOSING), or has just unlinked it (REMOVED). */
export const subClosing = (ctx: Ctx, sub: Sub): boolean => {
  const life = subLife(ctx, sub);
  return life === LIFE.CLOSING || life === LIFE.REMOVED;
};

/** Count invalidations holding `subs` (S_FOUND): what the removal's widening waits for. */
export function foundSubs(ctx: Ctx, subs: readonly Sub[], delta: number): void {
  for (const sub of subs) Atomics.add(ctx.env.i32, recIdx(ctx, sub, L.S_FOUND), delta);
}

/** The oracle's check at a use of subscription `id`: freed is a notifier-use-after-free. */
export function touchSub(ctx: Ctx, id: number): void {
  const sub = ctx.subs[id];
  if (sub === undefined) return;
  const life = Atomics.load(ctx.env.i32, lifeIdx(ctx, sub));
  if ((life & LIFE_STATE) === LIFE.FREED) reportNotifierUaf(ctx, sub, life);
}

export function traceLife(ctx: Ctx, sub: Sub, what: number): void {
  ctx.trace(EV.SUB_LIFE, sub.id, sub.start, sub.end, what, sub.device);
}

/** mmu_interval_notifier_insert's linking (interval_tree_insert / hlist_add): invalidations find it from now on. */
export function intervalLink(ctx: Ctx, sub: Sub): void {
  touchSub(ctx, sub.id);
  const i32 = ctx.env.i32;
  if (Atomics.load(i32, (L.BASE + L.H_MM_DEAD) >> 2) !== 0 && Atomics.load(i32, (L.BASE + L.H_MM_USERS) >> 2) <= 0)
    reportBreach(ctx, BREACH.REGISTER_DEAD_MM, sub.start, sub.end, sub.device);
  const life = subLife(ctx, sub);
  if (life === LIFE.FREED) return;
  Atomics.store(i32, lifeIdx(ctx, sub), LIFE.LIVE);
  traceLife(ctx, sub, SUB_LIFE.LINK);
}

/** interval_tree_remove / hlist_del_init_rcu: new invalidations no longer find it (callbacks that already did may still run). */
export function intervalUnlink(ctx: Ctx, sub: Sub): void {
  touchSub(ctx, sub.id);
  const life = subLife(ctx, sub);
  if (life !== LIFE.LIVE && life !== LIFE.CLOSING) return;
  Atomics.store(ctx.env.i32, lifeIdx(ctx, sub), LIFE.REMOVED);
  traceLife(ctx, sub, SUB_LIFE.UNLINK);
}

/** kfree: from now on every use is a notifier-use-after-free. */
export function freeSub(ctx: Ctx, sub: Sub): void {
  const i32 = ctx.env.i32;
  Atomics.store(i32, recIdx(ctx, sub, L.S_FREED_BY), ctx.tid + 1);
  Atomics.store(i32, lifeIdx(ctx, sub), LIFE.FREED);
  traceLife(ctx, sub, SUB_LIFE.FREE);
}

// ---- the mm's users ----

/** mmget_not_zero: a reference that keeps exit_mmap from running; false once the mm is exiting. */
export function mmgetNotZero(ctx: Ctx): boolean {
  const i32 = ctx.env.i32;
  const dead = (L.BASE + L.H_MM_DEAD) >> 2;
  if (Atomics.load(i32, dead) !== 0) return false;
  Atomics.add(i32, (L.BASE + L.H_MM_USERS) >> 2, 1);
  if (Atomics.load(i32, dead) === 0) return true;
  mmput(ctx);
  return false;
}

/**
 * The process has dropped its reference (exit_mm): exit_mmap waits only for the mmget references
 * still held. A fault holding one gives up rather than retry (roles/driver.ts).
 */
export const mmExiting = (ctx: Ctx): boolean => Atomics.load(ctx.env.i32, (L.BASE + L.H_MM_DEAD) >> 2) !== 0;

/** mmput: drop it (the exiting thread waits for the last one). */
export function mmput(ctx: Ctx): void {
  const users = (L.BASE + L.H_MM_USERS) >> 2;
  if (Atomics.sub(ctx.env.i32, users, 1) === 1) Atomics.notify(ctx.env.i32, users);
}

// ---- the driver's side: faults through a subscription, removal, insertion ----

/** A device fault holds the subscription (its owner's reference): false if it is not live. */
export function subGet(ctx: Ctx, sub: Sub): boolean {
  const i32 = ctx.env.i32;
  Atomics.add(i32, recIdx(ctx, sub, L.S_USERS), 1);
  if (subLife(ctx, sub) === LIFE.LIVE) return true;
  subPut(ctx, sub);
  return false;
}

export function subPut(ctx: Ctx, sub: Sub): void {
  const at = recIdx(ctx, sub, L.S_USERS);
  if (Atomics.sub(ctx.env.i32, at, 1) === 1) Atomics.notify(ctx.env.i32, at);
}

function waitZero(ctx: Ctx, at: number, kind: number): void {
  const i32 = ctx.env.i32;
  const deadline = now() + ctx.env.lockTimeoutMs;
  for (let v = Atomics.load(i32, at); v !== 0; v = Atomics.load(i32, at))
    if (block(ctx.env, at << 2, v, kind, deadline) === 'timeout') return;
}

/** A device fault on an exiting mm: sleep until the next mm is there (bounded), instead of spinning. */
export function waitMmAlive(ctx: Ctx): void {
  const at = (L.BASE + L.H_MM_DEAD) >> 2;
  const deadline = now() + ctx.env.sliceMs;
  while (Atomics.load(ctx.env.i32, at) !== 0) if (block(ctx.env, at << 2, 1, WAIT.mmUsers, deadline) === 'timeout') return;
}

/** Wait until no mmget reference is left (exit_mmap runs after the last mmput). */
export const waitMmUsers = (ctx: Ctx): void => waitZero(ctx, (L.BASE + L.H_MM_USERS) >> 2, WAIT.mmUsers);

/**
 * The 'interval' event: the driver removes `sub` (mmu_interval_notifier_remove, hmm_mirror_unregister,
 * ib_umem_odp_release) and frees it once the protocol's intervalRemove returns. False when it is
 * not live or the protocol cannot remove subscriptions.
 */
export function removeSubscription(ctx: Ctx, sub: Sub): boolean {
  const proto = ctx.proto;
  if (!proto.intervalRemove) return false;
  if (Atomics.compareExchange(ctx.env.i32, lifeIdx(ctx, sub), LIFE.LIVE, LIFE.CLOSING) !== LIFE.LIVE) return false;
  traceLife(ctx, sub, SUB_LIFE.REMOVE);
  waitZero(ctx, recIdx(ctx, sub, L.S_USERS), WAIT.completion);
  // widening: an invalidation has found the subscription and is in its start callbacks when it is
  // unlinked and freed (ctx.widenRemoval is the other side)
  const found = recIdx(ctx, sub, L.S_FOUND);
  ctx.widenUntil(() => Atomics.load(ctx.env.i32, found) > 0, 4);
  callProto(ctx, 'intervalRemove', () => proto.intervalRemove!(ctx, sub));
  freeSub(ctx, sub);
  return true;
}

/**
 * A device fault on a freed subscription creates it again first (an implicit child, a range
 * registered on demand), from the fault path's work queue, holding no reference on the mm: the
 * model allocates it (its declared state zeroed, as kzalloc) and the protocol's intervalInsert
 * initialises and links it, or gives up (false). Returns whether the subscription is live after.
 */
export function insertSubscription(ctx: Ctx, sub: Sub): boolean {
  const i32 = ctx.env.i32;
  const at = lifeIdx(ctx, sub);
  const life = Atomics.load(i32, at);
  // a free no use has counted yet travels on as LIFE_UNREPORTED_FREE (oracle/lifetime.ts)
  const allocated = LIFE.ALLOCATED | ((life & LIFE_REPORTED) === 0 ? LIFE_UNREPORTED_FREE : 0);
  if ((life & LIFE_STATE) !== LIFE.FREED || Atomics.compareExchange(i32, at, life, allocated) !== life) return false;
  Atomics.store(i32, recIdx(ctx, sub, L.S_FREED_BY), 0);
  const lines = ctx.layout.config.protoSubLines;
  for (let i = 0; i < lines; i++) {
    const line = addr.protoSub(ctx.layout, sub.id, i) >> 2;
    for (let w = 0; w < L.LINE >> 2; w++) Atomics.store(i32, line + w, 0);
  }
  traceLife(ctx, sub, SUB_LIFE.ALLOC);
  const proto = ctx.proto;
  const linked = proto.intervalInsert ? callProto(ctx, 'intervalInsert', () => proto.intervalInsert!(ctx, sub)) : linkHoldingMm(ctx, sub);
  if (!linked && subLife(ctx, sub) === LIFE.ALLOCATED) freeSub(ctx, sub);
  return subLife(ctx, sub) === LIFE.LIVE;
}

/**
 * A protocol without intervalInsert: the model registers the subscription as mmu_notifier_register
 * does, holding the mm, with mmap_lock for write and mm_take_all_locks (here anon_vma for write):
 * no invalidation is in flight while it is linked.
 */
function linkHoldingMm(ctx: Ctx, sub: Sub): boolean {
  if (!mmgetNotZero(ctx)) return false;
  ctx.mmapWriteLock();
  ctx.anonVmaLock.downWrite();
  try {
    intervalLink(ctx, sub);
  } finally {
    ctx.anonVmaLock.upWrite();
    ctx.mmapWriteUnlock();
    mmput(ctx);
  }
  return true;
}

export { LIFE_REPORTED };
