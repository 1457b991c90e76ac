/**
 * limits.ts — the one definition of the ranges a run's settings may take. The CLI's flag parsers,
 * runStress's option checks, the browser demo's inputs and computeLayout all read them from here
 * (no Node imports: the demo imports this file).
 */
import { L } from '../memory/constants.js';

/** An inclusive integer range (optionally a multiple of `multipleOf`). */
export interface IntLimit {
  readonly min: number;
  readonly max: number;
  readonly multipleOf?: number;
}

/** Pages per leaf page table: pages come in whole tables. */
const PAGES_PER_TABLE = L.PTRS_PER_TABLE;

/** What a user may ask for (CLI flags and runStress options). */
export const LIMITS = {
  pages: { min: PAGES_PER_TABLE, max: 1 << 24, multipleOf: PAGES_PER_TABLE },
  devices: { min: 1, max: 64 },
  /** Role threads: every one of the four roles needs one. */
  threads: { min: 4, max: 128 },
  subs: { min: 1, max: 1024 },
  seed: { min: 0, max: 0xffffffff },
  /** Seeds per campaign (`--seeds`: seed, seed+1, ...). */
  seeds: { min: 1, max: 1_000_000 },
  ops: { min: 1, max: Number.MAX_SAFE_INTEGER },
  durationMs: { min: 1, max: 24 * 3600 * 1000 },
  watchdogMs: { min: 50, max: 3600 * 1000 },
  /** Worker threads the browser demo starts (a page with more than 16 busy workers stops drawing). */
  demoWorkers: { min: 4, max: 16 },
} as const satisfies Record<string, IntLimit>;

/** What the memory layout accepts (computeLayout): wider than LIMITS where the runner adds its own threads. */
export const LAYOUT_LIMITS = {
  pages: LIMITS.pages,
  devices: LIMITS.devices,
  subsPerDevice: LIMITS.subs,
  /** Every role thread plus the main thread's record. */
  threads: { min: 1, max: 256 },
  /** At least the longest invalidation (one page table: the zap scratch). */
  rangeMax: { min: PAGES_PER_TABLE, max: 4096 },
  /** Events kept per thread: a power of two. */
  ringEntries: { min: 16, max: 1 << 16 },
} as const satisfies Record<string, IntLimit>;

/** Is `value` a whole number within `limit`? */
export function withinLimit(value: number, limit: IntLimit): boolean {
  return Number.isInteger(value) && value >= limit.min && value <= limit.max;
}
