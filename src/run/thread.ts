/**
 * thread.ts — one role thread, wherever it runs (a piscina worker in Node, a Web Worker in the
 * browser): instantiate the Wasm module on the run's shared memory, wait at the start barrier,
 * loop the role until the stop flag, report counters, violations and witness captures. Never
 * hangs: every wait is bounded or sees the stop flag.
 */
import { GO_WORD, L, READY_WORD, STOP_WORD, addr, computeLayout, type Layout, type LayoutConfig } from '../memory/layout.js';
import { instantiate, type HmmWasm } from '../memory/wasm.js';
import { Ctx } from '../model/ctx.js';
import { Rng } from '../model/random.js';
import { Oracle, type Capture, epochNow } from '../oracle/oracle.js';
import { handleMmFault } from '../model/mm/fault.js';
import { Stopped, LockTimeout, type SyncEnv } from '../sync/env.js';
import { ROLE_CODES } from '../oracle/events.js';
import type { MirrorProtocol } from '../protocols/api.js';
import type { EventName, RoleName, ViolationKind } from '../api/types.js';
import type { RoleContext, RoleStats } from '../roles/role.js';
import { PluginError } from '../protocols/call.js';
import { cpuOp } from '../roles/cpu.js';
import { invalidatorOp } from '../roles/invalidator.js';
import { driverOp } from '../roles/driver.js';
import { dmaOp } from '../roles/dma.js';
import { Controller } from '../schedule/controller.js';
import { controlledLiveness, type ControlTask } from '../schedule/liveness.js';
import type { Witness } from '../api/types.js';
import { MutationHook } from '../mutate/hook.js';
import type { MutationStats, MutationTask } from '../mutate/sites.js';

export interface RoleTask {
  memory: WebAssembly.Memory;
  module: WebAssembly.Module;
  layout: LayoutConfig;
  protocolUrl: string;
  protocolWhere: string;
  tid: number;
  role: RoleName;
  device: number;
  dmaTids: number[][];
  seed: number;
  events: EventName[];
  oracle: boolean;
  recordEvents: boolean;
  widen: boolean;
  stopOnViolation: boolean;
  /** Also keep the most recent witness of each kind, refreshed at most this often (ms; absent: off). */
  latestWitnessMs?: number;
  lockTimeoutMs: number;
  sliceMs: number;
  barrierTimeoutMs: number;
  /** Controlled mode: the schedule's control block and configuration (schedule/). */
  control?: ControlTask;
  /** Controlled mode: the thread that ends the schedule copies the run's memory here first, while
   *  every other thread is still parked, so it holds the state at the last step (the demo's stepper). */
  endSnapshot?: SharedArrayBuffer;
  /** Mutation testing (docs/mutation.md): discover the reached sites, or apply one mutant. */
  mutation?: MutationTask;
}

export interface RoleResult {
  tid: number;
  role: RoleName;
  stats: RoleStats;
  violations: Partial<Record<ViolationKind, number>>;
  firstViolationMs: number | null;
  captures: Capture[];
  /** Controlled mode: the deadlock/stall this thread found, rendered when it ended the schedule. */
  liveness?: Witness;
  error?: { message: string; stack?: string; protocolMethod?: string; lockTimeout?: boolean };
  mutation?: MutationStats;
}

/** One operation of a role; `false`: it made no progress the watchdog should count (driver.ts). */
const OPS: Record<RoleName, (rc: RoleContext) => unknown> = { cpu: cpuOp, invalidator: invalidatorOp, driver: driverOp, dma: dmaOp };

/**
 * One run of a role on an instantiated thread: the per-run JS state (ctx, oracle, controller,
 * rng, counters), built fresh by prepare(). A free-running thread makes one; a controlled-mode
 * worker (schedule/serve.ts) makes one per schedule on the same Wasm instance and memory.
 */
export class RoleRun {
  readonly stats: RoleStats = { ops: 0, retries: 0, errors: 0, eagain: 0 };
  readonly i32: Int32Array;
  oracle: Oracle | undefined;
  controller: Controller | undefined;
  liveness: Witness | undefined;
  mutation: MutationHook | undefined;
  private rc: RoleContext | undefined;
  private startEpoch = 0;

  constructor(readonly task: RoleTask) {
    this.i32 = new Int32Array(task.memory.buffer);
  }

  result(): RoleResult {
    return {
      tid: this.task.tid,
      role: this.task.role,
      stats: this.stats,
      violations: this.oracle?.counts ?? {},
      firstViolationMs: this.oracle?.firstAtMs ?? null,
      captures: this.oracle?.captures ?? [],
      ...(this.liveness ? { liveness: this.liveness } : {}),
      ...(this.mutation ? { mutation: this.mutation.result() } : {}),
    };
  }

  /** Build this run's state on `wasm` (instantiated on task.memory, set up) and mark the thread's role. */
  prepare(proto: MirrorProtocol, wasm: HmmWasm, layout: Layout): void {
    const task = this.task;
    const i32 = this.i32;
    const env: SyncEnv = { i32, wasm, tid: task.tid, lockTimeoutMs: task.lockTimeoutMs, sliceMs: task.sliceMs };
    const control = task.control;
    if (control) {
      const c = (this.controller = new Controller(control.buffer, control.config, i32, wasm, task.tid));
      env.sched = c;
      const snapshot = task.endSnapshot;
      c.onEnd = (status, stuck) => {
        if (snapshot) new Uint8Array(snapshot).set(new Uint8Array(task.memory.buffer, 0, snapshot.byteLength));
        this.liveness = controlledLiveness(control, i32, layout, proto, status, stuck, c.step(), c.livelock);
      };
    }
    const controller = this.controller;
    const oracle = (this.oracle = new Oracle(
      i32,
      wasm,
      layout,
      task.tid,
      () => this.startEpoch,
      task.stopOnViolation,
      controller && (() => controller.step()),
    ));
    oracle.latestEveryMs = task.latestWitnessMs ?? 0;
    const ctx: Ctx = new Ctx(env, wasm, layout, proto, {
      oracle: task.oracle,
      events: task.recordEvents,
      widen: task.widen,
      seed: task.seed,
      dmaTids: task.dmaTids,
      onViolation: oracle.onViolation,
      role: task.role,
      fault: (page, write) => handleMmFault(ctx, page, write),
      sched: controller,
    });
    if (task.mutation) ctx.hook = this.mutation = new MutationHook(ctx, task.mutation);
    i32[(addr.thread(layout, task.tid) + L.T_ROLE) >> 2] = ROLE_CODES.indexOf(task.role);
    this.rc = {
      ctx,
      rng: new Rng(task.seed, task.tid),
      stats: this.stats,
      role: task.role,
      device: task.device,
      events: task.events,
      stopped: () => Atomics.load(i32, STOP_WORD) !== 0,
      progress: () => wasm.progress(task.tid),
    };
  }

  /** The start barrier: everyone instantiated before anyone touches shared state. False: stopped before go. */
  barrier(): boolean {
    const i32 = this.i32;
    Atomics.add(i32, READY_WORD, 1);
    const deadline = performance.now() + this.task.barrierTimeoutMs;
    while (Atomics.load(i32, GO_WORD) === 0) {
      if (Atomics.load(i32, STOP_WORD) !== 0) return false;
      if (performance.now() > deadline)
        throw new Error(`T${this.task.tid}: start barrier timed out after ${this.task.barrierTimeoutMs} ms`);
      Atomics.wait(i32, GO_WORD, 0, 50);
    }
    this.startEpoch = new Float64Array(this.task.memory.buffer, addr.header(L.H_START_EPOCH), 1)[0] || epochNow(); // written before go
    return true;
  }

  /** Loop the role until the stop flag (controlled mode: from the first turn on, one token at a time). */
  loop(): RoleResult {
    const i32 = this.i32;
    const rc = this.rc as RoleContext;
    const wasm = rc.ctx.wasm;
    const tid = this.task.tid;
    const stats = this.stats;
    const controller = this.controller;
    const op = OPS[this.task.role];
    if (controller) controller.waitTurn();
    while (Atomics.load(i32, STOP_WORD) === 0) {
      const progressed = op(rc);
      stats.ops++;
      if (progressed !== false) wasm.progress(tid);
      if (controller) controller.opDone();
    }
    controller?.exit(false);
    return this.result();
  }

  /** What the thread returns when `e` ended it: Stopped is a normal end; anything else stops the run and is reported. */
  caught(e: unknown): RoleResult {
    const controller = this.controller;
    if (e instanceof Stopped) {
      controller?.exit(false);
      return this.result();
    }
    controller?.exit(true);
    // anything else ends this protocol's run: stop the other roles, report the error
    Atomics.store(this.i32, STOP_WORD, 1);
    Atomics.notify(this.i32, STOP_WORD);
    const err = e as Error;
    const r = this.result();
    const task = this.task;
    r.error = {
      message: e instanceof LockTimeout ? `T${task.tid} ${task.role}: ${err.message}` : err.message,
      stack: err.stack,
      protocolMethod: e instanceof PluginError ? e.method : undefined,
      ...(e instanceof LockTimeout ? { lockTimeout: true } : {}),
    };
    return r;
  }
}

export async function runRoleThread(task: RoleTask, loadProto: () => Promise<MirrorProtocol>): Promise<RoleResult> {
  const run = new RoleRun(task);
  try {
    const proto = await loadProto();
    const wasm = instantiate(task.module, task.memory);
    if (wasm.setup() !== 0) throw new Error('shared memory header missing or of another layout version');
    run.prepare(proto, wasm, computeLayout(task.layout));
    if (!run.barrier()) return run.result();
    return run.loop();
  } catch (e) {
    return run.caught(e);
  }
}
