/**
 * runner.ts — runStress: for each protocol, one fresh shared memory, every role on a piscina
 * worker at once, a monitor on the main thread (progress, deadline, op budget, watchdog), then
 * counters, verdicts and witnesses.
 */
import { Piscina } from 'piscina';
import { computeLayout, type LayoutConfig, LayoutError } from '../memory/layout.js';
import { loadModule } from '../memory/wasm-node.js';
import { pathToFileURL } from 'node:url';
import { importProtocol } from '../protocols/loader.js';
import type { HistoryInfo, MirrorProtocol } from '../protocols/api.js';
import { resolveProtocols } from '../config/protocols.js';
import { LIMITS, withinLimit, type IntLimit } from '../config/limits.js';
import { ALL_PROTOCOLS, BUILTIN_PROTOCOLS, HISTORY_PROTOCOLS, builtinUrl } from '../protocols/builtin.js';
import { ConfigError } from '../api/errors.js';
import { DEFAULTS, dealRoles, protocolRoles } from '../config/defaults.js';
export { DEFAULTS, dealRoles };
import { VERSION } from '../api/version.js';
import { Session, layoutConfigFor, verdictOf } from './session.js';
import { runControlled } from '../schedule/run.js';
import { PluginError } from '../protocols/call.js';
import type { RoleResult } from './thread.js';
import { RunMonitor, type Settled } from './monitor.js';
import { schedTimes } from './schedstat.js';
import type { MutationStats, MutationTask } from '../mutate/sites.js';
import {
  DEFAULT_EVENTS,
  EVENT_NAMES,
  ROLE_NAMES,
  type EventName,
  type Expectation,
  type ProtocolResult,
  type RoleName,
  type RunResult,
  type StressOptions,
} from '../api/types.js';

export { verdictOf };

export interface ProtocolInfo {
  name: string;
  expect: Expectation;
  description: string;
  /** The kernel commit a history protocol reproduces or is (absent for the others). */
  history?: HistoryInfo;
}

export interface Loaded {
  url: string;
  where: string;
  proto: MirrorProtocol;
}

/** Built-in protocols with their expectations (loads each module once). */
export async function listProtocols(): Promise<ProtocolInfo[]> {
  const out: ProtocolInfo[] = [];
  for (const name of BUILTIN_PROTOCOLS) {
    const p = await importProtocol(builtinUrl(name), name);
    out.push({ name: p.name, expect: p.expect ?? 'sound', description: p.description, ...(p.history ? { history: p.history } : {}) });
  }
  return out;
}

/** Specs -> loaded protocol modules, in order ('all' expands to every built-in). */
async function loadProtocols(spec: string | string[]): Promise<Loaded[]> {
  const out: Loaded[] = [];
  for (const resolved of resolveProtocols(spec, BUILTIN_PROTOCOLS)) {
    if (resolved.kind === 'plugin') {
      const url = pathToFileURL(resolved.file).href;
      out.push({ url, where: resolved.spec, proto: await importProtocol(url, resolved.spec) });
      continue;
    }
    for (const name of resolved.kind === 'all' ? ALL_PROTOCOLS : resolved.kind === 'history' ? HISTORY_PROTOCOLS : [resolved.name]) {
      const url = builtinUrl(name);
      out.push({ url, where: name, proto: await importProtocol(url, name) });
    }
  }
  return out;
}

/** An option that is absent (the default) or an integer within its limit. */
function intOpt(name: string, value: number | undefined, fallback: number, limit: IntLimit): number {
  if (value === undefined) return fallback;
  if (!withinLimit(value, limit)) throw new ConfigError(`${name} must be an integer from ${limit.min} to ${limit.max} (got ${value})`);
  return value;
}

/** A run's validated settings: the protocols loaded, the roles dealt, the layout per protocol. */
export interface PreparedRun {
  loaded: Loaded[];
  roles: RoleName[];
  /** A protocol's own roles (MirrorProtocol.roles) when the caller gave no threads or roles, else `roles`. */
  rolesFor: (p: MirrorProtocol) => RoleName[];
  layoutFor: (p: MirrorProtocol, roleThreads?: number) => LayoutConfig;
  config: Record<string, unknown>;
  runOpts: RunOneOpts;
}

/** Validate `opts` (ConfigError with a one-line fix otherwise) and load the protocols. */
export async function prepareRun(opts: StressOptions): Promise<PreparedRun> {
  // --ops alone: no deadline but the longest one allowed
  const opsOnly = opts.ops !== undefined && opts.durationMs === undefined;
  const durationMs = opsOnly ? LIMITS.durationMs.max : intOpt('durationMs', opts.durationMs, DEFAULTS.durationMs, LIMITS.durationMs);
  const opsBudget = opts.ops === undefined ? Infinity : intOpt('ops', opts.ops, 0, LIMITS.ops);
  // role threads: whether every role has one is checked below, with a message that says so
  const threads = intOpt('threads', opts.threads, DEFAULTS.threads, { min: 1, max: LIMITS.threads.max });
  const pages = intOpt('pages', opts.pages, DEFAULTS.pages, LIMITS.pages);
  const devices = intOpt('devices', opts.devices, DEFAULTS.devices, LIMITS.devices);
  const defaultSubs = Math.min(DEFAULTS.subsPerDevice, pages / LIMITS.pages.multipleOf);
  const subsPerDevice = intOpt('subsPerDevice', opts.subsPerDevice, defaultSubs, LIMITS.subs);
  const watchdogMs = intOpt('watchdogMs', opts.watchdogMs, DEFAULTS.watchdogMs, LIMITS.watchdogMs);
  const deadlockMs = intOpt('deadlockMs', opts.deadlockMs, DEFAULTS.deadlockMs, LIMITS.deadlockMs);
  if (opts.ticketStart !== undefined && !(Number.isInteger(opts.ticketStart) && opts.ticketStart >= 0 && opts.ticketStart < 2 ** 52))
    throw new ConfigError(`ticketStart must be an integer from 0 to 2^52 (got ${opts.ticketStart})`);
  const seed = opts.seed === undefined ? (Math.random() * 2 ** 31) >>> 0 : intOpt('seed', opts.seed, 0, LIMITS.seed);
  const events: EventName[] = opts.events ?? DEFAULT_EVENTS;
  for (const e of events)
    if (!(EVENT_NAMES as readonly string[]).includes(e)) throw new ConfigError(`unknown event '${e}': use ${EVENT_NAMES.join(',')}`);
  if (!events.length) throw new ConfigError(`no events given: use some of ${EVENT_NAMES.join(',')}`);
  const roles = dealRoles(threads, opts.roles);
  for (const r of ROLE_NAMES)
    if (!roles.includes(r)) throw new ConfigError(`every role needs a thread (missing ${r}): use --threads 4 or more`);
  const loaded = await loadProtocols(opts.protocol);
  const n = roles.length;
  const rolesFor = (proto: MirrorProtocol): RoleName[] => (proto.roles ? protocolRoles(opts, proto.roles, threads) : roles);
  // check the memory budget once, up front, with the largest protocol state
  const layoutFor = (proto: MirrorProtocol, roleThreads = n): LayoutConfig =>
    layoutConfigFor(proto, { pages, devices, subsPerDevice, roleThreads });
  for (const protocol of loaded) {
    try {
      computeLayout(layoutFor(protocol.proto, rolesFor(protocol.proto).length));
    } catch (e) {
      if (e instanceof LayoutError) throw new ConfigError(e.message);
      throw e;
    }
  }
  const config = {
    durationMs: Number.isFinite(durationMs) && opts.ops === undefined ? durationMs : (opts.durationMs ?? null),
    ops: opts.ops ?? null,
    threads: n,
    roles: Object.fromEntries(ROLE_NAMES.map((r) => [r, roles.filter((x) => x === r).length])),
    events,
    pages,
    devices,
    subsPerDevice,
    oracle: opts.oracle ?? true,
    recordEvents: opts.recordEvents ?? true,
    widenWindows: opts.widenWindows ?? true,
    watchdogMs,
    deadlockMs,
  };
  return {
    loaded,
    roles,
    rolesFor,
    layoutFor,
    config,
    runOpts: { ...opts, durationMs, opsBudget, seed, events, eventsGiven: opts.events !== undefined, watchdogMs, deadlockMs },
  };
}

/** A pool with a worker for each of `threads` role threads (runs needing more wait for a free worker). */
export function createPool(threads: number): Piscina {
  return new Piscina({
    filename: new URL('./worker-entry.cjs', import.meta.url).href,
    minThreads: threads,
    maxThreads: threads,
    concurrentTasksPerWorker: 1,
    idleTimeout: 30_000,
  });
}

export async function runStress(opts: StressOptions): Promise<RunResult> {
  if (opts.mode === 'controlled') return runControlled(opts);
  if (opts.mode !== undefined && opts.mode !== 'free') throw new ConfigError(`unknown mode '${opts.mode}': use free or controlled`);
  const { loaded, rolesFor, layoutFor, config, runOpts } = await prepareRun(opts);
  const pool = createPool(Math.max(...loaded.map((l) => rolesFor(l.proto).length)));
  const results: ProtocolResult[] = [];
  try {
    for (const protocol of loaded) {
      if (opts.signal?.aborted) break;
      const roles = rolesFor(protocol.proto);
      results.push((await runOne(pool, protocol, layoutFor(protocol.proto, roles.length), roles, runOpts)).result);
    }
  } finally {
    await pool.destroy();
  }
  return { version: VERSION, seed: runOpts.seed, config, protocols: results };
}

export interface RunOneOpts extends StressOptions {
  durationMs: number;
  opsBudget: number;
  seed: number;
  events: EventName[];
  /** The caller named the events: a protocol's own mix (MirrorProtocol.events) applies only when not. */
  eventsGiven?: boolean;
  watchdogMs: number;
  deadlockMs: number;
}

/** The stress flags that repeat one protocol's run: its spec (a plugin's path) and every flag that
 *  differs from the default (the seed is added by whoever prints the line). */
export function rerunFlags(where: string, o: StressOptions & { eventsGiven?: boolean }): string {
  const q = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
  const ms = (n: number) => (n % 1000 === 0 ? `${n / 1000}s` : `${n}ms`);
  const parts = [`--protocol ${q(where)}`];
  const opsOnly = o.ops !== undefined && o.durationMs === LIMITS.durationMs.max;
  if (o.durationMs !== undefined && o.durationMs !== DEFAULTS.durationMs && !opsOnly) parts.push(`--duration ${ms(o.durationMs)}`);
  if (o.ops !== undefined) parts.push(`--ops ${o.ops}`);
  if (o.threads !== undefined && o.threads !== DEFAULTS.threads) parts.push(`--threads ${o.threads}`);
  if (o.events && o.eventsGiven !== false && o.events.join(',') !== DEFAULT_EVENTS.join(',')) parts.push(`--events ${o.events.join(',')}`);
  if (o.pages !== undefined && o.pages !== DEFAULTS.pages) parts.push(`--pages ${o.pages}`);
  if (o.devices !== undefined && o.devices !== DEFAULTS.devices) parts.push(`--devices ${o.devices}`);
  if (o.subsPerDevice !== undefined && o.subsPerDevice !== DEFAULTS.subsPerDevice) parts.push(`--subs ${o.subsPerDevice}`);
  if (o.watchdogMs !== undefined && o.watchdogMs !== DEFAULTS.watchdogMs) parts.push(`--watchdog ${ms(o.watchdogMs)}`);
  if (o.deadlockMs !== undefined && o.deadlockMs !== DEFAULTS.deadlockMs) parts.push(`--deadlock ${ms(o.deadlockMs)}`);
  if (o.widenWindows === false) parts.push('--no-widen');
  return parts.join(' ');
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** How often the monitor polls, by phase (ms): the barrier is short, a run long. */
const POLL_MS = { starting: 2, running: 5, stopping: 10, done: 0 } as const;

/** One protocol's run; `mutation` (docs/mutation.md) goes to every role thread and each one's stats come back. */
export async function runOne(
  pool: Piscina,
  protocol: Loaded,
  layout: LayoutConfig,
  roles: RoleName[],
  options: RunOneOpts,
  mutation?: MutationTask,
): Promise<{ result: ProtocolResult; mutation: MutationStats[] }> {
  const proto = protocol.proto;
  let session: Session;
  try {
    session = new Session({
      proto,
      protocolUrl: protocol.url,
      protocolWhere: protocol.where,
      module: loadModule(),
      layout,
      roles,
      seed: options.seed,
      events: (!options.eventsGiven && proto.events) || options.events,
      oracle: options.oracle ?? true,
      recordEvents: options.recordEvents ?? true,
      widen: options.widenWindows ?? true,
      stopOnViolation: options.stopOnViolation ?? false,
      ...(options.latestWitnessMs ? { latestWitnessMs: options.latestWitnessMs } : {}),
      ...(options.ticketStart ? { ticketStart: options.ticketStart } : {}),
      lockTimeoutMs: DEFAULTS.lockTimeoutMs,
      sliceMs: DEFAULTS.sliceMs,
      deadlockMs: options.deadlockMs,
      rerun: rerunFlags(protocol.where, options),
      schedTimes,
      mutation,
    });
  } catch (e) {
    const err = e as Error;
    const result: ProtocolResult = {
      name: proto.name,
      description: proto.description,
      expect: proto.expect ?? 'sound',
      verdict: 'fail',
      ops: 0,
      opsPerSec: 0,
      retries: 0,
      violations: {},
      firstViolationMs: null,
      witnesses: [],
      durationMs: 0,
      roleOps: {},
      error: { message: err.message, stack: err.stack, protocolMethod: e instanceof PluginError ? e.method : undefined },
    };
    return { result, mutation: [] };
  }
  const abort = new AbortController();
  const settled: Settled[] = Array.from({ length: session.n }, () => undefined);
  const promises = session.tasks.map((task, i) =>
    pool.run(task, { signal: abort.signal }).then(
      (r: RoleResult) => (settled[i] = r),
      (e: unknown) => (settled[i] = e instanceof Error ? e : new Error(String(e))),
    ),
  );
  const monitor = new RunMonitor(session, settled, {
    durationMs: options.durationMs,
    opsBudget: options.opsBudget,
    watchdogMs: options.watchdogMs,
    stopOnViolation: options.stopOnViolation ?? false,
    barrierMs: DEFAULTS.barrierMs,
    sliceMs: DEFAULTS.sliceMs,
    expect: proto.expect ?? 'sound',
  });
  let lastReport = 0;
  while (monitor.poll() !== 'done') {
    if (monitor.phase === 'running') {
      if (options.signal?.aborted) monitor.stop();
      const elapsed = session.elapsedMs();
      if (options.onProgress && elapsed - lastReport >= 100) {
        lastReport = elapsed;
        const ops = session.ops();
        options.onProgress({
          protocol: proto.name,
          elapsedMs: elapsed,
          durationMs: monitor.durationMs,
          ops,
          opsPerSec: ops / (elapsed / 1000 || 1),
          retries: session.retries(),
          violations: session.violationTotal(),
          events: session.eventsRecorded(),
        });
      }
    }
    await sleep(POLL_MS[monitor.phase]);
  }
  const hung = monitor.hung();
  if (hung.length) {
    abort.abort(); // terminates the workers that did not stop
    await Promise.allSettled(promises);
    // a callback the liveness witness names never returned: its thread's end is no crash
    for (const t of hung) if (session.livenessThreads.includes(t)) settled[t] = undefined;
  }
  const stats = settled.flatMap((r) => (r && !(r instanceof Error) && r.mutation ? [r.mutation] : []));
  return { result: session.summarize(settled, monitor.elapsedMs, monitor.harnessError), mutation: stats };
}
