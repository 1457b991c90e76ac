/**
 * The stop flag with real parallelism: waiters blocked on a mutex, an rwsem and a waitqueue
 * leave promptly with Stopped.
 * Workers and harness: test/sync-harness.ts.
 */
import { describe, it, expect, afterEach } from 'vitest';
import { L, STOP_WORD } from '../dist/memory/layout.js';
import { testMemory } from './helpers.js';
import { lines, runWorkers, sleep, terminateWorkers, threadRec, word } from './sync-harness.js';

afterEach(terminateWorkers);

describe('timeouts and stop', () => {
  it('the stop flag makes blocked waiters (mutex, rwsem write, waitqueue) throw Stopped promptly', async () => {
    const m = testMemory();
    const a = lines(m, ['mx', 'mxFlag', 'rw', 'rwFlag', 'wq']);
    let stopAt = 0;
    const waitingOn = (tid: number) => word(m, threadRec(m, tid) + L.T_WAIT_ADDR);
    const waitKind = (tid: number) => word(m, threadRec(m, tid) + L.T_WAIT_KIND);
    const long = 10_000;
    const res = await runWorkers(
      m,
      a,
      [
        { scenario: 'hold', p: { lock: 'mutex', lockKey: 'mx', flagKey: 'mxFlag', holdMs: 1500 } }, // T1
        { scenario: 'contend', p: { lock: 'mutex', lockKey: 'mx', flagKey: 'mxFlag', timeoutMs: long } }, // T2
        { scenario: 'hold', p: { lock: 'read', lockKey: 'rw', flagKey: 'rwFlag', holdMs: 1500 } }, // T3
        { scenario: 'contend', p: { lock: 'write', lockKey: 'rw', flagKey: 'rwFlag', timeoutMs: long } }, // T4
        // T5 waits for an event that never comes
        { scenario: 'contend', p: { lock: 'waitqueue', lockKey: 'wq', flagKey: 'mxFlag', timeoutMs: long } },
      ],
      20_000,
      async () => {
        // wait until T2, T4 and T5 are really asleep (their thread records say on what), then stop
        const dl = Date.now() + 5000;
        while (waitingOn(2) !== a.mx || waitingOn(4) !== a.rw + L.RW_SEQ || waitingOn(5) !== a.wq + L.WQ_SEQ) {
          if (Date.now() > dl) throw new Error(`waiters never blocked: ${[2, 4, 5].map(waitingOn)}`);
          await sleep(5);
        }
        expect([2, 4, 5].map(waitKind)).toEqual([1, 3, 4]); // mutex, rwsem write, waitqueue
        expect(word(m, threadRec(m, 1) + L.T_HELD)).toBe(a.mx | L.HELD_MUTEX);
        expect(word(m, threadRec(m, 3) + L.T_HELD)).toBe(a.rw | L.HELD_READ);
        await sleep(100);
        stopAt = Date.now();
        Atomics.store(m.i32, STOP_WORD, 1); // no notify: the waiters' wait slices must notice
      },
    );
    for (const i of [1, 3, 4]) {
      const { r } = res[i];
      expect(r.threw).toBe('Stopped');
      expect(r.isStopped).toBe(true);
      expect(r.stoppedAt - stopAt).toBeLessThan(300);
    }
  });
});
