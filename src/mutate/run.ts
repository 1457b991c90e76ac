/**
 * run.ts — mutate(): mutation testing of one protocol (docs/mutation.md).
 *
 * 1. A discovery run of the unmutated protocol (the same workload as every mutant) finds the
 *    sites its callbacks reach; it must pass, or there is nothing to measure.
 * 2. Each reached site, with its operator, is one mutant, run under the same seed and options,
 *    stopping at its first violation: killed (a violation, or a lock wait that timed out),
 *    survived (a clean run), or error (the harness failed).
 * 3. A survivor that an equivalence rule recognises from its run's counts is `equivalent`
 *    instead (equivalenceOf below; docs/mutation.md, "Equivalent mutants").
 * 4. The score is killed / (killed + survived): equivalent mutants and errors are left out.
 *
 * The workload is the stress workload with two invalidators and two drivers (MUTATE_ROLES) unless
 * the caller names threads or roles, and 32-page intervals (MUTATE_SUBS_PER_DEVICE) unless the
 * caller names subscriptions or fewer pages: concurrent invalidations, invalidations spanning two
 * intervals, and faults concurrent with another driver's umem add/remove open windows that one
 * thread per role and 64-page intervals rarely do.
 */
import { availableParallelism } from 'node:os';
import { ConfigError } from '../api/errors.js';
import { VERSION } from '../api/version.js';
import { DEFAULT_EVENTS, type EventName, type ProtocolResult, type RoleName, type StressOptions } from '../api/types.js';
import { createPool, prepareRun, runOne } from '../run/runner.js';
import { ambiguousNames, describeSite, mergeSites, operatorFor, type Operator, type Site, type SiteRecord } from './sites.js';

export interface MutateOptions extends Omit<StressOptions, 'protocol' | 'ops' | 'stopOnViolation' | 'onProgress' | 'durationMs'> {
  /** One built-in name or a path to a plugin module. */
  protocol: string;
  /** Each mutant's run lasts at most this long (default 3000 ms). */
  durationMs?: number;
  /** The discovery run's length (default durationMs): shorter finds fewer rarely reached sites. */
  discoveryMs?: number;
  /** Mutants run at once (default: as many as the cores hold, one thread per role each). */
  jobs?: number;
  /** Run only the mutants whose description contains this text ("populate", "skip-lock user_lock"). */
  only?: string;
  /** Called when the discovery run ends, and as each mutant's run ends. */
  onMutant?: (m: MutantResult, done: number, total: number) => void;
  onDiscovered?: (baseline: MutationBaseline) => void;
}

export type MutantOutcome = 'killed' | 'survived' | 'equivalent' | 'error';

/** mutate()'s role threads when the caller names neither threads nor roles. */
export const MUTATE_ROLES: Partial<Record<RoleName, number>> = { invalidator: 2, driver: 2, dma: 1, cpu: 1 };
/** mutate()'s subscriptions per device unless given: 32-page intervals, so that more
 *  invalidations span two of them (the second zap and fence of one invalidation). */
export const MUTATE_SUBS_PER_DEVICE = 8;

/**
 * mutate()'s invalidation mix unless the caller names events (or the protocol has its own mix):
 * the default events with the OOM reaper's non-blockable invalidations weighted up to 4 in 10
 * (an invalidator picks uniformly from this list), so that the -EAGAIN path, where a reaper's
 * trylock finds a lock held, is reached hundreds of times a run, not a few dozen.
 */
export const MUTATE_OOM_WEIGHT = 4;
export const MUTATE_EVENTS: EventName[] = [...DEFAULT_EVENTS, ...Array<EventName>(MUTATE_OOM_WEIGHT - 1).fill('oom')];

/** The equivalence rule "never differed" needs at least this many reaches of the mutated read ... */
export const NEVER_DIFFERED_MIN_REACHED = 1000;
/** ... and "retry only" at least this many calls the mutation changed. */
export const RETRY_ONLY_MIN_CHANGED = 10;

/** What a mutant's run exercised: a survivor's coverage tells "not needed" from "not exercised". */
export interface MutantCoverage {
  /** Times the mutated operation was reached (0: the run never got there). */
  fired: number;
  /** Times the mutation changed what the protocol saw (stale-read: the word had moved; no-wait:
   *  the wait would have blocked; no-retry-check: the check would have failed). Other operators: fired. */
  effective: number;
  /** Of the callback runs the mutation changed: populate calls that only gave up (returned 'retry'
   *  or an error, with no write, zap or device program after the change). */
  retryOnly: number;
  ops: number;
  retries: number;
  /** The run's race-window coverage, when the runner reports one. */
  coverage?: unknown;
}

export interface MutantResult {
  /** 1-based, in site order. */
  id: number;
  operator: Operator;
  site: Site & { method: string };
  /** "populate: skip-lock user_lock (1st)". */
  description: string;
  outcome: MutantOutcome;
  /** Violation kinds seen (or "lock-timeout", or "protocol-error": the protocol threw). */
  kinds: string[];
  /** ms from the run's start to the first violation (killed), else null. */
  killMs: number | null;
  durationMs: number;
  coverage: MutantCoverage;
  /** The harness failure, for outcome "error"; or what the protocol threw / which lock timed out. */
  error?: string;
  /** The first witness's text, for a killed mutant. */
  witness?: string;
  /** outcome "equivalent": the rule that recognised it, in words. */
  equivalence?: string;
}

export interface MutationBaseline {
  verdict: ProtocolResult['verdict'];
  ops: number;
  retries: number;
  violations: ProtocolResult['violations'];
  durationMs: number;
  error?: string;
  /** Sites reached, with how often (each one mutant). */
  sites: (SiteRecord & { operator: Operator; description: string })[];
}

export interface MutationReport {
  version: string;
  protocol: string;
  seed: number;
  config: Record<string, unknown>;
  jobs: number;
  baseline: MutationBaseline;
  mutants: MutantResult[];
  killed: number;
  survived: number;
  errors: number;
  /** Survivors an equivalence rule recognised (outside the score). */
  equivalent: number;
  /** killed / (killed + survived), or null when there is no such mutant. */
  score: number | null;
  /** Wall time of the whole run (discovery included). */
  wallMs: number;
}

/** Run every mutant of `opts.protocol` under one workload; see the file comment. */
export async function mutate(opts: MutateOptions): Promise<MutationReport> {
  if (typeof opts.protocol !== 'string' || opts.protocol === 'all' || opts.protocol.includes(','))
    throw new ConfigError(`mutate takes one protocol: --protocol <name|path> (got ${JSON.stringify(opts.protocol)})`);
  const t0 = performance.now();
  const roles0 = opts.roles ?? (opts.threads === undefined ? MUTATE_ROLES : undefined);
  const subsPerDevice = opts.subsPerDevice ?? (opts.pages === undefined || opts.pages >= 256 ? MUTATE_SUBS_PER_DEVICE : undefined);
  const workload = { ...(roles0 ? { roles: roles0 } : {}), ...(subsPerDevice !== undefined ? { subsPerDevice } : {}) };
  const prepared = await prepareRun({ ...opts, ...workload, stopOnViolation: false });
  const { loaded, roles, layoutFor, config } = prepared;
  // an OOM-heavy mix unless the caller named events, with the events a protocol's own mix adds to the
  // defaults and, for a protocol that can remove and re-create its subscriptions, subscriptions that
  // come and go; a protocol's own mix that leaves out a default event is a scenario of its own: it wins
  const own = loaded[0].proto.events;
  const scenario = own !== undefined && !DEFAULT_EVENTS.every((e) => own.includes(e));
  const extra = new Set<EventName>((own ?? []).filter((e) => !DEFAULT_EVENTS.includes(e)));
  if (loaded[0].proto.intervalRemove) extra.add('interval');
  const mix: EventName[] = [...MUTATE_EVENTS, ...extra];
  const runOpts = opts.events === undefined && !scenario ? { ...prepared.runOpts, events: mix, eventsGiven: true } : prepared.runOpts;
  const l = loaded[0];
  const layout = layoutFor(l.proto);
  const jobs = opts.jobs ?? Math.max(1, Math.floor(availableParallelism() / roles.length));
  if (!Number.isInteger(jobs) || jobs < 1 || jobs > 64) throw new ConfigError(`jobs must be an integer from 1 to 64 (got ${jobs})`);
  const ambiguous = ambiguousNames(l.proto);
  const pool = createPool(roles.length * jobs);
  try {
    const discoveryMs = opts.discoveryMs ?? runOpts.durationMs;
    if (!Number.isInteger(discoveryMs) || discoveryMs < 1)
      throw new ConfigError(`discoveryMs must be a whole number of ms >= 1 (got ${discoveryMs})`);
    const discovery = await runOne(pool, l, layout, roles, { ...runOpts, durationMs: discoveryMs }, { discover: true });
    const sites = mergeSites(discovery.mutation.map((m) => m.sites)).flatMap((s) => {
      const operator = operatorFor(s.callback, s.cls, s.field);
      return operator ? [{ ...s, operator, description: describeSite(s, operator, s.method, ambiguous) }] : [];
    });
    const chosen = opts.only === undefined ? sites : sites.filter((s) => s.description.includes(opts.only!));
    const b = discovery.result;
    const baseline: MutationBaseline = {
      verdict: b.verdict,
      ops: b.ops,
      retries: b.retries,
      violations: b.violations,
      durationMs: b.durationMs,
      sites,
      ...(b.error ? { error: b.error.message } : {}),
    };
    opts.onDiscovered?.(baseline);
    const mutants: MutantResult[] = [];
    if (b.verdict !== 'fail') {
      // clean (pass, or inconclusive: a race window missed)
      let next = 0;
      let done = 0;
      const worker = async () => {
        while (next < chosen.length && !opts.signal?.aborted) {
          const i = next++;
          const s = chosen[i];
          const site: Site = { callback: s.callback, cls: s.cls, field: s.field, n: s.n };
          if (s.afterFailedTry !== undefined) site.afterFailedTry = s.afterFailedTry;
          const run = await runOne(pool, l, layout, roles, { ...runOpts, stopOnViolation: true }, { site, operator: s.operator });
          const sum = (k: 'fired' | 'effective' | 'retryOnly' | 'escaped') => run.mutation.reduce((a, x) => a + x[k], 0);
          const reread = sites.some((x) => x.callback === s.callback && x.cls === 'read' && x.field === s.field && x.n > s.n);
          const m = judge(sites.indexOf(s) + 1, s, s.description, run.result, {
            reread,
            fired: sum('fired'),
            effective: sum('effective'),
            retryOnly: sum('retryOnly'),
            escaped: sum('escaped'),
            durationMs: runOpts.durationMs,
            aborted: opts.signal?.aborted === true,
          });
          mutants[i] = m;
          opts.onMutant?.(m, ++done, chosen.length);
        }
      };
      await Promise.all(Array.from({ length: Math.min(jobs, Math.max(1, chosen.length)) }, worker));
    }
    const list = mutants.filter((m) => m !== undefined);
    const killed = list.filter((m) => m.outcome === 'killed').length;
    const survived = list.filter((m) => m.outcome === 'survived').length;
    const equivalent = list.filter((m) => m.outcome === 'equivalent').length;
    return {
      version: VERSION,
      protocol: l.proto.name,
      seed: runOpts.seed,
      jobs,
      baseline,
      config: { ...config, events: runOpts.events, durationMsPerMutant: runOpts.durationMs },
      mutants: list,
      killed,
      survived,
      errors: list.length - killed - survived - equivalent,
      equivalent,
      score: killed + survived > 0 ? killed / (killed + survived) : null,
      wallMs: Math.round(performance.now() - t0),
    };
  } finally {
    await pool.destroy();
  }
}

export interface RunCounts {
  fired: number;
  effective: number;
  retryOnly: number;
  escaped: number;
  /** stale-read: the discovery run saw the callback read the same word again after this read. */
  reread?: boolean;
  /** The run's duration, and whether the caller stopped the whole mutate run meanwhile. */
  durationMs?: number;
  aborted?: boolean;
}

/** A clean run that ended before this share of its duration did not run its course: not a survivor. */
const SHORT_RUN = 0.9;

/** Operators whose change a run can tell apart from no change (the hook counts it). */
const MEASURED = new Set<Operator>(['stale-read', 'no-wait', 'no-retry-check']);

/**
 * The equivalence rules (docs/mutation.md, "Equivalent mutants"), applied to a survivor's own run:
 *   never differed  a stale read reached at least NEVER_DIFFERED_MIN_REACHED times (with the
 *                   callback's start widened) always found the word as the callback began: the
 *                   mutant read what the protocol reads
 *   retry only      at least RETRY_ONLY_MIN_CHANGED callback runs' view was changed by the mutation,
 *                   and every one was a populate call that gave up (returned 'retry' or an error)
 *                   and wrote no protocol word, zapped nothing and programmed nothing after the
 *                   change: the mutant can only make a fault fail or retry (which a fault may
 *                   always do), never map. A stale read qualifies only as a snapshot: the discovery
 *                   run saw the same callback read that word again later (the re-read is what
 *                   validates it; a check's only read, stale, may pass where it must not)
 * Null when neither applies.
 */
export function equivalenceOf(operator: Operator, c: RunCounts): string | null {
  if (!MEASURED.has(operator)) return null;
  if (operator === 'stale-read' && c.effective === 0 && c.fired >= NEVER_DIFFERED_MIN_REACHED)
    return `never differed: reached ${c.fired.toLocaleString('en-US')} times, the word always held its value from the callback's start`;
  if (operator === 'stale-read' && !c.reread) return null;
  if (c.escaped === 0 && c.retryOnly >= RETRY_ONLY_MIN_CHANGED)
    return `retry only: each of the ${c.retryOnly.toLocaleString('en-US')} populate calls the mutation changed gave up (retry or error) with no write, zap or device update after it`;
  return null;
}

/**
 * A mutant's outcome from its run: killed (a violation; a lock wait that timed out; the protocol
 * threw), error (the harness failed, or the run could not be judged: it ended clean too soon, or
 * with no progress the watchdog left unjudged), equivalent (a survivor an equivalence rule
 * recognises), else survived.
 */
export function judge(
  id: number,
  s: SiteRecord & { operator: Operator },
  description: string,
  r: ProtocolResult,
  c: RunCounts,
): MutantResult {
  const kinds: string[] = Object.entries(r.violations)
    .filter(([, n]) => (n ?? 0) > 0)
    .map(([k]) => k);
  let outcome: MutantOutcome = kinds.length ? 'killed' : 'survived';
  let error: string | undefined;
  if (r.error) {
    error = r.error.message;
    // the mutant made a lock wait time out, or made the protocol throw: killed; anything else is the harness
    if (r.error.lockTimeout) kinds.push('lock-timeout');
    else if (r.error.protocolMethod) kinds.push('protocol-error');
    outcome = kinds.length ? 'killed' : 'error';
  }
  // a run that ended clean before its time, and not because the caller stopped it, proves nothing:
  // the harness's (seen once: 186 ms of a 3 s run, no violation, no error; not reproduced)
  if (outcome === 'survived' && !c.aborted && c.durationMs !== undefined && r.durationMs < SHORT_RUN * c.durationMs) {
    outcome = 'error';
    error = `the run ended clean after ${Math.round(r.durationMs)} ms of ${c.durationMs} ms`;
  }
  // a stall the watchdog left unjudged (a thread the stuck one waited on was starved of CPU when the
  // run ended) is no clean run either: the oracle could not decide (RunResult starvation.unjudged)
  if (outcome === 'survived' && r.starvation?.unjudged) {
    outcome = 'error';
    error = `no progress left unjudged when the run ended: ${r.starvation.unjudged}`;
  }
  const extra = (r as ProtocolResult & { coverage?: unknown }).coverage;
  const equivalence = outcome === 'survived' ? equivalenceOf(s.operator, c) : null;
  if (equivalence !== null) outcome = 'equivalent';
  const { fired } = c;
  const effective = MEASURED.has(s.operator) ? c.effective : fired;
  return {
    id,
    operator: s.operator,
    description,
    outcome,
    kinds,
    site: { callback: s.callback, cls: s.cls, field: s.field, n: s.n, method: s.method },
    killMs: outcome === 'killed' ? (r.firstViolationMs ?? r.durationMs) : null,
    durationMs: r.durationMs,
    coverage: {
      fired,
      effective,
      retryOnly: c.retryOnly,
      ops: r.ops,
      retries: r.retries,
      ...(extra !== undefined ? { coverage: extra } : {}),
    },
    ...(error ? { error } : {}),
    ...(equivalence !== null ? { equivalence } : {}),
    ...(outcome === 'killed' && r.witnesses[0] ? { witness: r.witnesses[0].text } : {}),
  };
}
