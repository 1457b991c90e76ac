/**
 * serve.ts — a controlled-mode worker's schedule server (Node): one long task per worker that
 * runs schedule after schedule of one protocol and workload on the same shared memory and the
 * same Wasm instance, so a schedule costs its scheduling points, not a worker task, a memory and
 * an instantiation (docs/ARCHITECTURE.md, Controlled mode).
 *
 * Per schedule (the main side is lane.ts): main resets the memory and the control block, posts
 * the schedule's configuration on each worker's port, bumps CTL.EPOCH and hands the token to the
 * first thread. A worker sleeps on its gate word; when the token first reaches it, it takes the
 * configuration, builds the run's JS state afresh (RoleRun: ctx, oracle, controller, rng,
 * counters; call numbers start over) and runs its role until the schedule ends. A thread the
 * schedule never reached wakes only at its end. Each then writes its op count, posts its result
 * when it has something to tell (captures, a liveness witness, an error), and counts itself in
 * CTL.DONE. Only the threads a schedule reaches wake up, and the start is one hand-off.
 * Nothing outlives a schedule but the Wasm instance (whose globals are the header's bases, read
 * again by setup()) and the protocol module, as in a worker that piscina reuses.
 */
import { type MessagePort, receiveMessageOnPort } from 'node:worker_threads';
import { CTL, CTL_STATUS, SERVE_QUIT } from '../memory/constants.js';
import { computeLayout } from '../memory/layout.js';
import { instantiate } from '../memory/wasm.js';
import type { MirrorProtocol } from '../protocols/api.js';
import type { RoleName } from '../api/types.js';
import { resetCallNumbers } from '../protocols/call.js';
import { RoleRun, type RoleTask } from '../run/thread.js';
import { Controller } from './controller.js';
import type { ControlConfig } from './strategy.js';

/** What main posts on a worker's port for each schedule. */
export interface ScheduleOrder {
  config: ControlConfig;
  rerun: string;
}

/** A serve task: the role thread's settings (its seed is each order's), the control block, the port. */
export interface ServeTask {
  buffer: SharedArrayBuffer;
  port: MessagePort;
  /** Every thread's role (for a liveness witness). */
  roles: RoleName[];
  /** How long a worker waits for the next order before it leaves (the main side is gone). */
  idleMs: number;
}

/** The worker's side of the loop; resolves with the schedules it ran when main sends SERVE_QUIT. */
export async function serveSchedules(task: RoleTask & { serve: ServeTask }, loadProto: () => Promise<MirrorProtocol>): Promise<number> {
  const { buffer, port, idleMs, roles } = task.serve;
  const ctl = new Int32Array(buffer);
  const proto = await loadProto();
  const wasm = instantiate(task.module, task.memory);
  const layout = computeLayout(task.layout);
  const slot = CTL.THREADS_BASE + task.tid * CTL.T_STRIDE;
  const gate = slot + CTL.T_GATE;
  let served = 0;
  let last = 0;
  for (;;) {
    // asleep until the next schedule gives this thread the token (or ends without it), or main
    // lets the workers go. The gate is 0 here (the last schedule's end was taken below), and
    // main bumps EPOCH before any hand-off (checked all the same).
    const idleSince = performance.now();
    for (;;) {
      const open = Atomics.load(ctl, gate);
      const next = Atomics.load(ctl, CTL.EPOCH);
      if (next === SERVE_QUIT) return served;
      if (open === 1 && next !== last) break;
      if (performance.now() - idleSince > idleMs) return served;
      Atomics.wait(ctl, gate, open, 1000);
    }
    const epoch = (last = Atomics.load(ctl, CTL.EPOCH));
    const order = receiveMessageOnPort(port)?.message as ScheduleOrder | undefined;
    // (no order: a harness bug; the thread ends the schedule with an error, every gate opened)
    const config: ControlConfig = order?.config ?? {
      strategy: 'replay',
      seed: 0,
      depth: 1,
      steps: 1,
      boundSteps: 1,
      threads: roles.length,
    };
    const run = new RoleRun({ ...task, seed: config.seed, control: { buffer, config, roles, rerun: order?.rerun ?? '' } });
    let result = run.result();
    // a thread first handed the token sets up its run then; one the schedule ended without never runs
    if (Atomics.load(ctl, CTL.STATUS) === CTL_STATUS.running)
      try {
        if (!order) throw new Error(`T${task.tid}: schedule ${epoch} started without its order`);
        if (wasm.setup() !== 0) throw new Error('shared memory header missing or of another layout version');
        resetCallNumbers();
        run.prepare(proto, wasm, layout);
        result = run.loop();
      } catch (e) {
        result = run.caught(e);
        // failed before it had a controller: end the schedule all the same, so that no thread waits for it
        if (!run.controller) new Controller(buffer, config, run.i32, undefined, task.tid).end(CTL_STATUS.error);
      }
    served++;
    ctl[slot + CTL.T_OPS] = result.stats.ops;
    if (result.captures.length || result.liveness || result.error) {
      port.postMessage(result);
      ctl[slot + CTL.T_POSTED] = 1;
    }
    // the end opens every gate once, and a thread can get here before the ending thread reached
    // its gate (its wait for the token timed out and saw the end): take that opening now, so
    // that no open gate outlives the schedule to pass for the next one's hand-off
    while (Atomics.compareExchange(ctl, gate, 1, 0) !== 1) Atomics.wait(ctl, gate, 0, 1000);
    Atomics.add(ctl, CTL.DONE, 1);
    Atomics.notify(ctl, CTL.DONE);
  }
}
