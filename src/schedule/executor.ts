/**
 * executor.ts — run one controlled schedule: a fresh Session (memory and protocol state), every
 * role on a pooled worker, the first thread picked on the main thread, then wait for the
 * schedule to end (violation, budget, deadlock, stall, divergence) and collect its outcome.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Piscina } from 'piscina';
import { CTL, CTL_STATUS } from '../memory/constants.js';
import { computeLayout, LayoutError, type LayoutConfig } from '../memory/layout.js';
import { loadModule } from '../memory/wasm-node.js';
import { importProtocol } from '../protocols/loader.js';
import { schemaLines, type MirrorProtocol } from '../protocols/api.js';
import { isPath, pluginUrl } from '../config/protocols.js';
import { BUILTIN_PROTOCOLS, builtinUrl } from '../protocols/builtin.js';
import { ConfigError } from '../api/errors.js';
import { DEFAULTS } from '../config/defaults.js';
import { Session } from '../run/session.js';
import { renderWitness } from '../oracle/witness.js';
import type { RoleResult } from '../run/thread.js';
import type { EventName, RoleName, Schedule, ViolationKind, Witness } from '../api/types.js';
import { Controller } from './controller.js';
import { initialPriorities, type ControlConfig } from './strategy.js';

export interface LoadedProtocol {
  spec: string;
  url: string;
  where: string;
  proto: MirrorProtocol;
  /** sha256 of a plugin file's contents (built-ins: undefined). */
  hash?: string;
}

export async function loadProtocol(spec: string): Promise<LoadedProtocol> {
  if (isPath(spec)) {
    const url = pluginUrl(spec);
    const proto = await importProtocol(url, spec);
    return { spec, url, where: spec, proto, hash: fileHash(new URL(url)) };
  }
  if (!(BUILTIN_PROTOCOLS as readonly string[]).includes(spec))
    throw new ConfigError(`unknown protocol '${spec}': use one of ${BUILTIN_PROTOCOLS.join(', ')}, all, or a path to a plugin (.mjs)`);
  const url = builtinUrl(spec);
  return { spec, url, where: spec, proto: await importProtocol(url, spec) };
}

export function fileHash(file: URL | string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** The workload a schedule runs (everything but the scheduler's own settings). */
export interface Workload {
  roles: RoleName[];
  events: EventName[];
  pages: number;
  devices: number;
  subsPerDevice: number;
}

export interface Outcome {
  status: keyof typeof CTL_STATUS;
  steps: number;
  switches: [number, number][];
  kind?: ViolationKind;
  witness?: Witness;
  ops: number;
  /** divergence: the step, and the thread the schedule named there (-1: none, the running thread blocked). */
  divergence?: { step: number; thread: number };
  error?: string;
}

const STATUS_NAMES = Object.fromEntries(Object.entries(CTL_STATUS).map(([k, v]) => [v, k])) as Record<number, keyof typeof CTL_STATUS>;

export function layoutFor(w: Workload, proto: MirrorProtocol): LayoutConfig {
  const c: LayoutConfig = {
    pages: w.pages,
    devices: w.devices,
    subsPerDevice: w.subsPerDevice,
    threads: w.roles.length + 1,
    rangeMax: DEFAULTS.rangeMax,
    ringEntries: DEFAULTS.ringEntries,
    protoMmLines: Math.max(1, schemaLines(proto.mmState)),
    protoSubLines: Math.max(1, schemaLines(proto.subState)),
    protoRangeLines: Math.max(1, schemaLines(proto.rangeState)),
  };
  try {
    computeLayout(c);
  } catch (e) {
    if (e instanceof LayoutError) throw new ConfigError(e.message);
    throw e;
  }
  return c;
}

/** A worker pool sized for one workload; run() executes one schedule on it. */
export class Executor {
  private readonly pool: Piscina;
  private readonly module = loadModule();

  constructor(readonly threads: number) {
    if (threads > CTL.MAX_THREADS)
      throw new ConfigError(
        `controlled mode runs at most ${CTL.MAX_THREADS} threads (got ${threads}): use --threads ${CTL.MAX_THREADS} or fewer`,
      );
    this.pool = new Piscina({
      filename: new URL('../run/worker-entry.cjs', import.meta.url).href,
      minThreads: threads,
      maxThreads: threads,
      concurrentTasksPerWorker: 1,
      idleTimeout: 30_000,
    });
  }

  async close(): Promise<void> {
    await this.pool.destroy();
  }

  async run(p: LoadedProtocol, w: Workload, cfg: ControlConfig, rerun: string): Promise<Outcome> {
    const s = new Session({
      proto: p.proto,
      protocolUrl: p.url,
      protocolWhere: p.where,
      module: this.module,
      layout: layoutFor(w, p.proto),
      roles: w.roles,
      seed: cfg.seed,
      events: w.events,
      oracle: true,
      recordEvents: true,
      widen: false,
      stopOnViolation: true,
      lockTimeoutMs: DEFAULTS.lockTimeoutMs,
      sliceMs: DEFAULTS.sliceMs,
    });
    const buffer = new SharedArrayBuffer(4 * (CTL.SWITCHES_BASE + 2 * CTL.MAX_SWITCHES));
    const control = { buffer, config: cfg, roles: w.roles, rerun };
    const main = new Controller(buffer, cfg, s.i32, undefined, -1);
    const settled: (RoleResult | Error | undefined)[] = s.tasks.map(() => undefined);
    const ac = new AbortController();
    const all = Promise.all(
      s.tasks.map((t, i) =>
        this.pool.run({ ...t, control }, { signal: ac.signal }).then(
          (r: RoleResult) => (settled[i] = r),
          (e: unknown) => (settled[i] = e instanceof Error ? e : new Error(String(e))),
        ),
      ),
    );
    const deadline = Date.now() + 30_000;
    while (s.ready() < s.n && Date.now() < deadline && settled.every((x) => x === undefined)) await new Promise((r) => setTimeout(r, 1));
    s.go();
    main.start(initialPriorities(cfg));
    // one schedule never needs long: a harness bound, so that a bug here ends in a report, not a hang
    const timer = setTimeout(() => {
      main.end(CTL_STATUS.error);
      setTimeout(() => ac.abort(), 5000).unref();
    }, 120_000);
    await all;
    clearTimeout(timer);
    const results = settled.filter((r): r is RoleResult => !!r && !(r instanceof Error));
    const crashed = settled.find((r) => r instanceof Error) as Error | undefined;
    const failed = results.find((r) => r.error);
    const status = STATUS_NAMES[main.status()] ?? 'error';
    const out: Outcome = { status, steps: main.step(), switches: main.switches(), ops: results.reduce((a, r) => a + r.stats.ops, 0) };
    if (crashed || failed) out.error = crashed?.message ?? failed?.error?.message;
    const liveness = results.find((r) => r.liveness)?.liveness;
    const captures = results.flatMap((r) => r.captures).sort((a, b) => a.ticket - b.ticket);
    if (captures.length) {
      out.witness = renderWitness(captures[0], s.names, p.proto.name, cfg.seed, { atStep: true, rerun });
      out.kind = out.witness.kind;
    } else if (liveness) {
      out.witness = liveness;
      out.kind = liveness.kind;
    }
    if (status === 'divergence') {
      const [step, thread] = main.detail();
      out.divergence = { step, thread };
    }
    return out;
  }
}

/** The schedule value of an outcome. */
export function scheduleOf(
  p: LoadedProtocol,
  w: Workload,
  cfg: ControlConfig,
  strategy: Schedule['strategy'],
  switches: [number, number][],
  version: string,
): Schedule {
  return {
    format: 1,
    version,
    protocol: p.spec,
    ...(p.hash ? { protocolHash: p.hash } : {}),
    config: {
      roles: w.roles,
      events: w.events,
      pages: w.pages,
      devices: w.devices,
      subsPerDevice: w.subsPerDevice,
      steps: cfg.steps,
      boundSteps: cfg.boundSteps,
    },
    seed: cfg.seed,
    strategy,
    depth: cfg.depth,
    switches,
  };
}
