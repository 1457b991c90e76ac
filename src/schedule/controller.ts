/**
 * controller.ts — controlled mode, on one role thread: only the thread holding the token runs,
 * and at every scheduling point it asks the seeded strategy whether to hand the token over.
 *
 * Since one thread runs at a time, every decision is a function of (seed, step, runnable set),
 * so a schedule repeats exactly. The control block (memory/constants.ts CTL) is written only by
 * the running thread; the hand-off (a store to the next thread's gate word, Atomics.notify, then
 * Atomics.wait on one's own gate) orders everything one thread did before the next one runs.
 *
 * Scheduling points: every traced ctx operation (Ctx.trace), each page of a walk, each half of a
 * DMA access, the end of every role operation (a yield), and every wait (block()). A thread that
 * would block records the word and the value it waits on and yields; it is runnable again once
 * that word holds something else. Steps replace the clock: a queue/completion/fence wait times
 * out after `boundSteps` steps (or at once when nothing else can run), a thread blocked on a lock
 * that long is a deadlock, a thread without a finished operation that long is a stall.
 */
import { CTL, CTL_STATUS, L } from '../memory/constants.js';
import type { HmmWasm } from '../memory/wasm.js';
import { Stopped, WAIT } from '../sync/env.js';
import { type ControlConfig, changePoints, randomPick } from './strategy.js';

/** Wait kinds (sync/env.ts WAIT) that a timeout ends instead of a deadlock: queues, completions, fences. */
const TIMED_KINDS = new Set([4, 5, 7]);
/** Wait kinds on locks (mutex, rwsem read/write, seqcount read_begin). */
const isLockWait = (kind: number) => kind >= 1 && kind <= 3;
/**
 * Wait kinds whose word a thread in another operation changes within that operation: locks,
 * queues and completions (without a timeout), seqcounts, SRCU grace periods, folio locks and page
 * references. Not device fences, pfn-cache fences or mm users (a new mm may come from a later one).
 */
const RELEASED_WITHIN_OP = new Set<number>([
  WAIT.mutex,
  WAIT.read,
  WAIT.write,
  WAIT.waitqueue,
  WAIT.completion,
  WAIT.seqcount,
  WAIT.srcu,
  WAIT.frameLock,
  WAIT.pageRefs,
]);
/**
 * A fault retried this many times with no invalidation in progress or begun during the attempt
 * (the last attempt begun after every other thread finished an operation) is a livelock.
 */
const LIVELOCK_RETRIES = 3;
const INV_BEGUN = (L.BASE + L.H_INV_BEGUN) >> 2;
const INV_ENDED = (L.BASE + L.H_INV_ENDED) >> 2;

/** What a livelocked fault retried on, for its witness (liveness.ts). */
export interface Livelock {
  sub: number;
  start: number;
  end: number;
  /** Retries of this fault, and those with no invalidation in progress or begun during their attempt. */
  retries: number;
  quiet: number;
  /** The step of its first quiet retry. */
  since: number;
  /** The mm's invalidations begun and ended (equal: none in progress). */
  begun: number;
  ended: number;
}

/** Random strategy: at a point, a new pick one time in this many (else the running thread goes on). */
const RANDOM_SWITCH_ONE_IN = 4;
/** How often (in steps) the liveness bounds are checked. */
const LIVENESS_EVERY = 16;
const WASM_STOP = (L.BASE + L.H_STOP) >> 2;

/**
 * Point kinds: a yield lowers the running thread under PCT (the end of an op, a retry); a defer
 * (step-counted widening, widen() below) hands the token to another runnable thread under either
 * strategy.
 */
export const POINT = { op: 0, yield: 1, defer: 2 } as const;

/** Directed widening in steps: a free-running widening of up to 1 ms waits here up to this many steps. */
export const WIDEN_STEPS_PER_MS = 25;
/** ... re-checking its condition after every this many steps of the other threads. */
const WIDEN_RECHECK_STEPS = 4;

export class Controller {
  private readonly ctl: Int32Array;
  private readonly me: number;
  private readonly n: number;
  private readonly changes: number[];
  private nextChange = 0;
  private cast?: Set<number>;
  /** The threads of a liveness finding (set by the thread that ends the schedule with one). */
  stuck: number[] = [];
  /** Called by the thread that ends the schedule, before any other thread runs again (renders a liveness witness). */
  onEnd?: (status: number, stuck: number[]) => void;
  /** Set when this thread's fault ended the schedule as a retry livelock (retried()). */
  livelock?: Livelock;
  // this thread's current fault (attempt(), retried()): the mm's invalidation counts when its
  // attempt began, its retries, and its quiet retries since the step `quietSince`
  private attemptBegun = 0;
  private attemptQuiet = false;
  private attemptStep = 0;
  private retries = 0;
  private quietRetries = 0;
  private quietSince = 0;
  private clearedStep = -1;

  constructor(
    buffer: SharedArrayBuffer,
    readonly config: ControlConfig,
    private readonly i32: Int32Array,
    private readonly wasm: HmmWasm | undefined,
    tid: number,
  ) {
    this.ctl = new Int32Array(buffer);
    this.me = tid;
    this.n = config.threads;
    this.changes = config.strategy === 'pct' ? changePoints(config) : [];
  }

  private t(tid: number, field: number): number {
    return CTL.THREADS_BASE + tid * CTL.T_STRIDE + field;
  }

  /** Main thread, before the threads start: initial priorities and the first thread to run. */
  start(priorities: number[]): void {
    const ctl = this.ctl;
    for (let t = 0; t < this.n; t++) ctl[this.t(t, CTL.T_PRIO)] = priorities[t];
    const first = this.choose(0, -1, POINT.op);
    if (first < 0) return;
    this.record(0, first);
    Atomics.store(ctl, this.t(first, CTL.T_GATE), 1);
    Atomics.notify(ctl, this.t(first, CTL.T_GATE));
  }

  status(): number {
    return Atomics.load(this.ctl, CTL.STATUS);
  }

  step(): number {
    return this.ctl[CTL.STEP];
  }

  /** The switches this schedule made, as (step, thread) pairs. */
  switches(): [number, number][] {
    const out: [number, number][] = [];
    const k = Math.min(this.ctl[CTL.NSWITCH], CTL.MAX_SWITCHES);
    for (let i = 0; i < k; i++) out.push([this.ctl[CTL.SWITCHES_BASE + 2 * i], this.ctl[CTL.SWITCHES_BASE + 2 * i + 1]]);
    return out;
  }

  detail(): [number, number] {
    return [this.ctl[CTL.DETAIL], this.ctl[CTL.DETAIL2]];
  }

  /** Role thread: wait for the token before the first operation. */
  waitTurn(): void {
    const gate = this.t(this.me, CTL.T_GATE);
    for (;;) {
      if (Atomics.load(this.ctl, CTL.STATUS) !== CTL_STATUS.running) throw new Stopped();
      if (Atomics.load(this.ctl, gate) === 1) {
        Atomics.store(this.ctl, gate, 0);
        if (Atomics.load(this.ctl, CTL.STATUS) !== CTL_STATUS.running) {
          // the schedule ended meanwhile: what was taken may be the end's opening, which the
          // schedule server takes once per schedule (serve.ts): leave it open
          Atomics.store(this.ctl, gate, 1);
          throw new Stopped();
        }
        return;
      }
      Atomics.wait(this.ctl, gate, 0, 100);
    }
  }

  /** A scheduling point of the running thread. */
  point(kind: number): void {
    const ctl = this.ctl;
    if (ctl[CTL.STATUS] !== CTL_STATUS.running) return; // the schedule is over: unwind freely
    const step = ++ctl[CTL.STEP];
    ctl[this.t(this.me, CTL.T_OWN_STEPS)]++;
    this.checkEnd(step);
    // (each thread keeps its own cursor into the change points: skip those other threads passed)
    while (this.changes[this.nextChange] < step) this.nextChange++;
    if (step === this.changes[this.nextChange]) {
      this.nextChange++;
      // preempted: below the next few yields too, so the others run a seeded number of operations first
      this.lower(this.me, 1 + randomPick(this.config.seed ^ 0x5bd1e995, step, 4 * this.n));
    }
    if (kind === POINT.yield && this.config.strategy === 'pct') this.lower(this.me);
    if (kind === POINT.defer) ctl[CTL.DEFER_UNTIL] = ctl[this.t(this.me, CTL.T_DEFER_UNTIL)] = step + WIDEN_RECHECK_STEPS;
    const next = this.choose(step, this.me, kind);
    if (next !== this.me) this.handTo(step, next);
  }

  /**
   * Directed widening counted in steps (Ctx.widenUntil: free-running mode spins there): the
   * running thread defers to the others until `cond()` holds (it
   * reads shared memory untraced) or WIDEN_STEPS_PER_MS steps for each of the `maxMs` a
   * free-running thread would wait have passed. Deferring, it is not picked for
   * WIDEN_RECHECK_STEPS steps (unless no other thread can run), then runs again with its own
   * priority and re-checks: the others advance a few points at a time, as they do beside a
   * spinning thread, so the condition is seen soon after it first holds. Every hand-off is a
   * recorded switch, which a replay follows.
   */
  widen(cond: () => boolean, maxMs: number): void {
    const ctl = this.ctl;
    if (ctl[CTL.STATUS] !== CTL_STATUS.running || cond()) return;
    const until = ctl[CTL.STEP] + Math.ceil(maxMs * WIDEN_STEPS_PER_MS);
    while (ctl[CTL.STATUS] === CTL_STATUS.running && ctl[CTL.STEP] < until && !cond()) this.point(POINT.defer);
  }

  /** The end of a role operation: progress, then a yield point. */
  opDone(): void {
    const ctl = this.ctl;
    if (ctl[CTL.STATUS] !== CTL_STATUS.running) return;
    ctl[this.t(this.me, CTL.T_PROGRESS_STEP)] = ctl[CTL.STEP];
    const snap = CTL.SNAP_BASE + this.me * CTL.MAX_THREADS;
    for (let u = 0; u < this.n; u++) ctl[snap + u] = ctl[this.t(u, CTL.T_OWN_STEPS)];
    this.retries = this.quietRetries = 0;
    this.point(POINT.yield);
  }

  /** The driver begins an attempt of its fault (before populate): what the mm's invalidations are then. */
  attempt(): void {
    const begun = Atomics.load(this.i32, INV_BEGUN);
    this.attemptBegun = begun;
    this.attemptQuiet = begun === Atomics.load(this.i32, INV_ENDED);
    this.attemptStep = this.ctl[CTL.STEP];
  }

  /**
   * The driver's populate returned 'retry' for [start, end) of subscription `sub`. A sound
   * protocol retries because an invalidation ran: one in progress when the attempt began, or one
   * begun during it. A retry with neither is quiet; a fault that retried quietly LIVELOCK_RETRIES
   * times, the last attempt begun after every other live thread had finished an operation since
   * the first (whatever a thread held in an operation then is released), has nothing left that
   * could let it through: a retry livelock (a stall), judged at once.
   */
  retried(sub: number, start: number, end: number): void {
    const ctl = this.ctl;
    if (ctl[CTL.STATUS] !== CTL_STATUS.running) return;
    this.retries++;
    if (!this.attemptQuiet || Atomics.load(this.i32, INV_BEGUN) !== this.attemptBegun) return;
    const step = ctl[CTL.STEP];
    if (this.quietRetries++ === 0) {
      this.quietSince = step;
      this.clearedStep = -1;
    }
    if (this.clearedStep < 0 && this.othersProgressedSince(this.quietSince)) this.clearedStep = step;
    if (this.clearedStep < 0 || this.attemptStep < this.clearedStep || this.quietRetries < LIVELOCK_RETRIES) return;
    const begun = Atomics.load(this.i32, INV_BEGUN);
    const ended = Atomics.load(this.i32, INV_ENDED);
    this.livelock = { sub, start, end, retries: this.retries, quiet: this.quietRetries, since: this.quietSince, begun, ended };
    this.stuck = [this.me];
    this.endAndStop(CTL_STATUS.stall);
  }

  /** Every other live thread finished an operation after `step`. */
  private othersProgressedSince(step: number): boolean {
    const ctl = this.ctl;
    for (let u = 0; u < this.n; u++)
      if (u !== this.me && !ctl[this.t(u, CTL.T_EXITED)] && ctl[this.t(u, CTL.T_PROGRESS_STEP)] <= step) return false;
    return true;
  }

  /**
   * block() in controlled mode: wait for the word at byte `addr` to differ from `expected`. The
   * thread yields; it runs again once the word changed ('ok') or its wait timed out ('timeout').
   */
  block(addr: number, expected: number, kind: number, untimed = false): 'ok' | 'timeout' {
    const ctl = this.ctl;
    if (ctl[CTL.STATUS] !== CTL_STATUS.running) throw new Stopped();
    const idx = addr >> 2;
    if (Atomics.load(this.i32, idx) !== expected) return 'ok';
    const step = ++ctl[CTL.STEP];
    ctl[this.t(this.me, CTL.T_OWN_STEPS)]++;
    ctl[this.t(this.me, CTL.T_WAIT_IDX)] = idx + 1;
    ctl[this.t(this.me, CTL.T_WAIT_EXPECT)] = expected;
    ctl[this.t(this.me, CTL.T_WAIT_KIND)] = kind;
    ctl[this.t(this.me, CTL.T_WAIT_SINCE)] = step;
    ctl[this.t(this.me, CTL.T_TIMED_OUT)] = 0;
    ctl[this.t(this.me, CTL.T_WAIT_UNTIMED)] = untimed ? 1 : 0;
    ctl[this.t(this.me, CTL.T_WOKEN)] = 0;
    this.wasm?.set_waiting(this.me, addr, kind);
    try {
      this.checkEnd(step);
      const next = this.choose(step, this.me, POINT.op);
      if (next !== this.me) this.handTo(step, next);
    } finally {
      ctl[this.t(this.me, CTL.T_WAIT_IDX)] = 0;
      this.wasm?.set_waiting(this.me, 0, 0);
    }
    return ctl[this.t(this.me, CTL.T_TIMED_OUT)] ? 'timeout' : 'ok';
  }

  /** The thread leaves (its loop saw the stop flag, or it failed): end the schedule if it still runs. */
  exit(failed: boolean): void {
    const ctl = this.ctl;
    ctl[this.t(this.me, CTL.T_EXITED)] = 1;
    if (ctl[CTL.STATUS] === CTL_STATUS.running)
      this.end(failed ? CTL_STATUS.error : Atomics.load(this.i32, WASM_STOP) ? CTL_STATUS.violation : CTL_STATUS.budget);
  }

  /** Violation seen (the oracle set the stop flag), step budget spent, or a liveness bound crossed. */
  private checkEnd(step: number): void {
    if (Atomics.load(this.i32, WASM_STOP) !== 0) this.endAndStop(CTL_STATUS.violation);
    if (step >= this.config.steps) this.endAndStop(CTL_STATUS.budget);
    if (step % LIVENESS_EVERY === 0) this.checkLiveness(step);
  }

  /**
   * A thread is stuck when it has not finished an operation while every other live thread ran
   * `boundSteps` points (so a thread merely preempted, or waiting on one that is, is not): a
   * deadlock when it is blocked on a lock, else a stall.
   */
  private checkLiveness(step: number): void {
    const ctl = this.ctl;
    const bound = this.config.boundSteps;
    const deadlocked: number[] = [];
    const stalled: number[] = [];
    for (let t = 0; t < this.n; t++) {
      if (ctl[this.t(t, CTL.T_EXITED)] || step - ctl[this.t(t, CTL.T_PROGRESS_STEP)] < bound) continue;
      const snap = CTL.SNAP_BASE + t * CTL.MAX_THREADS;
      let others = 0,
        starved = true;
      for (let u = 0; u < this.n && starved; u++) {
        if (u === t || ctl[this.t(u, CTL.T_EXITED)]) continue;
        others++;
        starved = ctl[this.t(u, CTL.T_OWN_STEPS)] - ctl[snap + u] >= bound;
      }
      if (!starved || !others) {
        // threads waiting on each other (a wait-for cycle) while the rest run on
        if (ctl[this.t(t, CTL.T_WAIT_IDX)] !== 0 && step - ctl[this.t(t, CTL.T_WAIT_SINCE)] >= bound && this.inCycle(t)) deadlocked.push(t);
        continue;
      }
      if (ctl[this.t(t, CTL.T_WAIT_IDX)] !== 0 && isLockWait(ctl[this.t(t, CTL.T_WAIT_KIND)])) deadlocked.push(t);
      else stalled.push(t);
    }
    if (deadlocked.length) {
      this.stuck = deadlocked;
      this.endAndStop(CTL_STATUS.deadlock);
    }
    if (stalled.length) {
      this.stuck = stalled;
      this.endAndStop(CTL_STATUS.stall);
    }
    const group = this.stuckGroup(step);
    if (group.length) {
      this.stuck = group;
      this.endAndStop(group.some((t) => isLockWait(ctl[this.t(t, CTL.T_WAIT_KIND)])) ? CTL_STATUS.deadlock : CTL_STATUS.stall);
    }
  }

  /**
   * Threads blocked while the others run on: each has waited `boundSteps` points, without a
   * timeout, on a word that has not changed since (RELEASED_WITHIN_OP: something another thread
   * releases within an operation), and every other live thread finished an operation after the
   * last of them blocked, so whatever those threads held then is released. Nobody left will wake
   * them: they wait on each other (a notifier waiting for pages whose holder waits for that
   * notifier), or on something a finished operation kept (a leaked folio lock).
   */
  private stuckGroup(step: number): number[] {
    const ctl = this.ctl;
    const bound = this.config.boundSteps;
    const group: number[] = [];
    for (let t = 0; t < this.n; t++) {
      const w = ctl[this.t(t, CTL.T_WAIT_IDX)];
      if (!w || ctl[this.t(t, CTL.T_EXITED)] || ctl[this.t(t, CTL.T_WOKEN)] || this.timed(t)) continue;
      if (step - ctl[this.t(t, CTL.T_WAIT_SINCE)] < bound || !RELEASED_WITHIN_OP.has(ctl[this.t(t, CTL.T_WAIT_KIND)])) continue;
      if (Atomics.load(this.i32, w - 1) === ctl[this.t(t, CTL.T_WAIT_EXPECT)]) group.push(t);
    }
    // a driver may keep pages referenced across its operations (until its next fault), so a wait
    // for page references counts only while the thread that last took one is in the group too
    for (let pruned = true; pruned; ) {
      pruned = false;
      for (const t of group) {
        if (ctl[this.t(t, CTL.T_WAIT_KIND)] !== WAIT.pageRefs) continue;
        const refBy = Atomics.load(this.i32, ctl[this.t(t, CTL.T_WAIT_IDX)] - 1 + ((L.F_REF_BY - L.F_REFCOUNT) >> 2)) - 1;
        if (group.includes(refBy)) continue;
        group.splice(group.indexOf(t), 1);
        pruned = true;
        break;
      }
    }
    if (!group.length) return group;
    let latest = 0;
    for (const t of group) latest = Math.max(latest, ctl[this.t(t, CTL.T_WAIT_SINCE)]);
    let others = 0;
    for (let u = 0; u < this.n; u++) {
      if (group.includes(u) || ctl[this.t(u, CTL.T_EXITED)]) continue;
      if (ctl[this.t(u, CTL.T_PROGRESS_STEP)] <= latest) return [];
      others++;
    }
    return others ? group : [];
  }

  /** Threads `t` waits for: the holders of the lock it is blocked on, and (a reader) the writers queued ahead of it. */
  private waitsFor(t: number): number[] {
    const ctl = this.ctl;
    const w = ctl[this.t(t, CTL.T_WAIT_IDX)];
    const kind = ctl[this.t(t, CTL.T_WAIT_KIND)];
    if (!w || !isLockWait(kind)) return [];
    const line = ((w - 1) << 2) & ~(L.LINE - 1);
    const i32 = this.i32;
    const base = i32[(L.BASE + L.H_THREADS_BASE) >> 2];
    const out: number[] = [];
    for (let u = 0; u < this.n; u++) {
      if (u === t) continue;
      const rec = (base + u * L.THREAD_SIZE) >> 2;
      const held = Math.min(i32[rec + (L.T_HELD_N >> 2)], L.HELD_MAX);
      let holds = false;
      for (let k = 0; k < held; k++) if ((i32[rec + (L.T_HELD >> 2) + k] & ~3) === line) holds = true;
      const uw = ctl[this.t(u, CTL.T_WAIT_IDX)];
      const queuedWriter = kind === 2 && uw !== 0 && ctl[this.t(u, CTL.T_WAIT_KIND)] === 3 && (((uw - 1) << 2) & ~(L.LINE - 1)) === line;
      if (holds || queuedWriter) out.push(u);
    }
    return out;
  }

  private inCycle(t: number): boolean {
    const seen = new Set<number>();
    const walk = (u: number): boolean => {
      for (const v of this.waitsFor(u)) {
        if (v === t) return true;
        if (!seen.has(v)) {
          seen.add(v);
          if (walk(v)) return true;
        }
      }
      return false;
    };
    return walk(t);
  }

  /** Whether `t`'s wait is one a step bound may end (a queue, completion or fence wait given a timeout). */
  private timed(t: number): boolean {
    return TIMED_KINDS.has(this.ctl[this.t(t, CTL.T_WAIT_KIND)]) && !this.ctl[this.t(t, CTL.T_WAIT_UNTIMED)];
  }

  /** 1 runnable, 2 runnable because its wait timed out, 0 not runnable. */
  private runnable(t: number, step: number): number {
    const ctl = this.ctl;
    if (ctl[this.t(t, CTL.T_EXITED)]) return 0;
    const w = ctl[this.t(t, CTL.T_WAIT_IDX)];
    if (w === 0) return 1;
    if (Atomics.load(this.i32, w - 1) !== ctl[this.t(t, CTL.T_WAIT_EXPECT)]) {
      ctl[this.t(t, CTL.T_WOKEN)] = 1;
      return 1;
    }
    if (this.timed(t) && step - ctl[this.t(t, CTL.T_WAIT_SINCE)] >= this.config.boundSteps) return 2;
    return 0;
  }

  /** Drop `t` below every thread (and below the next `gap - 1` threads that yield). */
  private lower(t: number, gap = 1): void {
    this.ctl[CTL.LOW]--;
    this.ctl[this.t(t, CTL.T_PRIO)] = this.ctl[CTL.LOW] - (gap - 1);
  }

  /** The strategy's pick at `step` (cur: the running thread, -1 at the start). Ends the schedule when none can run. */
  private choose(step: number, cur: number, kind: number): number {
    const ctl = this.ctl;
    const cfg = this.config;
    const state = new Array<number>(this.n);
    let any = false;
    for (let t = 0; t < this.n; t++) any = (state[t] = this.runnable(t, step)) !== 0 || any;
    // a widening thread sits out its few steps while another thread can run
    let deferred = false;
    if (ctl[CTL.DEFER_UNTIL] > step)
      for (let t = 0; t < this.n; t++)
        if (state[t] && ctl[this.t(t, CTL.T_DEFER_UNTIL)] > step) {
          deferred = true;
          state[t] = 0;
        }
    if (deferred && !state.some((x) => x !== 0))
      for (let t = 0; t < this.n; t++) state[t] = ctl[this.t(t, CTL.T_DEFER_UNTIL)] > step ? this.runnable(t, step) : 0;
    if (!any) {
      // nothing can run: the waiter that has waited longest on a queue/completion/fence times out
      let best = -1;
      for (let t = 0; t < this.n; t++) {
        if (ctl[this.t(t, CTL.T_EXITED)] || !ctl[this.t(t, CTL.T_WAIT_IDX)] || !this.timed(t)) continue;
        if (best < 0 || ctl[this.t(t, CTL.T_WAIT_SINCE)] < ctl[this.t(best, CTL.T_WAIT_SINCE)]) best = t;
      }
      if (best < 0) {
        this.stuck = Array.from({ length: this.n }, (_, t) => t).filter((t) => !ctl[this.t(t, CTL.T_EXITED)]);
        this.endAndStop(CTL_STATUS.deadlock);
      }
      state[best] = 2;
    }
    let next: number;
    if (cfg.strategy === 'replay') next = this.replayPick(step, cur, state);
    else if (cfg.strategy === 'random') {
      // keep the running thread with probability 3/4 (runs long enough to finish a critical
      // section), else a uniformly random runnable thread
      if (cur >= 0 && state[cur] && randomPick(cfg.seed ^ 0x27d4eb2f, step, RANDOM_SWITCH_ONE_IN) !== 0) next = cur;
      else {
        const ids = state.map((s, t) => (s ? t : -1)).filter((t) => t >= 0);
        next = ids[randomPick(cfg.seed, step, ids.length)];
      }
    } else {
      next = -1;
      for (let t = 0; t < this.n; t++) if (state[t] && (next < 0 || ctl[this.t(t, CTL.T_PRIO)] > ctl[this.t(next, CTL.T_PRIO)])) next = t;
    }
    void kind;
    if (state[next] === 2) ctl[this.t(next, CTL.T_TIMED_OUT)] = 1;
    return next;
  }

  /** Replay: the switch the schedule lists at this step, else keep running; divergence when that cannot be. */
  private replayPick(step: number, cur: number, state: number[]): number {
    const ctl = this.ctl;
    const list = this.config.switches ?? [];
    const c = ctl[CTL.CURSOR];
    let named = -1;
    if (c < list.length && list[c][0] === step) {
      named = list[c][1];
      ctl[CTL.CURSOR] = c + 1;
      if (named >= 0 && named < this.n && state[named]) return named;
    } else if (cur >= 0 && state[cur]) return cur;
    if (this.config.lenient) {
      // shrinking: keep the running thread when it can run, else the next runnable one after it,
      // preferring the threads the switch list names (a thread dropped from it runs only when
      // none of those can)
      if (cur >= 0 && state[cur]) return cur;
      const cast = (this.cast ??= new Set(list.map((s) => s[1])));
      for (const inCast of [true, false])
        for (let k = 1; k <= this.n; k++) {
          const t = (Math.max(cur, 0) + k) % this.n;
          if (state[t] && cast.has(t) === inCast) return t;
        }
    }
    ctl[CTL.DETAIL] = step;
    ctl[CTL.DETAIL2] = named;
    this.endAndStop(CTL_STATUS.divergence);
    return cur;
  }

  private record(step: number, t: number): void {
    const ctl = this.ctl;
    const k = ctl[CTL.NSWITCH]++;
    if (k < CTL.MAX_SWITCHES) {
      ctl[CTL.SWITCHES_BASE + 2 * k] = step;
      ctl[CTL.SWITCHES_BASE + 2 * k + 1] = t;
    }
  }

  /** Give the token to `next` and sleep until it comes back (or the schedule ends: Stopped). */
  private handTo(step: number, next: number): void {
    const ctl = this.ctl;
    this.record(step, next);
    ctl[CTL.TOKEN] = next;
    Atomics.store(ctl, this.t(next, CTL.T_GATE), 1);
    Atomics.notify(ctl, this.t(next, CTL.T_GATE));
    this.waitTurn();
  }

  private endAndStop(status: number): never {
    this.end(status);
    throw new Stopped();
  }

  /** End the schedule: everyone's gate opens, and every thread unwinds (Stopped). */
  end(status: number): void {
    const ctl = this.ctl;
    if (ctl[CTL.STATUS] !== CTL_STATUS.running) return;
    if (this.stuck.length) ctl[CTL.DETAIL] = this.stuck[0];
    Atomics.store(ctl, CTL.STATUS, status);
    this.onEnd?.(status, this.stuck);
    ctl[CTL.TOKEN] = -1;
    Atomics.store(this.i32, WASM_STOP, 1);
    Atomics.notify(this.i32, WASM_STOP);
    for (let t = 0; t < this.n; t++) {
      Atomics.store(ctl, this.t(t, CTL.T_GATE), 1);
      Atomics.notify(ctl, this.t(t, CTL.T_GATE));
    }
  }
}
