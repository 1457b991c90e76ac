/**
 * shared.ts — what one thread's mutation hook tells the other threads' hooks, in a mutant's run
 * (the header words H_MUTATE_*, memory/constants.ts). Each hook widens its own thread's windows;
 * these words let a hook aim that widening at what another thread is doing right now:
 *
 *   hold       threads holding new invalidations back (a failure path left a word wrong: the
 *              faults that follow should see it before the next invalidation hides it)
 *   populates  populate calls begun (what a hold waits for)
 *   skipping   code + 1 of a lock that some thread is inside a section of, having skipped it
 *              (a thread that took that lock properly waits for such a section to run inside its own)
 *   between    code + 1 of a plain word that some thread holding the mutated lock is between the
 *              load and the store of (the other half of a lost update)
 *   aim        index + 1 of a subscription whose interval the invalidators' next changes should
 *              fall in (a thread waits for another's update of a word of that subscription)
 *
 * Each word is read and written with Atomics, untraced: they are the harness's, not the
 * protocol's. `skipping`, `between` and `aim` name one instance at a time (the last to set it); a thread
 * clears only what it set.
 */
import { L } from '../memory/layout.js';

const HOLD = (L.BASE + L.H_MUTATE_HOLD) >> 2;
const POPULATES = (L.BASE + L.H_MUTATE_POPULATES) >> 2;
const SKIPPING = (L.BASE + L.H_MUTATE_SKIPPING) >> 2;
const BETWEEN = (L.BASE + L.H_MUTATE_BETWEEN) >> 2;
const AIM = (L.BASE + L.H_MUTATE_AIM) >> 2;

export class MutationShared {
  constructor(private readonly i32: Int32Array) {}

  /** Hold new invalidations back (`on`), or stop holding them; several threads may hold at once. */
  holdInvalidations(on: boolean): void {
    Atomics.add(this.i32, HOLD, on ? 1 : -1);
  }
  /** Is any thread holding new invalidations back now? */
  invalidationsHeld(): boolean {
    return Atomics.load(this.i32, HOLD) > 0;
  }

  /** A populate call begins. */
  countPopulate(): void {
    Atomics.add(this.i32, POPULATES, 1);
  }
  /** Populate calls begun so far. */
  populatesBegun(): number {
    return Atomics.load(this.i32, POPULATES);
  }

  /** This thread enters (`on`) or leaves a section of the lock `code`, having skipped the lock. */
  skipping(code: number, on: boolean): void {
    if (on) Atomics.store(this.i32, SKIPPING, code + 1);
    else Atomics.compareExchange(this.i32, SKIPPING, code + 1, 0);
  }
  /** Is some thread inside a section of the lock `code` that it skipped? */
  isSkipping(code: number): boolean {
    return Atomics.load(this.i32, SKIPPING) === code + 1;
  }

  /** This thread is (`on`) or no longer is between the load and the store of the plain word `code`. */
  between(code: number, on: boolean): void {
    if (on) Atomics.store(this.i32, BETWEEN, code + 1);
    else Atomics.compareExchange(this.i32, BETWEEN, code + 1, 0);
  }
  /** Is some thread between the load and the store of the plain word `code`? */
  isBetween(code: number): boolean {
    return Atomics.load(this.i32, BETWEEN) === code + 1;
  }

  /** Aim the invalidators' next changes at subscription `index`'s interval (`on`), or stop. */
  aim(index: number, on: boolean): void {
    if (on) Atomics.store(this.i32, AIM, index + 1);
    else Atomics.compareExchange(this.i32, AIM, index + 1, 0);
  }
  /** The subscription index the invalidators' changes should aim at now, or -1. */
  aimed(): number {
    return Atomics.load(this.i32, AIM) - 1;
  }
}
