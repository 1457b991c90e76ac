/**
 * range.ts — the records a protocol is handed: subscriptions (struct mmu_interval_notifier /
 * ib_umem_odp / hmm_mirror), hmm ranges (struct hmm_range), invalidations (struct
 * mmu_notifier_range), and the lockless retry check the walk polls.
 */
import { L } from '../memory/layout.js';
import { SCOPE } from '../oracle/events.js';
import { buildState, type State, type StateSchemas, type Tracer, type Word } from './state.js';
import type { InvEvent } from '../oracle/events.js';

/** A subscription: one device's interval notifier / umem / mirror over [start, end). */
export interface Sub {
  readonly id: number;
  readonly device: number;
  readonly start: number;
  readonly end: number;
  readonly state: State;
}

/** struct hmm_range: one per driver thread, in shared memory (other threads see it registered). */
export class HmmRange {
  readonly state: State;
  private readonly i32: Int32Array;
  constructor(
    t: Tracer,
    readonly tid: number,
    readonly addr: number,
    schemas: StateSchemas,
    stateLine: (i: number) => number,
  ) {
    this.i32 = t.env.i32;
    this.state = buildState(t, schemas.rangeState, SCOPE.range, tid, stateLine, `range(T${tid}).`, 'range');
  }
  private get(off: number) {
    return Atomics.load(this.i32, (this.addr + off) >> 2);
  }
  private put(off: number, v: number) {
    Atomics.store(this.i32, (this.addr + off) >> 2, v);
  }
  get start(): number {
    return this.get(L.R_START);
  }
  get end(): number {
    return this.get(L.R_END);
  }
  get write(): boolean {
    return (this.get(L.R_FLAGS) & L.RF_WRITE) !== 0;
  }
  get sub(): number {
    return this.get(L.R_SUB);
  }
  /** range->notifier_seq */
  get notifierSeq(): number {
    return this.get(L.R_NOTIFIER_SEQ);
  }
  set notifierSeq(v: number) {
    this.put(L.R_NOTIFIER_SEQ, v);
  }
  /** On the mm's list of ranges (HMM v5.2's hmm_range_register). */
  get registered(): boolean {
    return this.get(L.R_REGISTERED) !== 0;
  }
  set registered(v: boolean) {
    this.put(L.R_REGISTERED, v ? 1 : 0);
  }
  /** The pfn the last walk snapshotted for `page` (hmm_pfns), or -1 if its entry is not valid. */
  pfn(page: number): number {
    const lo = this.get(L.R_HDR + (page - this.start) * L.HMM_PFN_SIZE);
    return lo & L.HMM_PFN_VALID ? lo & L.HMM_PFN_MASK : -1;
  }
  overlaps(start: number, end: number): boolean {
    return this.start < end && start < this.end;
  }
  /** Driver: describe the next fault (single writer: the owning thread). */
  setup(start: number, end: number, write: boolean, fault: boolean, sub: number, device: number): void {
    this.put(L.R_START, start);
    this.put(L.R_END, end);
    this.put(L.R_FLAGS, (write ? L.RF_WRITE : 0) | (fault ? L.RF_FAULT : 0));
    this.put(L.R_SUB, sub);
    this.put(L.R_DEVICE, device);
  }
}

/** One invalidation as the notifiers see it (struct mmu_notifier_range). */
export interface Invalidation {
  readonly start: number;
  readonly end: number;
  readonly event: InvEvent;
  /** False for the OOM reaper: callbacks may not sleep; trylock, or fail with -EAGAIN. */
  readonly blockable: boolean;
  /** The subscriptions (of every device) that overlap [start, end). */
  readonly subs: Sub[];
}

/** The lockless retry check hmm_range_fault polls: bail with -EBUSY once `word` != `expect`. */
export interface RetryCheck {
  word: Word;
  expect: number;
}

/** What populate returns: done, try again (counted as a retry), or a negative errno. */
export type PopulateResult = 'ok' | 'retry' | number;
