/**
 * hooks.ts — the one place every traced operation can be intercepted: the operations a protocol
 * performs on its declared state (words and locks, state.ts) and on the model (ctx.ts), each
 * described once by an OpSpec, and the OpHook a thread may install (mutation testing,
 * docs/mutation.md; a scheduler may use the same hook).
 *
 * Free-running, ctx.hook is null and every operation pays one well-predicted null check.
 */

/**
 * What an operation is, for a hook: the class decides which mutation operator applies.
 *   lock / unlock   a lock taken (lock, trylock, down_read, down_write, mmap_read_lock) or released
 *   read / write    a word's read, or its set / add / or / cmpxchg
 *   wait / wake     a wait queue's or completion's wait, or its wake-up
 *   zap / fence / retry-check   ctx.zapDevice, ctx.deviceFence, hmmRangeFault's lockless check
 *   program         ctx.programDevice (seen by a hook, never mutated)
 */
export type OpClass = 'lock' | 'unlock' | 'read' | 'write' | 'wait' | 'wake' | 'zap' | 'fence' | 'retry-check' | 'program';

export interface OpSpec {
  /** The method called (for the report: down_read, or, cmpxchg ...). */
  readonly method: string;
  readonly cls: OpClass;
  /** Lock mode: 0 mutex, 1 read, 2 write (a skipped lock's matching unlock has the same mode). */
  readonly mode: number;
  /** A trylock (when skipped it reports success). */
  readonly tries?: boolean;
}

/** What is operated on: a declared field ("mm.lock", "sub.invalidate_seq") or a ctx method. */
export interface HookTarget {
  readonly field: string;
}

/** before() answers: do it, skip it, or (a read) return the value the hook keeps. */
export const PERFORM = 0;
export const SKIP = 1;
export const STALE = 2;

/** A hook on one thread's traced operations, and on the protocol callbacks that contain them. */
export interface OpHook {
  /** A protocol callback (populate, invalidateStart ...) begins / ends on this thread. */
  enter(callback: string): void;
  /** The callback returned `result` (undefined when it threw). */
  exit(result?: unknown): void;
  /** Before `op` on `target`: PERFORM, SKIP, or STALE (reads only; the value is stale(target)). */
  before(target: HookTarget, op: OpSpec): number;
  /** The value a STALE read returns. */
  stale(target: HookTarget): number;
  /** A skipped lockless retry check would have failed (ctx.hmmRangeFault, after the walk). */
  effect?(): void;
  /** Between a plain word's load and its store (state.ts PlainWord): where a missing lock loses an update. */
  between?(target: HookTarget): void;
  /**
   * A device access is in flight (roles/dma.ts, between its two halves, free-running): `zapped()`
   * says its device entry has been zapped since it was read, `freed()` that its frame has been
   * freed. Defined only where the hook may hold the access there (a dropped fence's window); the
   * DMA engine then splits each access in two to call it.
   */
  inFlight?(zapped: () => boolean, freed: () => boolean): void;
  /** A trylock on `target` just failed: the callback takes its failure path (an -EAGAIN). */
  failed?(target: HookTarget): void;
  /**
   * An invalidation is about to begin on this thread: a CPU-side change before it takes its locks
   * (model/mm/ops.ts), a COW break in a fault before its invalidate_range_start (model/mm/fault.ts;
   * the fault holds mmap_lock for read). The hook may hold it back a moment, never longer than its
   * own bound. Defined only where the hook may do so.
   */
  beforeInvalidation?(): void;
  /**
   * A non-blockable invalidation start on this thread failed (-EAGAIN) and is over: counted as
   * ended, its callbacks returned (model/mm/notifier.ts). Defined only where the hook acts on it.
   */
  startFailed?(): void;
  /**
   * Where this thread's next CPU-side change should fall (roles/invalidator.ts): an interval
   * [start, end) of pages, when the hook is waiting for a change there on another thread; null
   * for anywhere. Defined only where the hook may aim.
   */
  aim?(): { start: number; end: number } | null;
}

const spec = (method: string, cls: OpClass, mode = 0, tries = false): OpSpec => ({ method, cls, mode, tries });

/** Every traced operation, described once. */
export const OPS = {
  lock: spec('lock', 'lock'),
  tryLock: spec('trylock', 'lock', 0, true),
  unlock: spec('unlock', 'unlock'),
  downRead: spec('down_read', 'lock', 1),
  downReadTrylock: spec('down_read_trylock', 'lock', 1, true),
  upRead: spec('up_read', 'unlock', 1),
  downWrite: spec('down_write', 'lock', 2),
  downWriteTrylock: spec('down_write_trylock', 'lock', 2, true),
  upWrite: spec('up_write', 'unlock', 2),
  wait: spec('wait', 'wait'),
  wake: spec('wake_up_all', 'wake'),
  read: spec('read', 'read'),
  set: spec('set', 'write'),
  add: spec('add', 'write'),
  or: spec('or', 'write'),
  cmpxchg: spec('cmpxchg', 'write'),
  mmapReadLock: spec('mmap_read_lock', 'lock', 1),
  mmapReadUnlock: spec('mmap_read_unlock', 'unlock', 1),
  zap: spec('zapDevice', 'zap'),
  fence: spec('deviceFence', 'fence'),
  retryCheck: spec('retry-check', 'retry-check'),
  program: spec('programDevice', 'program'),
} as const;

/** The ctx methods a hook sees, as targets. */
export const CTX_TARGETS = {
  mmapLock: { field: 'mmap_lock' },
  zap: { field: 'zapDevice' },
  fence: { field: 'deviceFence' },
  retryCheck: { field: 'hmmRangeFault' },
  program: { field: 'programDevice' },
} as const satisfies Record<string, HookTarget>;

/**
 * Two hooks on one thread (a scheduler and a mutant, say): both see every callback and
 * operation, in order; the first answer other than PERFORM wins (and answers stale()).
 */
export function chainHooks(first: OpHook, second: OpHook): OpHook {
  let staleFrom: OpHook = first;
  return {
    enter(callback) {
      first.enter(callback);
      second.enter(callback);
    },
    exit(result) {
      second.exit(result);
      first.exit(result);
    },
    before(target, op) {
      const a = first.before(target, op);
      const b = second.before(target, op);
      staleFrom = a !== PERFORM ? first : second;
      return a !== PERFORM ? a : b;
    },
    stale(target) {
      return staleFrom.stale(target);
    },
    effect() {
      first.effect?.();
      second.effect?.();
    },
    between(target) {
      first.between?.(target);
      second.between?.(target);
    },
  };
}
