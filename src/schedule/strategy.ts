/**
 * strategy.ts — how controlled mode picks the thread to run: the configuration every thread of
 * a schedule shares, and the seeded choices (pure functions of seed and step).
 *
 * pct     PCT (probabilistic concurrency testing): distinct random priorities, the highest
 *         runnable thread runs; at d-1 change points (random steps) the running thread drops
 *         below every other and below the next 0..4n-1 (seeded) threads that yield. A yield (end
 *         of an operation, a populate retry) drops a thread below every other, so no thread
 *         starves (the roles loop forever), and a preempted thread sits out a few of the
 *         others' operations: that is the race window a change point opens.
 * random  at every point, one time in four, a uniformly random runnable thread (else the
 *         running thread goes on, so it can finish short critical sections between switches).
 * replay  the switch list of a recorded schedule; anything else is a divergence (or, when
 *         shrinking, `lenient`: keep the running thread, else the next runnable one).
 */
import { Rng } from '../model/random.js';

export type StrategyName = 'pct' | 'random';

export interface ControlConfig {
  strategy: StrategyName | 'replay';
  seed: number;
  /** PCT depth d: d-1 change points. */
  depth: number;
  /** Step budget of the schedule. */
  steps: number;
  /** Liveness bound in steps (deadlock, stall, wait timeouts). */
  boundSteps: number;
  /** Role threads. */
  threads: number;
  /** replay: the (step, thread) switches to follow. */
  switches?: [number, number][];
  /** replay while shrinking: fall back instead of diverging. */
  lenient?: boolean;
}

/** d-1 distinct change points in [1, steps), sorted. */
export function changePoints(c: ControlConfig): number[] {
  const rng = new Rng(c.seed, 7001);
  const out = new Set<number>();
  const want = Math.min(Math.max(0, c.depth - 1), Math.max(0, c.steps - 1));
  while (out.size < want) out.add(1 + rng.int(Math.max(1, c.steps - 1)));
  return [...out].sort((a, b) => a - b);
}

/** PCT's initial priorities: a seeded permutation of depth .. depth+threads-1 (all above the change points' drops). */
export function initialPriorities(c: ControlConfig): number[] {
  const rng = new Rng(c.seed, 7002);
  const p = Array.from({ length: c.threads }, (_, i) => c.depth + i);
  for (let i = p.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
}

/** A seeded pick in [0, n) at `step` (random strategy): a hash of (seed, step), no state. */
export function randomPick(seed: number, step: number, n: number): number {
  let h = (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(step + 1, 0xc2b2ae35)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b) >>> 0;
  h = (h ^ (h >>> 16)) >>> 0;
  return h % n;
}
