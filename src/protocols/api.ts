/**
 * api.ts — the plugin API every protocol is written against (built-in ones, the broken zoo,
 * and users' files). loader.ts loads and validates a protocol module.
 *
 * A protocol is an ES module whose default export is a MirrorProtocol. It keeps all of its
 * shared state in the words and locks it declares (mmState / subState / rangeState) and touches
 * the model only through `ctx` (model/ctx.ts): that keeps the oracle honest.
 */
import type { Ctx, CtxProtocol, MmOptions } from '../model/ctx.js';
import type { Sub, HmmRange, Invalidation, PopulateResult } from '../model/range.js';
import type { StateSchema } from '../model/state.js';

export { FIELD_TYPES, schemaLines, type FieldType, type StateSchema } from '../model/state.js';
export type { MmOptions } from '../model/ctx.js';
export type { PopulateResult } from '../model/range.js';
import type { EventName, Expectation } from '../api/types.js';

export interface MirrorProtocol extends CtxProtocol {
  name: string;
  description: string;
  /** 'sound', or the violation kinds it is known to produce. User plugins default to 'sound'. */
  expect?: Expectation;
  /** Per-mm state (one of each), per-subscription state, per-hmm_range state (one range per driver thread). */
  mmState?: StateSchema;
  subState?: StateSchema;
  rangeState?: StateSchema;
  /** Labels for ctx.note(i), rendered in witnesses. */
  notes?: readonly string[];
  /** Once, single-threaded, before any worker starts: initialise state words. */
  init?(ctx: Ctx): void;
  /**
   * invalidate_range_start for `inv` (inv.subs: the subscriptions it overlaps). Must leave no
   * device entry of the range valid when it returns true. May return false only when
   * !inv.blockable (it could not take a lock): then invalidateEnd is NOT called for it, so it
   * must undo whatever it did (the kernel's -EAGAIN path).
   */
  invalidateStart(ctx: Ctx, inv: Invalidation): boolean;
  /** invalidate_range_end: the CPU page table change is done. */
  invalidateEnd(ctx: Ctx, inv: Invalidation): void;
  /** The driver's device-fault path for `range` inside `sub`. */
  populate(ctx: Ctx, sub: Sub, range: HmmRange): PopulateResult;
  /** Optional: the driver re-registers a subscription (ODP umem add/remove, interval insert/remove). */
  subscriptionRemove?(ctx: Ctx, sub: Sub): void;
  subscriptionAdd?(ctx: Ctx, sub: Sub): void;
  /**
   * Optional: the mm core as a given kernel had it. `oomReaper`: 'nonblocking-notifier' (the
   * default, since 93065ac753e4: a non-blockable invalidate_range_start that may fail),
   * 'skip-if-notifiers' (4d4bbd8526a8: the reaper leaves an mm with notifiers alone),
   * 'unmap-without-notifier' (before it: the PTEs are zapped and the frames freed with no start/end).
   */
  mmOptions?: MmOptions;
  /** Optional: the event mix this protocol's scenario needs, used when the caller names none (--events wins). */
  events?: EventName[];
  /** Optional: the kernel commit this protocol reproduces (a bug) or is (a fix): `hmmsim list --history`. */
  history?: HistoryInfo;
}

/** Where a protocol comes from in the kernel's history. */
export interface HistoryInfo {
  /** The fixing commit's id (12 hex digits) and subject. */
  commit: string;
  subject: string;
  /** The kernel release the fix went into. */
  kernel: string;
  /** 'bug': the code before the commit; 'fix': after it. */
  side: 'bug' | 'fix';
  /** The protocol on the other side of the commit. */
  twin: string;
}

export const REQUIRED_METHODS = ['invalidateStart', 'invalidateEnd', 'populate'] as const;
