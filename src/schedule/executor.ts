/**
 * executor.ts — run one controlled schedule and collect its outcome (violation, budget, deadlock,
 * stall, divergence): on the lane (lane.ts) of its protocol and workload, whose workers, Wasm
 * instances and memory serve schedule after schedule, the memory reset before each.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Piscina } from 'piscina';
import { CTL, type CTL_STATUS } from '../memory/constants.js';
import { computeLayout, LayoutError, type LayoutConfig } from '../memory/layout.js';
import { loadModule } from '../memory/wasm-node.js';
import { importProtocol } from '../protocols/loader.js';
import { schemaLines, type MirrorProtocol } from '../protocols/api.js';
import { isPath, pluginUrl } from '../config/protocols.js';
import { BUILTIN_PROTOCOLS, builtinUrl } from '../protocols/builtin.js';
import { ConfigError } from '../api/errors.js';
import { DEFAULTS } from '../config/defaults.js';
import { Session } from '../run/session.js';
import type { EventName, RoleName, Schedule, ViolationKind, Witness } from '../api/types.js';
import { Lane } from './lane.js';
import { readOutcome } from './stepping.js';
import type { ControlConfig } from './strategy.js';

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
  /** The schedule server of the protocol and workload run last (lane.ts). */
  private lane: Lane | undefined;

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
    await this.lane?.close();
    this.lane = undefined;
    await this.pool.destroy();
  }

  /** The lane for this protocol and workload: the one running, or a new one (the old one's workers let go). */
  private async laneFor(p: LoadedProtocol, w: Workload, seed: number): Promise<Lane> {
    const key = JSON.stringify([p.url, p.hash ?? '', w]);
    if (this.lane && this.lane.key === key && !this.lane.ended) return this.lane;
    await this.lane?.close();
    this.lane = undefined;
    const session = new Session({
      proto: p.proto,
      protocolUrl: p.url,
      protocolWhere: p.where,
      module: this.module,
      layout: layoutFor(w, p.proto),
      roles: w.roles,
      seed,
      events: w.events,
      oracle: true,
      recordEvents: true,
      widen: false,
      stopOnViolation: true,
      lockTimeoutMs: DEFAULTS.lockTimeoutMs,
      sliceMs: DEFAULTS.sliceMs,
    });
    return (this.lane = new Lane(this.pool, key, session));
  }

  async run(p: LoadedProtocol, w: Workload, cfg: ControlConfig, rerun: string): Promise<Outcome> {
    const lane = await this.laneFor(p, w, cfg.seed);
    const { main, ops, posted, crashed } = await lane.run(cfg, rerun);
    if (crashed) {
      await lane.close();
      this.lane = undefined;
    }
    const out = readOutcome(main, posted, crashed, ops, lane.session.names, p.proto.name, cfg.seed, rerun);
    if (crashed) out.status = 'error';
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
