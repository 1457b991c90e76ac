// sync-contend.mjs — hold a lock, or contend for one with a timeout: the timeout and stop-flag tests
// (test/sync-mutex.test.ts, test/sync-rwsem.test.ts, test/sync-stop.test.ts).
import { STOP_WORD } from '../../dist/memory/layout.js';
import { Mutex, RwSem, WaitQueue, LockTimeout, Stopped } from '../../dist/sync/index.js';
import { a, env, i32, ix, now, p } from './sync-common.mjs';

export const contendScenarios = {
  /** Take a lock, say so, sleep holding it, release. */
  hold() {
    const lockAddr = a[p.lockKey ?? 'lock'];
    let release;
    if (p.lock === 'mutex') {
      const m = new Mutex(env, lockAddr);
      m.lock();
      release = () => m.unlock();
    } else {
      const rw = new RwSem(env, lockAddr);
      if (p.lock === 'read') rw.downRead();
      else rw.downWrite();
      release = () => (p.lock === 'read' ? rw.upRead() : rw.upWrite());
    }
    Atomics.store(i32, ix(a[p.flagKey ?? 'flag']), 1);
    Atomics.notify(i32, ix(a[p.flagKey ?? 'flag']));
    // sleep holding it: until the stop flag is set or holdMs passed
    Atomics.wait(i32, STOP_WORD, 0, p.holdMs);
    release();
    return { held: true };
  },

  /** Wait for the holder's flag, then try to take the lock with a timeout; report what was thrown. */
  contend() {
    const flag = ix(a[p.flagKey ?? 'flag']);
    const lockAddr = a[p.lockKey ?? 'lock'];
    const dl = now() + 5000;
    while (Atomics.load(i32, flag) === 0) {
      if (now() > dl) throw new Error('holder never took the lock');
      Atomics.wait(i32, flag, 0, 100);
    }
    const t0 = now();
    try {
      if (p.lock === 'mutex') new Mutex(env, lockAddr, 'test mutex').lock(p.timeoutMs);
      else if (p.lock === 'write') new RwSem(env, lockAddr, 'test rwsem').downWrite(p.timeoutMs);
      else if (p.lock === 'read') new RwSem(env, lockAddr, 'test rwsem').downRead(p.timeoutMs);
      else if (p.lock === 'waitqueue') {
        const ok = new WaitQueue(env, lockAddr).waitEvent(() => false, p.timeoutMs);
        return { threw: null, returned: ok, elapsed: now() - t0 };
      }
      return { threw: null, elapsed: now() - t0 };
    } catch (caught) {
      const e = /** @type {Error & { owner?: number }} */ (caught);
      return {
        threw: e.name,
        isLockTimeout: e instanceof LockTimeout,
        isStopped: e instanceof Stopped,
        owner: e.owner,
        message: e.message,
        elapsed: now() - t0,
        stoppedAt: Date.now(),
      };
    }
  },
};
