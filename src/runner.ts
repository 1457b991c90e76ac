/**
 * runner.ts — runStress: for each protocol, one fresh shared memory, every role on a piscina
 * worker at once, a monitor on the main thread (progress, deadline, op budget, watchdog), then
 * counters, verdicts and witnesses.
 */
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { L, computeLayout, writeHeader, VIOLATION_KINDS, type Layout, type ViolationKind, type LayoutConfig, LayoutError } from './layout.js';
import { instantiate, createSharedMemory } from './wasm.js';
import { loadModule } from './wasm-node.js';
import { Ctx } from './ctx.js';
import { ROLE_CODES, type RenderNames } from './events.js';
import { importProtocol, isPath, pluginUrl, schemaLines, type MirrorProtocol } from './protocol.js';
import { BUILTIN_PROTOCOLS, builtinUrl } from './protocols/index.js';
import { renderWitness } from './witness.js';
import { livenessWitness } from './watchdog.js';
import { ConfigError } from './errors.js';
import { VERSION } from './version.js';
import { epochNow } from './oracle.js';
import type { RoleTask, RoleResult } from './worker.js';
import {
  DEFAULT_EVENTS, EVENT_NAMES, ROLE_NAMES, type EventName, type Expectation, type ProtocolResult, type RoleName,
  type RunResult, type StressOptions, type Witness,
} from './types.js';

export const DEFAULTS = {
  durationMs: 3000,
  threads: 4,
  pages: 256,
  devices: 1,
  subsPerDevice: 4,
  watchdogMs: 2000,
  rangeMax: 64,
  ringEntries: 4096,
  lockTimeoutMs: 15000,
  sliceMs: 100,
};

export interface ProtocolInfo {
  name: string;
  expect: Expectation;
  description: string;
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
    out.push({ name: p.name, expect: p.expect ?? 'sound', description: p.description });
  }
  return out;
}

async function resolveProtocols(spec: string | string[]): Promise<Loaded[]> {
  const specs = (Array.isArray(spec) ? spec : [spec]).flatMap((s) => (s === 'all' ? [...BUILTIN_PROTOCOLS] : [s]));
  if (!specs.length) throw new ConfigError('no protocol given: use --protocol <name|path|all> (hmmsim list shows the names)');
  const out: Loaded[] = [];
  for (const s of specs) {
    if (isPath(s)) {
      const url = pluginUrl(s);
      out.push({ spec: s, url, where: s, proto: await importProtocol(url, s) });
    } else {
      if (!(BUILTIN_PROTOCOLS as readonly string[]).includes(s))
        throw new ConfigError(`unknown protocol '${s}': use one of ${BUILTIN_PROTOCOLS.join(', ')}, all, or a path to a plugin (.mjs)`);
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

/** Deal roles to threads: one of each first, then round-robin. */
export function dealRoles(threads: number, roles?: Partial<Record<RoleName, number>>): RoleName[] {
  if (roles) {
    const out: RoleName[] = [];
    for (const r of ROLE_NAMES) for (let i = 0; i < (roles[r] ?? 0); i++) out.push(r);
    return out;
  }
  const order: RoleName[] = ['invalidator', 'driver', 'dma', 'cpu'];
  return Array.from({ length: threads }, (_, i) => order[i % order.length]);
}

/** Sound: no violation. Broken: at least one declared kind, and nothing undeclared. */
export function verdictOf(expect: Expectation, violations: Partial<Record<ViolationKind, number>>, error?: unknown): 'pass' | 'fail' {
  if (error) return 'fail';
  const seen = (Object.keys(violations) as ViolationKind[]).filter((k) => (violations[k] ?? 0) > 0);
  if (expect === 'sound') return seen.length === 0 ? 'pass' : 'fail';
  return seen.length > 0 && seen.every((k) => expect.violates.includes(k)) ? 'pass' : 'fail';
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
    filename: new URL('./worker.js', import.meta.url).href,
    minThreads: n,
    maxThreads: n,
    concurrentTasksPerWorker: 1,
    idleTimeout: 30_000,
  });
  const results: ProtocolResult[] = [];
  try {
    for (const l of loaded) {
      if (opts.signal?.aborted) break;
      results.push(await runOne(pool, l, layoutFor(l.proto), roles, { ...opts, durationMs, opsBudget, seed, events, watchdogMs }));
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

async function runOne(pool: Piscina, l: Loaded, lcfg: LayoutConfig, roles: RoleName[], o: RunOneOpts): Promise<ProtocolResult> {
  const proto = l.proto;
  const lay: Layout = computeLayout(lcfg);
  const memory = createSharedMemory(lay.wasmPages);
  const i32 = new Int32Array(memory.buffer);
  const oracle = o.oracle ?? true;
  const recordEvents = o.recordEvents ?? true;
  writeHeader(i32, lay, (oracle ? 1 : 0) | (recordEvents ? 2 : 0));
  const module = loadModule();
  const w = instantiate(module, memory);
  w.setup();
  w.mm_init();
  w.vma_set(0, lay.config.pages, L.VM_MAPPED | L.VM_READ | L.VM_WRITE);
  const n = roles.length;
  const mainTid = n;
  const devices = lay.config.devices;
  const device = roles.map((r, t) => roles.slice(0, t).filter((x) => x === r).length % devices);
  const dmaTids = Array.from({ length: devices }, (_, d) => roles.map((r, t) => (r === 'dma' && device[t] === d ? t : -1)).filter((t) => t >= 0));
  const names: RenderNames = {
    fields: { mm: Object.keys(proto.mmState ?? {}), sub: Object.keys(proto.subState ?? {}), range: Object.keys(proto.rangeState ?? {}) },
    notes: proto.notes ?? [],
    roles: [...roles, 'main'],
  };
  const base: Omit<ProtocolResult, 'verdict' | 'ops' | 'opsPerSec' | 'retries' | 'violations' | 'firstViolationMs' | 'witnesses' | 'durationMs' | 'roleOps'> = {
    name: proto.name, description: proto.description, expect: proto.expect ?? 'sound',
  };
  const fail = (message: string, stack?: string, protocolMethod?: string): ProtocolResult => ({
    ...base, verdict: 'fail', ops: 0, opsPerSec: 0, retries: 0, violations: {}, firstViolationMs: null, witnesses: [], durationMs: 0, roleOps: {},
    error: { message, stack, protocolMethod },
  });

  // protocol init, single-threaded on the main thread's record
  const env = { i32, w, tid: mainTid, lockTimeoutMs: DEFAULTS.lockTimeoutMs, sliceMs: DEFAULTS.sliceMs };
  const mainCtx = new Ctx(env, w, lay, proto, { oracle, events: recordEvents, widen: false, seed: o.seed, dmaTids, onViolation: () => {} });
  try {
    proto.init?.(mainCtx);
  } catch (e) {
    return fail(`protocol ${proto.name}: init() threw: ${(e as Error).message}`, (e as Error).stack, 'init');
  }

  const ac = new AbortController();
  const tasks: RoleTask[] = roles.map((role, tid) => ({
    memory, module, layout: lcfg, protocolUrl: l.url, protocolWhere: l.where, tid, role, device: device[tid], dmaTids,
    seed: o.seed, events: o.events, oracle, recordEvents, widen: o.widenWindows ?? true, stopOnViolation: o.stopOnViolation ?? false,
    lockTimeoutMs: DEFAULTS.lockTimeoutMs, sliceMs: DEFAULTS.sliceMs, barrierTimeoutMs: 30_000,
  }));
  const settled: (RoleResult | Error | undefined)[] = Array.from({ length: n }, () => undefined);
  const promises = tasks.map((t, i) =>
    pool.run(t, { signal: ac.signal }).then(
      (r: RoleResult) => (settled[i] = r),
      (e: Error) => (settled[i] = e instanceof Error ? e : new Error(String(e))),
    ),
  );
  const STOP = (L.BASE + L.H_STOP) >> 2;
  const GO = (L.BASE + L.H_GO) >> 2;
  const stop = () => {
    Atomics.store(i32, STOP, 1);
    Atomics.notify(i32, STOP);
  };
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  // start barrier
  const barrierDeadline = Date.now() + 30_000;
  while (Atomics.load(i32, GO) < n) {
    if (settled.some((s) => s !== undefined) || Date.now() > barrierDeadline) {
      stop();
      ac.abort();
      await Promise.allSettled(promises);
      const err = settled.find((s) => s instanceof Error || (s && s.error));
      const msg = err instanceof Error ? err.message : err?.error?.message ?? 'workers did not reach the start barrier within 30 s';
      return fail(`harness: ${msg}`, err instanceof Error ? err.stack : err?.error?.stack, err instanceof Error ? undefined : err?.error?.protocolMethod);
    }
    await sleep(2);
  }
  const startEpoch = epochNow();
  new Float64Array(memory.buffer, L.BASE + L.H_CLOCK, 1)[0] = startEpoch;
  Atomics.store(i32, GO + 1, 1);
  Atomics.notify(i32, GO + 1);

  // monitor: progress, deadline, op budget, violations, watchdog
  const progressIdx = (t: number) => (lay.threadsBase + t * L.THREAD_SIZE + L.T_PROGRESS) >> 2;
  const retriesIdx = (t: number) => (lay.threadsBase + t * L.THREAD_SIZE + L.T_RETRIES) >> 2;
  const lastProgress = Array.from({ length: n }, (_, t) => ({ v: Atomics.load(i32, progressIdx(t)), at: performance.now() }));
  const sumOps = () => lastProgress.reduce((s, _, t) => s + Atomics.load(i32, progressIdx(t)), 0);
  const violTotal = () => VIOLATION_KINDS.reduce((s, _, k) => s + Atomics.load(i32, ((L.BASE + L.H_VIOLATIONS) >> 2) + k), 0);
  const t0 = performance.now();
  let liveness: Witness | undefined;
  let lastReport = 0;
  while (settled.some((s) => s === undefined)) {
    await sleep(20);
    const nowMs = performance.now();
    const elapsed = nowMs - t0;
    if (Atomics.load(i32, STOP)) break;
    for (let t = 0; t < n; t++) {
      const v = Atomics.load(i32, progressIdx(t));
      if (v !== lastProgress[t].v) lastProgress[t] = { v, at: nowMs };
    }
    const stuck = lastProgress.map((p, t) => (nowMs - p.at >= o.watchdogMs ? t : -1)).filter((t) => t >= 0);
    if (stuck.length) {
      liveness = livenessWitness(i32, lay, proto, names, stuck, Math.round(nowMs - Math.min(...stuck.map((t) => lastProgress[t].at))), epochNow() - startEpoch, o.seed);
      Atomics.add(i32, ((L.BASE + L.H_VIOLATIONS) >> 2) + VIOLATION_KINDS.indexOf(liveness.kind), 1);
      stop();
      break;
    }
    const ops = sumOps();
    if (o.onProgress && nowMs - lastReport >= 100) {
      lastReport = nowMs;
      const retries = lastProgress.reduce((s, _, t) => s + Atomics.load(i32, retriesIdx(t)), 0);
      o.onProgress({ protocol: proto.name, elapsedMs: elapsed, durationMs: o.durationMs, ops, opsPerSec: ops / (elapsed / 1000 || 1), retries, violations: violTotal() });
    }
    if (elapsed >= o.durationMs || ops >= o.opsBudget || o.signal?.aborted || (o.stopOnViolation && violTotal() > 0)) {
      stop();
      break;
    }
  }
  stop();
  const elapsedMs = performance.now() - t0;
  // every worker sees the stop flag within a wait slice; give them a bounded while, then kill
  const harnessDeadline = Date.now() + DEFAULTS.sliceMs * 20 + 5000;
  while (settled.some((s) => s === undefined) && Date.now() < harnessDeadline) await sleep(10);
  const hung = settled.map((s, t) => (s === undefined ? t : -1)).filter((t) => t >= 0);
  if (hung.length) {
    ac.abort();
    await Promise.allSettled(promises);
  }

  // collect
  const violations: Partial<Record<ViolationKind, number>> = {};
  VIOLATION_KINDS.forEach((k, i) => {
    const c = Atomics.load(i32, ((L.BASE + L.H_VIOLATIONS) >> 2) + i);
    if (c) violations[k] = c;
  });
  const ok = settled.filter((s): s is RoleResult => !!s && !(s instanceof Error));
  const roleOps: Partial<Record<RoleName, number>> = {};
  let ops = 0, retries = 0;
  for (const r of ok) {
    roleOps[r.role] = (roleOps[r.role] ?? 0) + r.stats.ops;
    ops += r.stats.ops;
    retries += r.stats.retries;
  }
  const firsts = ok.map((r) => r.firstViolationMs).filter((x): x is number => x !== null);
  if (liveness) firsts.push(liveness.atMs);
  const captures = ok.flatMap((r) => r.captures).sort((a, b) => a.atMs - b.atMs);
  const witnesses = captures.map((c) => renderWitness(c, names, proto.name, o.seed));
  if (liveness) witnesses.push(liveness);
  let error = ok.find((r) => r.error)?.error;
  const crashed = settled.find((s) => s instanceof Error) as Error | undefined;
  if (!error && crashed) error = { message: `harness: worker crashed: ${crashed.message}`, stack: crashed.stack };
  if (!error && hung.length) error = { message: `harness: T${hung.join(', T')} did not stop within the harness timeout and were terminated` };
  return {
    ...base,
    verdict: verdictOf(proto.expect ?? 'sound', violations, error),
    ops, opsPerSec: Math.round(ops / (elapsedMs / 1000)), retries, violations,
    firstViolationMs: firsts.length ? Math.round(Math.min(...firsts) * 10) / 10 : null,
    witnesses, durationMs: Math.round(elapsedMs), roleOps,
    ...(error ? { error } : {}),
  };
}

export { availableParallelism };
