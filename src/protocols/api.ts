/**
 * protocol.ts — the plugin API every protocol is written against (built-in ones, the broken
 * zoo, and users' files), and loading/validating a protocol module.
 *
 * A protocol is an ES module whose default export is a MirrorProtocol. It keeps all of its
 * shared state in the words and locks it declares (mmState / subState / rangeState) and touches
 * the model only through `ctx` (src/ctx.ts): that keeps the oracle honest.
 */
import type { Ctx, Sub, HmmRange, Invalidation } from '../model/ctx.js';
import type { Expectation } from '../api/types.js';
import { VIOLATION_KINDS } from '../memory/layout.js';
import { ConfigError } from '../api/errors.js';

/** What a declared state field is. Each field gets its own 64-byte line. */
export type FieldType = 'word' | 'mutex' | 'rwsem' | 'seqcount' | 'waitqueue' | 'completion';
export type StateSchema = Record<string, FieldType>;

/** What populate returns: done, try again (counted as a retry), or a negative errno. */
export type PopulateResult = 'ok' | 'retry' | number;

export interface MirrorProtocol {
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
}

export const REQUIRED_METHODS = ['invalidateStart', 'invalidateEnd', 'populate'] as const;
export const FIELD_TYPES: FieldType[] = ['word', 'mutex', 'rwsem', 'seqcount', 'waitqueue', 'completion'];

/** Check a module's default export; throws ConfigError naming the protocol and what is wrong. */
export function validateProtocol(p: unknown, where: string): MirrorProtocol {
  if (!p || typeof p !== 'object') throw new ConfigError(`${where}: has no default export object: export default { name, invalidateStart, invalidateEnd, populate }`);
  const proto = p as Partial<MirrorProtocol>;
  const name = typeof proto.name === 'string' && proto.name ? proto.name : where;
  if (typeof proto.name !== 'string' || !proto.name) throw new ConfigError(`${where}: protocol has no name (add name: '...')`);
  for (const m of REQUIRED_METHODS)
    if (typeof proto[m] !== 'function') throw new ConfigError(`protocol ${name} (${where}) lacks method ${m}(): see the plugin API in the README`);
  for (const scope of ['mmState', 'subState', 'rangeState'] as const) {
    const s = proto[scope];
    if (s === undefined) continue;
    if (typeof s !== 'object' || s === null) throw new ConfigError(`protocol ${name}: ${scope} must be an object of field: type`);
    for (const [k, t] of Object.entries(s))
      if (!FIELD_TYPES.includes(t)) throw new ConfigError(`protocol ${name}: ${scope}.${k} has unknown type '${t}' (use ${FIELD_TYPES.join(', ')})`);
  }
  const e = proto.expect;
  if (e !== undefined && e !== 'sound') {
    if (typeof e !== 'object' || !Array.isArray(e.violates) || e.violates.some((k) => !(VIOLATION_KINDS as readonly string[]).includes(k)))
      throw new ConfigError(`protocol ${name}: expect must be 'sound' or { violates: [${VIOLATION_KINDS.join(', ')}] }`);
  }
  return { description: '', ...proto, expect: e ?? 'sound' } as MirrorProtocol;
}

/** Lines of state a schema needs. */
export const schemaLines = (s: StateSchema | undefined): number => (s ? Object.keys(s).length : 0);

/** Is this protocol spec a path (as opposed to a built-in name)? */
export const isPath = (spec: string): boolean => /[\\/]/.test(spec) || /\.(m?js|ts)$/.test(spec);


/** Import a protocol module by URL and validate its default export. */
export async function importProtocol(url: string, where: string): Promise<MirrorProtocol> {
  let mod: { default?: unknown };
  try {
    mod = await import(url);
  } catch (err) {
    throw new ConfigError(`protocol ${where} could not be loaded: ${(err as Error).message.split('\n')[0]}`);
  }
  return validateProtocol(mod.default, where);
}
