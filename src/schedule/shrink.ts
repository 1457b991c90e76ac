/**
 * shrink.ts — delta-debug a failing schedule's switch list (ddmin): drop chunks of switches,
 * replaying leniently (a dropped switch lets the running thread go on; a thread that blocks
 * hands over to the next runnable one), and keep a candidate when the same violation kind
 * still occurs. The switches the kept run actually made become the new schedule, so the
 * result replays strictly.
 */
import type { Schedule, Witness } from '../api/types.js';
import { Executor, type Outcome } from './executor.js';
import { protocolOf, runStored, type StoredFailure } from './replay.js';

export interface ShrinkOptions {
  /** Replays to try at most (default 400). */
  maxRuns?: number;
  /** Called after each accepted step: switches now, runs so far. */
  onStep?: (switches: number, runs: number) => void;
}

export interface ShrinkResult {
  schedule: Schedule;
  witness: Witness;
  /** Switches before and after (the first, at step 0, counts: it picks who starts). */
  switchesBefore: number;
  switchesAfter: number;
  runs: number;
}

export async function shrink(failure: StoredFailure, opts: ShrinkOptions = {}): Promise<ShrinkResult> {
  const p = await protocolOf(failure);
  const maxRuns = opts.maxRuns ?? 400;
  const kind = failure.witness.kind;
  let best: Schedule = failure.schedule;
  let runs = 0;
  const exec = new Executor(best.config.roles.length);
  try {
    const attempt = async (switches: [number, number][], s: Schedule = best): Promise<Outcome | undefined> => {
      runs++;
      const out = await runStored(exec, p, s, switches, true);
      return out.kind === kind && out.status !== 'divergence' ? out : undefined;
    };
    let cur = best.switches;
    const accept = (out: Outcome | undefined): boolean => {
      if (!out || out.switches.length >= cur.length) return false;
      cur = out.switches;
      best = { ...best, switches: cur };
      opts.onStep?.(cur.length, runs);
      return true;
    };
    // first whole threads: the roles the race does not need (their switches dropped, they run
    // only when every thread the list names is blocked)
    for (const t of [...new Set(cur.map((s) => s[1]))]) {
      if (runs >= maxRuns) break;
      if (t !== failure.witness.thread) accept(await attempt(cur.filter((s) => s[1] !== t)));
    }
    let n = 2;
    while (cur.length >= 2 && runs < maxRuns) {
      const chunk = Math.ceil(cur.length / n);
      let reduced = false;
      for (let i = 0; i < n && runs < maxRuns; i++) {
        const cand = [...cur.slice(0, i * chunk), ...cur.slice((i + 1) * chunk)];
        if (accept(await attempt(cand))) {
          n = Math.max(n - 1, 2);
          reduced = true;
          break;
        }
      }
      if (!reduced) {
        if (n >= cur.length) break;
        n = Math.min(cur.length, 2 * n);
      }
    }
    // the final schedule, replayed strictly: it must reproduce on its own
    const final = await runStored(exec, p, best);
    runs++;
    if (final.kind !== kind || !final.witness)
      throw new Error(`shrink: the shrunk schedule did not reproduce ${kind} (status ${final.status})`);
    best = { ...best, shrunk: true };
    const shown = await runStored(exec, p, best);
    runs++;
    return {
      schedule: best,
      witness: { ...(shown.witness ?? final.witness), schedule: best },
      switchesBefore: failure.schedule.switches.length,
      switchesAfter: best.switches.length,
      runs,
    };
  } finally {
    await exec.close();
  }
}
