/**
 * role.ts — what every role loop gets: the ctx, its own seeded Rng, counters, the stop flag.
 * One loop iteration is one operation; each ends with progress() (the watchdog watches it).
 */
import { L } from '../memory/layout.js';
import type { Ctx, Sub } from '../model/ctx.js';
import type { Rng } from '../model/random.js';
import type { EventName, RoleName } from '../api/types.js';
import { Stopped, LockTimeout } from '../sync/env.js';

export interface RoleStats {
  ops: number;
  retries: number;
  /** Operations that ended in an error the model expects (-EFAULT on PROT_NONE, ...). */
  errors: number;
  /** Non-blockable invalidations a protocol refused (-EAGAIN). */
  eagain: number;
}

export interface RoleContext {
  ctx: Ctx;
  rng: Rng;
  stats: RoleStats;
  role: RoleName;
  /** Device this thread serves (driver, dma), and its subscriptions. */
  device: number;
  deviceSubs?: Sub[];
  events: EventName[];
  /** True once the run's stop flag is set. */
  stopped(): boolean;
  progress(): void;
}

export const STOP_IDX = (L.BASE + L.H_STOP) >> 2;

/** A protocol method threw something that is not the harness's own control flow. */
export class PluginError extends Error {
  constructor(
    readonly protocol: string,
    readonly method: string,
    readonly cause: unknown,
  ) {
    super(`protocol ${protocol}: ${method}() threw: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'PluginError';
    if (cause instanceof Error && cause.stack) this.stack = `${this.name}: ${this.message}\n${cause.stack}`;
  }
}

/** Call a protocol method, naming it if it throws. Stopped/LockTimeout pass through. */
export function callProto<T>(ctx: Ctx, method: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof Stopped || e instanceof LockTimeout || e instanceof PluginError) throw e;
    throw new PluginError(ctx.proto.name, method, e);
  }
}
