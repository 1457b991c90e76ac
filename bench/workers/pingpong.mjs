/**
 * pingpong.mjs — one side of a two-worker wake hand-off (bench/micro.mjs).
 *
 * workerData: { memory, module, side (0 | 1), mode, rounds, turnAddr, wqAddr, goAddr }
 *   mode 'hmmsim-waitqueue': the hmmsim WaitQueue (src/sync/waitqueue.ts): wait_event on the
 *                            turn word, wake_up_all after passing the turn;
 *   mode 'js-atomics':       the floor for any JS-blocking design: Atomics.wait / Atomics.notify
 *                            on the turn word itself (the same logic as the C futex ping-pong).
 * Side 0 times `rounds` round trips (two hand-offs each) and posts { nsPerRoundTrip, chunks }:
 * chunks = ns per round trip of each run of 100 (the median chunk is robust to preemption).
 */
import { workerData, parentPort } from 'node:worker_threads';
import { instantiate } from '../../dist/memory/wasm.js';
import { WaitQueue } from '../../dist/sync/index.js';

const { memory, module, side, mode, rounds, turnAddr, wqAddr, goAddr } = workerData;
const i32 = new Int32Array(memory.buffer);
const w = instantiate(module, memory);
if (w.setup() !== 0) throw new Error('setup failed');
const env = { i32, wasm: w, tid: side, lockTimeoutMs: 30_000, sliceMs: 1000 };
const T = turnAddr >> 2;
const GO = goAddr >> 2;

// start barrier: both instantiated before anyone touches the turn word
Atomics.add(i32, GO, 1);
Atomics.notify(i32, GO);
while (Atomics.load(i32, GO) < 2) Atomics.wait(i32, GO, 1, 50);

const CHUNK = 100; // round trips per timed chunk (the C harness uses the same)
const chunks = [];
let t0 = 0;
if (mode === 'hmmsim-waitqueue') {
  const wq = new WaitQueue(env, wqAddr, 'pingpong');
  if (side === 0) {
    t0 = performance.now();
    let c0 = t0;
    for (let i = 0; i < rounds; i++) {
      Atomics.store(i32, T, 1);
      wq.wakeUpAll();
      if (!wq.waitEvent(() => Atomics.load(i32, T) === 0)) throw new Error('pingpong: timed out');
      if ((i + 1) % CHUNK === 0) {
        const c1 = performance.now();
        chunks.push(((c1 - c0) * 1e6) / CHUNK);
        c0 = c1;
      }
    }
  } else {
    for (let i = 0; i < rounds; i++) {
      if (!wq.waitEvent(() => Atomics.load(i32, T) === 1)) throw new Error('pingpong: timed out');
      Atomics.store(i32, T, 0);
      wq.wakeUpAll();
    }
  }
} else if (mode === 'js-atomics') {
  if (side === 0) {
    t0 = performance.now();
    let c0 = t0;
    for (let i = 0; i < rounds; i++) {
      Atomics.store(i32, T, 1);
      Atomics.notify(i32, T, 1);
      while (Atomics.load(i32, T) !== 0) Atomics.wait(i32, T, 1);
      if ((i + 1) % CHUNK === 0) {
        const c1 = performance.now();
        chunks.push(((c1 - c0) * 1e6) / CHUNK);
        c0 = c1;
      }
    }
  } else {
    for (let i = 0; i < rounds; i++) {
      while (Atomics.load(i32, T) !== 1) Atomics.wait(i32, T, 0);
      Atomics.store(i32, T, 0);
      Atomics.notify(i32, T, 1);
    }
  }
} else throw new Error(`unknown mode ${mode}`);

parentPort?.postMessage(side === 0 ? { nsPerRoundTrip: ((performance.now() - t0) * 1e6) / rounds, chunks } : {});
