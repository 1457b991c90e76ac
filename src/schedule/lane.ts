/**
 * lane.ts — the main side of the schedule server (serve.ts): one protocol and workload on one
 * shared memory, a serve task on each pooled worker, and schedule after schedule run on them.
 * Each schedule starts from a memory reset to what a fresh Session's would be, so a schedule
 * gives the same outcome after any number of others as in a fresh process.
 */
import { MessageChannel, type MessagePort, receiveMessageOnPort } from 'node:worker_threads';
import type { Piscina } from 'piscina';
import { CTL, CTL_STATUS, L, SERVE_QUIT } from '../memory/constants.js';
import { addr } from '../memory/layout.js';
import { ROLE_CODES } from '../oracle/events.js';
import type { Session } from '../run/session.js';
import type { RoleResult } from '../run/thread.js';
import { Controller } from './controller.js';
import type { ScheduleOrder, ServeTask } from './serve.js';
import { type ControlConfig, initialPriorities } from './strategy.js';

/** One schedule's end, as the lane saw it. */
export interface LaneRun {
  /** The main side's view of the control block (status, steps, switches, divergence detail). */
  main: Controller;
  /** Operations all threads ran. */
  ops: number;
  /** The results the threads posted (those with captures, a liveness witness or an error). */
  posted: RoleResult[];
  /** A worker died or the schedule overran the harness bound: the lane is unusable. */
  crashed?: Error;
}

/** The main thread blocks on a schedule in slices this long, then lets its event loop run. */
const BLOCK_SLICE_MS = 20;

/** One schedule never needs long: a harness bound, so that a bug here ends in a report, not a hang. */
const SCHEDULE_BOUND_MS = 120_000;
/** After the bound the schedule is ended; its threads get this long to unwind before the lane is dropped. */
const UNWIND_MS = 5_000;
/** A worker with no order for this long leaves (its main side is gone without closing the lane). */
const IDLE_MS = 10 * 60_000;

export class Lane {
  readonly buffer = new SharedArrayBuffer(4 * (CTL.SWITCHES_BASE + 2 * CTL.MAX_SWITCHES));
  private readonly ctl = new Int32Array(this.buffer);
  private readonly ports: MessagePort[] = [];
  private readonly abort = new AbortController();
  private readonly tasks: Promise<unknown>[];
  /** Set once a serve task ended (it should only on SERVE_QUIT): the lane cannot run more schedules. */
  ended: Error | undefined;

  constructor(
    pool: Piscina,
    readonly key: string,
    readonly session: Session,
  ) {
    const roles = session.options.roles;
    this.tasks = session.tasks.map((t) => {
      const { port1, port2 } = new MessageChannel();
      port1.unref();
      this.ports.push(port1);
      const serve: ServeTask = { buffer: this.buffer, port: port2, roles, idleMs: IDLE_MS };
      return pool.run({ ...t, serve }, { signal: this.abort.signal, transferList: [port2] }).then(
        () => {
          this.ended ??= new Error('a schedule worker left');
        },
        (e: unknown) => {
          this.ended ??= e instanceof Error ? e : new Error(String(e));
        },
      );
    });
  }

  /** Run one schedule: reset memory and control block, hand every worker its order, wait for all to finish. */
  async run(config: ControlConfig, rerun: string): Promise<LaneRun> {
    const ctl = this.ctl;
    const n = this.session.n;
    this.session.reset(config.seed);
    // every word but EPOCH (of the switch list, the entries the last schedule wrote)
    const used = CTL.SWITCHES_BASE + 2 * Math.min(ctl[CTL.NSWITCH], CTL.MAX_SWITCHES);
    ctl.fill(0, 0, CTL.EPOCH);
    ctl.fill(0, CTL.EPOCH + 1, used);
    // every thread's role in its record (a thread sets up its run only once the token reaches it)
    const lay = this.session.layout;
    for (let t = 0; t < n; t++) this.session.i32[(addr.thread(lay, t) + L.T_ROLE) >> 2] = ROLE_CODES.indexOf(this.session.options.roles[t]);
    const order: ScheduleOrder = { config, rerun };
    for (const port of this.ports) port.postMessage(order);
    Atomics.add(ctl, CTL.EPOCH, 1);
    const main = new Controller(this.buffer, config, this.session.i32, undefined, -1);
    main.start(initialPriorities(config));
    const crashed = await this.finished(main);
    let ops = 0;
    const posted: RoleResult[] = [];
    for (let t = 0; t < n; t++) {
      const slot = CTL.THREADS_BASE + t * CTL.T_STRIDE;
      ops += ctl[slot + CTL.T_OPS];
      if (ctl[slot + CTL.T_POSTED]) {
        const message = receiveMessageOnPort(this.ports[t])?.message as RoleResult | undefined;
        if (message) posted.push(message);
      }
    }
    return { main, ops, posted, ...(crashed ? { crashed } : {}) };
  }

  /** Wait until every thread counted itself done; an Error when a worker died or the bound ran out. */
  private async finished(main: Controller): Promise<Error | undefined> {
    const ctl = this.ctl;
    const n = this.session.n;
    const t0 = performance.now();
    let ended = false;
    for (;;) {
      const done = Atomics.load(ctl, CTL.DONE);
      if (done >= n) return undefined;
      if (this.ended) return this.ended;
      const elapsed = performance.now() - t0;
      if (!ended && elapsed >= SCHEDULE_BOUND_MS) {
        main.end(CTL_STATUS.error);
        ended = true;
      }
      if (ended && elapsed >= SCHEDULE_BOUND_MS + UNWIND_MS) {
        this.abort.abort();
        return (this.ended = new Error(`schedule seed ${main.config.seed} did not end within ${SCHEDULE_BOUND_MS} ms`));
      }
      // a schedule takes milliseconds: wait for it blocking (the quickest wake-up), in slices,
      // and between slices let the event loop run (a worker's death is reported there)
      if (Atomics.wait(ctl, CTL.DONE, done, BLOCK_SLICE_MS) === 'timed-out') await new Promise((r) => setImmediate(r));
    }
  }

  /** Let the workers go (they return to the pool); a dead lane's are aborted. */
  async close(): Promise<void> {
    if (this.ended) this.abort.abort();
    Atomics.store(this.ctl, CTL.EPOCH, SERVE_QUIT);
    for (let t = 0; t < this.session.n; t++) Atomics.notify(this.ctl, CTL.THREADS_BASE + t * CTL.T_STRIDE + CTL.T_GATE);
    await Promise.all(this.tasks);
    for (const port of this.ports) port.close();
  }
}
