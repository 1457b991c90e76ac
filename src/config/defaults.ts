/**
 * config.ts — run defaults and role dealing, shared by the Node runner and the browser demo
 * (no Node imports here).
 */
import { ROLE_NAMES, type RoleName } from '../api/types.js';

export const DEFAULTS = {
  durationMs: 3000,
  threads: 4,
  pages: 256,
  devices: 1,
  subsPerDevice: 4,
  watchdogMs: 2000,
  deadlockMs: 100, // a wait-for cycle unchanged this long is a deadlock at once
  rangeMax: 64,
  ringEntries: 16384, // per thread: the invalidator writes ~30 events an op; a descheduled driver needs its history
  lockTimeoutMs: 15000,
  sliceMs: 100,
  barrierMs: 30_000,
};

/** Deal roles to threads: one of each first, then round-robin; or exact counts. */
export function dealRoles(threads: number, roles?: Partial<Record<RoleName, number>>): RoleName[] {
  if (roles) {
    const out: RoleName[] = [];
    for (const r of ROLE_NAMES) for (let i = 0; i < (roles[r] ?? 0); i++) out.push(r);
    return out;
  }
  const order: RoleName[] = ['invalidator', 'driver', 'dma', 'cpu'];
  return Array.from({ length: threads }, (_, i) => order[i % order.length]);
}
