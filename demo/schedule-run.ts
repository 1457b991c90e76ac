/**
 * schedule-run.ts — one replay of a controlled-mode schedule in the browser, up to a chosen step:
 * the same Session, role threads (demo/worker.ts runs src/run/thread.ts), Controller, Wasm and
 * oracle as Node's `hmmsim replay` (src/schedule/executor.ts), with Web Workers in place of
 * piscina. src/schedule/stepping.ts says why stepping back replays the prefix again.
 *
 * The main thread never blocks: it waits for the threads' replies (promises) and polls the start
 * barrier with timers. A replay that does not end within HARNESS_MS is ended by the main thread
 * and its stuck workers are terminated: it reports an error, it never hangs the page.
 */
import { Session, layoutConfigFor } from '../src/run/session.js';
import { DEFAULTS } from '../src/config/defaults.js';
import { Controller } from '../src/schedule/controller.js';
import { initialPriorities } from '../src/schedule/strategy.js';
import { CONTROL_BYTES, outcomeOf, planUpTo, type ReplayPlan } from '../src/schedule/stepping.js';
import { CTL_STATUS } from '../src/memory/constants.js';
import type { Layout } from '../src/memory/layout.js';
import type { RenderNames } from '../src/oracle/events.js';
import type { Outcome } from '../src/schedule/executor.js';
import type { MirrorProtocol } from '../src/protocols/api.js';
import type { RoleResult } from '../src/run/thread.js';
import type { WorkerPool } from './worker-pool.js';

/** One replay is a few milliseconds; past this it is a harness failure. */
const HARNESS_MS = 20_000;
/** The start barrier: every worker instantiated (as executor.ts waits). */
const BARRIER_MS = 30_000;

/** The memory at the step a replay ended, and what it ended with. */
export interface StepState {
  step: number;
  outcome: Outcome;
  /** A copy of the shared memory at that step (the ending thread's snapshot). */
  i32: Int32Array;
  layout: Layout;
  names: RenderNames;
}

const tick = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/**
 * Replay `plan` on the pool's workers up to scheduling point `upTo` (undefined: to its end). Step 0
 * is the memory before any thread ran (the Session's setup and the protocol's init()).
 */
export async function replayTo(
  module: WebAssembly.Module,
  pool: WorkerPool,
  name: string,
  proto: MirrorProtocol,
  full: ReplayPlan,
  upTo?: number,
): Promise<StepState> {
  const plan = upTo === undefined ? full : planUpTo(full, upTo);
  const { workload, config } = plan;
  const session = new Session({
    proto,
    protocolUrl: name,
    protocolWhere: name,
    module,
    layout: layoutConfigFor(proto, {
      pages: workload.pages,
      devices: workload.devices,
      subsPerDevice: workload.subsPerDevice,
      roleThreads: workload.roles.length,
    }),
    roles: workload.roles,
    seed: config.seed,
    events: workload.events,
    oracle: true,
    recordEvents: true,
    widen: false,
    stopOnViolation: true,
    lockTimeoutMs: DEFAULTS.lockTimeoutMs,
    sliceMs: DEFAULTS.sliceMs,
  });
  const copy = () => new Int32Array(session.memory.buffer.slice(0));
  const state = (outcome: Outcome, i32: Int32Array): StepState => ({
    step: outcome.steps,
    outcome,
    i32,
    layout: session.layout,
    names: session.names,
  });
  if (upTo === 0) return state({ status: 'budget', steps: 0, switches: [], ops: 0 }, copy());

  const snapshot = new SharedArrayBuffer(session.memory.buffer.byteLength);
  const control = { buffer: new SharedArrayBuffer(CONTROL_BYTES), config, roles: workload.roles, rerun: plan.rerun };
  const main = new Controller(control.buffer, config, session.i32, undefined, -1);
  pool.trim(session.n);
  const settled: (RoleResult | Error | undefined)[] = session.tasks.map(() => undefined);
  const all = Promise.all(
    session.tasks.map((task, i) => pool.run(i, { ...task, control, endSnapshot: snapshot }, name).then((r) => (settled[i] = r))),
  );
  const barrier = performance.now() + BARRIER_MS;
  while (session.ready() < session.n && performance.now() < barrier && settled.every((r) => r === undefined)) await tick();
  session.go();
  main.start(initialPriorities(config));
  const timer = setTimeout(() => {
    main.end(CTL_STATUS.error);
    setTimeout(() => settled.forEach((r, i) => r === undefined && pool.kill(i)), 2000);
  }, HARNESS_MS);
  await all;
  clearTimeout(timer);
  const outcome = outcomeOf(main, settled, session.names, proto.name, plan);
  if (outcome.status === 'error' && !outcome.error) outcome.error = `the replay did not end within ${HARNESS_MS / 1000} s`;
  // a thread ended the schedule and copied the memory first; after a harness error nobody did
  return state(outcome, outcome.status === 'error' ? copy() : new Int32Array(snapshot.slice(0)));
}
