/**
 * Stress tests of seqcount, waitqueue and completion with real parallelism: no torn read
 * accepted, no wake-up lost.
 * Workers and harness: test/sync-harness.ts.
 */
import { describe, it, expect, afterEach } from 'vitest';
import { Completion } from '../dist/sync/index.js';
import { addr } from '../dist/memory/layout.js';
import { testMemory } from './helpers.js';
import { lines, runWorkers, terminateWorkers, word } from './sync-harness.js';

afterEach(terminateWorkers);

describe('seqcount', () => {
  it('readers never accept a torn 4-word value (2 writers under a mutex, 2 readers)', async () => {
    const m = testMemory();
    const a = lines(m, ['seq', 'mutex', 'data']);
    // wait slices longer than the run: a reader whose readBegin misses writeEnd's wake-up stalls
    const base = { durationMs: 800, work: 20, outside: 5, env: { sliceMs: 2000 } };
    const res = await runWorkers(m, a, [
      { scenario: 'seq', p: { ...base, role: 'writer' } },
      { scenario: 'seq', p: { ...base, role: 'writer' } },
      { scenario: 'seq', p: { ...base, role: 'reader' } },
      { scenario: 'seq', p: { ...base, role: 'reader' } },
    ]);
    const readers = res.slice(2).map(({ r }) => r);
    const writes = res.slice(0, 2).reduce((s, { r }) => s + r.writes, 0);
    expect(readers.map((r) => r.firstTorn)).toEqual([null, null]);
    expect(readers.reduce((s, r) => s + r.torn, 0)).toBe(0);
    for (const r of readers) expect(r.accepted).toBeGreaterThan(100);
    expect(readers.reduce((s, r) => s + r.retries, 0)).toBeGreaterThan(0); // the race was real
    // readBegin was woken by writeEnd (a missed wake-up costs the 2 s slice; under full-file load
    // a reader was seen to wait up to ~330 ms, so the bound is loose)
    for (const r of readers) expect(r.maxBeginMs).toBeLessThan(1000);
    // writers were serialised: every write bumped the value once
    expect(word(m, a.data)).toBe(writes);
    expect(word(m, a.seq)).toBe(2 * writes);
  });
});

describe('waitqueue and completion', () => {
  it('100 000 ping-pongs between two workers lose no wake-up', async () => {
    const m = testMemory();
    const a = lines(m, ['wq', 'turn']);
    // a wait slice as long as the timeout: a lost wake-up is not papered over by slice polling
    const p = { rounds: 100_000, waitMs: 2000, env: { sliceMs: 2000 } };
    const t0 = performance.now();
    const res = await runWorkers(m, a, [
      { scenario: 'pingpong', p: { ...p, side: 0 } },
      { scenario: 'pingpong', p: { ...p, side: 1 } },
    ]);
    const ms = performance.now() - t0;
    expect(res.map(({ r }) => r.lostAt)).toEqual([-1, -1]);
    expect(res.map(({ r }) => r.rounds)).toEqual([100_000, 100_000]);
    expect(word(m, a.turn)).toBe(0);
    expect(ms).toBeLessThan(15_000);
  });

  it('complete_all wakes every waiter; reinit re-arms (2000 rounds, 2 waiters)', async () => {
    const m = testMemory();
    const a = lines(m, ['c0', 'c1', 'ackWq', 'ack', 'round']);
    const p = { rounds: 2000, waiters: 2, waitMs: 2000, env: { sliceMs: 2000 } };
    const res = await runWorkers(m, a, [
      { scenario: 'completion', p: { ...p, role: 'completer' } },
      { scenario: 'completion', p: { ...p, role: 'waiter' } },
      { scenario: 'completion', p: { ...p, role: 'waiter' } },
    ]);
    expect(res[0].r).toEqual({ r: 2000 });
    for (const { r } of res.slice(1)) expect(r).toMatchObject({ r: 2000, lostAt: -1, early: 0 });
    expect(word(m, a.ack)).toBe(4000);
  });

  it('completion on one thread: wait times out until complete_all, reinit re-arms', () => {
    const m = testMemory();
    const c = new Completion(m.env, addr.protoMm(m.layout, 0));
    const t0 = performance.now();
    expect(c.wait(30)).toBe(false);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(29);
    c.completeAll();
    expect(c.wait(1000)).toBe(true);
    expect(c.wait(0)).toBe(true);
    c.reinit();
    expect(c.done()).toBe(false);
    expect(c.wait(10)).toBe(false);
  });
});
