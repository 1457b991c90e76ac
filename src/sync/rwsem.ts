/**
 * rwsem.ts — a reader/writer semaphore like the kernel's, on one shared line.
 *
 * Words (one 64-byte line):
 *   RW_STATE   readers holding it in bits [15:0]; RW_WRITER (bit 16) while a writer holds it.
 *              Invariant: WRITER set => reader count 0.
 *   RW_OWNER   writer's thread id + 1 (diagnostics; readers are in each thread's T_HELD list)
 *   RW_SEQ     futex word: bumped (and all waiters woken) by every release that may let a
 *              waiter in, so a waiter that read it before re-checking cannot miss a wake-up
 *   RW_WWAIT   writers waiting; while > 0 no new reader gets in (writers do not starve)
 *   RW_RWAIT   readers waiting
 *   RW_RBUDGET set by up_write to the readers waiting then: that many waiting readers may enter
 *              ahead of the waiting writers (readers do not starve either); no writer takes
 *              the lock while budget and waiting readers remain; reset when a writer takes it
 *
 * Fast paths (uncontended down/up) are single Wasm CAS/adds; waiting is JS Atomics.wait on
 * RW_SEQ with a timeout.
 */
import { L, headerWord } from '../memory/layout.js';
import { type SyncEnv, WAIT, LockTimeout, block, deadlineOf } from './env.js';

export class RwSem {
  private readonly seqIdx: number;
  constructor(
    readonly env: SyncEnv,
    readonly addr: number,
    readonly name = 'rwsem',
  ) {
    this.seqIdx = (addr + L.RW_SEQ) >> 2;
  }

  downReadTrylock(): boolean {
    return this.env.wasm.rwsem_read_trylock(this.addr, this.env.tid, 0) === 1;
  }

  downWriteTrylock(): boolean {
    return this.env.wasm.rwsem_write_trylock(this.addr, this.env.tid) === 1;
  }

  /** Take for read; sleeps while a writer holds it or writers wait. LockTimeout / Stopped. */
  downRead(timeoutMs?: number): void {
    const { env, addr } = this;
    if (env.wasm.rwsem_read_trylock(addr, env.tid, 0)) return;
    const deadline = deadlineOf(env, timeoutMs);
    const rwait = (addr + L.RW_RWAIT) >> 2;
    Atomics.add(env.i32, rwait, 1);
    try {
      for (;;) {
        const s = Atomics.load(env.i32, this.seqIdx);
        if (env.wasm.rwsem_read_trylock(addr, env.tid, 1)) return;
        if (block(env, addr + L.RW_SEQ, s, WAIT.read, deadline) === 'timeout')
          throw new LockTimeout(`${this.name} (read)`, addr, this.writer(), timeoutMs ?? env.lockTimeoutMs);
      }
    } finally {
      // the last waiting reader giving up may unblock writers held back for its read budget
      if (Atomics.sub(env.i32, rwait, 1) === 1 && Atomics.load(env.i32, (addr + L.RW_RBUDGET) >> 2) > 0) this.wake();
    }
  }

  upRead(): void {
    if (this.env.wasm.rwsem_up_read(this.addr, this.env.tid)) this.wake();
  }

  /** Take for write; sleeps while anyone holds it. LockTimeout / Stopped. */
  downWrite(timeoutMs?: number): void {
    const { env, addr } = this;
    if (env.wasm.rwsem_write_trylock(addr, env.tid)) return;
    const deadline = deadlineOf(env, timeoutMs);
    const wwait = (addr + L.RW_WWAIT) >> 2;
    Atomics.add(env.i32, wwait, 1);
    let got = false;
    try {
      for (;;) {
        const s = Atomics.load(env.i32, this.seqIdx);
        if (env.wasm.rwsem_write_trylock(addr, env.tid)) return void (got = true);
        if (block(env, addr + L.RW_SEQ, s, WAIT.write, deadline) === 'timeout') {
          const w = this.writer();
          const readers = w >= 0 ? [] : this.readerTids();
          throw new LockTimeout(`${this.name} (write)`, addr, w >= 0 ? w : (readers[0] ?? -1), timeoutMs ?? env.lockTimeoutMs, readers);
        }
      }
    } finally {
      // the last waiting writer leaving may unblock readers held back for it
      if (Atomics.sub(env.i32, wwait, 1) === 1 && !got) this.wake();
    }
  }

  upWrite(): void {
    if (this.env.wasm.rwsem_up_write(this.addr, this.env.tid)) this.wake();
  }

  /** Turn a write hold into a read hold without letting a writer in between. */
  downgradeWrite(): void {
    if (this.env.wasm.rwsem_downgrade(this.addr, this.env.tid)) this.wake();
  }

  private wake(): void {
    Atomics.add(this.env.i32, this.seqIdx, 1);
    Atomics.notify(this.env.i32, this.seqIdx);
  }

  /** Writer thread id, or -1. */
  writer(): number {
    return Atomics.load(this.env.i32, (this.addr + L.RW_OWNER) >> 2) - 1;
  }
  readers(): number {
    return Atomics.load(this.env.i32, (this.addr + L.RW_STATE) >> 2) & L.RW_READER_MASK;
  }

  /**
   * Thread ids holding it for read, from every thread's held-lock list (T_HELD). Diagnostics
   * only: read racily, without the lock, so it may be stale by the time it returns.
   */
  readerTids(): number[] {
    const { i32 } = this.env;
    const threads = Atomics.load(i32, headerWord(L.H_THREADS));
    const base = Atomics.load(i32, headerWord(L.H_THREADS_BASE));
    const tag = this.addr | L.HELD_READ;
    const out: number[] = [];
    for (let t = 0; t < threads; t++) {
      const rec = base + t * L.THREAD_SIZE; // addr.thread, from the header (a lock has no Layout)
      const n = Math.min(Atomics.load(i32, (rec + L.T_HELD_N) >> 2), L.HELD_MAX);
      for (let k = 0; k < n; k++)
        if (Atomics.load(i32, (rec + L.T_HELD + 4 * k) >> 2) === tag) {
          out.push(t);
          break;
        }
    }
    return out;
  }
}
