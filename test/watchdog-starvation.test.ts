/**
 * The watchdog judges no progress against the CPU the threads got (Session.watchdog, with the
 * runner's schedTimes reader): a stuck thread the machine did not run is not a stall; the same
 * thread with CPU time and still no progress is. Scheduling is fed by hand here.
 */
import { describe, it, expect } from 'vitest';
import { harness, L } from './mm-harness.js';
import type { SessionOptions } from '../dist/run/session.js';
import type { Witness } from '../dist/api/types.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** T0 and T1's scheduling fed by hand (their OS thread ids 7 and 8): the times to advance, and a thread's record index. */
function scheduleTwoThreads(s: Awaited<ReturnType<typeof harness>>['s']) {
  const times = [
    { cpuMs: 0, waitMs: 0 },
    { cpuMs: 0, waitMs: 0 },
  ];
  (s.options as SessionOptions).schedTimes = (osTid) => (osTid === 7 || osTid === 8 ? { ...times[osTid - 7] } : undefined);
  const record = (t: number) => (s.layout.threadsBase + t * L.THREAD_SIZE) >> 2;
  s.i32[record(0) + (L.T_OS_TID >> 2)] = 7;
  s.i32[record(1) + (L.T_OS_TID >> 2)] = 8;
  return { times, record };
}

describe('watchdog and starvation', () => {
  it('puts off a stall while the stuck thread waits for a CPU, declares it once the thread ran and still made no progress', async () => {
    const h = await harness('kvm');
    const s = h.s;
    const times = { cpuMs: 0, waitMs: 0 };
    (s.options as SessionOptions).schedTimes = (osTid) => (osTid === 7 ? { ...times } : undefined);
    const record = (t: number) => (s.layout.threadsBase + t * L.THREAD_SIZE) >> 2;
    s.i32[record(0) + (L.T_OS_TID >> 2)] = 7; // T0 (driver): the one the watchdog can see
    s.go();
    const bound = 200;
    const progress = () => Atomics.add(s.i32, record(1) + (L.T_PROGRESS >> 2), 1); // T1 keeps going
    // T0 makes no progress, off any wait, and waits for a CPU all along: starved
    for (let step = 0; step < 8; step++) {
      await sleep(40);
      times.waitMs += 40;
      progress();
      expect(s.watchdog(bound)).toBeUndefined();
    }
    expect(s.starvedSteps).toBeGreaterThan(0);
    expect(s.starving).toBe(true);
    // now it runs (a tenth of the bound and more on a CPU) and still makes no progress: a stall
    let witness: Witness | undefined;
    for (let step = 0; step < 10 && !witness; step++) {
      await sleep(40);
      times.cpuMs += 40;
      progress();
      witness = s.watchdog(bound);
    }
    expect(witness?.kind).toBe('stall');
    expect(witness?.summary).toMatch(/T0 driver made no progress/);
    expect(witness?.text).toMatch(/scheduling in the last bound: T0 \d+ ms on a CPU, \d+ ms waiting for one; T1 \?/);
  });

  it('a fault that retries while an invalidation is in progress waits for whoever runs it: a starved thread puts the stall off', async () => {
    // T0 (driver) retries at full speed (it gets the CPU) and maps nothing; an invalidation is in
    // progress (begun, not ended) and T1, which may be running it, waits for a CPU all along
    const h = await harness('kvm');
    const s = h.s;
    const i32 = s.i32;
    const { times, record } = scheduleTwoThreads(s);
    const [begun, ended] = [(L.BASE + L.H_INV_BEGUN) >> 2, (L.BASE + L.H_INV_ENDED) >> 2];
    Atomics.store(i32, begun, 1);
    Atomics.store(i32, ended, 0);
    s.go();
    const bound = 200;
    // T1 still finishes an operation now and then on the little CPU it gets (an operation takes
    // microseconds), then begins an invalidation and gets none: it is not stuck itself when T0 is
    const step = async (invalidatorRuns: boolean, invalidatorProgress = false) => {
      await sleep(40);
      times[0].cpuMs += 40;
      if (invalidatorRuns) times[1].cpuMs += 40;
      else [times[1].cpuMs, times[1].waitMs] = [times[1].cpuMs + 1, times[1].waitMs + 39];
      if (invalidatorProgress) Atomics.add(i32, record(1) + (L.T_PROGRESS >> 2), 1);
      return s.watchdog(bound);
    };
    for (let k = 1; k <= 10; k++) expect(await step(false, k <= 4), `step ${k}`).toBeUndefined();
    expect(s.starving).toBe(true);
    expect(s.starvedSteps).toBeGreaterThan(0);
    // the monitor's last look at the run's extended end, T1 still starved: left unjudged, and said so
    expect(await (async () => (await step(false), s.watchdog(bound, true)))()).toBeUndefined();
    expect(s.unjudgedStarved).toMatch(/^T1 /);
    // the invalidation ends and the other thread goes on; T0 still maps nothing: the protocol's stall
    Atomics.store(i32, ended, 1);
    let witness: Witness | undefined;
    for (let k = 0; k < 15 && !witness; k++) witness = await step(true, true);
    expect(witness?.kind).toBe('stall');
    expect(witness?.summary).toMatch(/T0 driver/);
  });

  it('a retry livelock with the invalidating thread on a CPU is a stall (an invalidation in progress or not)', async () => {
    const h = await harness('kvm');
    const s = h.s;
    const { times, record } = scheduleTwoThreads(s);
    Atomics.store(s.i32, (L.BASE + L.H_INV_BEGUN) >> 2, 1);
    s.go();
    let witness: Witness | undefined;
    for (let k = 0; k < 20 && !witness; k++) {
      await sleep(40);
      times[0].cpuMs += 40;
      times[1].cpuMs += 40;
      Atomics.add(s.i32, record(1) + (L.T_PROGRESS >> 2), 1); // the invalidator goes on
      witness = s.watchdog(200);
    }
    expect(witness?.kind).toBe('stall');
  });

  it('a lock holder named only by the lock word (starved before it recorded the lock as held) is waited for', async () => {
    const h = await harness('kvm');
    const s = h.s;
    const i32 = s.i32;
    const { times, record } = scheduleTwoThreads(s);
    // T0 sleeps on a mutex whose word says T1 holds it; T1's held list does not show it yet, and T1 gets no CPU
    const lock = L.BASE + L.H_ANON_VMA_LOCK;
    Atomics.store(i32, (lock + L.MX_STATE) >> 2, 2);
    Atomics.store(i32, (lock + L.MX_OWNER) >> 2, 1 + 1);
    i32[record(0) + (L.T_WAIT_ADDR >> 2)] = lock + L.MX_STATE;
    i32[record(0) + (L.T_WAIT_KIND >> 2)] = 1;
    s.go();
    for (let k = 1; k <= 10; k++) {
      await sleep(40);
      [times[1].cpuMs, times[1].waitMs] = [times[1].cpuMs + 1, times[1].waitMs + 39];
      if (k <= 4) Atomics.add(i32, record(1) + (L.T_PROGRESS >> 2), 1); // it finished an operation lately
      expect(s.watchdog(200), `step ${k}`).toBeUndefined();
    }
    expect(s.starving).toBe(true);
  });

  it('a waiter put on a CPU again and again to look at its condition is not starved, however long it queued in all', async () => {
    // T0 (driver) sleeps on a wait queue and makes no progress; each wake-up queues behind the
    // run's busy threads (39 times as long in the run queue as on a CPU: the old rule's
    // "starved"), but it runs every few ms and finds its condition false: the protocol's stall.
    // The same waiter put on a CPU only a few times, each after a long queue, is starved.
    for (const [runsPerStep, expected] of [
      [20, 'stall'],
      [0.25, undefined],
    ] as const) {
      const h = await harness('kvm');
      const s = h.s;
      const { times, record } = scheduleTwoThreads(s);
      const runs = [0, 0];
      (s.options as SessionOptions).schedTimes = (osTid) =>
        osTid === 7 || osTid === 8 ? { ...times[osTid - 7], runs: Math.floor(runs[osTid - 7]) } : undefined;
      s.i32[record(0) + (L.T_WAIT_KIND >> 2)] = 4; // a wait queue
      s.go();
      let witness: Witness | undefined;
      for (let k = 0; k < 16 && !witness; k++) {
        await sleep(40);
        [times[0].cpuMs, times[0].waitMs] = [times[0].cpuMs + 1, times[0].waitMs + 39];
        runs[0] += runsPerStep;
        times[1].cpuMs += 40;
        Atomics.add(s.i32, record(1) + (L.T_PROGRESS >> 2), 1); // T1 goes on
        witness = s.watchdog(200);
      }
      expect(witness?.kind, `${runsPerStep} runs a step`).toBe(expected);
      if (expected === undefined) expect(s.starving).toBe(true);
      else expect(witness?.summary).toMatch(/T0 driver/);
    }
  });

  it('without scheduling to read, no progress for the bound is a stall as before', async () => {
    const h = await harness('kvm');
    const s = h.s;
    s.go();
    const record = (s.layout.threadsBase + 1 * L.THREAD_SIZE) >> 2;
    let witness: Witness | undefined;
    for (let step = 0; step < 20 && !witness; step++) {
      await sleep(40);
      Atomics.add(s.i32, record + (L.T_PROGRESS >> 2), 1);
      witness = s.watchdog(200);
    }
    expect(witness?.kind).toBe('stall');
    expect(s.starvedSteps).toBe(0);
  });
});
