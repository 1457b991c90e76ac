/**
 * sites.ts — mutation sites and operators (docs/mutation.md).
 *
 * A site is one traced operation of a protocol, named by the callback it runs in, the state
 * field or ctx method it acts on, its class, and its call number within one run of that
 * callback: "populate: user_lock lock (1st)". Each reached site has exactly one operator, so a
 * site and its operator are one mutant.
 */
import type { OpClass } from '../model/hooks.js';

export const OPERATORS = [
  'skip-lock',
  'stale-read',
  'drop-write',
  'no-wait',
  'drop-zap',
  'drop-fence',
  'no-mmap-lock',
  'no-retry-check',
  'drop-release',
] as const;
export type Operator = (typeof OPERATORS)[number];

/** Where a mutation applies. */
export interface Site {
  /** The protocol callback: populate, invalidateStart, invalidateEnd, subscriptionRemove, subscriptionAdd. */
  callback: string;
  cls: OpClass;
  /** "mm.lock", "sub.invalidate_seq", "range.valid", or the ctx target (mmap_lock, zapDevice ...). */
  field: string;
  /**
   * Call number within one run of the callback, from 1, among this class of operations on the
   * same instance (one lock, one word, one subscription's zap, one device's fence).
   */
  n: number;
  /**
   * The lock whose failed trylock, earlier in the same run of the callback, every visit of the
   * discovery run followed (the site is on that -EAGAIN path only); absent otherwise. A mutant's
   * run holds that lock longer so that its trylock fails more often (mutate/hook.ts).
   */
  afterFailedTry?: string;
}

/** A site as the discovery run saw it. */
export interface SiteRecord extends Site {
  /** The methods seen there, '/'-separated (lock/trylock, add/or ...). */
  method: string;
  /** Times reached in the discovery run. */
  hits: number;
  /** Lowest position among the callback's traced operations (orders sites as in the source). */
  pos: number;
}

/** What a role thread is told (it travels in the RoleTask): find the sites, or apply one mutant. */
export type MutationTask = { discover: true } | { site: Site; operator: Operator };

/** What a role thread reports back. */
export interface MutationStats {
  sites: SiteRecord[];
  /** Times the mutant's operation was reached (and mutated). */
  fired: number;
  /** Times the mutation changed what the protocol saw (stale-read, no-wait, no-retry-check). */
  effective: number;
  /** Callback runs the mutation changed that were populate calls giving up ('retry' or an error) with no write, zap or program after it ... */
  retryOnly: number;
  /** ... and those that were not. */
  escaped: number;
}

const INVALIDATE = new Set(['invalidateStart', 'invalidateEnd']);

/** The operator for an operation, or null where none applies (releases, wake-ups, ...). */
export function operatorFor(callback: string, cls: OpClass, field: string): Operator | null {
  switch (cls) {
    case 'lock':
      if (field === 'mmap_lock') return callback === 'populate' ? 'no-mmap-lock' : null;
      return 'skip-lock';
    case 'unlock':
      if (field === 'mmap_lock') return callback === 'populate' ? 'drop-release' : null;
      return 'drop-release';
    case 'read':
      return 'stale-read';
    case 'write':
      return 'drop-write';
    case 'wait':
      return 'no-wait';
    case 'zap':
      return INVALIDATE.has(callback) ? 'drop-zap' : null;
    case 'fence':
      return INVALIDATE.has(callback) ? 'drop-fence' : null;
    case 'retry-check':
      return callback === 'populate' ? 'no-retry-check' : null;
    default:
      return null;
  }
}

/** 'lock' + 'trylock' -> 'lock/trylock' (each once). */
export const joinMethods = (a: string, b: string): string => [...new Set([...a.split('/'), ...b.split('/')])].join('/');

export const siteKey = (s: Site): string => `${s.callback}|${s.cls}|${s.field}|${s.n}`;

export const ordinal = (n: number): string => {
  const t = n % 100;
  const suffix = t >= 11 && t <= 13 ? 'th' : (['th', 'st', 'nd', 'rd'][n % 10] ?? 'th');
  return `${n}${suffix}`;
};

/**
 * A field's name as a reader knows it: the declared name alone, or with its scope ("sub.") when
 * the protocol declares that name in more than one scope.
 */
export function fieldName(field: string, ambiguous: ReadonlySet<string>): string {
  const dot = field.indexOf('.');
  if (dot < 0) return field;
  const bare = field.slice(dot + 1);
  return ambiguous.has(bare) ? field : bare;
}

/** "populate: skip-lock user_lock (1st)". */
export function describeSite(site: Site, operator: Operator, method: string, ambiguous: ReadonlySet<string>): string {
  const plain = method === 'lock' || method === 'mmap_read_lock' || site.cls !== 'lock';
  const what = plain ? ` (${ordinal(site.n)})` : ` (${ordinal(site.n)}, ${method})`;
  const target = site.cls === 'zap' || site.cls === 'fence' || site.cls === 'retry-check' ? '' : ` ${fieldName(site.field, ambiguous)}`;
  const op = site.cls === 'write' || site.cls === 'unlock' ? ` ${method}` : '';
  return `${site.callback}: ${operator}${target}${op}${what}`;
}

/** Declared names that appear in more than one scope (they are shown with their scope). */
export function ambiguousNames(schemas: { mmState?: object; subState?: object; rangeState?: object }): Set<string> {
  const seen = new Map<string, number>();
  for (const s of [schemas.mmState, schemas.subState, schemas.rangeState])
    for (const k of Object.keys(s ?? {})) seen.set(k, (seen.get(k) ?? 0) + 1);
  return new Set([...seen].filter(([, c]) => c > 1).map(([k]) => k));
}

/** The order callbacks are listed in; unknown ones after. */
const CALLBACK_ORDER = ['invalidateStart', 'invalidateEnd', 'populate', 'subscriptionRemove', 'subscriptionAdd'];

export function compareSites(a: SiteRecord, b: SiteRecord): number {
  const ca = CALLBACK_ORDER.indexOf(a.callback) >>> 0;
  const cb = CALLBACK_ORDER.indexOf(b.callback) >>> 0;
  if (ca !== cb) return ca - cb;
  if (a.callback !== b.callback) return a.callback < b.callback ? -1 : 1;
  if (a.pos !== b.pos) return a.pos - b.pos;
  return siteKey(a) < siteKey(b) ? -1 : siteKey(a) > siteKey(b) ? 1 : 0;
}

/** Merge the sites every thread reached (hits add up, the lowest position wins). */
export function mergeSites(lists: SiteRecord[][]): SiteRecord[] {
  const all = new Map<string, SiteRecord>();
  for (const list of lists)
    for (const s of list) {
      const k = siteKey(s);
      const had = all.get(k);
      if (!had) all.set(k, { ...s });
      else {
        had.hits += s.hits;
        had.method = joinMethods(had.method, s.method);
        had.pos = Math.min(had.pos, s.pos);
        if (had.afterFailedTry !== s.afterFailedTry) delete had.afterFailedTry;
      }
    }
  return [...all.values()].sort(compareSites);
}
