/**
 * role.ts — what every role loop gets: the ctx, its own seeded Rng, counters, the stop flag.
 * One loop iteration is one operation; each ends with progress() (the watchdog watches it).
 */
import type { Ctx } from '../model/ctx.js';
import type { Sub } from '../model/range.js';
import type { Rng } from '../model/random.js';
import type { EventName, RoleName } from '../api/types.js';

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
  /** The invalidator's own mix: `events` without 'interval' and 'exit' (played by the driver and CPU roles). */
  invEvents?: EventName[];
  /** The invalidator's changes that are not the process's system calls (reclaim, migrate, oom). */
  kernelEvents?: EventName[];
  /** The invalidator's mix without the changes that take mmap_lock for write (an aimed change, roles/invalidator.ts). */
  unlockedEvents?: EventName[];
  /** 'interval' or 'exit' is in the mix: device faults hold the mm and their subscription (model/mm/lifetime.ts). */
  lifetime?: boolean;
  /** The CPU role: when its current mm began (after its last exit), performance.now() ms. */
  mmBornAt?: number;
  /** True once the run's stop flag is set. */
  stopped(): boolean;
  progress(): void;
}
