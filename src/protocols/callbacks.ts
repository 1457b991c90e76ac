/**
 * callbacks.ts — the notifier callbacks every protocol implements, each with its contract, and
 * the mm core's kernel-version options. Generic in the model's types so that this file imports
 * nothing: model/ctx.ts (which calls the callbacks) and api.ts (the plugin API) both build on it.
 */
export interface MirrorCallbacks<Ctx, Sub, Range, Inv, PopulateResult> {
  /**
   * invalidate_range_start for `inv` (inv.subs: the subscriptions it overlaps). Must leave no
   * device entry of the range valid when it returns true. May return false only when
   * !inv.blockable (it could not take a lock): then invalidateEnd is NOT called for it, so it
   * must undo whatever it did (the kernel's -EAGAIN path).
   */
  invalidateStart(ctx: Ctx, inv: Inv): boolean;
  /** invalidate_range_end: the CPU page table change is done. */
  invalidateEnd(ctx: Ctx, inv: Inv): void;
  /**
   * The driver's device-fault path for `range` inside `sub`. It may wait (a wait queue, a
   * completion) only for an invalidation in progress: a wait that only a later invalidation
   * could end is a contract breach (Ctx.beforeWait).
   */
  populate(ctx: Ctx, sub: Sub, range: Range): PopulateResult;
  /** Optional: the driver re-registers a subscription (ODP umem add/remove, interval insert/remove). */
  subscriptionRemove?(ctx: Ctx, sub: Sub): void;
  subscriptionAdd?(ctx: Ctx, sub: Sub): void;
}

/**
 * The mm core as a given kernel had it. `oomReaper`: 'nonblocking-notifier' (the default, since
 * 93065ac753e4: a non-blockable invalidate_range_start that may fail), 'skip-if-notifiers'
 * (4d4bbd8526a8: the reaper leaves an mm with notifiers alone), 'unmap-without-notifier' (before
 * it: the PTEs are zapped and the frames freed with no start/end).
 */
export interface MmOptions {
  oomReaper?: 'nonblocking-notifier' | 'skip-if-notifiers' | 'unmap-without-notifier';
}
