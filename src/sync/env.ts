/**
 * env.ts — what a thread needs to use the sync primitives: the shared memory as an Int32Array,
 * its own Wasm instance (lock fast paths) and its thread id (owner recording).
 *
 * Blocking happens here and only here: `block()` waits with JS Atomics.wait (never inside
 * Wasm: waits there lose wake-ups on Node 20), in slices of `sliceMs`, so that every wait
 * notices the run's stop flag (-> throws Stopped) and its own deadline (-> returns 'timeout').
 * Nothing can hang a run forever.
 */
import { STOP_WORD } from '../memory/layout.js';
import type { HmmWasm } from '../memory/wasm.js';

export interface SyncEnv {
  i32: Int32Array;
  wasm: HmmWasm;
  tid: number;
  /** Default timeout of lock and wait calls, ms. */
  lockTimeoutMs: number;
  /** Longest single Atomics.wait, ms: how quickly a blocked thread notices the stop flag. */
  sliceMs: number;
  /**
   * Controlled mode (schedule/controller.ts): waits become yields to the scheduler. `untimed`: the
   * caller gave no timeout (the kernel's wait has none), so the scheduler never ends it by one.
   */
  sched?: { block(addr: number, expected: number, kind: number, untimed?: boolean): 'ok' | 'timeout' };
}

/** Wait kinds recorded in T_WAIT_KIND for diagnostics. */
export const WAIT = {
  mutex: 1,
  read: 2,
  write: 3,
  waitqueue: 4,
  completion: 5,
  seqcount: 6,
  fence: 7,
  srcu: 8,
  mmUsers: 9,
  frameLock: 10,
  pageRefs: 11,
  pfnCache: 12,
} as const;
export const WAIT_NAMES: Record<number, string> = {
  1: 'mutex',
  2: 'rwsem read',
  3: 'rwsem write',
  4: 'waitqueue',
  5: 'completion',
  6: 'seqcount',
  7: 'device fence',
  8: 'srcu grace period',
  9: 'mm users',
  10: 'folio lock',
  11: 'page references',
  12: 'pfn cache fence',
};

/** The run is stopping: a blocked thread unwinds with this. */
export class Stopped extends Error {
  constructor() {
    super('run stopped');
    this.name = 'Stopped';
  }
}

/**
 * A lock or wait ran past its timeout. `owner`: the holder's thread id (a mutex's owner, a
 * rwsem's writer, else its first reader), -1 if unknown; `readers`: a rwsem's read holders.
 */
export class LockTimeout extends Error {
  constructor(
    readonly what: string,
    readonly addr: number,
    readonly owner: number,
    readonly timeoutMs: number,
    readonly readers: readonly number[] = [],
  ) {
    super(
      `${what} at 0x${addr.toString(16)} not acquired within ${timeoutMs} ms` +
        (readers.length > 0 ? ` (held for read by ${readers.map((t) => `T${t}`).join(', ')})` : owner >= 0 ? ` (held by T${owner})` : ''),
    );
    this.name = 'LockTimeout';
  }
}

export const now = (): number => performance.now();

export function stopRequested(env: SyncEnv): boolean {
  return Atomics.load(env.i32, STOP_WORD) !== 0;
}

/** Can this thread block? (Not on a browser page's main thread.) */
export const canBlock: boolean = (() => {
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
    return true;
  } catch {
    return false;
  }
})();

/**
 * Block until the word at byte `addr` may differ from `expected` (woken, changed, or a slice
 * elapsed), recording what this thread waits on. Returns 'timeout' once `deadline` (ms,
 * performance.now()) has passed; throws Stopped when the run is stopping. Callers loop:
 * re-check their condition after every return.
 */
export function block(env: SyncEnv, addr: number, expected: number, kind: number, deadline: number, untimed?: boolean): 'ok' | 'timeout' {
  if (env.sched !== undefined) return env.sched.block(addr, expected, kind, untimed);
  if (!canBlock) throw new Error('hmmsim: cannot block on this thread (browser main thread): use tryLock or an async path');
  if (Atomics.load(env.i32, STOP_WORD) !== 0) throw new Stopped();
  const left = deadline - now();
  if (left <= 0) return 'timeout';
  env.wasm.set_waiting(env.tid, addr, kind);
  Atomics.wait(env.i32, addr >> 2, expected, Math.min(left, env.sliceMs));
  env.wasm.set_waiting(env.tid, 0, 0);
  if (Atomics.load(env.i32, STOP_WORD) !== 0) throw new Stopped();
  return 'ok';
}

export function deadlineOf(env: SyncEnv, timeoutMs: number | undefined): number {
  return now() + (timeoutMs ?? env.lockTimeoutMs);
}

type WaitAsync = (a: Int32Array, i: number, v: number, t?: number) => { async: boolean; value: Promise<string> | string };

/**
 * The non-blocking twin of block(), for threads that must not block (a browser page's main
 * thread): resolves when the word may differ from `expected`, a slice elapsed, or the deadline
 * passed ('timeout'). Uses Atomics.waitAsync where the runtime has it, else a timer slice.
 */
export async function blockAsync(env: SyncEnv, addr: number, expected: number, deadline: number): Promise<'ok' | 'timeout'> {
  if (Atomics.load(env.i32, STOP_WORD) !== 0) throw new Stopped();
  const left = deadline - now();
  if (left <= 0) return 'timeout';
  const slice = Math.min(left, env.sliceMs);
  const waitAsync = (Atomics as unknown as { waitAsync?: WaitAsync }).waitAsync;
  if (waitAsync) {
    const r = waitAsync(env.i32, addr >> 2, expected, slice);
    if (r.async) await r.value;
  } else if (Atomics.load(env.i32, addr >> 2) === expected) await new Promise((res) => setTimeout(res, Math.min(slice, 4)));
  if (Atomics.load(env.i32, STOP_WORD) !== 0) throw new Stopped();
  return 'ok';
}
