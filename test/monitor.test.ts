/**
 * The run monitor (src/run/monitor.ts) on a fake session and a fake clock: the decisions the
 * Node runner and the browser demo share (barrier, deadline, liveness bound, stop, hung threads).
 */
import { describe, it, expect } from 'vitest';
import {
  RunMonitor,
  barrierTimeoutError,
  hungError,
  type MonitorOptions,
  type MonitoredSession,
  type Settled,
} from '../src/run/monitor.js';
import type { RoleResult } from '../src/run/thread.js';

function fake(n = 2) {
  const clock = { t: 0 };
  const state = { ready: 0, going: false, stopped: false, ops: 0, stuckFor: 0, violations: 0, watchdogFires: false };
  const session: MonitoredSession = {
    n,
    ready: () => state.ready,
    go: () => void (state.going = true),
    stop: () => void (state.stopped = true),
    stopped: () => state.stopped,
    elapsedMs: () => clock.t,
    ops: () => state.ops,
    watchdog: () => (state.watchdogFires ? ({} as never) : undefined),
    stuckForMs: () => state.stuckFor,
    violationTotal: () => state.violations,
  };
  const settled: Settled[] = Array.from({ length: n }, () => undefined);
  const options = (over: Partial<MonitorOptions> = {}): MonitorOptions => ({
    durationMs: 1000,
    opsBudget: Infinity,
    watchdogMs: 400,
    stopOnViolation: false,
    barrierMs: 500,
    sliceMs: 10,
    expect: 'sound',
    now: () => clock.t,
    ...over,
  });
  const result = {} as RoleResult;
  return { clock, state, session, settled, options, result };
}

describe('run monitor', () => {
  it('releases the barrier once every thread is ready, stops at the deadline, ends when all returned', () => {
    const f = fake();
    const m = new RunMonitor(f.session, f.settled, f.options());
    expect(m.poll()).toBe('starting');
    f.state.ready = 2;
    expect(m.poll()).toBe('running');
    expect(f.state.going).toBe(true);
    f.clock.t = 999;
    expect(m.poll()).toBe('running');
    f.clock.t = 1000;
    expect(m.poll()).toBe('stopping');
    expect(f.state.stopped).toBe(true);
    expect(m.elapsedMs).toBe(1000);
    f.settled[0] = f.result;
    expect(m.poll()).toBe('stopping');
    f.settled[1] = f.result;
    expect(m.poll()).toBe('done');
    expect(m.hung()).toEqual([]);
    expect(m.harnessError).toBeUndefined();
  });

  it('a barrier that never fills ends the run with the barrier error', () => {
    const f = fake();
    const m = new RunMonitor(f.session, f.settled, f.options());
    f.clock.t = 501;
    expect(m.poll()).toBe('stopping');
    expect(m.harnessError).toBe(barrierTimeoutError(500));
    expect(barrierTimeoutError(30_000)).toBe('workers did not reach the start barrier within 30 s');
  });

  it('workers that start slowly (a loaded machine) are waited for while they keep arriving; a stuck start fails, naming each thread', () => {
    const f = fake(3);
    let started = 0;
    const phases = [
      'invalidator: had not reached the start barrier (no worker had taken its task yet)',
      'driver: waiting at the start barrier',
    ];
    const session = { ...f.session, started: () => started, threadPhase: (t: number) => phases[t] ?? '?' };
    const m = new RunMonitor(session, f.settled, f.options());
    // one more thread starts or reaches the barrier every 400 ms (the bound is 500 ms): no failure
    for (let step = 1; step <= 4; step++) {
      f.clock.t = step * 400;
      if (step % 2) started++;
      else f.state.ready++;
      expect(m.poll(), `step ${step}`).toBe('starting');
    }
    // then nothing for longer than the bound: the barrier error, and once the harness timeout has
    // passed, the threads that never returned, each with what it was doing
    f.clock.t = 1600 + 501;
    expect(m.poll()).toBe('stopping');
    expect(m.harnessError).toBe(barrierTimeoutError(500));
    f.settled[2] = f.result;
    f.clock.t += 10 * 20 + 5000 + 1;
    expect(m.poll()).toBe('done');
    expect(m.harnessError).toBe(
      `${barrierTimeoutError(500)}; T0, T1 did not stop within the harness timeout and were terminated: ` +
        `T0 ${phases[0]}; T1 ${phases[1]}`,
    );
  });

  it('a protocol expected to deadlock gets one watchdog bound more; a stuck thread at the deadline is waited for', () => {
    const f = fake();
    const m = new RunMonitor(f.session, f.settled, f.options({ expect: { violates: ['deadlock'] } }));
    expect(m.durationMs).toBe(1400);
    f.state.ready = 2;
    m.poll();
    f.clock.t = 1400;
    f.state.stuckFor = 200; // >= min(250, 400 / 4)
    expect(m.poll()).toBe('running');
    f.clock.t = 1800;
    expect(m.poll()).toBe('stopping');
  });

  it('the op budget, a violation with stopOnViolation, the watchdog and a returned thread each stop it', () => {
    for (const trigger of ['ops', 'violation', 'watchdog', 'settled'] as const) {
      const f = fake();
      const m = new RunMonitor(f.session, f.settled, f.options({ opsBudget: 50, stopOnViolation: true }));
      f.state.ready = 2;
      m.poll();
      expect(m.poll(), trigger).toBe('running');
      if (trigger === 'ops') f.state.ops = 50;
      if (trigger === 'violation') f.state.violations = 1;
      if (trigger === 'watchdog') f.state.watchdogFires = true;
      if (trigger === 'settled') f.settled[1] = f.result;
      expect(m.poll(), trigger).toBe('stopping');
    }
  });

  it('threads that do not return within the harness timeout are named hung', () => {
    const f = fake(3);
    const m = new RunMonitor(f.session, f.settled, f.options());
    f.state.ready = 3;
    m.poll();
    m.stop();
    f.settled[1] = f.result;
    f.clock.t = 10 * 20 + 5000 + 1;
    expect(m.poll()).toBe('done');
    expect(m.hung()).toEqual([0, 2]);
    expect(m.harnessError).toBe(hungError([0, 2]));
    expect(m.harnessError).toBe('T0, T2 did not stop within the harness timeout and were terminated');
  });
});
