// sync-rwsem.mjs — the rwsem's stress scenarios: exclusion, fairness, hand-off (test/sync-rwsem.test.ts).
import { L } from '../../dist/memory/layout.js';
import { RwSem } from '../../dist/sync/index.js';
import { a, env, i32, ix, now, p, sleep, spin, tid } from './sync-common.mjs';

export const rwsemScenarios = {
  /** rwsem exclusion: writers put a marker in the state word inside their section; readers must never see it. */
  'rw-excl'() {
    const rw = new RwSem(env, a.rwsem);
    const st = ix(a.state);
    const rin = ix(a.readersIn);
    const end = now() + p.durationMs;
    let acq = 0;
    let viol = 0;
    if (p.role === 'writer') {
      while (now() < end) {
        rw.downWrite();
        if (Atomics.load(i32, st) !== 0) viol++; // another writer inside
        Atomics.store(i32, st, p.marker + tid);
        for (let k = 0; k < 4; k++) {
          spin(p.work);
          if (Atomics.load(i32, rin) !== 0) viol++; // a reader inside with us
          if (Atomics.load(i32, st) !== p.marker + tid) viol++;
        }
        Atomics.store(i32, st, 0);
        rw.upWrite();
        acq++;
        spin(p.outside);
      }
    } else {
      while (now() < end) {
        rw.downRead();
        Atomics.add(i32, rin, 1);
        for (let k = 0; k < 4; k++) {
          if (Atomics.load(i32, st) !== 0) viol++; // a writer inside with us
          spin(p.work);
        }
        Atomics.sub(i32, rin, 1);
        rw.upRead();
        acq++;
        spin(p.outside);
      }
    }
    return { acq, viol };
  },

  /**
   * rwsem fairness: hammering threads keep the lock busy (readers overlapping so the count never
   * drops to zero, or writers re-taking it at once); the prober counts how often it gets in.
   */
  'rw-fair'() {
    const rw = new RwSem(env, a.rwsem);
    const end = now() + p.durationMs;
    let acq = 0;
    let maxWaitMs = 0;
    const read = p.role === 'reader' || p.role === 'probe-reader';
    const probe = p.role.startsWith('probe');
    while (now() < end) {
      const t0 = now();
      if (read) rw.downRead(p.timeoutMs);
      else rw.downWrite(p.timeoutMs);
      const waited = now() - t0;
      if (waited > maxWaitMs) maxWaitMs = waited;
      if (p.holdSleepMs)
        sleep(p.holdSleepMs); // hold it without using a core (2 cores, 4 threads)
      else spin(p.work);
      if (read) rw.upRead();
      else rw.upWrite();
      acq++;
      if (probe) sleep(p.probeGapMs); // the prober asks now and then; the hammers never pause
    }
    return { acq, maxWaitMs: Math.round(maxWaitMs) };
  },

  /**
   * rwsem hand-off: the writer holds the lock until the reader is blocked in downRead, then
   * releases it and at once tries to take it again. The reader waiting at the up_write must get
   * in first (its read budget): the writer's trylock must fail every round.
   */
  'rw-handoff'() {
    const rw = new RwSem(env, a.rwsem);
    const round = ix(a.round);
    const done = ix(a.done);
    const readerWaitAddr = ix(p.readerWaitAddr); // the reader's T_WAIT_ADDR
    /** @type {(cond: () => boolean, what: string, r: number) => void} */
    const until = (cond, what, r) => {
      const dl = now() + 2000;
      while (!cond()) {
        if (now() > dl) throw new Error(`round ${r}: ${what} within 2 s`);
        sleep(0.02);
      }
    };
    if (p.role === 'writer') {
      let stolen = 0;
      for (let r = 1; r <= p.rounds; r++) {
        rw.downWrite();
        Atomics.store(i32, round, r);
        until(() => Atomics.load(i32, readerWaitAddr) === a.rwsem + L.RW_SEQ, 'reader not blocked in downRead', r);
        rw.upWrite();
        if (rw.downWriteTrylock()) {
          stolen++; // re-took it ahead of the reader that was waiting
          rw.upWrite();
        }
        until(() => Atomics.load(i32, done) >= r, 'reader never got in', r);
      }
      return { stolen };
    }
    for (let r = 1; r <= p.rounds; r++) {
      until(() => Atomics.load(i32, round) >= r, 'writer never started the round', r);
      rw.downRead(1000);
      sleep(0.2);
      rw.upRead();
      Atomics.store(i32, done, r);
    }
    return { rounds: p.rounds };
  },
};
