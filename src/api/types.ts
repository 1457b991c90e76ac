/**
 * types.ts — the library's public shapes: what runStress takes and what it resolves to.
 * Field names here are the JSON report's (`hmmsim stress --json`): scripts rely on them.
 */
import type { ViolationKind } from './kinds.js';
export type { ViolationKind } from './kinds.js';

/** CPU-side changes the invalidator mixes (the `--events` names). */
/** 'interval' (drivers remove and re-insert interval notifiers) and 'exit' (the process exits: exit_mmap) are opt-in: not in DEFAULT_EVENTS. */
export const EVENT_NAMES = ['munmap', 'mprotect', 'dontneed', 'migrate', 'reclaim', 'cow', 'oom', 'interval', 'exit'] as const;
export type EventName = (typeof EVENT_NAMES)[number];
/** The default mix: everything, including the invalidations that do not take mmap_lock for write. */
export const DEFAULT_EVENTS: EventName[] = ['munmap', 'mprotect', 'dontneed', 'migrate', 'reclaim', 'cow', 'oom'];

export const ROLE_NAMES = ['cpu', 'invalidator', 'driver', 'dma'] as const;
export type RoleName = (typeof ROLE_NAMES)[number];

export type Expectation = 'sound' | { violates: ViolationKind[] };

export interface StressOptions {
  /** Built-in name, a path to a plugin module (.mjs/.js), 'all' (every built-in outside history/) or 'history' (the kernel's fixed races); or several. */
  protocol: string | string[];
  /** Run each protocol this long (default 3000 ms; a protocol expected to deadlock or stall runs
   *  watchdogMs longer, so the watchdog can judge it) ... */
  durationMs?: number;
  /** ... or until this many role operations in total (whichever comes first when both are set). */
  ops?: number;
  /** Seeds the workload choices (addresses, event kinds, lengths). Default: random, reported. */
  seed?: number;
  /** Worker threads in all (default 4: one per role); roles are dealt round-robin. */
  threads?: number;
  /** Exact role counts (overrides `threads`). */
  roles?: Partial<Record<RoleName, number>>;
  /** The invalidator's mix (default DEFAULT_EVENTS). */
  events?: EventName[];
  /** Virtual pages (default 256, a multiple of 64). */
  pages?: number;
  /** Devices mirroring the address space (default 1). */
  devices?: number;
  /** Subscriptions (intervals / umems) per device (default 4). */
  subsPerDevice?: number;
  /** Oracle checks on (default true). */
  oracle?: boolean;
  /** Event rings for witnesses on (default true). */
  recordEvents?: boolean;
  /** Seeded tiny random delays at ctx calls to widen race windows (default true). */
  widenWindows?: boolean;
  /** No progress by a thread for this long is a deadlock/stall (default 2000 ms). */
  watchdogMs?: number;
  /** A wait-for cycle among lock waiters unchanged this long is a deadlock at once (default 100 ms). */
  deadlockMs?: number;
  /** Stop a protocol's run at its first violation (default false). */
  stopOnViolation?: boolean;
  /** Besides the first witnesses of each kind, keep the most recent one per kind and thread,
   *  refreshed at most once every this many ms (default: off). For long runs (the soak). */
  latestWitnessMs?: number;
  /** Start the event ticket here instead of 0 (an integer below 2^52): a soak shorter than 2^32
   *  events can still carry its witnesses' tickets past 2^32. `events` counts from here. */
  ticketStart?: number;
  /** Called about every 100 ms while a protocol runs. */
  onProgress?: (p: Progress) => void;
  signal?: AbortSignal;
  /** 'free' (default): real parallelism, fast, not reproducible. 'controlled': one thread at a
   *  time under a seeded scheduler; every violation comes with a schedule that replays it exactly. */
  mode?: RunMode;
  /** Controlled mode: 'pct' (default) or 'random'. */
  strategy?: StrategyName;
  /** Controlled mode, PCT: depth d (d-1 priority change points per schedule; default 10). */
  depth?: number;
  /** Controlled mode: schedules per protocol (default 200 when neither this nor durationMs is set). */
  schedules?: number;
  /** Controlled mode: scheduling points per schedule (default 2000; liveness-expected protocols get steps + boundSteps). */
  steps?: number;
  /** Controlled mode: the liveness bound in steps (deadlock, stall, wait timeouts; default 1000). */
  boundSteps?: number;
}

export type RunMode = 'free' | 'controlled';
export type StrategyName = 'pct' | 'random';

/**
 * A controlled-mode schedule, as a value: replaying it (`hmmsim replay`, `replay()`) runs the
 * same threads through the same switches and reproduces the same violation and witness.
 */
export interface Schedule {
  format: 1;
  /** hmmsim version that recorded it (replay refuses another). */
  version: string;
  /** Built-in protocol name, or the plugin's path ... */
  protocol: string;
  /** ... with the sha256 of its contents (replay refuses a changed file). */
  protocolHash?: string;
  config: {
    roles: RoleName[];
    events: EventName[];
    pages: number;
    devices: number;
    subsPerDevice: number;
    steps: number;
    boundSteps: number;
  };
  seed: number;
  strategy: StrategyName;
  depth: number;
  /** Every context switch: [step, thread that runs from that step on]; the first is at step 0. */
  switches: [number, number][];
  /** Made by `hmmsim shrink`: no longer what the seed's strategy picks, replay it from its file. */
  shrunk?: boolean;
}

/** Controlled mode's counters for one protocol. */
export interface ControlledStats {
  strategy: StrategyName;
  depth: number;
  schedules: number;
  /** Scheduling points run, in all. */
  points: number;
  /** Context switches, in all. */
  switches: number;
  schedulesPerSec: number;
  pointsPerSec: number;
  /** Index (0-based) of the first schedule that violated, or null. */
  firstViolationSchedule: number | null;
  /** Schedules that diverged or failed to end cleanly (should be 0). */
  harnessErrors: number;
}

export interface Progress {
  protocol: string;
  elapsedMs: number;
  durationMs: number;
  ops: number;
  opsPerSec: number;
  retries: number;
  violations: number;
  /** Events recorded so far (the event ticket). */
  events?: number;
}

export interface WitnessEvent {
  ticket: number;
  thread: number;
  role: string;
  text: string;
}

export interface Witness {
  kind: ViolationKind;
  /** Detected by thread / role, at ms since the protocol's run started. */
  thread: number;
  role: string;
  atMs: number;
  page: number;
  summary: string;
  events: WitnessEvent[];
  /** Rendered as in docs/ARCHITECTURE.md, Witnesses, with the seed to rerun. */
  text: string;
  /** Controlled mode: the schedule that produced it (atMs is then its step). */
  schedule?: Schedule;
  /** The oracle's violation record (absent for deadlock/stall): the violating event's ticket (the
   *  last event's), frame, generations, device and the thread that programmed the entry (-1: none). */
  record?: { ticket: number; pfn: number; genWant: number; genHave: number; device: number; programmer: number };
  /** Kept as the most recent of its kind (StressOptions.latestWitnessMs), not as one of the first. */
  latest?: boolean;
}

export type Verdict = 'pass' | 'fail' | 'inconclusive';

export interface ProtocolResult {
  name: string;
  description: string;
  expect: Expectation;
  /** 'inconclusive': a sound protocol showed no violation but some relevant race window was never
   *  hit (see `coverage`); it counts as matching its expectation (exit 0). */
  verdict: Verdict;
  ops: number;
  opsPerSec: number;
  retries: number;
  /** Lost races by kind: distinct stale device entries (per entry and frame gen), or one per
   *  walk / liveness finding. */
  violations: Partial<Record<ViolationKind, number>>;
  /** Raw detections by kind: every time a check saw a stale entry (one entry hit by DMA a
   *  thousand times is 1 violation, 1,000 detections). */
  detections?: Partial<Record<ViolationKind, number>>;
  firstViolationMs: number | null;
  witnesses: Witness[];
  durationMs: number;
  /** Race-window coverage: how many times each dangerous interleaving happened (oracle/coverage.ts). */
  coverage?: Record<string, number>;
  /** No progress that the watchdog did not judge a stall because the machine starved a thread of
   *  CPU (Node on Linux): how many watchdog steps, and the first such thread's scheduling;
   *  `unjudged` when threads were still stuck behind a starved one when the run ended (its
   *  scheduling then): the machine kept them from progressing, so no stall was judged. */
  starvation?: { steps: number; first: string; unjudged?: string };
  /** Events recorded in the run (the event ticket's advance; 0 with recordEvents off). */
  events?: number;
  /** Operations per role. */
  roleOps: Partial<Record<RoleName, number>>;
  /** Controlled mode only. */
  controlled?: ControlledStats;
  /** A harness failure (worker crash, plugin threw, harness watchdog): verdict is 'fail'. */
  error?: { message: string; stack?: string; protocolMethod?: string /** A lock wait timed out. */; lockTimeout?: boolean };
}

export interface RunResult {
  version: string;
  seed: number;
  config: Record<string, unknown>;
  protocols: ProtocolResult[];
}
