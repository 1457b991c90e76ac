// sync-common.mjs — what every thread of the sync primitives' stress tests shares (the
// scenarios are in sync-mutex.mjs, sync-rwsem.mjs, sync-wait.mjs and sync-contend.mjs; the entry
// is sync-worker.mjs).
//
// Plain JS on purpose: vitest does not transform code inside worker threads (docs/ARCHITECTURE.md,
// Toolchain facts), so this imports the COMPILED modules from dist/ (`npm run build` / `npx tsc -p .` first).
//
// workerData: { memory, tid, scenario, a: {addresses}, p: {params} }
//   memory    the run's shared WebAssembly.Memory (same backing store as the test's)
//   tid       this thread's id (distinct per worker, < the layout's threads; 0 is the test's)
//   a         byte addresses of the lock / state words (protocol-state lines, zero at start)
//   p         scenario parameters; p.env overrides lockTimeoutMs / sliceMs
// Protocol: instantiate + setup(), then count in at the start barrier (READY_WORD += 1) and wait
// for the go flag (GO_WORD); run the scenario; post { ok: true, r } or { ok: false, error }.
// Every wait is bounded: a scenario that cannot finish reports it instead of hanging.
import { workerData, parentPort } from 'node:worker_threads';
import { GO_WORD, READY_WORD } from '../../dist/memory/layout.js';
import { instantiate } from '../../dist/memory/wasm.js';
import { loadModule } from '../../dist/memory/wasm-node.js';

export const { memory, tid, scenario, a, p } = workerData;
export const i32 = new Int32Array(memory.buffer);
const wasm = instantiate(loadModule(), memory);
if (wasm.setup() !== 0) throw new Error(`T${tid}: setup() failed (no header?)`);
export const env = { i32, wasm, tid, lockTimeoutMs: 5000, sliceMs: 50, ...(p.env ?? {}) };

/** @param {number} addr */
export const ix = (addr) => addr >> 2;
export const now = () => performance.now();
const sleepBuf = new Int32Array(new SharedArrayBuffer(4));
/** @param {number} ms */
export const sleep = (ms) => Atomics.wait(sleepBuf, 0, 0, ms);
let sink = 0;
/** Some work that the JIT cannot drop (widens race windows). @param {number} n */
export function spin(n) {
  let x = sink;
  for (let j = 0; j < n; j++) x = (x * 31 + j) | 0;
  sink = x;
}

function startBarrier() {
  Atomics.add(i32, READY_WORD, 1);
  Atomics.notify(i32, READY_WORD);
  const deadline = now() + 10_000;
  while (Atomics.load(i32, GO_WORD) === 0) {
    if (now() > deadline) throw new Error(`T${tid}: start barrier: no go within 10 s`);
    Atomics.wait(i32, GO_WORD, 0, 100);
  }
}

/**
 * Run this worker's scenario (by name, from `scenarios`) after the start barrier, and report.
 * @param {Record<string, () => unknown>} scenarios
 */
export function runScenario(scenarios) {
  try {
    const run = scenarios[scenario];
    if (!run) throw new Error(`unknown scenario ${scenario}`);
    startBarrier();
    const r = run();
    parentPort?.postMessage({ ok: true, tid, r });
  } catch (caught) {
    const e = /** @type {(Error & { owner?: number }) | undefined} */ (caught);
    parentPort?.postMessage({ ok: false, tid, error: { name: e?.name, message: e?.message, stack: e?.stack, owner: e?.owner } });
  }
}
