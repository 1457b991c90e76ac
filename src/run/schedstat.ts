/**
 * schedstat.ts — Node on Linux: how much CPU a worker thread got and how long it waited for one.
 * The watchdog uses it to tell a protocol that stopped making progress from a thread the machine
 * did not run (docs/ARCHITECTURE.md, Oracle checks: liveness). Elsewhere both answer "unknown".
 */
import { readFileSync, readlinkSync } from 'node:fs';

/** This thread's OS thread id (/proc/thread-self -> <pid>/task/<tid>), or 0 where there is none. */
export function osThreadId(): number {
  try {
    const m = /task\/(\d+)$/.exec(readlinkSync('/proc/thread-self'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Thread scheduling so far, ms: time on a CPU and time runnable but waiting for one; and how many times it was put on a CPU. */
export interface SchedTimes {
  cpuMs: number;
  waitMs: number;
  /** Times the thread was put on a CPU (schedstat's third field; a sleeping waiter runs once per wake-up), where known. */
  runs?: number;
}

/** SchedTimes of thread `tid` of this process (/proc/self/task/<tid>/schedstat), or undefined. */
export function schedTimes(tid: number): SchedTimes | undefined {
  if (!tid) return undefined;
  try {
    const [run, wait, runs] = readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ').map(Number);
    if (!Number.isFinite(run) || !Number.isFinite(wait)) return undefined;
    return Number.isFinite(runs) ? { cpuMs: run / 1e6, waitMs: wait / 1e6, runs } : { cpuMs: run / 1e6, waitMs: wait / 1e6 };
  } catch {
    return undefined;
  }
}
