/**
 * liveness.ts — a controlled schedule's deadlock or stall, rendered by the thread that found it
 * while every other thread is still parked (the lock owners and waiters are those of that step).
 */
import { CTL, CTL_STATUS } from '../memory/constants.js';
import type { Layout } from '../memory/layout.js';
import { livenessWitness } from '../oracle/watchdog.js';
import type { MirrorProtocol } from '../protocols/api.js';
import type { RoleName, Witness } from '../api/types.js';
import type { ControlConfig } from './strategy.js';

/** What a role thread gets in controlled mode. */
export interface ControlTask {
  buffer: SharedArrayBuffer;
  config: ControlConfig;
  roles: RoleName[];
  /** The rerun command printed under a witness. */
  rerun: string;
}

export function controlledLiveness(
  control: ControlTask,
  i32: Int32Array,
  layout: Layout,
  proto: MirrorProtocol,
  status: number,
  stuck: number[],
  step: number,
): Witness | undefined {
  if ((status !== CTL_STATUS.deadlock && status !== CTL_STATUS.stall) || !stuck.length) return undefined;
  const ctl = new Int32Array(control.buffer);
  const names = {
    fields: { mm: Object.keys(proto.mmState ?? {}), sub: Object.keys(proto.subState ?? {}), range: Object.keys(proto.rangeState ?? {}) },
    notes: proto.notes ?? [],
    roles: [...control.roles, 'main'],
  };
  const since = (t: number) => {
    const base = CTL.THREADS_BASE + t * CTL.T_STRIDE;
    return ctl[base + CTL.T_WAIT_IDX] ? step - ctl[base + CTL.T_WAIT_SINCE] : 0;
  };
  const blocked = control.roles.map((_, t) => since(t));
  const forSteps = control.config.boundSteps;
  // a deadlock is judged here on steps, not on the watchdog's samples: mark the stuck lock waiters as blocked the whole bound
  for (const t of stuck) if (status === CTL_STATUS.deadlock) blocked[t] = Math.max(blocked[t], forSteps);
  const w = livenessWitness(i32, layout, proto, names, stuck, forSteps, step, control.config.seed, blocked);
  const unit = (s: string) => s.replace(/ made no progress for (\d+) ms/g, ' made no progress for $1 steps');
  const kind = status === CTL_STATUS.deadlock ? 'deadlock' : 'stall';
  const fix = (s: string) =>
    unit(s)
      .replace(/^(deadlock|stall):/, `${kind}:`)
      .replace(/\nrerun: .*$/, `\nrerun: ${control.rerun}`);
  const text = fix(w.text.replace(/^[^:]+: (deadlock|stall):/, `${proto.name}: ${kind}:`));
  return { ...w, kind, summary: fix(w.summary), text, atMs: step };
}
