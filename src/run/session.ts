/**
 * session.ts — one protocol's run on one fresh shared memory, independent of how its threads
 * are started (piscina workers in Node: runner.ts; Web Workers in the browser demo).
 *
 * Lifecycle (main thread): new Session() lays out and initialises the memory and the protocol
 * state (single-threaded) -> start one thread per `tasks[i]` (thread.ts) -> wait for ready() ==
 * n -> go() -> poll(): counters, watchdog -> stop() -> summarize(results).
 */
import {
  DETECTIONS_WORD,
  GO_WORD,
  L,
  READY_WORD,
  STOP_WORD,
  VIOLATIONS_WORD,
  addr,
  computeLayout,
  type Layout,
  type LayoutConfig,
} from '../memory/layout.js';
import { HEADER_FLAG, createRunMemory, writeHeader } from '../memory/header.js';
import { VIOLATION_KINDS, type ViolationKind } from '../api/kinds.js';
import type { HmmWasm } from '../memory/wasm.js';
import { Ctx } from '../model/ctx.js';
import type { RenderNames } from '../oracle/events.js';
import { schemaLines, type MirrorProtocol } from '../protocols/api.js';
import { renderWitness } from '../oracle/witness.js';
import { leakedLockWaiters, livenessWitness, lockNames, waitClosure, waitForCycle } from '../oracle/watchdog.js';
import type { SchedTimes } from './schedstat.js';
import { epochNow } from '../oracle/oracle.js';
import { PluginError, callbackName } from '../protocols/call.js';
import { DEFAULTS } from '../config/defaults.js';
import { WAIT, WAIT_NAMES } from '../sync/env.js';
import type { RoleTask, RoleResult } from './thread.js';
import type { ProtocolResult, RoleName, Witness } from '../api/types.js';
import { readCoverage } from '../oracle/coverage.js';
import { verdictOf } from '../oracle/verdict.js';

export { verdictOf } from '../oracle/verdict.js';

/** The run's settings: what every role thread gets (RoleTask), plus the protocol and the roles. */
export interface SessionOptions
  extends Pick<
    RoleTask,
    | 'protocolUrl'
    | 'protocolWhere'
    | 'module'
    | 'layout'
    | 'seed'
    | 'events'
    | 'oracle'
    | 'recordEvents'
    | 'widen'
    | 'stopOnViolation'
    | 'latestWitnessMs'
    | 'lockTimeoutMs'
    | 'sliceMs'
    | 'mutation'
  > {
  proto: MirrorProtocol;
  roles: RoleName[];
  /** A wait-for cycle unchanged this long is a deadlock at once (default DEFAULTS.deadlockMs). */
  deadlockMs?: number;
  /** The rerun line's flags: protocol spec (its path for a plugin) and every non-default flag. */
  rerun?: string;
  /** The event ticket's first value (default 0; StressOptions.ticketStart). */
  ticketStart?: number;
  /** Reads an OS thread's scheduling (Node on Linux: run/schedstat.ts); absent, the watchdog judges by wall time alone. */
  schedTimes?: (osTid: number) => SchedTimes | undefined;
}

/** T_ROLE of a role thread that has not instantiated yet (the session writes it; thread.ts prepare the role). */
const NOT_STARTED = -1;
/** How often the watchdog samples the threads' scheduling (ms). */
const SCHED_SAMPLE_MS = 100;
/** A waiter kept out by a leaked lock is judged when seen so at two watchdog steps at least this far apart (ms): the
 *  wait words, held lists and lock word are read one after another, so one reading alone could mix two moments. */
const LEAK_CONFIRM_MS = 10;
/** A thread that waited this many times longer for a CPU than it ran on one was starved. */
const STARVED_WAIT_RATIO = 3;
/**
 * A thread asleep in one of hmmsim's waits runs only to look at its condition again (at a wake-up
 * or the end of a slice): one put on a CPU at least this many times in the bound, and at least
 * twice in its last quarter, with a run-queue delay of at most the bound / WAITER_DELAY_DIV a time
 * on average, kept looking and found its condition false: not starved, however long it waited for
 * a CPU in all (a busy run's other threads keep both cores, and each wake-up queues behind them).
 */
const WAITER_MIN_RUNS = 8;
const WAITER_DELAY_DIV = 40;

/** The memory a run of `proto` needs: the run's sizes, one record per role thread plus the main thread's, the protocol's state lines. */
export function layoutConfigFor(
  proto: MirrorProtocol,
  run: { pages: number; devices: number; subsPerDevice: number; roleThreads: number },
): LayoutConfig {
  return {
    pages: run.pages,
    devices: run.devices,
    subsPerDevice: run.subsPerDevice,
    threads: run.roleThreads + 1,
    rangeMax: DEFAULTS.rangeMax,
    ringEntries: DEFAULTS.ringEntries,
    protoMmLines: Math.max(1, schemaLines(proto.mmState)),
    protoSubLines: Math.max(1, schemaLines(proto.subState)),
    protoRangeLines: Math.max(1, schemaLines(proto.rangeState)),
  };
}

export class Session {
  readonly memory: WebAssembly.Memory;
  readonly i32: Int32Array;
  readonly layout: Layout;
  readonly wasm: HmmWasm;
  readonly n: number;
  readonly names: RenderNames;
  readonly tasks: RoleTask[];
  readonly dmaTids: number[][];
  private readonly flags: number;
  startEpoch = 0;
  private t0 = 0;
  private lastProgress: { v: number; at: number }[] = [];
  /** Per thread: the T_CALLBACK word (one call of one callback) last seen, and since when. */
  private sameCall: { word: number; since: number }[] = [];
  /** Per thread, from the watchdog's samples: the lock word it is blocked on, since when, and (a
   *  rwsem) its RW_SEQ then: a release that may let a waiter in bumps it (src/sync/rwsem.ts). */
  private blocked: { addr: number; since: number; seq?: number }[] = [];
  liveness: Witness | undefined;
  /** The threads the liveness witness names (a thread stuck in a callback may have to be terminated). */
  livenessThreads: number[] = [];
  /** The wait-for cycle last seen, and since when (performance.now()). */
  private cycle: { signature: string; since: number } | undefined;
  /** Waiters kept out by a leaked lock last seen (leakedLockWaiters), and since when. */
  private leak: { signature: string; since: number } | undefined;
  /** Per thread: scheduling samples (SchedTimes, every SCHED_SAMPLE_MS) covering the last watchdog bound. */
  private sched: ({ at: number } & SchedTimes)[][] = [];
  private schedSampledAt = -Infinity;
  /** Watchdog steps at which no progress was not judged a liveness violation: a thread it waits on was starved of CPU. */
  starvedSteps = 0;
  /** The last watchdog step put its judgement off for that reason. */
  starving = false;
  /** The first starved thread's scheduling, as the report says it. */
  private firstStarved = '';
  /** No progress still unjudged when the run ended, because a thread it waited on was starved then too. */
  unjudgedStarved = '';

  /** Lay out and initialise memory and protocol state. Throws PluginError if the protocol's init() throws. */
  constructor(readonly options: SessionOptions) {
    const { proto, roles } = options;
    this.layout = computeLayout(options.layout);
    this.flags = (options.oracle ? HEADER_FLAG.oracle : 0) | (options.recordEvents ? HEADER_FLAG.events : 0);
    ({ memory: this.memory, i32: this.i32, wasm: this.wasm } = createRunMemory(this.layout, this.flags, options.module));
    if (options.ticketStart) this.ticket()[0] = BigInt(options.ticketStart);
    this.n = roles.length;
    const devices = this.layout.config.devices;
    const device = roles.map((r, t) => roles.slice(0, t).filter((x) => x === r).length % devices);
    this.dmaTids = Array.from({ length: devices }, (_, d) =>
      roles.map((r, t) => (r === 'dma' && device[t] === d ? t : -1)).filter((t) => t >= 0),
    );
    this.names = {
      fields: { mm: Object.keys(proto.mmState ?? {}), sub: Object.keys(proto.subState ?? {}), range: Object.keys(proto.rangeState ?? {}) },
      notes: proto.notes ?? [],
      roles: [...roles, 'main'],
    };
    this.initState(options.seed);
    this.tasks = roles.map((role, tid) => ({
      memory: this.memory,
      module: options.module,
      layout: options.layout,
      protocolUrl: options.protocolUrl,
      protocolWhere: options.protocolWhere,
      tid,
      role,
      device: device[tid],
      dmaTids: this.dmaTids,
      seed: options.seed,
      events: options.events,
      oracle: options.oracle,
      recordEvents: options.recordEvents,
      widen: options.widen,
      stopOnViolation: options.stopOnViolation,
      ...(options.latestWitnessMs ? { latestWitnessMs: options.latestWitnessMs } : {}),
      lockTimeoutMs: options.lockTimeoutMs,
      sliceMs: options.sliceMs,
      barrierTimeoutMs: 2 * DEFAULTS.barrierMs, // a last resort: the monitor's bound (DEFAULTS.barrierMs) comes first
      ...(options.mutation ? { mutation: options.mutation } : {}),
    }));
  }

  /** The model's initial state: the mm, one mapping over every page, and the protocol's init() with `seed`. */
  private initState(seed: number): void {
    const options = this.options;
    // a role thread marks its role once it has instantiated (thread.ts prepare): until then, not started
    for (let t = 0; t < options.roles.length; t++) this.i32[(addr.thread(this.layout, t) + L.T_ROLE) >> 2] = NOT_STARTED;
    const proto = options.proto;
    this.wasm.mm_init();
    this.wasm.vma_set(0, this.layout.config.pages, L.VM_MAPPED | L.VM_READ | L.VM_WRITE);
    // protocol init, single-threaded, on the main thread's record (the last one)
    const env = { i32: this.i32, wasm: this.wasm, tid: this.n, lockTimeoutMs: options.lockTimeoutMs, sliceMs: options.sliceMs };
    const ctx = new Ctx(env, this.wasm, this.layout, proto, {
      oracle: options.oracle,
      events: options.recordEvents,
      widen: false,
      seed,
      dmaTids: this.dmaTids,
      onViolation: () => {},
    });
    try {
      proto.init?.(ctx);
    } catch (e) {
      throw new PluginError(proto.name, 'init', e);
    }
  }

  /**
   * Make the memory what a new Session's would be (zeroed, header, initial state with `seed`),
   * for another run on the same threads and Wasm instances (controlled mode: schedule/serve.ts).
   * Single-threaded: no thread may touch the memory until the next run starts.
   */
  reset(seed: number): void {
    // zero what a run can have written: everything but the event rings, and of each ring the
    // entries its head passed (ev() writes slot head & mask, then bumps the head)
    const bytes = new Uint8Array(this.memory.buffer);
    const lay = this.layout;
    const ringBytes = lay.config.ringEntries * L.EV_SIZE;
    const ringsEnd = lay.ringsBase + lay.config.threads * ringBytes;
    for (let t = 0; t < lay.config.threads; t++) {
      const head = this.i32[(addr.thread(lay, t) + L.T_RING_HEAD) >> 2] >>> 0;
      const ring = addr.ring(lay, t);
      bytes.fill(0, ring, ring + Math.min(head * L.EV_SIZE, ringBytes));
    }
    bytes.fill(0, 0, lay.ringsBase);
    bytes.fill(0, ringsEnd);
    writeHeader(this.i32, this.layout, this.flags);
    if (this.wasm.setup() !== 0) throw new Error('hmmsim wasm setup() found no header of this layout version');
    this.initState(seed);
  }

  /** Threads whose worker has taken its task (it published its OS thread id, or marked its role). */
  started(): number {
    let count = 0;
    for (let t = 0; t < this.n; t++) {
      const rec = addr.thread(this.layout, t) >> 2;
      if (Atomics.load(this.i32, rec + (L.T_ROLE >> 2)) !== NOT_STARTED || Atomics.load(this.i32, rec + (L.T_OS_TID >> 2)) !== 0) count++;
    }
    return count;
  }

  /** What thread `t` is doing, in words: for the harness error that names a thread it had to terminate. */
  threadPhase(t: number): string {
    const rec = addr.thread(this.layout, t) >> 2;
    const role = this.names.roles[t];
    if (Atomics.load(this.i32, rec + (L.T_ROLE >> 2)) === NOT_STARTED)
      return Atomics.load(this.i32, rec + (L.T_OS_TID >> 2)) !== 0
        ? `${role}: had not reached the start barrier (its worker was loading the protocol and the Wasm module)`
        : `${role}: had not reached the start barrier (no worker had taken its task yet)`;
    if (!this.t0) return `${role}: waiting at the start barrier`;
    const cb = this.callbackOf(t);
    const kind = Atomics.load(this.i32, rec + (L.T_WAIT_KIND >> 2));
    const waitAddr = Atomics.load(this.i32, rec + (L.T_WAIT_ADDR >> 2));
    const line = waitAddr - (waitAddr % L.LINE);
    const name = lockNames(this.layout, this.options.proto).get(line) ?? `0x${waitAddr.toString(16)}`;
    return `${role}: ${cb ? `in ${cb}(), ` : ''}${kind ? `blocked on ${WAIT_NAMES[kind] ?? 'a wait'} ${name}` : 'running (not in a wait)'}`;
  }

  /** Threads that reached the start barrier. */
  ready(): number {
    return Atomics.load(this.i32, READY_WORD);
  }

  /** Release the barrier; the run's clock starts now. */
  go(): void {
    this.startEpoch = epochNow();
    new Float64Array(this.memory.buffer, addr.header(L.H_START_EPOCH), 1)[0] = this.startEpoch;
    this.t0 = performance.now();
    this.lastProgress = Array.from({ length: this.n }, (_, t) => ({ v: this.progressOf(t), at: this.t0 }));
    Atomics.store(this.i32, GO_WORD, 1);
    Atomics.notify(this.i32, GO_WORD);
  }

  elapsedMs(): number {
    return performance.now() - this.t0;
  }

  stop(): void {
    Atomics.store(this.i32, STOP_WORD, 1);
    Atomics.notify(this.i32, STOP_WORD);
  }

  stopped(): boolean {
    return Atomics.load(this.i32, STOP_WORD) !== 0;
  }

  progressOf(t: number): number {
    return Atomics.load(this.i32, (addr.thread(this.layout, t) + L.T_PROGRESS) >> 2);
  }

  ops(): number {
    let s = 0;
    for (let t = 0; t < this.n; t++) s += this.progressOf(t);
    return s;
  }

  retries(): number {
    let s = 0;
    for (let t = 0; t < this.n; t++) s += Atomics.load(this.i32, (addr.thread(this.layout, t) + L.T_RETRIES) >> 2);
    return s;
  }

  violations(): Partial<Record<ViolationKind, number>> {
    return this.countsByKind(VIOLATIONS_WORD);
  }

  /** Raw detections by kind (a stale entry hit again and again counts once in violations()). */
  detections(): Partial<Record<ViolationKind, number>> {
    return this.countsByKind(DETECTIONS_WORD);
  }

  /** The non-zero counters of the per-kind array at word index `base`. */
  private countsByKind(base: number): Partial<Record<ViolationKind, number>> {
    const counts: Partial<Record<ViolationKind, number>> = {};
    VIOLATION_KINDS.forEach((kind, i) => {
      const c = Atomics.load(this.i32, base + i);
      if (c) counts[kind] = c;
    });
    return counts;
  }

  violationTotal(): number {
    let s = 0;
    for (let i = 0; i < VIOLATION_KINDS.length; i++) s += Atomics.load(this.i32, VIOLATIONS_WORD + i);
    return s;
  }

  /** How long the most stuck thread has gone without progress (as of the last watchdog step). */
  stuckForMs(): number {
    const nowMs = performance.now();
    return Math.max(0, ...this.lastProgress.map((p) => nowMs - p.at));
  }

  /** Sample every thread's scheduling (where the runner can read it) every SCHED_SAMPLE_MS, keeping the last bound's. */
  private sampleSched(nowMs: number, boundMs: number): void {
    const read = this.options.schedTimes;
    if (!read || nowMs - this.schedSampledAt < SCHED_SAMPLE_MS) return;
    this.schedSampledAt = nowMs;
    for (let t = 0; t < this.n; t++) {
      const times = read(Atomics.load(this.i32, (addr.thread(this.layout, t) + L.T_OS_TID) >> 2));
      if (!times) continue;
      const samples = (this.sched[t] ??= []);
      samples.push({ at: nowMs, ...times });
      while (samples.length > 2 && samples[1].at <= nowMs - boundMs) samples.shift();
    }
  }

  /** Per thread: CPU time and run-queue wait within the last `boundMs` (undefined: not known). */
  private schedWithin(nowMs: number, boundMs: number): (SchedTimes | undefined)[] {
    return Array.from({ length: this.n }, (_, t) => {
      const samples = this.sched[t];
      if (!samples?.length) return undefined;
      let base = samples[0];
      for (const x of samples) if (x.at <= nowMs - boundMs) base = x;
      const last = samples[samples.length - 1];
      const runs = last.runs !== undefined && base.runs !== undefined ? { runs: last.runs - base.runs } : {};
      return { cpuMs: last.cpuMs - base.cpuMs, waitMs: last.waitMs - base.waitMs, ...runs };
    });
  }

  /**
   * Watchdog step: a thread whose progress counter has not moved for `boundMs` is a liveness
   * violation (deadlock or stall): record it with the lock dump, stop the run, return it. Where
   * the runner can read threads' scheduling (Node on Linux), no progress is judged relative to the
   * CPU the threads got: if a stuck thread, or one it waits for, got under a tenth of the bound
   * on a CPU (an operation takes microseconds, a witness snapshot milliseconds) and waited for one
   * an eighth of the bound and STARVED_WAIT_RATIO times as long, or got under a twentieth while it
   * was in none of hmmsim's waits, the machine (or the runtime) starved it (not a thread asleep in
   * one of those waits that kept being put on a CPU to look at its condition: WAITER_MIN_RUNS);
   * that is not the protocol's stall, and it is judged again at the next step (`force`: the monitor's last look,
   * at the run's extended deadline: still starved then, it is left unjudged and the report says
   * so, RunResult starvation.unjudged; the run ends either way)
   * (docs/ARCHITECTURE.md, Oracle checks: liveness).
   * A wait-for cycle is a deadlock whatever the load.
   */
  watchdog(boundMs: number, force = false): Witness | undefined {
    if (this.liveness) return this.liveness;
    const nowMs = performance.now();
    this.sampleSched(nowMs, boundMs);
    for (let t = 0; t < this.n; t++) {
      const v = this.progressOf(t);
      if (v !== this.lastProgress[t].v) this.lastProgress[t] = { v, at: nowMs };
      const rec = addr.thread(this.layout, t) >> 2;
      const kind = Atomics.load(this.i32, rec + (L.T_WAIT_KIND >> 2));
      const onLock = kind === WAIT.mutex || kind === WAIT.read || kind === WAIT.write;
      const waitAddr = onLock ? Atomics.load(this.i32, rec + (L.T_WAIT_ADDR >> 2)) : 0;
      const word = Atomics.load(this.i32, rec + (L.T_CALLBACK >> 2));
      if (this.sameCall[t]?.word !== word) this.sameCall[t] = { word, since: nowMs };
      const b = (this.blocked[t] ??= { addr: 0, since: nowMs });
      if (waitAddr !== b.addr) this.blocked[t] = { addr: waitAddr, since: nowMs, seq: this.rwsemSeq(kind, waitAddr) };
    }
    // a wait-for cycle that stays the same (and its threads make no progress) is a deadlock now
    const cycle = waitForCycle(this.i32, this.layout, this.names.roles);
    const signature = cycle ? `${cycle.signature} ${cycle.tids.map((t) => this.lastProgress[t].v).join(',')}` : '';
    if (!cycle) this.cycle = undefined;
    else if (this.cycle?.signature !== signature) this.cycle = { signature, since: nowMs };
    const cycleFor = cycle && this.cycle ? nowMs - this.cycle.since : 0;
    const cycleDeadlocked = cycle && cycleFor >= (this.options.deadlockMs ?? DEFAULTS.deadlockMs) ? cycle.tids : undefined;
    // waiters a leaked lock keeps out (a callback returned holding it) can never be woken: a deadlock once confirmed
    const leak = cycleDeadlocked ? null : leakedLockWaiters(this.i32, this.layout, this.names.roles);
    const leakSignature = leak ? `${leak.signature} ${leak.waiters.map((t) => this.lastProgress[t].v).join(',')}` : '';
    if (!leak) this.leak = undefined;
    else if (this.leak?.signature !== leakSignature) this.leak = { signature: leakSignature, since: nowMs };
    const leakFor = leak && this.leak ? nowMs - this.leak.since : 0;
    const leakDeadlocked = leak && leakFor >= LEAK_CONFIRM_MS ? leak.waiters : undefined;
    const deadlocked = cycleDeadlocked ?? leakDeadlocked;
    const stuck = deadlocked ?? this.lastProgress.map((p, t) => (nowMs - p.at >= boundMs ? t : -1)).filter((t) => t >= 0);
    if (!stuck.length) return undefined;
    const sched = this.schedWithin(nowMs, boundMs);
    const lately = this.schedWithin(nowMs, boundMs / 4);
    // starved: next to no CPU in the bound while off hmmsim's waits (a protocol sleeps only in
    // those: off them, the OS or the runtime held it, e.g. a GC), or far more time waiting for a
    // CPU than on one; but not a waiter that kept looking at its condition (WAITER_MIN_RUNS)
    const starved = (t: number) => {
      const x = sched[t];
      if (x === undefined || x.cpuMs >= boundMs / 10) return false;
      const waiting = Atomics.load(this.i32, (addr.thread(this.layout, t) + L.T_WAIT_KIND) >> 2) !== 0;
      if (x.cpuMs < boundMs / 20 && !waiting) return true;
      if (waiting && x.runs !== undefined && x.runs >= WAITER_MIN_RUNS && (lately[t]?.runs ?? 0) >= 2) {
        if (x.waitMs / x.runs <= boundMs / WAITER_DELAY_DIV) return false;
      }
      return x.waitMs >= boundMs / 8 && x.waitMs >= STARVED_WAIT_RATIO * x.cpuMs;
    };
    const starvedTid = deadlocked ? undefined : waitClosure(this.i32, this.layout, this.names.roles, stuck).find(starved);
    this.starving = starvedTid !== undefined;
    if (starvedTid !== undefined) {
      const x = sched[starvedTid]!;
      const why =
        `T${starvedTid} ${this.names.roles[starvedTid]} at ${Math.round(this.elapsedMs())} ms: ${Math.round(x.cpuMs)} ms on a CPU, ` +
        `${Math.round(x.waitMs)} ms waiting for one in the last ${boundMs} ms (stuck: T${stuck.join(', T')})`;
      this.starvedSteps++;
      this.firstStarved ||= why;
      // still starved at the run's extended end: the machine, not the protocol, kept it from
      // progressing, so it is not judged a stall; the report says so (starvation.unjudged)
      if (force) this.unjudgedStarved = why;
      return undefined;
    }
    const forMs = Math.round(
      cycleDeadlocked ? cycleFor : leakDeadlocked ? leakFor : nowMs - Math.min(...stuck.map((t) => this.lastProgress[t].at)),
    );
    const blockedForMs = this.blocked.map((b) => (b.addr ? nowMs - b.since : 0));
    // released while it waited: the lock changed hands (a slow holder, not one that never lets go)
    const released = this.blocked.map((b, t) => {
      const rec = addr.thread(this.layout, t) >> 2;
      return b.seq !== undefined && this.rwsemSeq(Atomics.load(this.i32, rec + (L.T_WAIT_KIND >> 2)), b.addr) !== b.seq;
    });
    const inSameCallForMs = this.sameCall.map((c) => (c.word ? nowMs - c.since : 0));
    this.livenessThreads = stuck;
    this.liveness = livenessWitness(
      this.i32,
      this.layout,
      this.options.proto,
      this.names,
      stuck,
      forMs,
      epochNow() - this.startEpoch,
      this.options.seed,
      blockedForMs,
      cycleDeadlocked,
      this.options.rerun,
      inSameCallForMs,
      sched,
      released,
      leakDeadlocked && leak ? leak.leak : undefined,
    );
    Atomics.add(this.i32, VIOLATIONS_WORD + VIOLATION_KINDS.indexOf(this.liveness.kind), 1);
    Atomics.add(this.i32, DETECTIONS_WORD + VIOLATION_KINDS.indexOf(this.liveness.kind), 1);
    this.stop();
    return this.liveness;
  }

  /** A rwsem's RW_SEQ, for a thread blocked on one (wait kind read or write); else undefined. */
  private rwsemSeq(kind: number, waitAddr: number): number | undefined {
    if (kind !== WAIT.read && kind !== WAIT.write) return undefined;
    return Atomics.load(this.i32, (waitAddr - (waitAddr % L.LINE) + L.RW_SEQ) >> 2);
  }

  /** The global event ticket (64-bit; exact as a number below 2^53). */
  private ticket(): BigInt64Array {
    return new BigInt64Array(this.memory.buffer, addr.header(L.H_TICKET), 1);
  }

  /** Events recorded so far: how far the ticket has advanced. */
  eventsRecorded(): number {
    return Number(this.ticket()[0]) - (this.options.ticketStart ?? 0);
  }

  /** The protocol callback thread `t` is inside, or '' (its record's T_CALLBACK). */
  callbackOf(t: number): string {
    return callbackName(Atomics.load(this.i32, (addr.thread(this.layout, t) + L.T_CALLBACK) >> 2));
  }

  /** Counters, verdict and rendered witnesses, from what the threads returned. */
  summarize(settled: (RoleResult | Error | undefined)[], elapsedMs: number, harnessError?: string): ProtocolResult {
    const proto = this.options.proto;
    const ok = settled.filter((s): s is RoleResult => !!s && !(s instanceof Error));
    const roleOps: Partial<Record<RoleName, number>> = {};
    let ops = 0,
      retries = 0;
    for (const r of ok) {
      roleOps[r.role] = (roleOps[r.role] ?? 0) + r.stats.ops;
      ops += r.stats.ops;
      retries += r.stats.retries;
    }
    const violations = this.violations();
    const firsts = ok.map((r) => r.firstViolationMs).filter((x): x is number => x !== null);
    if (this.liveness) firsts.push(this.liveness.atMs);
    const witnesses = ok
      .flatMap((r) => r.captures)
      .sort((a, b) => Number(a.latest ?? false) - Number(b.latest ?? false) || a.atMs - b.atMs)
      .map((c) =>
        renderWitness(
          c,
          this.names,
          proto.name,
          this.options.seed,
          this.options.rerun ? { rerun: `hmmsim stress ${this.options.rerun} --seed ${this.options.seed}` } : {},
        ),
      );
    if (this.liveness) witnesses.push(this.liveness);
    let error = ok.find((r) => r.error)?.error;
    const crashedAt = settled.findIndex((s) => s instanceof Error);
    if (!error && crashedAt >= 0) {
      const crashed = settled[crashedAt] as Error;
      const cb = this.callbackOf(crashedAt);
      error = {
        message: `harness: T${crashedAt} ${this.names.roles[crashedAt]}: worker crashed${cb ? ` in ${cb}()` : ''}: ${crashed.message}`,
        stack: crashed.stack,
        ...(cb ? { protocolMethod: cb } : {}),
      };
    }
    if (!error && harnessError) error = { message: `harness: ${harnessError}` };
    const expect = proto.expect ?? 'sound';
    const coverage = readCoverage(this.i32, this.layout.threadsBase, this.layout.config.threads);
    return {
      name: proto.name,
      description: proto.description,
      expect,
      verdict: verdictOf(expect, violations, error, coverage),
      coverage,
      events: this.eventsRecorded(),
      ...(this.starvedSteps
        ? {
            starvation: {
              steps: this.starvedSteps,
              first: this.firstStarved,
              ...(this.unjudgedStarved ? { unjudged: this.unjudgedStarved } : {}),
            },
          }
        : {}),
      ops,
      opsPerSec: Math.round(ops / (Math.max(elapsedMs, 1) / 1000)),
      retries,
      violations,
      detections: this.detections(),
      firstViolationMs: firsts.length ? Math.round(Math.min(...firsts) * 10) / 10 : null,
      witnesses,
      durationMs: Math.round(elapsedMs),
      roleOps,
      ...(error ? { error } : {}),
    };
  }
}
