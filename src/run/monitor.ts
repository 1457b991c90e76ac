/**
 * monitor.ts — the main thread's supervision of one protocol's run, shared by the Node runner
 * (runner.ts, polling on a timer) and the browser demo (demo/run-loop.ts, polling once per
 * animation frame). No Node or DOM imports, and it never blocks: the caller calls poll() and
 * starts or kills the role threads itself.
 *
 * Phases: starting (waiting at the start barrier) -> running (progress, deadline, op budget,
 * violations, watchdog) -> stopping (the stop flag is set; threads leave within a wait slice)
 * -> done (every thread returned, or the harness timeout passed: `hung()` names the ones to kill).
 */
import type { Expectation } from '../api/types.js';
import type { RoleResult } from './thread.js';
import type { Session } from './session.js';

/** What a role thread handed back: its result, the error that killed its worker, or nothing yet. */
export type Settled = RoleResult | Error | undefined;

export type MonitorPhase = 'starting' | 'running' | 'stopping' | 'done';

/** The parts of a Session the monitor reads. */
export type MonitoredSession = Pick<
  Session,
  'n' | 'ready' | 'go' | 'stop' | 'stopped' | 'elapsedMs' | 'ops' | 'watchdog' | 'stuckForMs' | 'violationTotal'
> &
  Partial<Pick<Session, 'liveness' | 'livenessThreads' | 'callbackOf' | 'starving' | 'started' | 'threadPhase'>>;

export interface MonitorOptions {
  /** Run this long (Infinity: until stopped). A protocol expected to deadlock or stall gets one watchdog bound more. */
  durationMs: number;
  /** Stop once the roles completed this many operations (Infinity: no budget). */
  opsBudget: number;
  watchdogMs: number;
  stopOnViolation: boolean;
  /** How long the threads may go without one more of them starting or reaching the start barrier. */
  barrierMs: number;
  /** The threads' wait slice: each sees the stop flag within one. */
  sliceMs: number;
  expect: Expectation;
  /** Clock, ms (default performance.now). */
  now?: () => number;
}

/** The harness's own error texts (they end up in ProtocolResult.error as "harness: ..."). */
export const barrierTimeoutError = (barrierMs: number) => `workers did not reach the start barrier within ${barrierMs / 1000} s`;
/** Threads the harness terminated; `phase` says what each was doing (Session.threadPhase), where known. */
export const hungError = (tids: number[], phase?: (tid: number) => string) =>
  `T${tids.join(', T')} did not stop within the harness timeout and were terminated` +
  (phase ? `: ${tids.map((t) => `T${t} ${phase(t)}`).join('; ')}` : '');

/** After the stop flag: how long threads get to return before they are killed. */
export const harnessTimeoutMs = (sliceMs: number) => sliceMs * 20 + 5000;

export class RunMonitor {
  phase: MonitorPhase = 'starting';
  /** The deadline the run is held to (the liveness bound included). */
  readonly durationMs: number;
  /** Run time, frozen when the stop was asked for (0 if the run never started). */
  elapsedMs = 0;
  harnessError: string | undefined;
  private readonly now: () => number;
  private readonly startedAt: number;
  private stopAskedAt = 0;
  /** The start barrier's progress (threads started + threads ready) and when it last moved. */
  private barrierProgress: { value: number; at: number };

  constructor(
    readonly session: MonitoredSession,
    readonly settled: Settled[],
    readonly options: MonitorOptions,
  ) {
    this.now = options.now ?? (() => performance.now());
    this.startedAt = this.now();
    this.barrierProgress = { value: 0, at: this.startedAt };
    const expect = options.expect;
    const liveness = expect !== 'sound' && expect.violates.some((k) => k === 'deadlock' || k === 'stall');
    // a deadlock or stall can only be judged after the watchdog's bound
    this.durationMs = options.durationMs + (liveness ? options.watchdogMs : 0);
  }

  /** Has any thread returned (or its worker died)? */
  anySettled(): boolean {
    return this.settled.some((x) => x !== undefined);
  }

  /** Advance the run by what the shared memory and the settled threads say now; returns the phase. */
  poll(): MonitorPhase {
    const session = this.session;
    const now = this.now();
    if (this.phase === 'starting') {
      if (session.ready() === session.n && !this.anySettled()) {
        session.go();
        this.phase = 'running';
      } else if (this.anySettled()) {
        this.stop(); // a thread failed before the start: its error is in what it returned
      } else {
        // on a loaded machine workers start slowly: only barrierMs without one more of them
        // starting or reaching the barrier is a failure (a worker that hangs while starting)
        const value = (session.started?.() ?? 0) + session.ready();
        if (value !== this.barrierProgress.value) this.barrierProgress = { value, at: now };
        if (now - this.barrierProgress.at > this.options.barrierMs) this.stop(barrierTimeoutError(this.options.barrierMs));
      }
    }
    if (this.phase === 'running' && this.shouldStop()) this.stop();
    if (this.phase === 'stopping') {
      // threads the liveness witness names as stuck in a callback may never return: once only
      // they are left, they get a few slices, then are ended (their end is part of the verdict)
      const calloutOnly = this.livenessNamed(this.hung()) && this.hung().every((t) => session.callbackOf?.(t));
      const waited = now - this.stopAskedAt;
      if (!this.anyPending() || waited > harnessTimeoutMs(this.options.sliceMs) || (calloutOnly && waited > 4 * this.options.sliceMs))
        this.finish();
    }
    return this.phase;
  }

  private anyPending(): boolean {
    return this.settled.some((x) => x === undefined);
  }

  private shouldStop(): boolean {
    const { session, options } = this;
    if (session.stopped() || this.anySettled()) return true;
    if (session.watchdog(options.watchdogMs)) return true;
    if (options.stopOnViolation && session.violationTotal() > 0) return true;
    const elapsed = session.elapsedMs();
    if (elapsed < this.durationMs && session.ops() < options.opsBudget) return false;
    // a thread already stuck a while at the deadline gets the watchdog's full bound to be judged,
    // and two more while the judgement waits for a starved thread to get a CPU (session.ts, watchdog)
    const stuck = session.stuckForMs() >= Math.min(250, options.watchdogMs / 4);
    const extended = this.durationMs + options.watchdogMs * (session.starving ? 3 : 1);
    // still starved then: the run ends all the same, that no progress left unjudged (starvation.unjudged)
    if (stuck && session.starving && elapsed >= extended) session.watchdog(options.watchdogMs, true);
    return !(stuck && elapsed < extended);
  }

  /** Ask the run to stop (a user's request, an abort, or the monitor's own decision); `why` becomes the harness error. */
  stop(why?: string): void {
    if (this.phase === 'stopping' || this.phase === 'done') return;
    if (this.phase === 'running') this.elapsedMs = this.session.elapsedMs();
    if (why) this.harnessError ??= why;
    this.session.stop();
    this.phase = 'stopping';
    this.stopAskedAt = this.now();
  }

  /** Are these threads all named by the run's liveness witness? */
  private livenessNamed(tids: number[]): boolean {
    return this.session.liveness !== undefined && tids.length > 0 && tids.every((t) => this.session.livenessThreads?.includes(t));
  }

  private finish(): void {
    const hung = this.hung();
    if (hung.length && !this.livenessNamed(hung)) {
      const named = hungError(hung, this.session.threadPhase?.bind(this.session));
      this.harnessError = this.harnessError ? `${this.harnessError}; ${named}` : named;
    }
    this.phase = 'done';
  }

  /** Threads that have not returned: once done, the caller terminates their workers. */
  hung(): number[] {
    return this.settled.map((x, tid) => (x === undefined ? tid : -1)).filter((tid) => tid >= 0);
  }
}
