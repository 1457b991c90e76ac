/**
 * hook.ts — the mutation hook a role thread installs on its ctx (model/hooks.ts): in a discovery
 * run it records every site the protocol's callbacks reach; in a mutant's run it mutates the
 * one site's operation each time it is reached (docs/mutation.md).
 *
 *   skip-lock, no-mmap-lock  the lock does nothing (a trylock succeeds), and so does the next
 *                            release of the same lock in the same mode by this thread
 *   stale-read               the read returns the word's value when the callback began
 *   drop-write, no-wait, drop-zap, drop-fence   the operation is skipped
 *   no-retry-check           hmmRangeFault runs without the lockless check
 *   drop-release             the release does nothing: the lock stays held (a leak)
 *
 * Widening in a mutant's run (docs/mutation.md, "Sites and operators") stretches the window the
 * mutation opens: at the site; inside the sections of a skipped lock, where a thread that took the
 * lock waits for one that skipped it to run its section inside its own; a DMA held in flight
 * across its entry's zap (drop-fence); and, for a site the discovery run reached only after a
 * failed trylock, inside every section of that lock, so that the trylock fails more often, and a
 * fault that begins between two invalidations, where what the failure path left behind shows:
 * after a stale read or dropped write there, new invalidations are held back until faults have
 * begun; after a skipped lock there, the undo waits for another thread's update of the same word,
 * with the invalidators aimed at its interval. The threads' hooks coordinate through
 * MutationShared (shared.ts).
 *
 * A mutant's run also counts the times the mutation changed what the protocol saw (a stale
 * read that differed from the word, a wait that would have blocked, a dropped check that would
 * have failed), and for each such populate call whether it only retried: the equivalence rules
 * of run.ts read these counts (docs/mutation.md, "Equivalent mutants").
 */
import { PERFORM, SKIP, STALE, type HookTarget, type OpHook, type OpSpec } from '../model/hooks.js';
import type { State, Word } from '../model/state.js';
import { MutationShared } from './shared.js';
import { joinMethods, operatorFor, siteKey, type MutationStats, type MutationTask, type Site, type SiteRecord } from './sites.js';

/** The declared state a stale read may need to snapshot (implemented by Ctx). */
export interface MutationScope {
  readonly mm: State;
  readonly subs: readonly { state: State; start: number; end: number }[];
  readonly ranges: readonly { state: State }[];
  /** A seeded busy-wait (only when the run widens windows): see Ctx.widen. */
  widen(p: number, maxUs: number): void;
  /** Directed widening: wait until `cond()`, at most `maxMs` (only when the run widens windows): see Ctx.widenUntil. */
  widenUntil(cond: () => boolean, maxMs: number): void;
  /** Invalidations begun so far (Ctx.invalidationsBegun). */
  invalidationsBegun(): number;
  /** Invalidations ended so far (Ctx.invalidationsEnded). */
  invalidationsEnded(): number;
  /** The shared memory (MutationShared's words). */
  readonly env: { readonly i32: Int32Array };
  readonly rng: { chance(p: number): boolean };
}

interface Frame {
  callback: string;
  /** Traced operations so far in this run of the callback. */
  pos: number;
  /**
   * Calls so far per instance (a lock, a word, a subscription's zap, a device's fence) and class
   * ("cls|"): a loop over subscriptions repeats the 1st call of each, as a source line would.
   * A mutant's run counts only its site's field and class.
   */
  counts: Map<HookTarget, Map<string, number>> | null;
  /** stale-read: each instance's value when the callback began. */
  snapshot: Map<HookTarget, number> | null;
  /** skip-lock: this thread is inside a section of the mutated lock (taken or skipped). */
  guarded: number;
  /** skip-lock: the lock (instance) this call skipped last, until its release. */
  skipped: HookTarget | null;
  /** skip-lock: the instance of the mutated lock this call is inside a section of (taken or skipped). */
  guardLock: HookTarget | null;
  /** A site on a failed trylock's path: this thread is inside a section of that lock. */
  tried: number;
  /** A trylock failed in this call: the lock's field (the discovery run records it with the sites after). */
  failedTry: string | null;
  /** The mutant's operation was reached in this call. */
  fired: boolean;
  /** The mutation changed what this call saw ... */
  effective: boolean;
  /** ... and the call then wrote protocol state, zapped or programmed the device. */
  escaped: boolean;
}

/** Widening at the mutant's site: as after a walk (Ctx.hmmRangeFault), the widest the harness uses. */
const WIDEN_P = 0.5;
const WIDEN_US = 50;
/** skip-lock: before each operation inside a section of the mutated lock, on every thread. */
const WIDEN_SECTION_P = 0.5;
const WIDEN_SECTION_US = 50;
/** skip-lock: between a plain word's load and its store inside such a section (every time: the lost update's window). */
const WIDEN_PLAIN_P = 1;
/**
 * skip-lock, directed: with this chance, between a plain word's load and its store in the section
 * whose lock this thread skipped, wait (at most this long) until another thread holds that very
 * lock (a competitor inside its section, which the skipped lock would have kept out), then widen
 * as above, so that the competitor's update lands between the load and the store.
 */
const COMPETITOR_WAIT_P = 0.5;
const COMPETITOR_WAIT_MS = 0.3;
/**
 * The same wait on a failed trylock's path (an undo, reached a few dozen times a run): longer, and
 * for a writer: another thread between its own load and store of that word under the lock
 * (MutationShared.between), so that both load before either stores; the invalidators' changes
 * meanwhile aim at the word's subscription (MutationShared.aim), the writers it waits for.
 */
const WRITER_WAIT_MS = 2;
/**
 * skip-lock, the other side: with this chance, a thread inside a section of the mutated lock that
 * it took properly waits, before programming the device, for a thread inside a section of the same
 * lock that skipped it (at most SKIPPER_WAIT_MS), then for that section to end (at most
 * SKIPPER_END_MS): the section the lock kept out (an invalidation's zap) runs inside this one,
 * between its check and its device update.
 */
const SKIPPER_WAIT_P = 0.5;
const SKIPPER_WAIT_MS = 2;
const SKIPPER_END_MS = 1;
/**
 * Directed widening, with this chance and at most this long: wait for an invalidation to begin.
 * skip-lock: before the device is programmed in a section whose lock this thread skipped (the
 * invalidation the lock would have kept out between the fault's check and its device update);
 * stale-read in populate: right after the callback's snapshot (the change the stale value hides).
 */
const PROGRAM_WAIT_P = 0.5;
const PROGRAM_WAIT_MS = 2;
/**
 * drop-fence: directed widening on the DMA engine, with this chance per access: hold the access in
 * flight (a slow transfer) until an invalidation zaps its entry (at most DMA_ZAP_WAIT_MS), then
 * until its frame is freed (at most DMA_FREE_WAIT_MS). A fence waits for such an access, so with
 * the fence in place the free never comes first (the hold times out); without it, the transfer
 * outlives its frame. That is the window of a fence after the second interval's zap: a DMA into
 * that interval begun after the first fence.
 */
const DMA_HOLD_P = 0.5;
const DMA_ZAP_WAIT_MS = 0.3;
const DMA_FREE_WAIT_MS = 2;
/**
 * A site on a failed trylock's path (an -EAGAIN undo): what such a mutation leaves behind (a
 * sequence left odd, a count not undone) lasts until the next invalidation repairs or hides it,
 * so with this chance a fault waits, at most this long, for a moment with no invalidation in
 * progress before it begins.
 */
const BETWEEN_INVALIDATIONS_P = 0.5;
const BETWEEN_INVALIDATIONS_MS = 0.5;
/**
 * A word a failed trylock's path left wrong (a stale-read or drop-write mutant there: a sequence
 * left odd with no invalidation in progress) shows only to a fault that begins before the next
 * invalidation, and the CPU threads' own faults begin invalidations all the time. So after such a
 * call the thread holds new invalidations back, on every thread, until those in progress have
 * ended and then this many populate calls have begun (each wait at most this long): the faults
 * that follow see what the failure path left.
 */
const HOLD_POPULATES = 8;
const HOLD_MS = 2;
/** Operations after which a populate call whose view the mutation changed did more than retry. */
const ESCAPES = new Set(['write', 'zap', 'program']);

export class MutationHook implements OpHook {
  private readonly frames: Frame[] = [];
  private readonly shared: MutationShared;
  private readonly site: Site | null;
  private readonly operator: string | null;
  private readonly sites = new Map<string, SiteRecord>();
  /** Locks whose acquisition was skipped, per lock mode, awaiting their release. */
  private readonly skippedHolds = new Map<HookTarget, number[]>();
  private pendingReleases = 0;
  private fired = 0;
  private effective = 0;
  private retryOnly = 0;
  private escaped = 0;

  constructor(
    private readonly scope: MutationScope,
    task: MutationTask,
  ) {
    this.shared = new MutationShared(scope.env.i32);
    this.site = 'site' in task ? task.site : null;
    this.operator = 'site' in task ? task.operator : null;
    if (this.operator !== 'drop-fence') this.inFlight = undefined;
    this.holds = this.site?.afterFailedTry !== undefined && (this.operator === 'stale-read' || this.operator === 'drop-write');
    if (!this.holds) {
      this.beforeInvalidation = undefined;
      this.startFailed = undefined;
    }
    if (this.operator !== 'skip-lock' || this.site?.afterFailedTry === undefined) this.aim = undefined;
  }

  /** The interval another thread's undo waits for an update in (a skip-lock mutant on a failed trylock's path). */
  aim?: () => { start: number; end: number } | null = () => {
    const index = this.shared.aimed();
    return index < 0 ? null : this.scope.subs[index];
  };

  /** This mutant's failure path may leave a word wrong: hold invalidations back after it (HOLD_POPULATES). */
  private readonly holds: boolean;
  /** The mutation fired in the failed start now ending: hold once it is counted as ended (startFailed). */
  private holdPending = false;

  /** A failed start is over (counted as ended): if the mutation fired in it, hold invalidations back. */
  startFailed?: () => void = () => {
    if (!this.holdPending) return;
    this.holdPending = false;
    this.holdInvalidations();
  };

  /** An invalidation about to begin, in a mutant's run that holds them: wait while a thread holds them back. */
  beforeInvalidation?: () => void = () => {
    const shared = this.shared;
    if (shared.invalidationsHeld()) this.scope.widenUntil(() => !shared.invalidationsHeld(), HOLD_MS);
  };

  /** A DMA access in flight, in a drop-fence mutant's run: hold it (sometimes) across its entry's zap (DMA_HOLD_P). */
  inFlight?: (zapped: () => boolean, freed: () => boolean) => void = (zapped, freed) => {
    if (!this.scope.rng.chance(DMA_HOLD_P)) return;
    this.scope.widenUntil(zapped, DMA_ZAP_WAIT_MS);
    if (zapped()) this.scope.widenUntil(freed, DMA_FREE_WAIT_MS);
  };

  enter(callback: string): void {
    const site = this.site;
    const frame: Frame = {
      callback,
      pos: 0,
      counts: null,
      snapshot: null,
      guarded: 0,
      skipped: null,
      guardLock: null,
      tried: 0,
      failedTry: null,
      fired: false,
      effective: false,
      escaped: false,
    };
    this.frames.push(frame);
    // a hold belongs to the start whose failure path fired the mutation: a new start drops a stale one
    if (callback === 'invalidateStart') this.holdPending = false;
    if (this.holds && callback === 'populate') this.shared.countPopulate();
    if (site?.afterFailedTry !== undefined && callback === 'populate' && this.scope.rng.chance(BETWEEN_INVALIDATIONS_P)) {
      const scope = this.scope;
      scope.widenUntil(() => scope.invalidationsBegun() === scope.invalidationsEnded(), BETWEEN_INVALIDATIONS_MS);
    }
    if (site && this.operator === 'stale-read' && callback === site.callback) {
      frame.snapshot = this.snapshot(site.field);
      // the window a stale read opens begins here; in a fault, wait (sometimes) for an invalidation
      // to begin after the snapshot: the change the stale value hides
      if (callback === 'populate' && this.scope.rng.chance(PROGRAM_WAIT_P)) {
        const begun = this.scope.invalidationsBegun();
        this.scope.widenUntil(() => this.scope.invalidationsBegun() !== begun, PROGRAM_WAIT_MS);
      } else this.scope.widen(WIDEN_P, WIDEN_US);
    }
  }

  exit(result?: unknown): void {
    const frame = this.frames.pop();
    // a mutation on a failed trylock's path: this thread (the one whose start failed) pauses before
    // it goes on (a reaper's next chunk), so that a fault can begin before the next invalidation;
    // one that may have left a word wrong holds every thread's invalidations back meanwhile, once
    // its start is over (startFailed)
    if (frame?.fired && this.holds) this.holdPending = frame.callback === 'invalidateStart';
    else if (frame?.fired && this.site?.afterFailedTry !== undefined) this.scope.widen(1, BETWEEN_INVALIDATIONS_MS * 1000);
    if (frame === undefined || !frame.effective) return;
    // a call that threw (the run's stop, say) counts only if it had already written, zapped or programmed
    if (result === undefined && !frame.escaped) return;
    // gave up: 'retry' or an errno
    const gaveUp = result === 'retry' || typeof result === 'number';
    if (frame.callback === 'populate' && gaveUp && !frame.escaped) this.retryOnly++;
    else this.escaped++;
  }

  before(target: HookTarget, op: OpSpec): number {
    const frame = this.frames[this.frames.length - 1];
    const site = this.site;
    if (site !== null && frame !== undefined) this.watch(frame, site, target, op);
    if (op.cls === 'unlock' && this.pendingReleases > 0 && this.release(target, op.mode) === SKIP) {
      if (frame !== undefined && frame.skipped === target) frame.skipped = null;
      return SKIP;
    }
    if (frame === undefined || op.cls === 'wake' || op.cls === 'program') return PERFORM;
    const pos = frame.pos++;
    if (site === null) {
      this.record(frame, target, op, pos);
      return PERFORM;
    }
    if (frame.callback !== site.callback || op.cls !== site.cls || target.field !== site.field) return PERFORM;
    if (this.count(frame, target, op) !== site.n) return PERFORM;
    this.fired++;
    frame.fired = true;
    // the window the mutation opens (an unguarded section, a missing wait or zap) begins here; a
    // dropped fence is the exception: a delay there lets the DMA in flight finish before the free
    if (this.operator !== 'drop-fence') this.scope.widen(WIDEN_P, WIDEN_US);
    // a skipped wait changed something when it would have blocked (a completion not done; a wait
    // queue's condition is the caller's, so any skipped wait counts)
    if (this.operator === 'no-wait') {
      const completion = target as HookTarget & { done?: () => boolean };
      if (typeof completion.done !== 'function' || !completion.done()) this.changed(frame);
    }
    switch (this.operator) {
      case 'skip-lock':
      case 'no-mmap-lock': {
        let held = this.skippedHolds.get(target);
        if (!held) this.skippedHolds.set(target, (held = [0, 0, 0]));
        held[op.mode]++;
        this.pendingReleases++;
        frame.skipped = target;
        if (this.operator === 'skip-lock') this.shared.skipping(codeOf(target), true);
        return SKIP;
      }
      case 'stale-read':
        return STALE;
      default:
        return SKIP;
    }
  }

  stale(target: HookTarget): number {
    const now = (target as Word).peek();
    for (let i = this.frames.length - 1; i >= 0; i--) {
      const v = this.frames[i].snapshot?.get(target);
      if (v === undefined) continue;
      if (v !== now) this.changed(this.frames[this.frames.length - 1]);
      return v;
    }
    return now;
  }

  /**
   * Between a plain word's load and its store (state.ts PlainWord): inside a section of a
   * skip-lock mutant's lock (taken or skipped, on any thread), widened, so that an update the
   * skipped lock no longer excludes comes between them and one of the two is lost. A thread that
   * took the lock says so meanwhile (MutationShared.between): the writer an undo that skipped it
   * waits for (WRITER_WAIT_MS).
   */
  between(target: HookTarget): void {
    const frame = this.frames[this.frames.length - 1];
    if (frame === undefined || frame.guarded === 0) return;
    const skipped = frame.skipped;
    const word = codeOf(target);
    if (skipped === null) {
      // the lock taken: a writer the skipping thread may wait for (WRITER_WAIT_MS)
      this.shared.between(word, true);
      this.scope.widen(WIDEN_PLAIN_P, WIDEN_SECTION_US);
      this.shared.between(word, false);
      return;
    }
    if (this.site?.afterFailedTry !== undefined) {
      // an undo: aim the invalidators at this word's subscription, wait for another thread's
      // update of the word to begin, then for its store
      const shared = this.shared;
      const index = this.scope.subs.findIndex((sub) => Object.values(sub.state).includes(target));
      if (index >= 0) shared.aim(index, true);
      try {
        this.scope.widenUntil(() => shared.isBetween(word), WRITER_WAIT_MS);
        this.scope.widenUntil(() => !shared.isBetween(word), COMPETITOR_WAIT_MS);
      } finally {
        if (index >= 0) shared.aim(index, false);
      }
    } else if (this.scope.rng.chance(COMPETITOR_WAIT_P)) this.scope.widenUntil(() => heldByAnyone(skipped), COMPETITOR_WAIT_MS);
    this.scope.widen(WIDEN_PLAIN_P, WIDEN_SECTION_US);
  }

  /** A trylock failed: the rest of this call is its failure path (and the lock's section was not entered). */
  failed(target: HookTarget): void {
    const frame = this.frames[this.frames.length - 1];
    if (frame === undefined) return;
    frame.failedTry = target.field;
    if (frame.tried > 0 && target.field === this.site?.afterFailedTry) frame.tried--;
  }

  /** ctx.hmmRangeFault: the dropped lockless check would have failed. */
  effect(): void {
    const frame = this.frames[this.frames.length - 1];
    if (frame !== undefined) this.changed(frame);
  }

  result(): MutationStats {
    return {
      sites: [...this.sites.values()],
      fired: this.fired,
      effective: this.effective,
      retryOnly: this.retryOnly,
      escaped: this.escaped,
    };
  }

  /**
   * Hold new invalidations back until those in progress on other threads have ended (at most
   * HOLD_MS), then until HOLD_POPULATES populate calls have begun (at most HOLD_MS): faults that
   * begin with no invalidation in progress, where the wait check sees what was left wrong.
   */
  private holdInvalidations(): void {
    const shared = this.shared;
    const scope = this.scope;
    shared.holdInvalidations(true);
    try {
      scope.widenUntil(() => scope.invalidationsBegun() === scope.invalidationsEnded(), HOLD_MS);
      const until = shared.populatesBegun() + HOLD_POPULATES;
      scope.widenUntil(() => shared.populatesBegun() >= until, HOLD_MS);
    } finally {
      shared.holdInvalidations(false);
    }
  }

  /** The mutation changed what this call saw. */
  private changed(frame: Frame): void {
    this.effective++;
    frame.effective = true;
  }

  /**
   * A mutant's run, every operation: whether a call the mutation changed goes on to write, zap or
   * program; and, for a skip-lock mutant, widening inside every section of the mutated lock (on
   * every thread: the mutant's unguarded section and the sections it no longer excludes).
   */
  private watch(frame: Frame, site: Site, target: HookTarget, op: OpSpec): void {
    if (frame.effective && ESCAPES.has(op.cls)) frame.escaped = true;
    if (site.afterFailedTry !== undefined) {
      // a site on a failed trylock's path: hold that lock longer, on every thread, so that the trylock fails more often
      if (target.field === site.afterFailedTry && op.cls === 'lock') frame.tried++;
      else if (target.field === site.afterFailedTry && op.cls === 'unlock' && frame.tried > 0) frame.tried--;
      else if (frame.tried > 0) this.scope.widen(WIDEN_SECTION_P, WIDEN_SECTION_US);
    }
    if (this.operator !== 'skip-lock' || target.field !== site.field) {
      if (frame.guarded > 0 && op.cls === 'program' && this.pendingReleases > 0 && this.scope.rng.chance(PROGRAM_WAIT_P)) {
        const begun = this.scope.invalidationsBegun();
        this.scope.widenUntil(() => this.scope.invalidationsBegun() !== begun, PROGRAM_WAIT_MS);
      } else if (
        frame.guarded > 0 &&
        op.cls === 'program' &&
        frame.skipped === null &&
        frame.guardLock !== null &&
        this.scope.rng.chance(SKIPPER_WAIT_P)
      ) {
        const shared = this.shared;
        const lock = codeOf(frame.guardLock);
        this.scope.widenUntil(() => shared.isSkipping(lock), SKIPPER_WAIT_MS);
        this.scope.widenUntil(() => !shared.isSkipping(lock), SKIPPER_END_MS);
      } else if (frame.guarded > 0 && op.cls !== 'unlock') this.scope.widen(WIDEN_SECTION_P, WIDEN_SECTION_US);
      return;
    }
    if (op.cls === 'lock' && frame.guarded++ === 0) frame.guardLock = target;
    else if (op.cls === 'unlock' && frame.guarded > 0 && --frame.guarded === 0) frame.guardLock = null;
  }

  private release(target: HookTarget, mode: number): number {
    const held = this.skippedHolds.get(target);
    if (!held || held[mode] === 0) return PERFORM;
    held[mode]--;
    this.pendingReleases--;
    if (this.operator === 'skip-lock') this.shared.skipping(codeOf(target), false);
    return SKIP;
  }

  /** This call's number among the frame's calls of `op.cls` on `target`, from 1. */
  private count(frame: Frame, target: HookTarget, op: OpSpec): number {
    const counts = (frame.counts ??= new Map());
    let of = counts.get(target);
    if (!of) counts.set(target, (of = new Map()));
    const n = (of.get(op.cls) ?? 0) + 1;
    of.set(op.cls, n);
    return n;
  }

  private record(frame: Frame, target: HookTarget, op: OpSpec, pos: number): void {
    if (operatorFor(frame.callback, op.cls, target.field) === null) return;
    const n = this.count(frame, target, op);
    const site: Site = { callback: frame.callback, cls: op.cls, field: target.field, n };
    const key = siteKey(site);
    const had = this.sites.get(key);
    if (had) {
      had.hits++;
      if (had.method !== op.method) had.method = joinMethods(had.method, op.method);
      if (pos < had.pos) had.pos = pos;
      if (had.afterFailedTry !== undefined && had.afterFailedTry !== frame.failedTry) delete had.afterFailedTry;
    } else
      this.sites.set(key, {
        ...site,
        method: op.method,
        hits: 1,
        pos,
        ...(frame.failedTry !== null ? { afterFailedTry: frame.failedTry } : {}),
      });
  }

  /** Every instance of a declared word (scope.name), with its value now. */
  private snapshot(field: string): Map<HookTarget, number> {
    const out = new Map<HookTarget, number>();
    const dot = field.indexOf('.');
    const scope = field.slice(0, dot);
    const name = field.slice(dot + 1);
    const { mm, subs, ranges } = this.scope;
    const states = scope === 'mm' ? [mm] : scope === 'sub' ? subs.map((s) => s.state) : ranges.map((r) => r.state);
    for (const st of states) {
      const w = st[name] as Word | undefined;
      if (w && typeof w.peek === 'function') out.set(w, w.peek());
    }
    return out;
  }
}

/** A traced lock's or word's code (state.ts), the same on every thread; -1 for a ctx method's target. */
function codeOf(target: HookTarget): number {
  return (target as HookTarget & { code?: number }).code ?? -1;
}

/** Is this lock (a traced mutex or rwsem) held by anyone now? */
function heldByAnyone(lock: HookTarget): boolean {
  const l = lock as HookTarget & { isLocked?: () => boolean; writer?: () => number; readers?: () => number };
  if (typeof l.isLocked === 'function') return l.isLocked();
  if (typeof l.writer === 'function' && typeof l.readers === 'function') return l.writer() >= 0 || l.readers() > 0;
  return false;
}
