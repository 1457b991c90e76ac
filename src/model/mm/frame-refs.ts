/**
 * frame-refs.ts — page references and the per-frame lock (get_page / folio_lock), as the mm and
 * the protocols use them (docs/ARCHITECTURE.md, Oracle checks; the frame fields are F_LOCK,
 * F_REF_BY, F_REF_WAITERS in src/memory/constants.ts).
 *
 * A walk asked to (`ctx.hmmRangeFault(range, check, { get: true, lock: true })`, the way
 * get_user_pages and make_device_exclusive_range work) takes a reference on every frame it
 * snapshots and trylocks it; a frame it cannot lock is left out of the snapshot. The protocol
 * releases them with `ctx.releasePages(range)`. What needs them back:
 *
 *   migration   locks each frame before unmapping it (folio_lock, as migrate_pages does in its
 *               synchronous mode): a lock that is never released keeps the invalidator waiting,
 *               which the watchdog reports as a stall naming the frame and its holder. The wait
 *               gives up at the lock timeout and leaves the page unmigrated.
 *   the mm      frees an unmapped frame only once its last reference is dropped (FS_PINNED until
 *               then; its gen is bumped at the unmap, so the oracle treats it as gone at once).
 *   a protocol  may wait for the extra references on a range to drop (`ctx.waitPageRefs`, what
 *               Xen's unmap_grant_pages did): bounded by the lock timeout, named by the watchdog.
 *
 * Frame-lock word: 0 free; holder thread id + 1 in FL_HOLDER_MASK; FL_WAITERS while a thread
 * sleeps on it (the unlock wakes them).
 */
import { L } from '../../memory/layout.js';
import { addr } from '../../memory/layout.js';
import { WAIT, block, now } from '../../sync/env.js';
import type { Ctx } from '../ctx.js';
import type { HmmRange } from '../range.js';

/** What a walk takes on each frame it snapshots. */
export interface PageGrab {
  /** A reference (get_page): the frame is not freed until it is put. */
  get?: boolean;
  /** And the frame's lock (folio_trylock); a frame locked by anyone is left out. Needs `get`. */
  lock?: boolean;
}

/** The R_FLAGS bits for `grab`. */
export const grabFlags = (grab: PageGrab | undefined): number =>
  grab?.get ? L.RF_GET | (grab.lock ? L.RF_LOCK : 0) : grab?.lock ? L.RF_GET | L.RF_LOCK : 0;

/**
 * Unlock (folio_unlock) and put (folio_put) what the last walk of `range` took, on the valid
 * entries among its first `pages` (default: the range's length).
 */
export function releasePages(ctx: Ctx, range: HmmRange, what: { unlock?: boolean; put?: boolean }, pages?: number): void {
  ctx.wasm.range_release(range.addr, pages ?? range.end - range.start, what.unlock ? 1 : 0, what.put ? 1 : 0);
}

/** The (page, pfn) pairs a thread's migration holds referenced and locked right now. */
const migrating = new WeakMap<Ctx, number[]>();

/** References on `pfn` that this thread's own migration holds (not waited for by waitPageRefs). */
function ownRefs(ctx: Ctx, pfn: number): number {
  const locked = migrating.get(ctx);
  if (!locked) return 0;
  for (let i = 1; i < locked.length; i += 2) if (locked[i] === pfn) return 1;
  return 0;
}

/**
 * Sleep on a frame word until it changes (or a slice passes), recorded as a wait of `kind` on
 * that word, so the watchdog can name the frame. False at `deadline`.
 */
function sleepOn(ctx: Ctx, wordAddr: number, value: number, kind: number, deadline: number): boolean {
  return block(ctx.env, wordAddr, value, kind, deadline) !== 'timeout';
}

/**
 * Reference and lock the frames that [start, end) maps, in page order, sleeping on a lock another thread holds
 * (bounded by the lock timeout: a frame not locked by then is left out). Returns the (page, pfn)
 * pairs locked, for migration to move and unlockFrames to release.
 */
export function lockFrames(ctx: Ctx, start: number, end: number): number[] {
  const locked: number[] = [];
  migrating.set(ctx, locked);
  const i32 = ctx.env.i32;
  const deadline = now() + ctx.env.lockTimeoutMs;
  for (let page = start; page < end; page++) {
    for (;;) {
      const r = ctx.wasm.page_lock_frame(page, ctx.tid);
      if (r >= 0) {
        locked.push(page, r);
        break;
      }
      if (r === -1) break; // not present: nothing to migrate
      const lockAddr = addr.frame(ctx.layout, -r - 2) + L.F_LOCK;
      const v = Atomics.or(i32, lockAddr >> 2, L.FL_WAITERS) | L.FL_WAITERS;
      if ((v & L.FL_HOLDER_MASK) === 0) continue; // released meanwhile
      if (!sleepOn(ctx, lockAddr, v, WAIT.frameLock, deadline)) break; // timed out: leave the page
    }
  }
  return locked;
}

/** Unlock the frames lockFrames took and drop its references (folio_unlock, folio_put). */
export function unlockFrames(ctx: Ctx, locked: number[]): void {
  migrating.delete(ctx);
  for (let i = 0; i < locked.length; i += 2) {
    ctx.wasm.frame_unlock(locked[i + 1]);
    ctx.wasm.frame_put(locked[i + 1]);
  }
}

/**
 * Wait until no frame that [start, end) maps has references beyond its mapping's (Xen's
 * unmap_grant_pages before dbe97cff7dd9). Bounded by the lock timeout; false if it gave up.
 */
export function waitPageRefs(ctx: Ctx, start: number, end: number): boolean {
  const i32 = ctx.env.i32;
  const deadline = now() + ctx.env.lockTimeoutMs;
  for (let page = start; page < end; page++) {
    for (;;) {
      const pfn = ctx.wasm.page_pinned_frame(page);
      if (pfn < 0) break;
      const frame = addr.frame(ctx.layout, pfn);
      const refAddr = frame + L.F_REFCOUNT;
      const allowed = 1 + ownRefs(ctx, pfn); // the mapping's, and the one this thread's migration holds
      if (Atomics.load(i32, refAddr >> 2) <= allowed) break;
      Atomics.add(i32, (frame + L.F_REF_WAITERS) >> 2, 1);
      try {
        const c = Atomics.load(i32, refAddr >> 2);
        if (c > allowed && !sleepOn(ctx, refAddr, c, WAIT.pageRefs, deadline)) return false;
      } finally {
        Atomics.sub(i32, (frame + L.F_REF_WAITERS) >> 2, 1);
      }
    }
  }
  return true;
}
