/**
 * api.ts — the plugin API every protocol is written against (built-in ones, the broken zoo,
 * and users' files). loader.ts loads and validates a protocol module.
 *
 * A protocol is an ES module whose default export is a MirrorProtocol. It keeps all of its
 * shared state in the words and locks it declares (mmState / subState / rangeState) and touches
 * the model only through `ctx` (model/ctx.ts): that keeps the oracle honest.
 */
import type { Ctx, CtxProtocol } from '../model/ctx.js';

export { FIELD_TYPES, schemaLines, type FieldType, type StateSchema } from '../model/state.js';
export type { MmOptions, MirrorCallbacks } from './callbacks.js';
export type { PopulateResult } from '../model/range.js';
import type { EventName, Expectation, RoleName } from '../api/types.js';

/**
 * A protocol: the notifier callbacks (contracts in callbacks.ts), the state it declares
 * (mmState per mm, subState per subscription, rangeState per hmm_range: model/state.ts), mm options,
 * and what describes it.
 */
export interface MirrorProtocol extends CtxProtocol {
  name: string;
  description: string;
  /** 'sound', or the violation kinds it is known to produce. User plugins default to 'sound'. */
  expect?: Expectation;
  /** Labels for ctx.note(i), rendered in witnesses. */
  notes?: readonly string[];
  /** Once, single-threaded, before any worker starts: initialise state words. */
  init?(ctx: Ctx): void;
  /** Optional: the event mix this protocol's scenario needs, used when the caller names none (--events wins). */
  events?: EventName[];
  /**
   * Optional: the role threads this protocol's scenario needs (say two driver threads, validators
   * racing over one buffer object), used in free-running runs when the caller gives neither
   * threads nor roles (--threads wins). Every role needs at least one thread.
   */
  roles?: Partial<Record<RoleName, number>>;
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
