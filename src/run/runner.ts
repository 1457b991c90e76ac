/**
 * runner.ts — runStress: for each protocol, one fresh shared memory, every role on a piscina
 * worker at once, a monitor on the main thread (progress, deadline, op budget, watchdog), then
 * counters, verdicts and witnesses.
 */
import { Piscina } from 'piscina';
import { computeLayout, type LayoutConfig, LayoutError } from '../memory/layout.js';
import { loadModule } from '../memory/wasm-node.js';
import { importProtocol, isPath } from '../protocols/loader.js';
import { schemaLines, type HistoryInfo, type MirrorProtocol } from '../protocols/api.js';
import { pluginUrl } from '../config/plugin-path.js';
import { ALL_PROTOCOLS, BUILTIN_PROTOCOLS, HISTORY_PROTOCOLS, builtinUrl } from '../protocols/builtin.js';
import { ConfigError } from '../api/errors.js';
import { DEFAULTS, dealRoles } from '../config/defaults.js';
export { DEFAULTS, dealRoles };
import { VERSION } from '../api/version.js';
import { Session, verdictOf } from './session.js';
import { PluginError } from '../protocols/call.js';
import type { RoleResult } from './thread.js';
import {
  DEFAULT_EVENTS, EVENT_NAMES, ROLE_NAMES, type EventName, type Expectation, type ProtocolResult, type RoleName,
  type RunResult, type StressOptions,
} from '../api/types.js';

export { verdictOf };


export interface ProtocolInfo {
  name: string;
  expect: Expectation;
  description: string;
  /** The kernel commit a history protocol reproduces or is (absent for the others). */
  history?: HistoryInfo;
}

interface Loaded {
  spec: string;
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

async function resolveProtocols(spec: string | string[]): Promise<Loaded[]> {
  const specs = (Array.isArray(spec) ? spec : [spec]).flatMap((s) => (s === 'all' ? [...ALL_PROTOCOLS] : s === 'history' ? [...HISTORY_PROTOCOLS] : [s]));
  if (!specs.length) throw new ConfigError('no protocol given: use --protocol <name|path|all> (hmmsim list shows the names)');
  const out: Loaded[] = [];
  for (const s of specs) {
    if (isPath(s)) {
      const url = pluginUrl(s);
      out.push({ spec: s, url, where: s, proto: await importProtocol(url, s) });
    } else {
      if (!(BUILTIN_PROTOCOLS as readonly string[]).includes(s))
        throw new ConfigError(`unknown protocol '${s}': use one of ${BUILTIN_PROTOCOLS.join(', ')}, all, history, or a path to a plugin (.mjs)`);
      const url = builtinUrl(s);
      out.push({ spec: s, url, where: s, proto: await importProtocol(url, s) });
    }
  }
  return out;
}

function intOpt(name: string, v: number | undefined, def: number, min: number, max: number): number {
  if (v === undefined) return def;
  if (!Number.isInteger(v) || v < min || v > max) throw new ConfigError(`${name} must be an integer from ${min} to ${max} (got ${v})`);
  return v;
}


export async function runStress(opts: StressOptions): Promise<RunResult> {
  const durationMs = opts.ops !== undefined && opts.durationMs === undefined ? 24 * 3600_000 : intOpt('durationMs', opts.durationMs, DEFAULTS.durationMs, 1, 24 * 3600_000);
  const opsBudget = opts.ops === undefined ? Infinity : intOpt('ops', opts.ops, 0, 1, Number.MAX_SAFE_INTEGER);
  const threads = intOpt('threads', opts.threads, DEFAULTS.threads, 1, 128);
  const pages = intOpt('pages', opts.pages, DEFAULTS.pages, 64, 1 << 24);
  const devices = intOpt('devices', opts.devices, DEFAULTS.devices, 1, 64);
  const subsPerDevice = intOpt('subsPerDevice', opts.subsPerDevice, Math.min(DEFAULTS.subsPerDevice, pages / 64), 1, 1024);
  const watchdogMs = intOpt('watchdogMs', opts.watchdogMs, DEFAULTS.watchdogMs, 50, 3600_000);
  const seed = opts.seed === undefined ? (Math.random() * 2 ** 31) >>> 0 : intOpt('seed', opts.seed, 0, 0, 2 ** 32 - 1);
  const events: EventName[] = opts.events ?? DEFAULT_EVENTS;
  for (const e of events) if (!(EVENT_NAMES as readonly string[]).includes(e)) throw new ConfigError(`unknown event '${e}': use ${EVENT_NAMES.join(',')}`);
  if (!events.length) throw new ConfigError(`no events given: use some of ${EVENT_NAMES.join(',')}`);
  const roles = dealRoles(threads, opts.roles);
  for (const r of ROLE_NAMES) if (!roles.includes(r)) throw new ConfigError(`every role needs a thread (missing ${r}): use --threads 4 or more`);
  const loaded = await resolveProtocols(opts.protocol);
  const n = roles.length;
  // check the memory budget once, up front, with the largest protocol state
  const layoutFor = (p: MirrorProtocol): LayoutConfig => ({
    pages, devices, subsPerDevice, threads: n + 1, rangeMax: DEFAULTS.rangeMax, ringEntries: DEFAULTS.ringEntries,
    protoMmLines: Math.max(1, schemaLines(p.mmState)), protoSubLines: Math.max(1, schemaLines(p.subState)), protoRangeLines: Math.max(1, schemaLines(p.rangeState)),
  });
  for (const l of loaded) {
    try {
      computeLayout(layoutFor(l.proto));
    } catch (e) {
      if (e instanceof LayoutError) throw new ConfigError(e.message);
      throw e;
    }
  }
  const config = { durationMs: Number.isFinite(durationMs) && opts.ops === undefined ? durationMs : opts.durationMs ?? null, ops: opts.ops ?? null, threads: n, roles: Object.fromEntries(ROLE_NAMES.map((r) => [r, roles.filter((x) => x === r).length])), events, pages, devices, subsPerDevice, oracle: opts.oracle ?? true, recordEvents: opts.recordEvents ?? true, widenWindows: opts.widenWindows ?? true, watchdogMs };

  const pool = new Piscina({
    filename: new URL('./worker-entry.cjs', import.meta.url).href,
    minThreads: n,
    maxThreads: n,
    concurrentTasksPerWorker: 1,
    idleTimeout: 30_000,
  });
  const results: ProtocolResult[] = [];
  try {
    for (const l of loaded) {
      if (opts.signal?.aborted) break;
      // a protocol may name the event mix its scenario needs; an explicit --events wins
      const mix = opts.events ?? l.proto.events ?? events;
      results.push(await runOne(pool, l, layoutFor(l.proto), roles, { ...opts, durationMs, opsBudget, seed, events: mix, watchdogMs }));
    }
  } finally {
    await pool.destroy();
  }
  return { version: VERSION, seed, config, protocols: results };
}

interface RunOneOpts extends StressOptions {
  durationMs: number;
  opsBudget: number;
  seed: number;
  events: EventName[];
  watchdogMs: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function runOne(pool: Piscina, l: Loaded, layout: LayoutConfig, roles: RoleName[], o: RunOneOpts): Promise<ProtocolResult> {
  let s: Session;
  try {
    s = new Session({
      proto: l.proto, protocolUrl: l.url, protocolWhere: l.where, module: loadModule(), layout, roles, seed: o.seed, events: o.events,
      oracle: o.oracle ?? true, recordEvents: o.recordEvents ?? true, widen: o.widenWindows ?? true, stopOnViolation: o.stopOnViolation ?? false,
      lockTimeoutMs: DEFAULTS.lockTimeoutMs, sliceMs: DEFAULTS.sliceMs,
    });
  } catch (e) {
    const err = e as Error;
    const expect = l.proto.expect ?? 'sound';
    return {
      name: l.proto.name, description: l.proto.description, expect, verdict: 'fail', ops: 0, opsPerSec: 0, retries: 0, violations: {},
      firstViolationMs: null, witnesses: [], durationMs: 0, roleOps: {},
      error: { message: err.message, stack: err.stack, protocolMethod: e instanceof PluginError ? e.method : undefined },
    };
  }
  const ac = new AbortController();
  const settled: (RoleResult | Error | undefined)[] = Array.from({ length: s.n }, () => undefined);
  const promises = s.tasks.map((t, i) =>
    pool.run(t, { signal: ac.signal }).then(
      (r: RoleResult) => (settled[i] = r),
      (e: unknown) => (settled[i] = e instanceof Error ? e : new Error(String(e))),
    ),
  );
  const pending = () => settled.some((x) => x === undefined);

  // start barrier
  const barrierDeadline = Date.now() + 30_000;
  let harnessError: string | undefined;
  while (s.ready() < s.n) {
    if (!pending() || settled.some((x) => x !== undefined) || Date.now() > barrierDeadline) {
      if (Date.now() > barrierDeadline) harnessError = 'workers did not reach the start barrier within 30 s';
      break;
    }
    await sleep(2);
  }
  if (s.ready() === s.n && !settled.some((x) => x !== undefined)) s.go();
  else s.stop();

  // monitor: progress, deadline, op budget, violations, watchdog. A protocol expected to deadlock
  // or stall runs one watchdog bound longer: such a failure can only be judged after the bound.
  const expect = l.proto.expect ?? 'sound';
  const liveness = expect !== 'sound' && expect.violates.some((k) => k === 'deadlock' || k === 'stall');
  const durationMs = o.durationMs + (liveness ? o.watchdogMs : 0);
  let lastReport = 0;
  while (!s.stopped() && pending()) {
    await sleep(20);
    if (s.stopped()) break;
    if (s.watchdog(o.watchdogMs)) break;
    const elapsed = s.elapsedMs();
    const ops = s.ops();
    if (o.onProgress && elapsed - lastReport >= 100) {
      lastReport = elapsed;
      o.onProgress({ protocol: l.proto.name, elapsedMs: elapsed, durationMs, ops, opsPerSec: ops / (elapsed / 1000 || 1), retries: s.retries(), violations: s.violationTotal() });
    }
    if (o.signal?.aborted || (o.stopOnViolation && s.violationTotal() > 0)) break;
    if (elapsed >= durationMs || ops >= o.opsBudget) {
      // a thread already stuck a while at the deadline gets the watchdog's full bound to be judged
      if (s.stuckForMs() >= Math.min(250, o.watchdogMs / 4) && elapsed < durationMs + o.watchdogMs) continue;
      break;
    }
  }
  s.stop();
  const elapsedMs = s.elapsedMs();
  // every thread sees the stop flag within a wait slice; give them a bounded while, then kill
  const harnessDeadline = Date.now() + DEFAULTS.sliceMs * 20 + 5000;
  while (pending() && Date.now() < harnessDeadline) await sleep(10);
  const hung = settled.map((x, t) => (x === undefined ? t : -1)).filter((t) => t >= 0);
  if (hung.length) {
    ac.abort();
    await Promise.allSettled(promises);
    harnessError ??= `T${hung.join(', T')} did not stop within the harness timeout and were terminated`;
  }
  return s.summarize(settled, elapsedMs, harnessError);
}
