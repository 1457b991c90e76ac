/**
 * micro.mjs — the micro-benchmarks, each against its baselines in the same run:
 *   walk:    Wasm hmm_range_fault vs the same walk in JS (Atomics.load) vs native C, ns/page;
 *   locks:   hmmsim Mutex / RwSem (read, write) / SeqCount read section (src/sync via dist)
 *            vs native pthread (same C harness) vs npm `multithreading` (Mutex, RwLock);
 *   handoff: wake hand-off between two worker threads: hmmsim WaitQueue vs raw JS
 *            Atomics.wait/notify vs native futex (C, two threads), per round trip.
 *
 * Every figure is run in several rounds, interleaved with its baselines, and the median of the
 * rounds is reported (each round's figure is itself the median sample of tinybench or of the C
 * harness's batches). Ratios are computed from those medians.
 */
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Bench } from 'tinybench';
import { L } from '../dist/memory/layout.js';
import { Mutex, RwSem, SeqCount } from '../dist/sync/index.js';
import { benchMemory, syncEnv, median, r, ratio } from './lib/util.mjs';
import { makeJsWalk, pfnsChecksum } from './lib/jswalk.mjs';
import { runNative } from './lib/native.mjs';

const WALK_PAGES = 4096; // one range of rangeMax pages, all present and writable
const LOCK_BATCH = 1000; // lock+unlock pairs per timed call (amortises the timer)

function summarize(samples) {
  const xs = samples.filter((x) => x != null && Number.isFinite(x));
  if (!xs.length) return null;
  return {
    median: r(median(xs), 4),
    min: r(Math.min(...xs), 4),
    max: r(Math.max(...xs), 4),
    rounds: xs.length,
    samples: xs.map((x) => r(x, 4)),
  };
}

/** One tinybench pass over `tasks` ({ name: fn }); returns { name: p50 ms per call }. */
function tinyRound(tasks, timeMs) {
  const bench = new Bench({
    time: timeMs,
    warmupTime: Math.min(100, timeMs / 2),
    iterations: 32,
    timestampProvider: 'hrtimeNow',
    throws: true,
  });
  for (const [name, fn] of Object.entries(tasks)) bench.add(name, fn);
  bench.runSync();
  const out = {};
  for (const t of bench.tasks) {
    const res = t.result;
    if (!res || !('latency' in res))
      throw new Error(`tinybench task ${t.name}: ${res?.state ?? 'no result'} ${res && 'error' in res ? res.error : ''}`);
    out[t.name] = res.latency.p50;
  }
  return out;
}

// ------------------------------------------------------------------------------------------
// Range walk
// ------------------------------------------------------------------------------------------

function setupWalk() {
  const m = benchMemory({ pages: 2 * WALK_PAGES, rangeMax: WALK_PAGES, threads: 4 }, 0);
  const { w, i32, lay } = m;
  w.mm_init();
  w.vma_set(0, lay.config.pages, L.VM_MAPPED | L.VM_READ | L.VM_WRITE);
  for (let p = 0; p < WALK_PAGES; p++) {
    const rc = w.handle_mm_fault(p, 1);
    if (rc !== 0) throw new Error(`walk setup: handle_mm_fault(${p}) = ${rc}`);
  }
  const rAddr = w.range_addr(0);
  const checkAddr = lay.protoSubBase; // the lockless check_retry word, as interval-v5.5 sets it
  i32[checkAddr >> 2] = 2;
  const set = (off, v) => (i32[(rAddr + off) >> 2] = v);
  set(L.R_START, 0);
  set(L.R_END, WALK_PAGES);
  set(L.R_FLAGS, L.RF_FAULT);
  set(L.R_CHECK_ADDR, checkAddr);
  set(L.R_CHECK_EXPECT, 2);
  return { ...m, rAddr };
}

export async function benchWalk({ rounds, timeMs, nat, log }) {
  const m = setupWalk();
  const { w, i32, memory, rAddr, lay } = m;
  const jsWalk = makeJsWalk(i32);
  const clear = () => new Int32Array(memory.buffer, rAddr + L.R_HDR, WALK_PAGES * 2).fill(0);
  // correctness first: the three walks must produce the same hmm_pfns
  clear();
  let rc = w.hmm_range_fault(rAddr, 0, 0, -1, 0);
  if (rc !== 0) throw new Error(`wasm walk returned ${rc}`);
  const sumWasm = pfnsChecksum(memory, rAddr, WALK_PAGES);
  clear();
  rc = jsWalk(rAddr, 0, 0);
  if (rc !== 0) throw new Error(`js walk returned ${rc}`);
  const sumJs = pfnsChecksum(memory, rAddr, WALK_PAGES);
  if (sumJs !== sumWasm) throw new Error('js walk output differs from the wasm walk');
  /** @type {string | null} */
  let image = null;
  const nativeNote = nat.ok ? null : nat.reason;
  if (nat.ok) {
    image = join(nat.dir, 'walk-image.bin');
    writeFileSync(image, Buffer.from(memory.buffer, 0, lay.totalBytes));
  }
  const wasm = [],
    js = [],
    c = [];
  for (let k = 0; k < rounds; k++) {
    log(`  walk round ${k + 1}/${rounds}`);
    const t = tinyRound({ wasm: () => w.hmm_range_fault(rAddr, 0, 0, -1, 0), js: () => jsWalk(rAddr, 0, 0) }, timeMs);
    wasm.push((t.wasm * 1e6) / WALK_PAGES);
    js.push((t.js * 1e6) / WALK_PAGES);
    if (nat.ok) {
      // one walk per timed sample, many samples, median: the same statistic tinybench gives the Wasm and
      // JS walks (long C batches were inflated by preemption on a loaded machine)
      const n = runNative(nat, ['walk', image, rAddr, 1, 3001]);
      if (n.checksum !== sumWasm) throw new Error('native walk output differs from the wasm walk');
      c.push(n.walkNsPerPage.median);
    }
  }
  const res = {
    pages: WALK_PAGES,
    unit: 'ns/page',
    wasm: summarize(wasm),
    jsAtomics: summarize(js),
    native: nat.ok ? summarize(c) : null,
    nativeNote,
    outputsIdentical: true,
  };
  res.wasmVsNative = r(ratio(res.wasm?.median, res.native?.median), 3);
  res.jsVsWasm = r(ratio(res.jsAtomics?.median, res.wasm?.median), 3);
  return res;
}

// ------------------------------------------------------------------------------------------
// Locks, uncontended
// ------------------------------------------------------------------------------------------

async function importMultithreading() {
  // multithreading reads navigator.hardwareConcurrency when imported; Node 20 has no navigator
  globalThis.navigator ??= /** @type {Navigator} */ (/** @type {unknown} */ ({ hardwareConcurrency: os.availableParallelism() }));
  return import('multithreading');
}

export async function benchLocks({ rounds, timeMs, nat, log }) {
  const { w, i32, lay } = benchMemory({ pages: 256, threads: 4 }, 0);
  const env = syncEnv(i32, w, 0);
  const base = lay.protoMmBase;
  const mutex = new Mutex(env, base, 'bench-mutex');
  const rw = new RwSem(env, base + 64, 'bench-rwsem');
  const sc = new SeqCount(env, base + 128, 'bench-seq');
  const D = (base + 192) >> 2;
  i32[D] = 42;
  let sink = 0;
  const B = LOCK_BATCH;
  const tasks = {
    'hmmsim mutex': () => {
      for (let i = 0; i < B; i++) {
        mutex.lock();
        mutex.unlock();
      }
    },
    // the same fast path without the JS class: splits class overhead from the Wasm atomics' cost
    'hmmsim mutex (raw wasm calls)': () => {
      for (let i = 0; i < B; i++) {
        w.mutex_trylock(base, 0);
        w.mutex_unlock(base, 0);
      }
    },
    'hmmsim rwsem read': () => {
      for (let i = 0; i < B; i++) {
        rw.downRead();
        rw.upRead();
      }
    },
    'hmmsim rwsem write': () => {
      for (let i = 0; i < B; i++) {
        rw.downWrite();
        rw.upWrite();
      }
    },
    'hmmsim seqcount read': () => {
      for (let i = 0; i < B; i++) {
        let s, v;
        do {
          s = sc.readBegin();
          v = Atomics.load(i32, D);
        } while (sc.readRetry(s));
        sink ^= v;
      }
    },
  };
  /** @type {typeof import('multithreading') | null} */
  let mt = null;
  /** @type {string | null} */
  let mtNote = null;
  try {
    mt = await importMultithreading();
    const mm = new mt.Mutex(new Int32Array(new SharedArrayBuffer(4)));
    const rl = new mt.RwLock(new Int32Array(new SharedArrayBuffer(4)));
    tasks['multithreading mutex'] = () => {
      for (let i = 0; i < B; i++) mm.blockingLock().dispose();
    };
    tasks['multithreading rwlock read'] = () => {
      for (let i = 0; i < B; i++) rl.blockingRead().dispose();
    };
    tasks['multithreading rwlock write'] = () => {
      for (let i = 0; i < B; i++) rl.blockingWrite().dispose();
    };
  } catch (e) {
    mtNote = `npm multithreading unavailable: ${e.message}`;
  }
  /** @type {Record<string, number[]>} */
  const per = Object.fromEntries(Object.keys(tasks).map((k) => [k, []]));
  const cRes = { mutexLockUnlock: [], rwsemReadLockUnlock: [], rwsemWriteLockUnlock: [], seqcountRead: [] };
  for (let k = 0; k < rounds; k++) {
    log(`  locks round ${k + 1}/${rounds}`);
    const t = tinyRound(tasks, timeMs);
    for (const name of Object.keys(tasks)) per[name].push((t[name] * 1e6) / B);
    if (nat.ok) {
      const n = runNative(nat, ['sync', LOCK_BATCH, 2001]); // same batch as the JS side: 1000 pairs per sample
      for (const key of Object.keys(cRes)) cRes[key].push(n[key].median);
    }
  }
  if (sink === 0xdeadbeef) console.log(''); // keep the seqcount read alive
  const S = (name) => summarize(per[name] ?? []);
  const rows = {
    mutex: {
      hmmsim: S('hmmsim mutex'),
      hmmsimRawWasm: S('hmmsim mutex (raw wasm calls)'),
      pthread: summarize(cRes.mutexLockUnlock),
      multithreading: S('multithreading mutex'),
    },
    rwsemRead: {
      hmmsim: S('hmmsim rwsem read'),
      pthread: summarize(cRes.rwsemReadLockUnlock),
      multithreading: S('multithreading rwlock read'),
    },
    rwsemWrite: {
      hmmsim: S('hmmsim rwsem write'),
      pthread: summarize(cRes.rwsemWriteLockUnlock),
      multithreading: S('multithreading rwlock write'),
    },
    seqcountRead: { hmmsim: S('hmmsim seqcount read'), pthread: summarize(cRes.seqcountRead), multithreading: null },
  };
  for (const row of Object.values(rows)) {
    row.vsPthread = r(ratio(row.hmmsim?.median, row.pthread?.median), 3);
    row.multithreadingVsHmmsim = r(ratio(row.multithreading?.median, row.hmmsim?.median), 3);
  }
  return {
    unit: 'ns per lock+unlock (seqcount: per read section)',
    batch: B,
    ...rows,
    notes: [
      ...(mtNote ? [mtNote] : []),
      ...(nat.ok ? [] : [nat.reason]),
      'multithreading has no seqcount: that cell is empty',
      'pthread rwlock stands in for the rwsem; the C seqcount read section uses __atomic seq_cst loads',
    ],
  };
}

// ------------------------------------------------------------------------------------------
// Wake hand-off between two workers
// ------------------------------------------------------------------------------------------

function pingpongOnce(m, mode, rounds) {
  const base = m.lay.protoMmBase;
  const turnAddr = base + 256,
    wqAddr = base + 320,
    goAddr = base + 384;
  for (const a of [turnAddr, wqAddr, goAddr]) Atomics.store(m.i32, a >> 2, 0);
  const url = new URL('./workers/pingpong.mjs', import.meta.url);
  const mk = (side) =>
    new Promise((resolve, reject) => {
      const wk = new Worker(url, { workerData: { memory: m.memory, module: m.module, side, mode, rounds, turnAddr, wqAddr, goAddr } });
      let msg = null;
      wk.on('message', (x) => (msg = x));
      wk.on('error', reject);
      wk.on('exit', (code) => (code === 0 ? resolve(msg) : reject(new Error(`pingpong worker exited ${code}`))));
    });
  return Promise.all([mk(0), mk(1)]).then(([a]) => a);
}

export async function benchHandoff({ reps, rounds, nat, log }) {
  const m = benchMemory({ pages: 256, threads: 4 }, 0);
  // per run: the median over its chunks of 100 round trips (robust to preemption on a loaded
  // machine; the C harness reports the same statistic); then the median over runs
  const wq = [],
    js = [],
    wqMean = [],
    jsMean = [];
  for (let k = 0; k < reps; k++) {
    log(`  hand-off rep ${k + 1}/${reps}`);
    const a = await pingpongOnce(m, 'hmmsim-waitqueue', rounds);
    wq.push(median(a.chunks));
    wqMean.push(a.nsPerRoundTrip);
    const b = await pingpongOnce(m, 'js-atomics', rounds);
    js.push(median(b.chunks));
    jsMean.push(b.nsPerRoundTrip);
  }
  const n = nat.ok ? runNative(nat, ['pingpong', rounds, reps]) : null;
  const futex = n?.futexRoundTrip;
  const res = {
    unit: 'ns per round trip (two hand-offs); median chunk of 100 round trips, then median of runs',
    rounds,
    hmmsimWaitQueue: summarize(wq),
    jsAtomics: summarize(js),
    nativeFutex: futex ? { median: r(futex.median, 4), min: r(futex.min, 4), max: r(futex.max, 4), chunks: futex.reps } : null,
    runMeans: {
      hmmsimWaitQueue: summarize(wqMean),
      jsAtomics: summarize(jsMean),
      nativeFutex: n ? { median: r(n.futexRunMean.median, 4), min: r(n.futexRunMean.min, 4), max: r(n.futexRunMean.max, 4) } : null,
    },
    nativeNote: nat.ok ? null : nat.reason,
    note: 'the hmmsim Mutex has no hand-off of its own (unlock wakes one waiter, which then competes for the word); its blocking path is the same block() as the WaitQueue measured here',
  };
  res.waitQueueVsFutex = r(ratio(res.hmmsimWaitQueue?.median, res.nativeFutex?.median), 3);
  res.jsAtomicsVsFutex = r(ratio(res.jsAtomics?.median, res.nativeFutex?.median), 3);
  return res;
}

export async function runMicro({ quick, nat, log }) {
  const rounds = quick ? 2 : 5;
  const timeMs = quick ? 150 : 500;
  const walk = await benchWalk({ rounds, timeMs, nat, log });
  const locks = await benchLocks({ rounds, timeMs, nat, log });
  const handoff = await benchHandoff({ reps: quick ? 3 : 7, rounds: quick ? 3000 : 20000, nat, log });
  return { walk, locks, handoff };
}
