/**
 * driver.ts — the device driver: device faults on short ranges of its device's subscriptions,
 * through the protocol's populate path; now and then it re-registers a subscription (umem
 * remove + add) when the protocol supports that.
 */
import { L, addr } from '../memory/layout.js';
import { EV } from '../oracle/events.js';
import type { RoleContext } from './role.js';
import { callProto } from '../protocols/call.js';
import { heldLocks, reportLeak } from '../oracle/contract.js';
import { snapshotDone } from '../oracle/coverage.js';
import {
  LIFE,
  insertSubscription,
  mmExiting,
  waitMmAlive,
  mmgetNotZero,
  mmput,
  removeSubscription,
  subGet,
  subLife,
  subPut,
} from '../model/mm/lifetime.js';
import type { Sub } from '../model/range.js';

/** With 'interval' in the mix, the driver removes one of its subscriptions every this many operations. */
export const REMOVE_EVERY = 4;
/**
 * ... and in a mutate run (a mutation hook installed): a count or sequence that a mutant left
 * wrong on a subscription lasts until the subscription is created again (zeroed), and its harm
 * (faults that retry for good) is judged only after the watchdog's bound, so subscriptions live
 * longer there; a few hundred removals a run remain.
 */
export const MUTATE_REMOVE_EVERY = 16;

/**
 * One device fault. Returns whether it mapped: only a fault that programmed the device is
 * progress for the watchdog, so a protocol whose faults retry until their range is unmapped and
 * then fail (a livelock that never maps again) is seen as a stall.
 */
export function driverOp(rc: RoleContext): boolean {
  const { ctx, rng, stats } = rc;
  const mine = (rc.deviceSubs ??= ctx.subs.filter((s) => s.device === rc.device));
  const sub = rng.pick(mine);
  if (!(rc.lifetime ??= rc.events.includes('interval') || rc.events.includes('exit'))) return deviceFault(rc, sub, mine);
  // subscriptions come and go: a fault on a freed one creates it again first (without a reference
  // on the mm, as from a work queue), then the fault holds the mm (mmget_not_zero) and the subscription
  // (a removal holds the mm, so it never overlaps exit_mmap's release)
  const every = ctx.sched ? 2 : ctx.hook ? MUTATE_REMOVE_EVERY : REMOVE_EVERY; // controlled mode's schedules are a few dozen operations long
  // (not while a mutant's run aims the invalidators at an interval, mutate/hook.ts: a removal waits
  // for umem_rwsem-like locks for write, and the invalidations aimed there would queue behind it)
  if (rc.events.includes('interval') && stats.ops % every === every - 1 && !ctx.hook?.aim?.() && mmgetNotZero(ctx))
    try {
      removeSubscription(ctx, rng.pick(mine));
    } finally {
      mmput(ctx);
    }
  if (subLife(ctx, sub) === LIFE.FREED && !insertSubscription(ctx, sub)) {
    waitMmAlive(ctx); // it could not be created on an exiting mm (returns at once otherwise)
    return false;
  }
  if (!mmgetNotZero(ctx)) {
    waitMmAlive(ctx);
    return false;
  }
  if (!subGet(ctx, sub)) {
    mmput(ctx);
    return false;
  }
  try {
    return deviceFault(rc, sub, mine);
  } finally {
    subPut(ctx, sub);
    mmput(ctx);
  }
}

function deviceFault(rc: RoleContext, sub: Sub, mine: Sub[]): boolean {
  const { ctx, rng, stats } = rc;
  const proto = ctx.proto;
  const span = sub.end - sub.start;
  const len = 1 + rng.int(Math.min(16, span, ctx.layout.config.rangeMax));
  const start = sub.start + rng.int(span - len + 1);
  const write = rng.chance(0.3);
  const range = ctx.range;
  range.setup(start, start + len, write, true, sub.id, rc.device);
  let mapped = false;
  const sched = ctx.sched;
  for (;;) {
    const held = heldLocks(ctx);
    sched?.attempt();
    const r = callProto(ctx, 'populate', () => proto.populate(ctx, sub, range));
    snapshotDone(ctx);
    if (heldLocks(ctx) > held) reportLeak(ctx, held, start, start + len, rc.device);
    if (r === 'retry') {
      sched?.retried(sub.id, start, start + len);
      stats.retries++;
      Atomics.add(ctx.env.i32, (addr.thread(ctx.layout, ctx.tid) + L.T_RETRIES) >> 2, 1);
      ctx.trace(EV.POPULATE, sub.id, start, start + len, 1, write ? 1 : 0);
      if (rc.stopped()) return false;
      // the process exited while this fault held the mm: the fault ends with an error instead of
      // retrying (a KVM vCPU's fatal signal, a driver's -EFAULT on a dying mm), so the reference
      // exit_mmap waits for is dropped; a retry here waits for invalidations that nothing orders
      if (rc.lifetime && mmExiting(ctx)) {
        stats.errors++;
        ctx.trace(EV.POPULATE, sub.id, start, start + len, L.EFAULT, write ? 1 : 0);
        return false;
      }
      continue;
    }
    if (r !== 'ok' && typeof r !== 'number')
      throw new Error(`protocol ${proto.name}: populate() returned ${JSON.stringify(r)} (want 'ok', 'retry' or a negative errno)`);
    if (r !== 'ok') stats.errors++;
    ctx.trace(EV.POPULATE, sub.id, start, start + len, r === 'ok' ? 0 : r, write ? 1 : 0);
    mapped = r === 'ok';
    break;
  }
  // every 64th operation (every 4th in controlled mode, whose schedules are a few dozen operations long)
  if (proto.subscriptionRemove && proto.subscriptionAdd && (stats.ops & (ctx.sched ? 3 : 63)) === (ctx.sched ? 3 : 63)) {
    const s = rng.pick(mine);
    // with subscriptions that come and go, only a live one is re-registered (held, so that it is not removed meanwhile)
    if (!rc.lifetime || subGet(ctx, s))
      try {
        ctx.trace(EV.SUB_REMOVE, s.id);
        callProto(ctx, 'subscriptionRemove', () => proto.subscriptionRemove!(ctx, s));
        callProto(ctx, 'subscriptionAdd', () => proto.subscriptionAdd!(ctx, s));
        ctx.trace(EV.SUB_ADD, s.id);
      } finally {
        if (rc.lifetime) subPut(ctx, s);
      }
  }
  return mapped;
}
