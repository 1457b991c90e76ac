<<<<<<< HEAD
// sync-worker.mjs — one thread of the sync primitives' stress tests: runs the scenario named in
// workerData (see sync-common.mjs for the protocol with the test).
import { runScenario } from './sync-common.mjs';
import { mutexScenarios } from './sync-mutex.mjs';
import { rwsemScenarios } from './sync-rwsem.mjs';
import { waitScenarios } from './sync-wait.mjs';
import { contendScenarios } from './sync-contend.mjs';

runScenario({ ...mutexScenarios, ...rwsemScenarios, ...waitScenarios, ...contendScenarios });
=======
// sync-worker.mjs — one thread of the sync primitives' stress tests (test/sync.test.ts).
//
// Plain JS on purpose: vitest does not transform code inside worker threads (docs/ARCHITECTURE.md,
// Toolchain facts), so
// this imports the COMPILED modules from dist/ (`npm run build` / `npx tsc -p .` first).
//
// workerData: { memory, tid, scenario, a: {addresses}, p: {params} }
//   memory    the run's shared WebAssembly.Memory (same backing store as the test's)
//   tid       this thread's id (distinct per worker, < the layout's threads; 0 is the test's)
//   a         byte addresses of the lock / state words (protocol-state lines, zero at start)
//   p         scenario parameters; p.env overrides lockTimeoutMs / sliceMs
// Protocol: instantiate + setup(), then count in at the start barrier (H_GO[0] += 1) and wait
// for the go flag (H_GO[1]); run the scenario; post { ok: true, r } or { ok: false, error }.
// Every wait is bounded: a scenario that cannot finish reports it instead of hanging.
import { workerData, parentPort } from 'node:worker_threads';
import { L } from '../../dist/memory/layout.js';
import { instantiate } from '../../dist/memory/wasm.js';
import { loadModule } from '../../dist/memory/wasm-node.js';
import { Mutex, RwSem, SeqCount, WaitQueue, Completion, LockTimeout, Stopped } from '../../dist/sync/index.js';

const { memory, tid, scenario, a, p } = workerData;
const i32 = new Int32Array(memory.buffer);
const w = instantiate(loadModule(), memory);
if (w.setup() !== 0) throw new Error(`T${tid}: setup() failed (no header?)`);
const env = { i32, wasm: w, tid, lockTimeoutMs: 5000, sliceMs: 50, ...(p.env ?? {}) };

const READY = (L.BASE + L.H_GO) >> 2;
const GO = READY + 1;
const STOP = (L.BASE + L.H_STOP) >> 2;
/** @param {number} addr */
const ix = (addr) => addr >> 2;
const now = () => performance.now();
const sleepBuf = new Int32Array(new SharedArrayBuffer(4));
/** @param {number} ms */
const sleep = (ms) => Atomics.wait(sleepBuf, 0, 0, ms);
let sink = 0;
/** Some work that the JIT cannot drop (widens race windows). @param {number} n */
function spin(n) {
  let x = sink;
  for (let j = 0; j < n; j++) x = (x * 31 + j) | 0;
  sink = x;
}

function startBarrier() {
  Atomics.add(i32, READY, 1);
  Atomics.notify(i32, READY);
  const deadline = now() + 10_000;
  while (Atomics.load(i32, GO) === 0) {
    if (now() > deadline) throw new Error(`T${tid}: start barrier: no go within 10 s`);
    Atomics.wait(i32, GO, 0, 100);
  }
}

const scenarios = {
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
      if (p.holdSleepMs) sleep(p.holdSleepMs); // hold it without using a core (2 cores, 4 threads)
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
    const readerTid = p.readerTid;
    const readerWaitAddr = ix(Atomics.load(i32, (L.BASE + L.H_THREADS_BASE) >> 2) + readerTid * L.THREAD_SIZE + L.T_WAIT_ADDR);
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

  /** seqcount: writers (serialised by a mutex) write 4 equal words; readers must never accept unequal ones. */
  'seq'() {
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
  'pingpong'() {
    const wq = new WaitQueue(env, a.wq);
    const turn = ix(a.turn);
    const me = p.side;
    let rounds = 0;
    for (; rounds < p.rounds; rounds++) {
      if (!wq.waitEvent(() => Atomics.load(i32, turn) === me, p.waitMs))
        return { rounds, lostAt: rounds, turn: Atomics.load(i32, turn) };
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
  'completion'() {
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

  /** Take a lock, say so, sleep holding it, release. */
  'hold'() {
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
    Atomics.wait(i32, STOP, 0, p.holdMs);
    release();
    return { held: true };
  },

  /** Wait for the holder's flag, then try to take the lock with a timeout; report what was thrown. */
  'contend'() {
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

try {
  const run = scenarios[/** @type {keyof typeof scenarios} */ (scenario)];
  if (!run) throw new Error(`unknown scenario ${scenario}`);
  startBarrier();
  const r = run();
  parentPort?.postMessage({ ok: true, tid, r });
} catch (caught) {
  const e = /** @type {(Error & { owner?: number }) | undefined} */ (caught);
  parentPort?.postMessage({ ok: false, tid, error: { name: e?.name, message: e?.message, stack: e?.stack, owner: e?.owner } });
}
>>>>>>> tooling
