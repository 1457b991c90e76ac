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

/**
 * The role threads one protocol runs with: a protocol's own roles (MirrorProtocol.roles, every
 * role it does not name one thread) when the caller gave neither threads nor roles, else the
 * caller's (`dealRoles(threads, roles)`). Free-running and controlled mode both deal with this.
 */
export function protocolRoles(
  caller: { threads?: number; roles?: Partial<Record<RoleName, number>> },
  own: Partial<Record<RoleName, number>> | undefined,
  threads = caller.threads ?? DEFAULTS.threads,
): RoleName[] {
  if (caller.threads === undefined && caller.roles === undefined && own)
    return dealRoles(0, Object.fromEntries(ROLE_NAMES.map((r) => [r, own[r] ?? 1])));
  return dealRoles(threads, caller.roles);
}
