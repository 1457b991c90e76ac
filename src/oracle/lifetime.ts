/**
 * lifetime.ts — the oracle's check on subscription lifetimes (model/mm/lifetime.ts): a use of a
 * subscription that was removed and freed (a callback invoked on it, a device operation through
 * it, one of its declared words or locks touched) is a `notifier-use-after-free`.
 *
 * Recorded like a Wasm check's violation: details in the thread's T_VIOL (kind, page = the
 * subscription's first page, pfn = its id, gen wanted = the thread that freed it, device), counted
 * once per free in H_VIOLATIONS (the subscription's S_LIFE gets LIFE_REPORTED) and at every
 * detection in H_DETECTIONS, then handed to onViolation for the witness.
 */
import { L, addr, type Layout } from '../memory/layout.js';
import { LIFE, LIFE_STATE } from '../model/mm/lifetime.js'; // the states (a cycle: used only when a use is reported)

/** S_LIFE's flag: this free has been counted as a lost race (later uses are detections only). */
export const LIFE_REPORTED = 0x100;
/**
 * S_LIFE's flag on ALLOCATED: the free before it was never counted. A use that saw that free, and
 * whose count came too late to mark it (the subscription allocated again meanwhile), counts it
 * here: without it, the run stopped on a violation that no count showed.
 */
export const LIFE_UNREPORTED_FREE = 0x200;

interface UafCtx {
  env: { i32: Int32Array; tid: number };
  layout: Layout;
  opts: { oracle: boolean; onViolation: (ret: number) => void };
}

/** Report a use of freed subscription `sub` (its S_LIFE word read as `life`). */
export function reportNotifierUaf(ctx: UafCtx, sub: { id: number; start: number; device: number }, life: number): void {
  if (!ctx.opts.oracle) return;
  const i32 = ctx.env.i32;
  const rec = addr.subrec(ctx.layout, sub.id);
  const freer = Atomics.load(i32, (rec + L.S_FREED_BY) >> 2) - 1;
  const v = (ctx.layout.threadsBase + ctx.env.tid * L.THREAD_SIZE + L.T_VIOL) >> 2;
  i32[v] = L.V_NOTIFIER_USE_AFTER_FREE;
  i32[v + 1] = sub.start;
  i32[v + 2] = sub.id;
  i32[v + 3] = freer;
  i32[v + 4] = -1;
  i32[v + 5] = sub.device;
  i32[v + 6] = 0;
  // count the free once: mark it reported; if it was allocated again before this use could, the
  // allocation carries LIFE_UNREPORTED_FREE, and this use counts it by clearing that
  const at = (rec + L.S_LIFE) >> 2;
  let first = false;
  let cur = life;
  while (!first && (cur & LIFE_REPORTED) === 0) {
    const state = cur & LIFE_STATE;
    let next: number;
    if (state === LIFE.FREED) next = cur | LIFE_REPORTED;
    else if (state === LIFE.ALLOCATED) {
      if ((cur & LIFE_UNREPORTED_FREE) === 0) break; // counted before it was allocated again
      next = cur & ~LIFE_UNREPORTED_FREE;
    } else {
      // linked again already (this thread was preempted between its read and here): nothing
      // marks that free any more; count it, at the risk of counting it twice if another use
      // counted it before the allocation (a lost race counted twice, never one not counted)
      first = true;
      break;
    }
    const seen = Atomics.compareExchange(i32, at, cur, next);
    if (seen === cur) first = true;
    else cur = seen;
  }
  if (first) Atomics.add(i32, ((L.BASE + L.H_VIOLATIONS) >> 2) + L.V_NOTIFIER_USE_AFTER_FREE, 1);
  Atomics.add(i32, ((L.BASE + L.H_DETECTIONS) >> 2) + L.V_NOTIFIER_USE_AFTER_FREE, 1);
  ctx.opts.onViolation(-(L.V_NOTIFIER_USE_AFTER_FREE + 1));
}
