// sync-mutex.mjs — the mutex's stress scenario (test/sync-mutex.test.ts).
import { Mutex } from '../../dist/sync/index.js';
import { a, env, i32, ix, now, p, spin } from './sync-common.mjs';

export const mutexScenarios = {
  /** N x K increments of a PLAIN counter (read, work, write) under the mutex. */
  'mutex-count'() {
    const m = new Mutex(env, a.mutex);
    const c = ix(a.counter);
    const deadline = now() + p.deadlineMs;
    let done = 0;
    let maxInside = 0;
    let contended = 0;
    const inside = ix(a.inside);
    for (; done < p.iters; done++) {
      if ((done & 255) === 0 && now() > deadline) break;
      if (!m.tryLock()) {
        contended++; // the slow path: lock() sets the state to 2 and may sleep
        m.lock();
      }
      const n = Atomics.add(i32, inside, 1) + 1; // threads inside the section (must be 1)
      if (n > maxInside) maxInside = n;
      const v = i32[c]; // plain read ...
      spin(p.work);
      i32[c] = v + 1; // ... plain write: lost updates unless the mutex excludes
      Atomics.sub(i32, inside, 1);
      m.unlock();
      if (p.outside) spin(p.outside);
    }
    return { done, maxInside, contended };
  },
};
