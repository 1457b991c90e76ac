/**
 * state.ts — a protocol's declared state: shared words and traced locks, one 64-byte line each.
 *
 * A protocol declares fields by name and type (mmState, subState, rangeState); buildState gives
 * it objects over the shared memory whose every operation, peek() aside, is a witness event.
 */
import { EV, fieldCode } from '../oracle/events.js';
import { Mutex } from '../sync/mutex.js';
import { RwSem } from '../sync/rwsem.js';
import { SeqCount } from '../sync/seqcount.js';
import { WaitQueue, Completion } from '../sync/waitqueue.js';
import type { SyncEnv } from '../sync/env.js';

/** What a declared state field is. Each field gets its own 64-byte line. */
export type FieldType = 'word' | 'mutex' | 'rwsem' | 'seqcount' | 'waitqueue' | 'completion';
export type StateSchema = Record<string, FieldType>;
export const FIELD_TYPES: FieldType[] = ['word', 'mutex', 'rwsem', 'seqcount', 'waitqueue', 'completion'];

/** A protocol's three state declarations: per mm (one of each), per subscription, per hmm_range. */
export interface StateSchemas {
  mmState?: StateSchema;
  subState?: StateSchema;
  rangeState?: StateSchema;
}

export const schemaLines = (s: StateSchema | undefined): number => (s ? Object.keys(s).length : 0);

/** The thread-level services state objects need (implemented by Ctx). */
export interface Tracer {
  readonly env: SyncEnv;
  trace(type: number, a?: number, b?: number, c?: number, d?: number, e?: number, f?: number): void;
  /** A racy point just before a lock is taken (see Ctx.widenLock). */
  widenLock(): void;
}

/** One shared Int32 word (its own line). Every read/change but peek() is a witness event. */
export class Word {
  private readonly idx: number;
  constructor(
    private readonly t: Tracer,
    readonly addr: number,
    readonly code: number,
  ) {
    this.idx = addr >> 2;
  }
  /** READ_ONCE, recorded. */
  read(): number {
    const v = Atomics.load(this.t.env.i32, this.idx);
    this.t.trace(EV.WORD_READ, this.code, v);
    return v;
  }
  /** READ_ONCE, not recorded (for wait conditions and hot loops). */
  peek(): number {
    return Atomics.load(this.t.env.i32, this.idx);
  }
  /** WRITE_ONCE. Returns the old value. */
  set(v: number): number {
    const old = Atomics.exchange(this.t.env.i32, this.idx, v);
    this.t.trace(EV.WORD_SET, this.code, old, v);
    return old;
  }
  /** Atomic add; returns the new value. */
  add(d: number): number {
    const old = Atomics.add(this.t.env.i32, this.idx, d);
    this.t.trace(EV.WORD_SET, this.code, old, old + d);
    return old + d;
  }
  inc(): number {
    return this.add(1);
  }
  dec(): number {
    return this.add(-1);
  }
  /** Atomic or; returns the new value. */
  or(bits: number): number {
    const old = Atomics.or(this.t.env.i32, this.idx, bits);
    this.t.trace(EV.WORD_SET, this.code, old, old | bits);
    return old | bits;
  }
  /** Compare-and-exchange; returns the old value. */
  cmpxchg(expected: number, replacement: number): number {
    const old = Atomics.compareExchange(this.t.env.i32, this.idx, expected, replacement);
    if (old === expected) this.t.trace(EV.WORD_SET, this.code, old, replacement);
    return old;
  }
}

export class TracedMutex extends Mutex {
  constructor(
    private readonly t: Tracer,
    addr: number,
    readonly code: number,
    name: string,
  ) {
    super(t.env, addr, name);
  }
  override tryLock(): boolean {
    const ok = super.tryLock();
    this.t.trace(EV.LOCK, this.code, 0, ok ? 0 : 1);
    return ok;
  }
  override lock(timeoutMs?: number): void {
    this.t.widenLock();
    super.lock(timeoutMs);
    this.t.trace(EV.LOCK, this.code, 0);
  }
  override unlock(): void {
    this.t.trace(EV.UNLOCK, this.code, 0);
    super.unlock();
  }
}

export class TracedRwSem extends RwSem {
  constructor(
    private readonly t: Tracer,
    addr: number,
    readonly code: number,
    name: string,
  ) {
    super(t.env, addr, name);
  }
  override downRead(timeoutMs?: number): void {
    super.downRead(timeoutMs);
    this.t.trace(EV.LOCK, this.code, 1);
  }
  override downReadTrylock(): boolean {
    const ok = super.downReadTrylock();
    this.t.trace(EV.LOCK, this.code, 1, ok ? 0 : 1);
    return ok;
  }
  override upRead(): void {
    this.t.trace(EV.UNLOCK, this.code, 1);
    super.upRead();
  }
  override downWrite(timeoutMs?: number): void {
    super.downWrite(timeoutMs);
    this.t.trace(EV.LOCK, this.code, 2);
  }
  override downWriteTrylock(): boolean {
    const ok = super.downWriteTrylock();
    this.t.trace(EV.LOCK, this.code, 2, ok ? 0 : 1);
    return ok;
  }
  override upWrite(): void {
    this.t.trace(EV.UNLOCK, this.code, 2);
    super.upWrite();
  }
}

export class TracedWaitQueue extends WaitQueue {
  constructor(
    private readonly t: Tracer,
    addr: number,
    readonly code: number,
    name: string,
  ) {
    super(t.env, addr, name);
  }
  override waitEvent(cond: () => boolean, timeoutMs?: number): boolean {
    const ok = super.waitEvent(cond, timeoutMs);
    this.t.trace(EV.WAIT, this.code, ok ? 1 : 0);
    return ok;
  }
  override wakeUpAll(): void {
    this.t.trace(EV.WAKE, this.code);
    super.wakeUpAll();
  }
}

export class TracedCompletion extends Completion {
  constructor(
    private readonly t: Tracer,
    addr: number,
    readonly code: number,
    name: string,
  ) {
    super(t.env, addr, name);
  }
  override wait(timeoutMs?: number): boolean {
    const ok = super.wait(timeoutMs);
    this.t.trace(EV.WAIT, this.code, ok ? 1 : 0);
    return ok;
  }
  override completeAll(): void {
    this.t.trace(EV.WAKE, this.code);
    super.completeAll();
  }
}

export type StateField = Word | TracedMutex | TracedRwSem | SeqCount | TracedWaitQueue | TracedCompletion;
// Protocols index their state by the names they declared, so a field's type is known only at run time.
// biome-ignore lint/suspicious/noExplicitAny: each field's type is known only at run time (see above)
export type State = Record<string, any>;

export function buildState(t: Tracer, schema: StateSchema | undefined, scope: number, owner: number, lineAddr: (i: number) => number, prefix: string): State {
  const st: State = {};
  if (!schema) return st;
  Object.entries(schema).forEach(([name, type]: [string, FieldType], i) => {
    const a = lineAddr(i);
    const code = fieldCode(scope, owner, i);
    const label = prefix + name;
    switch (type) {
      case 'word': st[name] = new Word(t, a, code); break;
      case 'mutex': st[name] = new TracedMutex(t, a, code, label); break;
      case 'rwsem': st[name] = new TracedRwSem(t, a, code, label); break;
      case 'seqcount': st[name] = new SeqCount(t.env, a, label); break;
      case 'waitqueue': st[name] = new TracedWaitQueue(t, a, code, label); break;
      case 'completion': st[name] = new TracedCompletion(t, a, code, label); break;
    }
  });
  return st;
}

