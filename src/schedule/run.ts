/**
 * run.ts — `runStress({ mode: 'controlled' })`: for each protocol, schedule after schedule (seed,
 * seed+1, ...) under PCT or random until the schedule count or the duration is reached. Each
 * schedule ends at its first violation; its witness carries the schedule that replays it.
 */
import { ConfigError } from '../api/errors.js';
import { VERSION } from '../api/version.js';
import { DEFAULTS, dealRoles, protocolRoles } from '../config/defaults.js';
import { ALL_PROTOCOLS, BUILTIN_PROTOCOLS, HISTORY_PROTOCOLS } from '../protocols/builtin.js';
import { resolveProtocols } from '../config/protocols.js';
import { verdictOf } from '../oracle/verdict.js';
import { CAPTURES_PER_KIND } from '../oracle/oracle.js';
import {
  DEFAULT_EVENTS,
  EVENT_NAMES,
  ROLE_NAMES,
  type ProtocolResult,
  type RunResult,
  type StressOptions,
  type ViolationKind,
  type Witness,
} from '../api/types.js';
import { Executor, loadProtocol, scheduleOf, type LoadedProtocol, type Workload } from './executor.js';
import type { ControlConfig } from './strategy.js';
import { rerunCommand } from './schedule.js';

export const CONTROLLED_DEFAULTS = { pages: 64, depth: 10, steps: 2000, boundSteps: 1000, schedules: 200 };

function int(name: string, v: number | undefined, def: number, min: number, max: number): number {
  if (v === undefined) return def;
  if (!Number.isInteger(v) || v < min || v > max) throw new ConfigError(`${name} must be an integer from ${min} to ${max} (got ${v})`);
  return v;
}

/** Liveness-expected protocols get one bound more: a deadlock or stall is judged only after it. */
export function stepsFor(p: LoadedProtocol, steps: number, bound: number): number {
  const e = p.proto.expect ?? 'sound';
  return e !== 'sound' && e.violates.some((k) => k === 'deadlock' || k === 'stall') ? steps + bound : steps;
}

export async function runControlled(opts: StressOptions): Promise<RunResult> {
  const strategy = opts.strategy ?? 'pct';
  if (strategy !== 'pct' && strategy !== 'random') throw new ConfigError(`unknown strategy '${strategy}': use pct or random`);
  const depth = int('depth', opts.depth, CONTROLLED_DEFAULTS.depth, 1, 64);
  const steps = int('steps', opts.steps, CONTROLLED_DEFAULTS.steps, 10, 10_000_000);
  const boundSteps = int('boundSteps', opts.boundSteps, CONTROLLED_DEFAULTS.boundSteps, 10, 10_000_000);
  const durationMs = opts.durationMs === undefined ? Infinity : int('durationMs', opts.durationMs, 0, 1, 24 * 3600_000);
  const schedules = int(
    'schedules',
    opts.schedules,
    opts.durationMs === undefined ? CONTROLLED_DEFAULTS.schedules : Number.MAX_SAFE_INTEGER,
    1,
    Number.MAX_SAFE_INTEGER,
  );
  const pages = int('pages', opts.pages, CONTROLLED_DEFAULTS.pages, 64, 1 << 24);
  const devices = int('devices', opts.devices, DEFAULTS.devices, 1, 64);
  const subsPerDevice = int('subsPerDevice', opts.subsPerDevice, Math.min(DEFAULTS.subsPerDevice, pages / 64), 1, 1024);
  const seed = opts.seed === undefined ? (Math.random() * 2 ** 31) >>> 0 : int('seed', opts.seed, 0, 0, 2 ** 32 - 1);
  const events = opts.events ?? DEFAULT_EVENTS;
  for (const e of events)
    if (!(EVENT_NAMES as readonly string[]).includes(e)) throw new ConfigError(`unknown event '${e}': use ${EVENT_NAMES.join(',')}`);
  const roles = dealRoles(int('threads', opts.threads, DEFAULTS.threads, 1, 128), opts.roles);
  for (const r of ROLE_NAMES)
    if (!roles.includes(r)) throw new ConfigError(`every role needs a thread (missing ${r}): use --threads 4 or more`);
  const specs = resolveProtocols(opts.protocol, BUILTIN_PROTOCOLS).flatMap((r) =>
    r.kind === 'all' ? [...ALL_PROTOCOLS] : r.kind === 'history' ? [...HISTORY_PROTOCOLS] : r.kind === 'builtin' ? [r.name] : [r.spec],
  );
  const loaded: LoadedProtocol[] = [];
  for (const s of specs) loaded.push(await loadProtocol(s));
  const workload: Workload = { roles, events, pages, devices, subsPerDevice };
  const config = {
    mode: 'controlled',
    strategy,
    depth,
    steps,
    boundSteps,
    schedules: Number.isFinite(schedules) && opts.schedules !== undefined ? schedules : opts.durationMs === undefined ? schedules : null,
    durationMs: Number.isFinite(durationMs) ? durationMs : null,
    threads: roles.length,
    roles: Object.fromEntries(ROLE_NAMES.map((r) => [r, roles.filter((x) => x === r).length])),
    events,
    pages,
    devices,
    subsPerDevice,
    oracle: true,
    recordEvents: true,
    widenWindows: false,
  };
  // a protocol's own roles (MirrorProtocol.roles) apply when the caller named neither threads nor roles, as when free-running
  const rolesOf = (p: LoadedProtocol) => (p.proto.roles ? protocolRoles(opts, p.proto.roles) : roles);
  const exec = new Executor(Math.max(roles.length, ...loaded.map((p) => rolesOf(p).length)));
  const results: ProtocolResult[] = [];
  try {
    for (const p of loaded) {
      if (opts.signal?.aborted) break;
      // a protocol's own event mix (MirrorProtocol.events) applies when the caller named none, as when free-running
      const events = opts.events === undefined && p.proto.events ? p.proto.events : workload.events;
      const w: Workload = { ...workload, roles: rolesOf(p), events };
      results.push(await runProtocol(exec, p, w, { strategy, depth, steps, boundSteps, seed, schedules, durationMs }, opts));
    }
  } finally {
    await exec.close();
  }
  return { version: VERSION, seed, config, protocols: results };
}

interface Plan {
  strategy: 'pct' | 'random';
  depth: number;
  steps: number;
  boundSteps: number;
  seed: number;
  schedules: number;
  durationMs: number;
}

async function runProtocol(exec: Executor, p: LoadedProtocol, w: Workload, plan: Plan, opts: StressOptions): Promise<ProtocolResult> {
  const t0 = performance.now();
  const violations: Partial<Record<ViolationKind, number>> = {};
  const witnesses: Witness[] = [];
  let ops = 0,
    points = 0,
    switches = 0,
    done = 0,
    harnessErrors = 0;
  let first: number | null = null,
    firstMs: number | null = null;
  let error: ProtocolResult['error'];
  const steps = stepsFor(p, plan.steps, plan.boundSteps);
  let lastReport = 0;
  for (let i = 0; i < plan.schedules; i++) {
    const elapsed = performance.now() - t0;
    if (elapsed >= plan.durationMs || opts.signal?.aborted) break;
    const seed = (plan.seed + i) >>> 0;
    const cfg: ControlConfig = {
      strategy: plan.strategy,
      seed,
      depth: plan.depth,
      steps,
      boundSteps: plan.boundSteps,
      threads: w.roles.length,
    };
    const out = await exec.run(p, w, cfg, rerunCommand(p.spec, w, { ...cfg, steps: plan.steps }, p.proto.roles));
    done++;
    ops += out.ops;
    points += out.steps;
    switches += out.switches.length;
    if (out.error) {
      harnessErrors++;
      error ??= { message: `harness: schedule seed ${seed}: ${out.error}` };
      break;
    }
    if (out.status === 'divergence') {
      harnessErrors++;
      error ??= { message: `harness: schedule seed ${seed} diverged from itself at step ${out.divergence?.step}` };
    }
    if (out.kind && out.witness) {
      violations[out.kind] = (violations[out.kind] ?? 0) + 1;
      if (first === null) {
        first = i;
        firstMs = Math.round((performance.now() - t0) * 10) / 10;
      }
      if (witnesses.filter((x) => x.kind === out.kind).length < CAPTURES_PER_KIND)
        witnesses.push({ ...out.witness, schedule: scheduleOf(p, w, { ...cfg, steps: plan.steps }, plan.strategy, out.switches, VERSION) });
      if (opts.stopOnViolation) break;
    }
    if (opts.onProgress && performance.now() - lastReport >= 100) {
      lastReport = performance.now();
      const el = performance.now() - t0;
      opts.onProgress({
        protocol: p.proto.name,
        elapsedMs: el,
        durationMs: Number.isFinite(plan.durationMs) ? plan.durationMs : el,
        ops,
        opsPerSec: ops / (el / 1000 || 1),
        retries: 0,
        violations: Object.values(violations).reduce((a, b) => a + (b ?? 0), 0),
      });
    }
  }
  const ms = Math.max(1, performance.now() - t0);
  const expect = p.proto.expect ?? 'sound';
  return {
    name: p.proto.name,
    description: p.proto.description,
    expect,
    verdict: verdictOf(expect, violations, error),
    ops,
    opsPerSec: Math.round(ops / (ms / 1000)),
    retries: 0,
    violations,
    firstViolationMs: firstMs,
    witnesses,
    durationMs: Math.round(ms),
    roleOps: {},
    controlled: {
      strategy: plan.strategy,
      depth: plan.depth,
      schedules: done,
      points,
      switches,
      schedulesPerSec: Math.round((done / (ms / 1000)) * 10) / 10,
      pointsPerSec: Math.round(points / (ms / 1000)),
      firstViolationSchedule: first,
      harnessErrors,
    },
    ...(error ? { error } : {}),
  };
}
