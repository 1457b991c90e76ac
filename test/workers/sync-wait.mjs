// sync-wait.mjs — seqcount, waitqueue and completion scenarios (test/sync-wait.test.ts).
import { Mutex, SeqCount, WaitQueue, Completion } from '../../dist/sync/index.js';
import { a, env, i32, ix, now, p, spin } from './sync-common.mjs';

export const waitScenarios = {
  /** seqcount: writers (serialised by a mutex) write 4 equal words; readers must never accept unequal ones. */
  seq() {
    const seq = new SeqCount(env, a.seq);
    const d = ix(a.data);
    const end = now() + p.durationMs;
    if (p.role === 'writer') {
      const m = new Mutex(env, a.mutex);
      let writes = 0;
      while (now() < end) {
        m.lock();
        seq.writeBegin();
        const v = i32[d] + 1;
        for (let k = 0; k < 4; k++) {
          i32[d + k] = v;
          spin(p.work);
        }
        seq.writeEnd();
        m.unlock();
        writes++;
        spin(p.outside);
      }
      return { writes };
    }
    let accepted = 0;
    let retries = 0;
    let torn = 0;
    let firstTorn = null;
    let maxBeginMs = 0;
    while (now() < end) {
      const t0 = now();
      const s = seq.readBegin();
      const tb = now() - t0;
      if (tb > maxBeginMs) maxBeginMs = tb;
      const v0 = i32[d];
      spin(p.work);
      const v1 = i32[d + 1];
      spin(p.work);
      const v2 = i32[d + 2];
      spin(p.work);
      const v3 = i32[d + 3];
      if (seq.readRetry(s)) {
        retries++;
        continue;
      }
      accepted++;
      if (v0 !== v1 || v1 !== v2 || v2 !== v3) {
        torn++;
        firstTorn ??= [v0, v1, v2, v3];
      }
    }
    return { accepted, retries, torn, firstTorn, maxBeginMs: Math.round(maxBeginMs) };
  },

  /** Ping-pong: wait for my turn on a shared word (waitEvent), flip it, wakeUpAll. */
  pingpong() {
    const wq = new WaitQueue(env, a.wq);
    const turn = ix(a.turn);
    const me = p.side;
    let rounds = 0;
    for (; rounds < p.rounds; rounds++) {
      if (!wq.waitEvent(() => Atomics.load(i32, turn) === me, p.waitMs)) return { rounds, lostAt: rounds, turn: Atomics.load(i32, turn) };
      Atomics.store(i32, turn, 1 - me);
      wq.wakeUpAll();
    }
    return { rounds, lostAt: -1 };
  },

  /**
   * Completions in rounds: round r uses C[r & 1]; the completer re-arms the other one (reinit)
   * once every waiter has acknowledged the round before, publishes r, then completeAll. A
   * waiter must wake (no lost wake-up) and must see round r (a completion that was not re-armed
   * would let it through early).
   */
  completion() {
    const cs = [new Completion(env, a.c0), new Completion(env, a.c1)];
    const ackWq = new WaitQueue(env, a.ackWq);
    const ack = ix(a.ack);
    const round = ix(a.round);
    if (p.role === 'completer') {
      for (let r = 0; r < p.rounds; r++) {
        if (!ackWq.waitEvent(() => Atomics.load(i32, ack) >= p.waiters * r, p.waitMs)) return { r, stuck: 'acks' };
        cs[(r + 1) & 1].reinit();
        Atomics.store(i32, round, r);
        if ((r & 7) === 0) spin(2000); // sometimes let the waiters go to sleep first
        cs[r & 1].completeAll();
      }
      return { r: p.rounds };
    }
    let early = 0;
    let firstEarly = null;
    for (let r = 0; r < p.rounds; r++) {
      if (!cs[r & 1].wait(p.waitMs)) return { r, lostAt: r, early };
      const seen = Atomics.load(i32, round);
      if (seen !== r) {
        early++;
        firstEarly ??= { r, seen };
      }
      Atomics.add(i32, ack, 1);
      ackWq.wakeUpAll();
    }
    return { r: p.rounds, lostAt: -1, early, firstEarly };
  },
};
