/**
 * The sync primitives' stress-test harness, shared by test/sync-*.test.ts: worker threads
 * (test/workers/sync-worker.mjs, plain JS over the compiled dist/) each instantiate the Wasm
 * module on the test's shared memory and hammer the same lock words. Lock and state words live
 * in the protocol-state lines of the layout (zero at start; one 64-byte line each).
 *
 * Every wait is bounded (workers have deadlines, locks and waits have timeouts, the harness a
 * watchdog), and every worker is terminated after each test (terminateWorkers).
 */
import { expect } from 'vitest';
import { Worker } from 'node:worker_threads';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { GO_WORD, READY_WORD, STOP_WORD, addr } from '../dist/memory/layout.js';
import { testMemory, type TestMem } from './helpers.js';

const WORKER = fileURLToPath(new URL('./workers/sync-worker.mjs', import.meta.url));
const DIST = fileURLToPath(new URL('../dist/sync/index.js', import.meta.url));
if (!existsSync(DIST)) throw new Error('dist/ is missing: run `npm run build` before the sync tests');

const live = new Set<Worker>();
/** Terminate every worker still running (each test file calls it after each test). */
export async function terminateWorkers(): Promise<void> {
  await Promise.all([...live].map((w) => w.terminate()));
  live.clear();
}

export interface Spec {
  scenario: string;
  p: Record<string, unknown>;
}
export type Result = { tid: number; r: any };

export const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));

/**
 * Start one worker per spec (tids 1..n), release them together through the start barrier
 * (READY_WORD, GO_WORD), and collect their results. `during` runs once they are all past the barrier. A
 * worker that fails rejects; past `watchdogMs` the stop flag is set and the run rejects.
 * Workers are always terminated.
 */
export async function runWorkers(
  m: TestMem,
  a: Record<string, number>,
  specs: Spec[],
  watchdogMs = 20_000,
  during?: () => Promise<void>,
): Promise<Result[]> {
  const workers = specs.map(
    (s, i) => new Worker(WORKER, { workerData: { memory: m.memory, tid: i + 1, scenario: s.scenario, a, p: s.p } }),
  );
  for (const w of workers) live.add(w);
  let timer: NodeJS.Timeout | undefined;
  try {
    const results = workers.map(
      (w) =>
        new Promise<Result>((res, rej) => {
          w.once('message', (msg) => {
            if (msg.ok) res({ tid: msg.tid, r: msg.r });
            else rej(new Error(`worker T${msg.tid}: ${msg.error.name}: ${msg.error.message}`));
          });
          w.once('error', rej);
          w.once('exit', (code) => rej(new Error(`worker exited (${code}) before reporting`)));
        }),
    );
    const watchdog = new Promise<never>((_, rej) => {
      timer = setTimeout(() => {
        Atomics.store(m.i32, STOP_WORD, 1);
        rej(new Error(`watchdog: workers did not finish within ${watchdogMs} ms`));
      }, watchdogMs);
    });
    const started = (async () => {
      const dl = Date.now() + 15_000;
      while (Atomics.load(m.i32, READY_WORD) < workers.length) {
        if (Date.now() > dl) throw new Error('start barrier: workers not ready within 15 s');
        await sleep(2);
      }
      Atomics.store(m.i32, GO_WORD, 1);
      Atomics.notify(m.i32, GO_WORD);
      if (during) await during();
    })();
    return await Promise.race([Promise.all([started, Promise.all(results)]).then(([, r]) => r), watchdog]);
  } finally {
    clearTimeout(timer);
    await Promise.all(workers.map((w) => w.terminate()));
    for (const w of workers) live.delete(w);
  }
}

/** Protocol-state lines of the test memory: one 64-byte line each, zero at start. */
export function lines(m: TestMem, names: string[]): Record<string, number> {
  if (names.length > m.layout.config.protoMmLines) throw new Error('not enough protocol lines');
  const out: Record<string, number> = {};
  names.forEach((n, i) => (out[n] = addr.protoMm(m.layout, i)));
  for (const n of names) expect(m.i32.subarray(out[n] >> 2, (out[n] + 64) >> 2).every((x) => x === 0)).toBe(true);
  return out;
}

export const word = (m: TestMem, a: number) => Atomics.load(m.i32, a >> 2);
export const threadRec = (m: TestMem, tid: number) => addr.thread(m.layout, tid);

/** T1 takes `holdLock` and sleeps on it; T2 tries `tryLock` with a timeout and reports what it threw. */
export async function holdAndContend(holdLock: string, tryLock: string, timeoutMs: number) {
  const m = testMemory();
  const a = lines(m, ['lock', 'flag']);
  const res = await runWorkers(m, a, [
    { scenario: 'hold', p: { lock: holdLock, holdMs: timeoutMs + 600 } },
    { scenario: 'contend', p: { lock: tryLock, timeoutMs } },
  ]);
  return { m, a, r: res[1].r };
}
