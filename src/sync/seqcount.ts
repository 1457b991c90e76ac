/**
 * seqcount.ts — a sequence counter on one shared word.
 *
 * States: even = no write in progress; odd = a writer is between write_begin and write_end.
 * Writers must be serialised by a lock of their own (as in the kernel); readers take no lock:
 * s = readBegin(); ...read...; if (readRetry(s)) start over.
 */
import { type SyncEnv, WAIT, LockTimeout, block, deadlineOf } from './env.js';

export class SeqCount {
  private readonly idx: number;
  constructor(
    readonly env: SyncEnv,
    readonly addr: number,
    readonly name = 'seqcount',
  ) {
    this.idx = addr >> 2;
  }

  /** Caller holds the writers' lock. */
  writeBegin(): void {
    Atomics.add(this.env.i32, this.idx, 1);
  }

  /** Caller holds the writers' lock. Wakes readers waiting for the write to finish. */
  writeEnd(): void {
    Atomics.add(this.env.i32, this.idx, 1);
    Atomics.notify(this.env.i32, this.idx);
  }

  /** Wait (with timeout) until no write is in progress; returns the even sequence. */
  readBegin(timeoutMs?: number): number {
    const { env } = this;
    let s = Atomics.load(env.i32, this.idx);
    if ((s & 1) === 0) return s;
    const deadline = deadlineOf(env, timeoutMs);
    while ((s = Atomics.load(env.i32, this.idx)) & 1) {
      if (block(env, this.addr, s, WAIT.seqcount, deadline) === 'timeout')
        throw new LockTimeout(`${this.name} (read_begin)`, this.addr, -1, timeoutMs ?? env.lockTimeoutMs);
    }
    return s;
  }

  /** True if a write began since readBegin returned `s`: the read must be retried. */
  readRetry(s: number): boolean {
    return Atomics.load(this.env.i32, this.idx) !== s;
  }

  raw(): number {
    return Atomics.load(this.env.i32, this.idx);
  }
}
