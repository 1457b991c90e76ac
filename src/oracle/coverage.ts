/**
 * coverage.ts — race-window coverage: how often the dangerous interleavings actually happened
 * in a run, so a clean verdict can say what it covered. Each thread counts in its own record
 * (T_COV, owner writes only; the session sums them at the end), at points that are per
 * operation, never per page:
 *
 *   aba                     an invalidation began and ended inside a driver's snapshot->check
 *                           window (counted when the snapshot is programmed or dropped: the
 *                           invalidations ended by then outnumber those begun when its walk began)
 *   inval-during-snapshot   an invalidation's callbacks finished while a driver held a snapshot
 *                           of an overlapping range it had not yet programmed
 *   inval-during-walk       an invalidation's callbacks finished while a walk of an overlapping
 *                           range was in progress
 *   zap-during-dma          a device zap began while a DMA of a page in it was in flight
 *   nonblock-failed         a non-blockable invalidation failed (-EAGAIN)
 *
 * A sound protocol's pass whose RELEVANT windows (all but nonblock-failed, which a protocol may
 * rightly never do) were never hit is `inconclusive`.
 */
import { L } from '../memory/layout.js';

export const WINDOWS = ['aba', 'inval-during-snapshot', 'inval-during-walk', 'zap-during-dma', 'nonblock-failed'] as const;
export type WindowName = (typeof WINDOWS)[number];
export const WINDOW = { ABA: 0, INVAL_DURING_SNAPSHOT: 1, INVAL_DURING_WALK: 2, ZAP_DURING_DMA: 3, NONBLOCK_FAILED: 4 } as const;
export const RELEVANT_WINDOWS: readonly WindowName[] = ['aba', 'inval-during-snapshot', 'inval-during-walk', 'zap-during-dma'];

interface CovCtx {
  env: { i32: Int32Array; tid: number };
  layout: { threadsBase: number; config: { threads: number } };
  ranges: { addr: number }[];
}

const rec = (ctx: CovCtx, tid: number) => (ctx.layout.threadsBase + tid * L.THREAD_SIZE) >> 2;

export function countWindow(ctx: CovCtx, w: number): void {
  const i = rec(ctx, ctx.env.tid) + (L.T_COV >> 2) + w;
  ctx.env.i32[i] = ctx.env.i32[i] + 1;
}

/** A driver's walk begins (`on`) or returns (snapshot taken when `snapshot`). */
export function walkWindow(ctx: CovCtx, on: boolean, snapshot = false): void {
  const i32 = ctx.env.i32;
  const r = rec(ctx, ctx.env.tid);
  if (on) {
    i32[r + (L.T_INV_BEGUN >> 2)] = Atomics.load(i32, (L.BASE + L.H_INV_BEGUN) >> 2);
    Atomics.store(i32, r + (L.T_WALKING >> 2), 1);
  } else {
    Atomics.store(i32, r + (L.T_WALKING >> 2), 0);
    if (snapshot) Atomics.store(i32, r + (L.T_SNAPSHOT >> 2), 1);
  }
}

/** The driver programs its snapshot or drops it (populate returned): the ABA window closes. */
export function snapshotDone(ctx: CovCtx): void {
  const i32 = ctx.env.i32;
  const r = rec(ctx, ctx.env.tid);
  if (Atomics.load(i32, r + (L.T_SNAPSHOT >> 2)) === 0) return;
  Atomics.store(i32, r + (L.T_SNAPSHOT >> 2), 0);
  if (Atomics.load(i32, (L.BASE + L.H_INV_ENDED) >> 2) > i32[r + (L.T_INV_BEGUN >> 2)]) countWindow(ctx, WINDOW.ABA);
}

/** An invalidation of [start, end) finished its callbacks: which drivers were inside a window. */
export function windowsAtCallbacksDone(ctx: CovCtx, start: number, end: number): void {
  const i32 = ctx.env.i32;
  for (let t = 0; t < ctx.layout.config.threads; t++) {
    const r = rec(ctx, t);
    const walking = Atomics.load(i32, r + (L.T_WALKING >> 2));
    const snap = Atomics.load(i32, r + (L.T_SNAPSHOT >> 2));
    if (!walking && !snap) continue;
    const ra = ctx.ranges[t].addr >> 2;
    if (!(i32[ra + (L.R_START >> 2)] < end && start < i32[ra + (L.R_END >> 2)])) continue;
    countWindow(ctx, walking ? WINDOW.INVAL_DURING_WALK : WINDOW.INVAL_DURING_SNAPSHOT);
  }
}

/** A zap of `device`'s [start, end) begins: is a DMA of one of its pages in flight? */
export function zapWindow(ctx: CovCtx, dmaTids: number[], dmaseqAddr: (t: number) => number, start: number, end: number): void {
  const i32 = ctx.env.i32;
  for (const t of dmaTids) {
    const a = dmaseqAddr(t) >> 2;
    if ((Atomics.load(i32, a) & 1) === 0) continue;
    const page = i32[a + (L.DS_PAGE >> 2)];
    if (start <= page && page < end) countWindow(ctx, WINDOW.ZAP_DURING_DMA);
  }
}

/** The run's coverage: every thread's counters summed, by window name. */
export function readCoverage(i32: Int32Array, threadsBase: number, threads: number): Record<WindowName, number> {
  const out = Object.fromEntries(WINDOWS.map((w) => [w, 0])) as Record<WindowName, number>;
  for (let t = 0; t < threads; t++) {
    const r = (threadsBase + t * L.THREAD_SIZE + L.T_COV) >> 2;
    WINDOWS.forEach((w, i) => (out[w] += Atomics.load(i32, r + i)));
  }
  return out;
}
