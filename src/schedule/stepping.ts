/**
 * stepping.ts — a schedule replayed up to a chosen step, with nothing from Node: what the browser
 * demo's stepper (demo/schedule-run.ts) needs, built from the pieces replay.ts and executor.ts use.
 *
 * A schedule is a function of (seed, configuration, protocol, switch list), so its first k
 * scheduling points are the same replay under a step budget of k: the controller ends it at step k
 * ('budget'), and the thread that ends it copies the memory before any other thread runs again
 * (RoleTask.endSnapshot, src/run/thread.ts). Stepping back is replaying the shorter prefix: the
 * threads' own state (their stacks mid-operation, their seeded generators) is not in the shared
 * memory, so a memory snapshot alone cannot be resumed.
 */
import type { MirrorProtocol } from '../protocols/api.js';
import type { RenderNames } from '../oracle/events.js';
import { renderWitness } from '../oracle/witness.js';
import { CTL, CTL_STATUS } from '../memory/constants.js';
import type { RoleResult } from '../run/thread.js';
import type { Schedule } from '../api/types.js';
import type { Outcome, Workload } from './executor.js';
import type { Controller } from './controller.js';
import type { ControlConfig } from './strategy.js';
import { replayConfig, rerunCommand, workloadOf } from './schedule.js';

/** How a schedule is replayed: the workload, the strict replay configuration and the rerun line its witness ends with. */
export interface ReplayPlan {
  workload: Workload;
  config: ControlConfig;
  rerun: string;
}

/** The step budget of a replay: a liveness-expected protocol gets one bound more (run.ts stepsFor, replay.ts runStored). */
export function replayBudget(proto: MirrorProtocol, s: Schedule): number {
  const e = proto.expect ?? 'sound';
  const liveness = e !== 'sound' && e.violates.some((k) => k === 'deadlock' || k === 'stall');
  return liveness ? s.config.steps + s.config.boundSteps : s.config.steps;
}

/** The plan replay.ts (runStored, strict) runs `s` with: its witness is then byte for byte the recorded one. */
export function replayPlan(s: Schedule, proto: MirrorProtocol): ReplayPlan {
  const workload = workloadOf(s);
  const config = replayConfig(s, replayBudget(proto, s));
  const seedRun = rerunCommand(s.protocol, workload, { ...config, strategy: s.strategy, steps: s.config.steps }, proto.roles);
  return { workload, config, rerun: s.shrunk ? `hmmsim replay <this report> (shrunk from: ${seedRun})` : seedRun };
}

/** The same plan, ended after `step` scheduling points (step >= 1). */
export function planUpTo(plan: ReplayPlan, step: number): ReplayPlan {
  return { ...plan, config: { ...plan.config, steps: Math.max(1, Math.min(step, plan.config.steps)) } };
}

/** Bytes of a schedule's control block (memory/constants.ts CTL). */
export const CONTROL_BYTES = 4 * (CTL.SWITCHES_BASE + 2 * CTL.MAX_SWITCHES);

const STATUS_NAMES = Object.fromEntries(Object.entries(CTL_STATUS).map(([k, v]) => [v, k])) as Record<number, keyof typeof CTL_STATUS>;

/** The outcome of a schedule once every thread settled, read as executor.ts reads it. */
export function outcomeOf(
  main: Controller,
  settled: (RoleResult | Error | undefined)[],
  names: RenderNames,
  protocol: string,
  plan: ReplayPlan,
): Outcome {
  const results = settled.filter((r): r is RoleResult => !!r && !(r instanceof Error));
  const crashed = settled.find((r) => r instanceof Error) as Error | undefined;
  const ops = results.reduce((a, r) => a + r.stats.ops, 0);
  return readOutcome(main, results, crashed, ops, names, protocol, plan.config.seed, plan.rerun);
}

/**
 * A schedule's outcome from its controller and what its threads left (results, a crash, their
 * ops): the one reading that executor.ts (Node) and the demo's stepper share.
 */
export function readOutcome(
  main: Controller,
  results: readonly Pick<RoleResult, 'error' | 'liveness' | 'captures'>[],
  crashed: Error | undefined,
  ops: number,
  names: RenderNames,
  protocol: string,
  seed: number,
  rerun: string,
): Outcome {
  const failed = results.find((r) => r.error);
  const status = STATUS_NAMES[main.status()] ?? 'error';
  const out: Outcome = { status, steps: main.step(), switches: main.switches(), ops };
  if (crashed || failed) out.error = crashed?.message ?? failed?.error?.message;
  const liveness = results.find((r) => r.liveness)?.liveness;
  const captures = results.flatMap((r) => r.captures).sort((a, b) => a.ticket - b.ticket);
  if (captures.length) {
    out.witness = renderWitness(captures[0], names, protocol, seed, { atStep: true, rerun });
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

/** The thread that runs up to scheduling point `step` (the last switch before it), or -1 before the first. */
export function runningAt(switches: [number, number][], step: number): number {
  let t = -1;
  for (const [at, thread] of switches) {
    if (at >= step) break;
    t = thread;
  }
  return t;
}
