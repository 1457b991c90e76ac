/**
 * mutex.ts — a sleeping mutex on one shared word (Drepper, "Futexes Are Tricky", mutex #2).
 *
 * States of the word at MX_STATE (the whole protocol; every transition below keeps them):
 *   0  unlocked
 *   1  locked, no waiters
 *   2  locked, and some thread may be waiting (the unlocker must wake one)
 * MX_OWNER holds the owner's thread id + 1 (0 when unlocked), for diagnostics only; the
 * thread's held-lock list (T_HELD) records it too.
 *
 * Fast paths (0 -> 1, and unlock) run in Wasm; a contended lock sets the state to 2 and waits
 * in JS (Atomics.wait) until it takes the lock by exchanging 2 for a 0.
 */
import { L } from '../memory/layout.js';
import { type SyncEnv, WAIT, LockTimeout, block, blockAsync, deadlineOf } from './env.js';

export class Mutex {
  // the fast paths' operands, cached (this is a per-lock-op path)
  private readonly wasm: SyncEnv['wasm'];
  private readonly tid: number;
  constructor(
    readonly env: SyncEnv,
    readonly addr: number,
    readonly name = 'mutex',
  ) {
    this.wasm = env.wasm;
    this.tid = env.tid;
  }

  /** Take the lock if free; never blocks. */
  tryLock(): boolean {
    return this.wasm.mutex_trylock(this.addr, this.tid) === 1;
  }

  /**
   * Take the lock, sleeping while it is held. Throws LockTimeout (naming the owner) after
   * `timeoutMs` (default: env.lockTimeoutMs), Stopped if the run stops meanwhile.
   */
  lock(timeoutMs?: number): void {
    if (this.wasm.mutex_trylock(this.addr, this.tid)) return;
    const { env, addr } = this;
    const deadline = deadlineOf(env, timeoutMs);
    while (!env.wasm.mutex_lock_contended(addr, env.tid)) {
      if (block(env, addr + L.MX_STATE, 2, WAIT.mutex, deadline) === 'timeout')
        throw new LockTimeout(this.name, addr, this.owner(), timeoutMs ?? env.lockTimeoutMs);
    }
  }

  /** lock() without blocking the thread (browser main thread): same protocol, awaited waits. */
  async lockAsync(timeoutMs?: number): Promise<void> {
    const { env, addr } = this;
    if (env.wasm.mutex_trylock(addr, env.tid)) return;
    const deadline = deadlineOf(env, timeoutMs);
    while (!env.wasm.mutex_lock_contended(addr, env.tid)) {
      if ((await blockAsync(env, addr + L.MX_STATE, 2, deadline)) === 'timeout')
        throw new LockTimeout(this.name, addr, this.owner(), timeoutMs ?? env.lockTimeoutMs);
    }
  }

  /** Release; wakes one waiter if the state said there may be one. Caller holds the lock. */
  unlock(): void {
    if (this.wasm.mutex_unlock(this.addr, this.tid) === 2) Atomics.notify(this.env.i32, (this.addr + L.MX_STATE) >> 2, 1);
  }

  /** Owner thread id, or -1 when unlocked. */
  owner(): number {
    return Atomics.load(this.env.i32, (this.addr + L.MX_OWNER) >> 2) - 1;
  }

  isLocked(): boolean {
    return Atomics.load(this.env.i32, (this.addr + L.MX_STATE) >> 2) !== 0;
  }

  /** Locked, and some thread may be waiting for it (state 2). Untraced: for directed widening. */
  contended(): boolean {
    return Atomics.load(this.env.i32, (this.addr + L.MX_STATE) >> 2) === 2;
  }
}
