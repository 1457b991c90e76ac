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
import type { Livelock } from './controller.js';

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
  livelock?: Livelock,
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
  // a retry livelock is judged at once (controller.ts retried()): it made no progress since its fault began
  const forSteps = livelock ? step - ctl[CTL.THREADS_BASE + stuck[0] * CTL.T_STRIDE + CTL.T_PROGRESS_STEP] : control.config.boundSteps;
  // a deadlock is judged here on steps, not on the watchdog's samples: mark the stuck lock waiters as blocked the whole bound
  for (const t of stuck) if (status === CTL_STATUS.deadlock) blocked[t] = Math.max(blocked[t], forSteps);
  const w = livenessWitness(i32, layout, proto, names, stuck, forSteps, step, control.config.seed, blocked);
  const unit = (s: string) => s.replace(/ made no progress for (\d+) ms/g, ' made no progress for $1 steps');
  const kind = status === CTL_STATUS.deadlock ? 'deadlock' : 'stall';
  const fix = (s: string) =>
    unit(s)
      .replace(/^(deadlock|stall):/, `${kind}:`)
      .replace(/\nrerun: .*$/, `\nrerun: ${control.rerun}`);
  let text = fix(w.text.replace(/^[^:]+: (deadlock|stall):/, `${proto.name}: ${kind}:`));
  if (livelock) {
    // the retry livelock (controller.ts retried()): what the fault retried on, under the headline
    const hex = (n: number) => `0x${n.toString(16)}`;
    const t = stuck[0];
    const line =
      `T${t} ${names.roles[t]} retry livelock: its device fault [${hex(livelock.start)},${hex(livelock.end)}) of sub${livelock.sub} ` +
      `retried ${livelock.retries} times, ${livelock.quiet} of them since step ${livelock.since} ` +
      'with no invalidation in progress or begun ' +
      `during the attempt (invalidations begun ${livelock.begun}, ended ${livelock.ended}), while every other thread finished operations`;
    const nl = text.indexOf('\n');
    text = nl < 0 ? `${text}\n${line}` : `${text.slice(0, nl)}\n${line}${text.slice(nl)}`;
  }
  return { ...w, kind, summary: fix(w.summary), text, atMs: step };
}
