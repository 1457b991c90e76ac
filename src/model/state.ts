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
import { OPS, PERFORM, STALE, type HookTarget, type OpHook, type OpSpec } from './hooks.js';
import { PfnCache } from './pfn-cache.js';

/**
 * What a declared state field is. Each field gets its own 64-byte line.
 *   word    a shared int whose set / add / or / cmpxchg are each one atomic step (atomic_t, WRITE_ONCE)
 *   plain   a plain int that the kernel changes only under a lock (`x++` under a spinlock): a read
 *           is one load, but add / or / set-after-read are a load, then a store, with a window
 *           between them, so that two updates not excluded by their lock can lose one (PlainWord)
 */
export type FieldType = 'word' | 'plain' | 'mutex' | 'rwsem' | 'seqcount' | 'waitqueue' | 'completion' | 'pfncache';
export type StateSchema = Record<string, FieldType>;
export const FIELD_TYPES: FieldType[] = ['word', 'plain', 'mutex', 'rwsem', 'seqcount', 'waitqueue', 'completion', 'pfncache'];

/** A protocol's three state declarations: per mm (one of each), per subscription, per hmm_range. */
export interface StateSchemas {
  /** Per-mm state: one of each field. */
  mmState?: StateSchema;
  /** Per-subscription state: one set per subscription. */
  subState?: StateSchema;
  /** Per-hmm_range state: one set per range (one range per driver thread). */
  rangeState?: StateSchema;
}

export const schemaLines = (s: StateSchema | undefined): number => (s ? Object.keys(s).length : 0);

/** The thread-level services state objects need (implemented by Ctx). */
export interface Tracer {
  readonly env: SyncEnv;
  trace(type: number, a?: number, b?: number, c?: number, d?: number, e?: number, f?: number): void;
  /** A racy point just before a lock is taken (see Ctx.widenLock). */
  widenLock(): void;
  /** The hook on this thread's traced operations (hooks.ts); null when free-running. */
  readonly hook: OpHook | null;
  /** The oracle's look at a wait about to block on `ready` (see Ctx.beforeWait). */
  beforeWait?(ready: () => boolean): void;
}

/** One shared Int32 word (its own line). Every read/change but peek() is a witness event. */
export class Word implements HookTarget {
  protected readonly idx: number;
  constructor(
    protected readonly t: Tracer,
    readonly addr: number,
    readonly code: number,
    /** Scope and declared name: "mm.invalidate_seq", "sub.user_lock", "range.valid". */
    readonly field = '',
  ) {
    this.idx = addr >> 2;
  }
  /** READ_ONCE, recorded. */
  read(): number {
    const hook = this.t.hook;
    if (hook !== null && hook.before(this, OPS.read) === STALE) return hook.stale(this);
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
    if (this.t.hook !== null && this.t.hook.before(this, OPS.set) !== PERFORM) return this.peek();
    const old = Atomics.exchange(this.t.env.i32, this.idx, v);
    this.t.trace(EV.WORD_SET, this.code, old, v);
    return old;
  }
  /** Atomic add; returns the new value. */
  add(d: number): number {
    if (this.t.hook !== null && this.t.hook.before(this, OPS.add) !== PERFORM) return this.peek() + d;
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
    if (this.t.hook !== null && this.t.hook.before(this, OPS.or) !== PERFORM) return this.peek() | bits;
    const old = Atomics.or(this.t.env.i32, this.idx, bits);
    this.t.trace(EV.WORD_SET, this.code, old, old | bits);
    return old | bits;
  }
  /** Compare-and-exchange; returns the old value. (A dropped cmpxchg reports success.) */
  cmpxchg(expected: number, replacement: number): number {
    if (this.t.hook !== null && this.t.hook.before(this, OPS.cmpxchg) !== PERFORM) return expected;
    const old = Atomics.compareExchange(this.t.env.i32, this.idx, expected, replacement);
    if (old === expected) this.t.trace(EV.WORD_SET, this.code, old, replacement);
    return old;
  }
}

/**
 * A plain (lock-protected, non-atomic) int: `x++`, `x |= b`, `x = y` as C compiles them under a
 * spinlock. Every change is a load, then a store of the value computed from it: between the two,
 * a mutation hook's `between` (the window a skipped lock opens, widened in a mutant's run);
 * free-running, only the few instructions between them. Under its lock nothing can come
 * between; without it, a concurrent change is overwritten (a lost update, as in C). A read
 * is one load (READ_ONCE of an aligned int is never torn); controlled mode sees one scheduling
 * point per operation, as for a Word (its trace event, after the store).
 */
export class PlainWord extends Word {
  /** The store half of a read-modify-write: `next(old)` is stored over whatever is there now. */
  private update(old: number, next: number): number {
    const hook = this.t.hook;
    if (hook !== null) hook.between?.(this);
    Atomics.store(this.t.env.i32, this.idx, next);
    this.t.trace(EV.WORD_SET, this.code, old, next);
    return old;
  }
  override set(v: number): number {
    if (this.t.hook !== null && this.t.hook.before(this, OPS.set) !== PERFORM) return this.peek();
    return this.update(this.peek(), v);
  }
  override add(d: number): number {
    if (this.t.hook !== null && this.t.hook.before(this, OPS.add) !== PERFORM) return this.peek() + d;
    const old = this.peek();
    return this.update(old, (old + d) | 0) + d;
  }
  override or(bits: number): number {
    if (this.t.hook !== null && this.t.hook.before(this, OPS.or) !== PERFORM) return this.peek() | bits;
    const old = this.peek();
    return this.update(old, old | bits) | bits;
  }
  override cmpxchg(expected: number, replacement: number): number {
    if (this.t.hook !== null && this.t.hook.before(this, OPS.cmpxchg) !== PERFORM) return expected;
    const old = this.peek();
    if (old !== expected) return old;
    return this.update(old, replacement);
  }
}

/**
 * Traced locks, wait queues and completions: one mechanism. Each is its sync class (sync/) with
 * the methods listed in its table wrapped by tracedMethod(): the hook first (skipped: a lock or
 * trylock "succeeds", a wait returns at once, a release or wake does nothing), then the
 * operation and its witness event — after an acquisition or wait (with its result), before a
 * release or wake (so the event precedes what the release lets happen).
 */
interface TracedMethod {
  /** The sync class's method. */
  name: string;
  op: OpSpec;
  /** EV.LOCK / UNLOCK / WAIT / WAKE. */
  ev: number;
  /** Recorded before the operation (releases, wake-ups). */
  first?: boolean;
  /** The driver's race-window widening before the acquisition (Ctx.widenLock). */
  widen?: boolean;
}

/** What every traced sync object carries. */
export interface TracedSync extends HookTarget {
  readonly tracer: Tracer;
  readonly code: number;
}

type SyncMethod = (this: TracedSync, a?: unknown, b?: unknown) => unknown;

function tracedMethod(base: SyncMethod, m: TracedMethod): SyncMethod {
  const { op, ev } = m;
  const mode = op.mode;
  const skipped = op.cls === 'lock' || op.cls === 'wait' ? true : undefined;
  if (m.first)
    return function (this: TracedSync, a?: unknown, b?: unknown): unknown {
      const t = this.tracer;
      if (t.hook !== null && t.hook.before(this, op) !== PERFORM) return skipped;
      t.trace(ev, this.code, mode);
      return base.call(this, a, b);
    };
  const widen = m.widen === true;
  const waits = op.cls === 'wait';
  const tries = op.tries === true;
  return function (this: TracedSync, a?: unknown, b?: unknown): unknown {
    const t = this.tracer;
    if (t.hook !== null && t.hook.before(this, op) !== PERFORM) return skipped;
    if (widen) t.widenLock();
    // a wait queue's condition is its first argument; a completion waits for done()
    if (waits && t.beforeWait !== undefined)
      t.beforeWait(typeof a === 'function' ? (a as () => boolean) : () => (this as unknown as { done(): boolean }).done());
    const r = base.call(this, a, b);
    if (waits) t.trace(ev, this.code, r ? 1 : 0);
    else if (tries) {
      t.trace(ev, this.code, mode, r ? 0 : 1);
      if (!r && t.hook !== null) t.hook.failed?.(this);
    } else t.trace(ev, this.code, mode);
    return r;
  };
}

type SyncClass<T> = new (env: SyncEnv, addr: number, name: string) => T;
type TracedClass<T> = new (t: Tracer, addr: number, code: number, name: string, field?: string) => T & TracedSync;

/** `Base` with the methods in `methods` traced and hooked. */
function traced<T extends object>(Base: SyncClass<T>, methods: TracedMethod[]): TracedClass<T> {
  const Base0 = Base as unknown as new (env: SyncEnv, addr: number, name: string) => object;
  class Traced extends Base0 {
    constructor(
      readonly tracer: Tracer,
      addr: number,
      readonly code: number,
      name: string,
      readonly field = name,
    ) {
      super(tracer.env, addr, name);
    }
  }
  const proto = Traced.prototype as unknown as Record<string, SyncMethod>;
  const baseProto = Base.prototype as unknown as Record<string, SyncMethod>;
  for (const m of methods) proto[m.name] = tracedMethod(baseProto[m.name], m);
  return Traced as unknown as TracedClass<T>;
}

export const TracedMutex = traced(Mutex, [
  { name: 'lock', op: OPS.lock, ev: EV.LOCK, widen: true },
  { name: 'tryLock', op: OPS.tryLock, ev: EV.LOCK },
  { name: 'unlock', op: OPS.unlock, ev: EV.UNLOCK, first: true },
]);
export const TracedRwSem = traced(RwSem, [
  { name: 'downRead', op: OPS.downRead, ev: EV.LOCK },
  { name: 'downReadTrylock', op: OPS.downReadTrylock, ev: EV.LOCK },
  { name: 'upRead', op: OPS.upRead, ev: EV.UNLOCK, first: true },
  { name: 'downWrite', op: OPS.downWrite, ev: EV.LOCK },
  { name: 'downWriteTrylock', op: OPS.downWriteTrylock, ev: EV.LOCK },
  { name: 'upWrite', op: OPS.upWrite, ev: EV.UNLOCK, first: true },
]);
export const TracedWaitQueue = traced(WaitQueue, [
  { name: 'waitEvent', op: OPS.wait, ev: EV.WAIT },
  { name: 'wakeUpAll', op: OPS.wake, ev: EV.WAKE, first: true },
]);
export const TracedCompletion = traced(Completion, [
  { name: 'wait', op: OPS.wait, ev: EV.WAIT },
  { name: 'completeAll', op: OPS.wake, ev: EV.WAKE, first: true },
]);
export type TracedMutex = InstanceType<typeof TracedMutex>;
export type TracedRwSem = InstanceType<typeof TracedRwSem>;
export type TracedWaitQueue = InstanceType<typeof TracedWaitQueue>;
export type TracedCompletion = InstanceType<typeof TracedCompletion>;

export type StateField = Word | TracedMutex | TracedRwSem | SeqCount | TracedWaitQueue | TracedCompletion | PfnCache;
// Protocols index their state by the names they declared, so a field's type is known only at run time.
// biome-ignore lint/suspicious/noExplicitAny: each field's type is known only at run time (see above)
export type State = Record<string, any>;

/** `scopeName`: mm, sub or range (a field's site name is scopeName.name). */
export function buildState(
  t: Tracer,
  schema: StateSchema | undefined,
  scope: number,
  owner: number,
  lineAddr: (i: number) => number,
  prefix: string,
  scopeName = '',
): State {
  const st: State = {};
  if (!schema) return st;
  Object.entries(schema).forEach(([name, type]: [string, FieldType], i) => {
    const a = lineAddr(i);
    const code = fieldCode(scope, owner, i);
    const label = prefix + name;
    const field = scopeName ? `${scopeName}.${name}` : name;
    switch (type) {
      case 'word':
        st[name] = new Word(t, a, code, field);
        break;
      case 'plain':
        st[name] = new PlainWord(t, a, code, field);
        break;
      case 'mutex':
        st[name] = new TracedMutex(t, a, code, label, field);
        break;
      case 'rwsem':
        st[name] = new TracedRwSem(t, a, code, label, field);
        break;
      case 'seqcount':
        st[name] = new SeqCount(t.env, a, label);
        break;
      case 'waitqueue':
        st[name] = new TracedWaitQueue(t, a, code, label, field);
        break;
      case 'completion':
        st[name] = new TracedCompletion(t, a, code, label, field);
        break;
      case 'pfncache':
        st[name] = new PfnCache(t, a, code, field); // model/pfn-cache.ts: needs the thread's Ctx as its tracer
        break;
    }
  });
  return st;
}
