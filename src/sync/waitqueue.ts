/**
 * waitqueue.ts — wait_event / wake_up_all on one shared word, and completions.
 *
 * WaitQueue: WQ_SEQ is bumped by every wake_up_all. A waiter reads it, checks its condition,
 * and sleeps only while WQ_SEQ still holds what it read, so a wake-up between the check and the
 * sleep is never lost. The condition is the caller's (shared state it reads itself).
 *
 * Completion: CMP_DONE (0 = not done, 1 = done) beside a WaitQueue on the same line;
 * complete_all sets it and wakes everyone, reinit clears it.
 */
import { L } from '../memory/layout.js';
import { type SyncEnv, WAIT, block, blockAsync, deadlineOf } from './env.js';

export class WaitQueue {
  private readonly idx: number;
  constructor(
    readonly env: SyncEnv,
    readonly addr: number,
    readonly name = 'waitqueue',
    private readonly kind: number = WAIT.waitqueue,
  ) {
    this.idx = (addr + L.WQ_SEQ) >> 2;
  }

  /** Sleep until `cond()` holds; false if `timeoutMs` (default env.lockTimeoutMs) passed first. Stopped if the run stops. */
  waitEvent(cond: () => boolean, timeoutMs?: number): boolean {
    if (cond()) return true;
    const deadline = deadlineOf(this.env, timeoutMs);
    for (;;) {
      const s = Atomics.load(this.env.i32, this.idx);
      if (cond()) return true;
      if (block(this.env, this.addr + L.WQ_SEQ, s, this.kind, deadline, timeoutMs === undefined) === 'timeout') return cond();
    }
  }

  /** waitEvent() without blocking the thread (browser main thread). */
  async waitEventAsync(cond: () => boolean, timeoutMs?: number): Promise<boolean> {
    if (cond()) return true;
    const deadline = deadlineOf(this.env, timeoutMs);
    for (;;) {
      const s = Atomics.load(this.env.i32, this.idx);
      if (cond()) return true;
      if ((await blockAsync(this.env, this.addr + L.WQ_SEQ, s, deadline)) === 'timeout') return cond();
    }
  }

  /** Wake every sleeper (they re-check their conditions). */
  wakeUpAll(): void {
    Atomics.add(this.env.i32, this.idx, 1);
    Atomics.notify(this.env.i32, this.idx);
  }
}

export class Completion {
  private readonly wq: WaitQueue;
  private readonly doneIdx: number;
  constructor(
    readonly env: SyncEnv,
    readonly addr: number,
    readonly name = 'completion',
  ) {
    this.wq = new WaitQueue(env, addr, name, WAIT.completion);
    this.doneIdx = (addr + L.CMP_DONE) >> 2;
  }
  /** wait_for_completion_timeout: true if completed, false on timeout. */
  wait(timeoutMs?: number): boolean {
    return this.wq.waitEvent(() => this.done(), timeoutMs);
  }
  completeAll(): void {
    Atomics.store(this.env.i32, this.doneIdx, 1);
    this.wq.wakeUpAll();
  }
  reinit(): void {
    Atomics.store(this.env.i32, this.doneIdx, 0);
  }
  done(): boolean {
    return Atomics.load(this.env.i32, this.doneIdx) !== 0;
  }
}
