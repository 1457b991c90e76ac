/**
 * ctx.ts — everything a protocol may touch, for one thread.
 *
 * A protocol sees: its declared state (ctx.mm, sub.state, range.state: words and locks on the
 * shared memory, every operation recorded as a witness event), the subscriptions, the
 * registered hmm ranges, and the mm/device operations below. The oracle sits behind
 * programDevice, zapDevice/deviceFence, and the walk.
 */
import { L, STOP_WORD, type Layout, addr } from '../memory/layout.js';
import { EV, SCOPE } from '../oracle/events.js';
import { buildState, type State, type StateSchemas, type Tracer, type Word } from './state.js';
import { CTX_TARGETS, OPS, PERFORM, type HookTarget, type OpHook } from './hooks.js';
import { HmmRange, type Invalidation, type PopulateResult, type RetryCheck, type Sub } from './range.js';
import { RwSem } from '../sync/rwsem.js';
import { type SyncEnv, WAIT, block, now } from '../sync/env.js';
import type { HmmWasm } from '../memory/wasm.js';
import { Rng } from './random.js';
import { snapshotDone, walkWindow, zapWindow } from '../oracle/coverage.js';
import type { MirrorCallbacks, MmOptions } from '../protocols/callbacks.js';
import { type PageGrab, grabFlags, releasePages, waitPageRefs } from './mm/frame-refs.js';
import { intervalLink, intervalUnlink, mmgetNotZero, mmput, subClosing, subLinked, touchSub } from './mm/lifetime.js';
import { srcuSynchronize, srcuWaitedOn } from './mm/srcu.js';
import { callbackName } from '../protocols/call.js';
import { BREACH, reportBreach } from '../oracle/contract.js';

export type { MmOptions } from '../protocols/callbacks.js';

/**
 * The protocol as the model calls it: its name, state, callbacks (their contracts:
 * protocols/callbacks.ts) and mm options. protocols/api.ts's MirrorProtocol extends it.
 */
export interface CtxProtocol extends StateSchemas, MirrorCallbacks<Ctx, Sub, HmmRange, Invalidation, PopulateResult> {
  readonly name: string;
  /** How the mm core itself behaves for this protocol (which kernel's OOM reaper, ...). */
  mmOptions?: MmOptions;
}

export interface CtxOptions {
  oracle: boolean;
  events: boolean;
  widen: boolean;
  seed: number;
  /** DMA thread ids per device (the fence waits for them). */
  dmaTids: number[][];
  /** Called when a Wasm check reports a violation (return code < 0). */
  onViolation: (ret: number) => void;
  /** Called by hmmRangeFault to fault a page in (CPU fault path, COW break included). */
  fault?: (page: number, write: boolean) => number;
  /** The role of this thread (widening applies to the driver's fault path). */
  role?: string;
  /**
   * Controlled mode: the scheduler asked at every traced operation (schedule/controller.ts); widening
   * counted in steps; the driver tells it when each attempt of a fault begins and when one retried
   * (its livelock check).
   */
  sched?: {
    point(kind: number): void;
    widen(cond: () => boolean, maxMs: number): void;
    attempt(): void;
    retried(sub: number, start: number, end: number): void;
  };
}

export const ERRNO = { EFAULT: L.EFAULT, EPERM: L.EPERM, EBUSY: L.EBUSY, EAGAIN: L.EAGAIN, ENOMEM: L.ENOMEM } as const;

export class Ctx implements Tracer {
  readonly mm: State;
  readonly subs: Sub[];
  /** Every thread's hmm_range (protocols use those of driver threads that are registered). */
  readonly ranges: HmmRange[];
  readonly errno = ERRNO;
  readonly devices: number;
  readonly pages: number;
  readonly rng: Rng;
  readonly mmapLock: RwSem;
  readonly anonVmaLock: RwSem;
  private readonly ev: boolean;
  readonly sched: CtxOptions['sched'];
  /** The hook on this thread's traced operations (model/hooks.ts); null when free-running. */
  hook: OpHook | null = null;
  /** This thread's SRCU read-section nesting (model/mm/srcu.ts). */
  srcuDepth = 0;

  constructor(
    readonly env: SyncEnv,
    readonly wasm: HmmWasm,
    readonly layout: Layout,
    readonly proto: CtxProtocol,
    readonly opts: CtxOptions,
  ) {
    this.ev = opts.events;
    this.sched = opts.sched;
    const sched = opts.sched;
    if (sched !== undefined) {
      // controlled mode: every traced operation is also a scheduling point (a populate, done or
      // retried, yields). Free-running threads keep the plain trace() above untouched.
      const plain = this.trace;
      this.trace = (type, a, b, c, d, e, f) => {
        plain.call(this, type, a, b, c, d, e, f);
        sched.point(type === EV.POPULATE ? 1 : 0);
      };
    }
    this.devices = layout.config.devices;
    this.pages = layout.config.pages;
    this.rng = new Rng(opts.seed, 1000 + env.tid);
    this.mm = buildState(this, proto.mmState, SCOPE.mm, 0, (i) => addr.protoMm(layout, i), '', 'mm');
    const per = layout.config.subsPerDevice;
    const span = layout.config.pages / per;
    this.subs = [];
    for (let d = 0; d < layout.config.devices; d++)
      for (let k = 0; k < per; k++) {
        const id = d * per + k;
        this.subs.push({
          id,
          device: d,
          start: k * span,
          end: (k + 1) * span,
          state: buildState(this, proto.subState, SCOPE.sub, id, (i) => addr.protoSub(layout, id, i), `sub${id}.`, 'sub'),
        });
      }
    this.ranges = [];
    for (let t = 0; t < layout.config.threads; t++)
      this.ranges.push(new HmmRange(this, t, addr.range(layout, t), proto, (i) => addr.protoRange(layout, t, i)));
    this.mmapLock = new RwSem(env, addr.header(L.H_MMAP_LOCK), 'mmap_lock');
    this.anonVmaLock = new RwSem(env, addr.header(L.H_ANON_VMA_LOCK), 'anon_vma');
  }

  get tid(): number {
    return this.env.tid;
  }

  /** This thread's hmm_range. */
  get range(): HmmRange {
    return this.ranges[this.env.tid];
  }

  private readonly hookTargets = new Map<string, HookTarget>();
  /** The hook's target for a ctx method acting on one instance (a subscription, a device). */
  private hookTarget(of: HookTarget, instance: number): HookTarget {
    const key = `${of.field}#${instance}`;
    let target = this.hookTargets.get(key);
    if (!target) this.hookTargets.set(key, (target = { field: of.field }));
    return target;
  }

  /** Record a witness event (a no-op when event recording is off). */
  trace(type: number, a = 0, b = 0, c = 0, d = 0, e = 0, f = 0): void {
    // a declared word or lock of a subscription: the oracle checks it was not freed (model/mm/lifetime.ts)
    if (type >= EV.LOCK && type <= EV.WAKE && a >>> 28 === SCOPE.sub) touchSub(this, (a >>> 12) & 0xffff);
    if (this.ev) this.wasm.ev(this.env.tid, type, a, b, c, d, e, f);
  }

  /** A protocol's own witness line: notes[i] with up to two values. */
  note(i: number, a = 0, b = 0): void {
    this.trace(EV.NOTE, i, a, b);
  }

  /**
   * The oracle, before a wait in populate blocks (docs/ARCHITECTURE.md, Oracle checks): a fault
   * may wait only for an invalidation in progress. If none was in progress while `ready` was
   * evaluated (H_INV_ENDED = H_INV_BEGUN before, H_INV_BEGUN unchanged after) and it is false,
   * only a later invalidation could end the wait: a contract breach (say, a sequence left odd by
   * an invalidation that failed, which a steady stream of invalidations would otherwise hide).
   */
  beforeWait(ready: () => boolean): void {
    if (!this.opts.oracle) return;
    const i32 = this.env.i32;
    if (callbackName(Atomics.load(i32, (addr.thread(this.layout, this.tid) + L.T_CALLBACK) >> 2)) !== 'populate') return;
    const begun = (L.BASE + L.H_INV_BEGUN) >> 2;
    const ended = Atomics.load(i32, (L.BASE + L.H_INV_ENDED) >> 2);
    if (Atomics.load(i32, begun) !== ended || ready() || Atomics.load(i32, begun) !== ended) return;
    const range = this.range;
    reportBreach(this, BREACH.WAIT_WITHOUT_INVALIDATION, range.start, range.end);
  }

  /** Linked subscriptions overlapping [start, end), every device (what an invalidation finds). */
  subsIn(start: number, end: number): Sub[] {
    return this.subs.filter((s) => s.start < end && start < s.end && subLinked(this, s));
  }

  // ---- subscription lifetime, mm users, SRCU (model/mm/lifetime.ts, srcu.ts; docs/ARCHITECTURE.md, Adding a protocol) ----
  /** Link `sub` (interval_tree_insert / hlist_add): invalidations find it from now on. Needs mm_users > 0. */
  intervalLink(sub: Sub): void {
    intervalLink(this, sub);
  }
  /** Unlink `sub` (interval_tree_remove / hlist_del_init_rcu): new invalidations no longer find it. */
  intervalUnlink(sub: Sub): void {
    intervalUnlink(this, sub);
  }
  /** Linked now (live or being removed)? */
  subLinked(sub: Sub): boolean {
    return subLinked(this, sub);
  }
  /** synchronize_srcu: every notifier callback that began before this call has returned. */
  srcuSynchronize(): void {
    srcuSynchronize(this);
  }
  /** mmget_not_zero: false once the mm is exiting (exit_mmap). Pair with mmput(). */
  mmgetNotZero(): boolean {
    return mmgetNotZero(this);
  }
  mmput(): void {
    mmput(this);
  }

  // ---- mmap_lock ----
  mmapReadLock(): void {
    if (this.hook !== null && this.hook.before(CTX_TARGETS.mmapLock, OPS.mmapReadLock) !== PERFORM) return;
    this.mmapLock.downRead();
    this.trace(EV.MMAP_LOCK, 1, 0);
  }
  mmapReadTrylock(): boolean {
    const ok = this.mmapLock.downReadTrylock();
    if (ok) this.trace(EV.MMAP_LOCK, 1, 0);
    return ok;
  }
  mmapReadUnlock(): void {
    if (this.hook !== null && this.hook.before(CTX_TARGETS.mmapLock, OPS.mmapReadUnlock) !== PERFORM) return;
    this.trace(EV.MMAP_LOCK, 1, 1);
    this.mmapLock.upRead();
  }
  mmapWriteLock(): void {
    this.mmapLock.downWrite();
    this.trace(EV.MMAP_LOCK, 2, 0);
  }
  mmapWriteUnlock(): void {
    this.trace(EV.MMAP_LOCK, 2, 1);
    this.mmapLock.upWrite();
  }

  /** A seeded busy-wait of a few microseconds at a racy point (only with widenWindows). */
  /**
   * Widening before the device driver takes a protocol mutex: whatever it checked before the
   * lock (correctly or not) has a few microseconds to go stale. Sound protocols re-check under
   * the lock, so this changes what they retry, never what they map.
   */
  widenLock(): void {
    if (this.opts.role === 'driver') this.spin(0.25, 20);
  }

  /** Invalidations begun so far (H_INV_BEGUN): a directed widening waits for it to move. */
  invalidationsBegun(): number {
    return Atomics.load(this.env.i32, (L.BASE + L.H_INV_BEGUN) >> 2);
  }

  /** Invalidations ended so far (H_INV_ENDED; a failed non-blockable start counts as ended): equal to begun when none is in progress. */
  invalidationsEnded(): number {
    return Atomics.load(this.env.i32, (L.BASE + L.H_INV_ENDED) >> 2);
  }

  /**
   * Directed widening where a callback has found a subscription and is about to use it: while its
   * owner is removing it (model/mm/lifetime.ts CLOSING or REMOVED), spin (untraced) until it is
   * freed, at most `maxMs`. A protocol that waits before freeing (a grace period, a lock the
   * callback holds) is only delayed; one that does not frees it here, and the use that follows is
   * caught. The wait also ends when a synchronizer sleeps on this thread's SRCU read section (a
   * remover waiting for the grace period frees nothing before it), or when `stop()` says so (say,
   * the remover waits for a lock this thread holds).
   */
  widenRemoval(sub: Sub, maxMs = 2, stop?: () => boolean): void {
    if (subClosing(this, sub)) this.widenUntil(() => !subClosing(this, sub) || srcuWaitedOn(this) || stop?.() === true, maxMs);
  }

  /**
   * Directed widening: with widenWindows, spin (untraced) until `word` no longer holds `value`, at
   * most `maxMs`. For a check that races with another thread's next change of that word.
   */
  widenUntilChanged(word: Word, value: number, maxMs = 1): void {
    this.widenUntil(() => word.peek() !== value, maxMs);
  }

  /**
   * Directed widening: with widenWindows, wait until `cond()` (read untraced words only), at most
   * `maxMs`: a short spin, then sleeps of 50 µs, so that the thread it waits for gets a CPU even
   * on a loaded machine. Controlled mode counts it in steps: the thread defers to the others until
   * `cond()` or a number of steps per millisecond (schedule/controller.ts widen).
   */
  widenUntil(cond: () => boolean, maxMs = 1): void {
    if (this.sched) {
      this.sched.widen(cond, maxMs);
      return;
    }
    if (!this.opts.widen) return;
    const spinUntil = now() + 0.02;
    const until = now() + maxMs;
    while (!cond()) {
      const t = now();
      if (t >= until) return;
      if (t >= spinUntil) Atomics.wait(this.env.i32, STOP_WORD, 0, 0.05);
    }
  }

  /**
   * A race window in a protocol's code (the model's own windows use spin()): free-running mode
   * busy-waits a seeded few microseconds there (spin, with widenWindows); controlled mode makes it
   * a scheduling point, so that a schedule can preempt the thread inside the window even when no
   * traced operation lies in it (an unlock is traced before the release, a lock after the acquire).
   */
  widen(p = 0.25, maxUs = 20): void {
    if (this.sched) this.sched.point(0);
    else this.spin(p, maxUs);
  }

  /** A seeded busy-wait of up to `maxUs` µs (times 1..4), with probability `p` (only with widenWindows). */
  spin(p = 0.25, maxUs = 20): void {
    if (!this.opts.widen || !this.rng.chance(p)) return;
    const until = now() + this.rng.int(maxUs) * 0.001 * (1 + this.rng.int(4));
    while (now() < until);
  }

  /**
   * hmm_range_fault: snapshot `range` into its hmm_pfns, faulting pages in when it was set up
   * with fault. Caller holds mmap_lock for read (a protocol that does not may read freed page
   * tables, which the oracle reports). Returns 0, -EBUSY (the lockless `check` failed, or a page
   * is under migration), -EFAULT (hole, PROT_NONE), -EPERM (write to read-only). With `grab`, every
   * frame snapshotted is also referenced (and locked; one it cannot lock is left out, its entry not
   * valid: `range.pfn(page)` is -1), to be released with releasePages (model/mm/frame-refs.ts); a
   * walk that fails releases what it took itself.
   */
  hmmRangeFault(range: HmmRange, check?: RetryCheck, grab?: PageGrab): number {
    const dropped = check && this.hook !== null && this.hook.before(CTX_TARGETS.retryCheck, OPS.retryCheck) !== PERFORM ? check : undefined;
    if (dropped) check = undefined;
    const r = range.addr;
    const i32 = this.env.i32;
    // `grab`: take a reference (and the lock) on every frame snapshotted (model/mm/frame-refs.ts)
    const grabBits = grabFlags(grab);
    const flags = Atomics.load(i32, (r + L.R_FLAGS) >> 2) & ~(L.RF_GET | L.RF_LOCK);
    Atomics.store(i32, (r + L.R_FLAGS) >> 2, flags | grabBits);
    if (grabBits) this.wasm.range_reset(r, range.end - range.start); // valid entries = what this walk took
    Atomics.store(i32, (r + L.R_CHECK_ADDR) >> 2, check ? check.word.addr : 0);
    Atomics.store(i32, (r + L.R_CHECK_EXPECT) >> 2, check ? check.expect : 0);
    let from = range.start;
    let ret: number;
    let faults = 0;
    this.trace(EV.WALK_BEGIN, range.start, range.end);
    walkWindow(this, true);
    // with widenWindows, sometimes pause the walk half-way (the page-table walk is a race window)
    // (controlled mode: a scheduling point at every page)
    const sched = this.sched;
    let stop = sched
      ? from + 1
      : this.opts.widen && this.rng.chance(0.5)
        ? range.start + 1 + this.rng.int(Math.max(1, range.end - range.start - 1))
        : -1;
    let paused = 0;
    for (;;) {
      ret = this.wasm.hmm_range_fault(r, from, this.env.tid, stop, paused);
      paused = 0;
      if (ret === L.WALK_PAUSED) {
        from = stop;
        paused = 1;
        if (sched) {
          sched.point(0);
          stop = from + 1;
          continue;
        }
        stop = -1;
        this.spin(1, 50);
        continue;
      }
      if (ret !== L.NEED_FAULT) break;
      const page = Atomics.load(i32, (r + L.R_FAULT_PAGE) >> 2);
      const fr = this.opts.fault ? this.opts.fault(page, range.write) : L.EFAULT;
      if (fr === L.EAGAIN || fr === L.ENOMEM) {
        ret = L.EBUSY;
        break;
      }
      if (fr < 0) {
        ret = fr === L.EFAULT && range.write && this.wasm.vma_get(page) & L.VM_READ ? L.EPERM : fr;
        break;
      }
      from = page;
      if (sched) stop = from + 1;
      if (++faults > 4 * (range.end - range.start) + 8) {
        ret = L.EBUSY;
        break;
      }
    }
    if (ret === L.PT_UAF) {
      this.opts.onViolation(-(L.V_PAGE_TABLE_USE_AFTER_FREE + 1));
      ret = L.EBUSY;
    }
    if (grabBits && ret !== 0) {
      // a walk that fails gives back what it took (get_user_pages does), so callers release only after success
      this.wasm.range_release(r, range.end - range.start, grabBits & L.RF_LOCK ? 1 : 0, 1);
      this.wasm.range_reset(r, range.end - range.start);
    }
    walkWindow(this, false, ret === 0);
    // a mutant without the lockless check: tell the hook when the check would have failed
    if (dropped && ret === 0 && dropped.word.peek() !== dropped.expect) this.hook?.effect?.();
    if (this.ev) {
      const first = Atomics.load(i32, (r + L.R_HDR) >> 2);
      const valid = ret === 0 && (first & L.HMM_PFN_VALID) !== 0;
      this.trace(
        EV.WALK,
        range.start,
        range.end,
        ret,
        valid ? first & L.HMM_PFN_MASK : -1,
        valid ? Atomics.load(i32, (r + L.R_HDR + L.HMM_PFN_GEN) >> 2) : 0,
      );
    }
    // between the snapshot and the driver's check is where the seed's race lives
    if (ret === 0) {
      this.spin(0.5, 50);
      this.widenAba();
    }
    return ret;
  }

  /**
   * Unlock and put what the last walk of `range` took with `grab` (folio_unlock + folio_put;
   * model/mm/frame-refs.ts), on its first `pages` entries (default: the range's length).
   */
  releasePages(range: HmmRange, what: { unlock?: boolean; put?: boolean } = { unlock: true, put: true }, pages?: number): void {
    this.trace(EV.PAGES_RELEASE, pages ?? range.end - range.start, what.unlock ? 1 : 0, what.put ? 1 : 0);
    releasePages(this, range, what, pages);
  }

  /** Wait until the frames [start, end) maps have no references but their mapping's; false on timeout. */
  waitPageRefs(start: number, end: number): boolean {
    return waitPageRefs(this, start, end);
  }

  /**
   * Widening of the ABA window: an invalidation that began after this driver's walk began gets up
   * to 1 ms to end before the driver goes on to its check (a sound protocol retries; one that
   * checks a flag that is valid again maps a stale snapshot).
   */
  private widenAba(): void {
    if (!this.opts.widen) return;
    const i32 = this.env.i32;
    const since = i32[(this.layout.threadsBase + this.env.tid * L.THREAD_SIZE + L.T_INV_BEGUN) >> 2];
    if (Atomics.load(i32, (L.BASE + L.H_INV_BEGUN) >> 2) <= since) return;
    const until = now() + 1;
    while (Atomics.load(i32, (L.BASE + L.H_INV_ENDED) >> 2) <= since && now() < until);
  }

  /**
   * Program device `sub.device` from range.hmm_pfns (update the device page table). Caller holds
   * the lock its invalidate callback takes and has passed its retry check. The oracle checks
   * every page (frame still the one the walk saw; no invalidation between callbacks-done and end).
   */
  programDevice(sub: Sub, range: HmmRange): void {
    if (this.hook !== null) this.hook.before(CTX_TARGETS.program, OPS.program);
    touchSub(this, sub.id);
    this.spin();
    snapshotDone(this);
    const ret = this.wasm.dev_program(sub.device, range.addr, this.env.tid, this.opts.oracle ? 1 : 0);
    if (this.ev) {
      const i32 = this.env.i32;
      const first = Atomics.load(i32, (range.addr + L.R_HDR) >> 2);
      const valid = (first & L.HMM_PFN_VALID) !== 0;
      this.trace(
        EV.PROGRAM,
        range.start,
        range.end,
        sub.device,
        ret,
        valid ? first & L.HMM_PFN_MASK : -1,
        valid ? Atomics.load(i32, (range.addr + L.R_HDR + L.HMM_PFN_GEN) >> 2) : 0,
      );
    }
    if (ret < 0) this.opts.onViolation(ret);
  }

  /** Zap `sub.device`'s entries for the part of [start, end) inside `sub`. Caller holds its user lock. */
  zapDevice(sub: Sub, start: number, end: number): void {
    if (this.hook !== null && this.hook.before(this.hookTarget(CTX_TARGETS.zap, sub.id), OPS.zap) !== PERFORM) return;
    touchSub(this, sub.id);
    const s = Math.max(start, sub.start);
    const e = Math.min(end, sub.end);
    if (s >= e) return;
    zapWindow(this, this.opts.dmaTids[sub.device] ?? [], this.wasm.dmaseq_addr, s, e);
    this.wasm.dev_zap(sub.device, s, e);
    this.trace(EV.DEV_ZAP, s, e, sub.device);
  }

  /**
   * Device TLB flush: wait until every DMA of `device` that was in flight when called has
   * finished (each DMA thread's in-flight word is odd during an access). Bounded wait.
   */
  deviceFence(device: number): void {
    if (this.hook !== null && this.hook.before(this.hookTarget(CTX_TARGETS.fence, device), OPS.fence) !== PERFORM) return;
    const i32 = this.env.i32;
    let waited = 0;
    for (const t of this.opts.dmaTids[device] ?? []) {
      const record = addr.dmaseq(this.layout, t);
      const seqAddr = record + L.DS_SEQ;
      const idx = seqAddr >> 2;
      const waiters = (record + L.DS_FENCE_WAITERS) >> 2;
      const s = Atomics.load(i32, idx);
      if ((s & 1) === 0) continue;
      waited++;
      let spins = 0;
      while (Atomics.load(i32, idx) === s && ++spins < 2000);
      if (Atomics.load(i32, idx) !== s) continue;
      // an access takes well under a microsecond: the DMA thread was descheduled mid-access.
      // Sleep on its in-flight word; it wakes the fencers (DS_FENCE_WAITERS counts them) when it finishes.
      const deadline = now() + this.env.lockTimeoutMs;
      Atomics.add(i32, waiters, 1);
      try {
        while (Atomics.load(i32, idx) === s) if (block(this.env, seqAddr, s, WAIT.fence, deadline) === 'timeout') break;
      } finally {
        Atomics.sub(i32, waiters, 1);
      }
    }
    this.trace(EV.FENCE, device, waited);
  }
}
