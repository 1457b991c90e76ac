/**
 * contract.ts — breaches of the mmu notifier contract by a protocol's callbacks (api.ts states
 * each callback's contract). In the kernel these are the driver's bugs (a WARN), not the core's:
 * the oracle reports them as the protocol's violation, kind `contract`, and the run goes on as
 * the kernel would (a blockable start's failure is ignored and the CPU side proceeds).
 *
 * A breach is recorded like a Wasm check's violation: details in the thread's T_VIOL (kind,
 * page = range start, pfn = the breach's code below, gen wanted = range end, device), counted in
 * H_VIOLATIONS and H_DETECTIONS, then handed to the thread's onViolation for the witness.
 */
import { L } from '../memory/layout.js';

/** Breach codes (T_VIOL's pfn slot), in witness wording. */
export const CONTRACT_BREACHES = [
  'invalidateStart returned false for a blockable invalidation',
  'invalidateStart returned true with device entries of its range still valid',
  'a callback returned holding a lock it took',
  'invalidateEnd without a matching invalidateStart',
  'populate waited with no invalidation in progress: only a later invalidation could wake it',
  'a notifier was registered on an mm whose mm_users is 0 (exit_mmap has begun)',
] as const;
export const BREACH = {
  BLOCKABLE_FALSE: 0,
  NOT_ZAPPED: 1,
  LOCK_HELD: 2,
  END_WITHOUT_START: 3,
  WAIT_WITHOUT_INVALIDATION: 4,
  REGISTER_DEAD_MM: 5,
} as const;

export const contractName = (code: number): string => CONTRACT_BREACHES[code] ?? `contract breach ${code}`;

interface BreachCtx {
  env: { i32: Int32Array; tid: number };
  layout: { threadsBase: number };
  opts: { oracle: boolean; onViolation: (ret: number) => void };
}

/** Write breach `code` on [start, end) into this thread's T_VIOL (a Wasm check counted it). */
export function breachDetails(ctx: BreachCtx, code: number, start: number, end: number, device = -1): void {
  const i32 = ctx.env.i32;
  const v = (ctx.layout.threadsBase + ctx.env.tid * L.THREAD_SIZE + L.T_VIOL) >> 2;
  i32[v] = L.V_CONTRACT;
  i32[v + 1] = start;
  i32[v + 2] = code;
  i32[v + 3] = end;
  i32[v + 4] = -1;
  i32[v + 5] = device;
  i32[v + 6] = 0;
}

/** Record breach `code` on [start, end) (device, or -1), count it and report it. */
export function reportBreach(ctx: BreachCtx, code: number, start: number, end: number, device = -1): void {
  if (!ctx.opts.oracle) return;
  const i32 = ctx.env.i32;
  breachDetails(ctx, code, start, end, device);
  Atomics.add(i32, ((L.BASE + L.H_VIOLATIONS) >> 2) + L.V_CONTRACT, 1);
  Atomics.add(i32, ((L.BASE + L.H_DETECTIONS) >> 2) + L.V_CONTRACT, 1);
  ctx.opts.onViolation(-(L.V_CONTRACT + 1));
}

/** Locks this thread holds now (its record's held-lock count). */
export function heldLocks(ctx: BreachCtx): number {
  return Atomics.load(ctx.env.i32, (ctx.layout.threadsBase + ctx.env.tid * L.THREAD_SIZE + L.T_HELD_N) >> 2);
}

/**
 * A callback returned holding locks it took and nothing will release them (a failed non-blockable
 * start, an end, a populate): report the breach, and mark the first such lock in the thread's
 * T_LEAKED, where the watchdog finds it (a waiter it keeps out can never be woken: a deadlock at
 * once, docs/ARCHITECTURE.md, Oracle checks). `held`: the thread's held-lock count before the call.
 * The mark is kept whatever the oracle setting, and cleared when the thread holds the lock no more
 * (assembly/sync.ts heldPop).
 */
export function reportLeak(ctx: BreachCtx, held: number, start: number, end: number, device = -1): void {
  const i32 = ctx.env.i32;
  const rec = (ctx.layout.threadsBase + ctx.env.tid * L.THREAD_SIZE) >> 2;
  if (held < L.HELD_MAX && Atomics.load(i32, rec + (L.T_LEAKED >> 2)) === 0)
    Atomics.store(i32, rec + (L.T_LEAKED >> 2), i32[rec + ((L.T_HELD >> 2) + held)]);
  reportBreach(ctx, BREACH.LOCK_HELD, start, end, device);
}
