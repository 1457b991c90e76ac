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
   * Optional ->invalidate_range: called after the CPU page table change of a started
   * invalidation and before invalidateEnd (the kernel calls it from the TLB flush, with the page
   * already unmapped). A user that cannot guarantee no new references are taken after its
   * start (a TLB-like pfn cache: KVM's APIC-access page) drops them here; it may not sleep long.
   */
  invalidateRange?(ctx: Ctx, inv: Inv): void;
  /**
   * The driver's device-fault path for `range` inside `sub`. It may wait (a wait queue, a
   * completion) only for an invalidation in progress: a wait that only a later invalidation
   * could end is a contract breach (Ctx.beforeWait).
   */
  populate(ctx: Ctx, sub: Sub, range: Range): PopulateResult;
  /** Optional: the driver re-registers a subscription (ODP umem add/remove, interval insert/remove). */
  subscriptionRemove?(ctx: Ctx, sub: Sub): void;
  subscriptionAdd?(ctx: Ctx, sub: Sub): void;
  /**
   * Optional: the driver removes `sub` for good (mmu_interval_notifier_remove, hmm_mirror_unregister;
   * the 'interval' event, model/mm/lifetime.ts). Called after every device fault through it has
   * returned, and no new one starts. It must tear down its device entries of `sub` and unlink it
   * (ctx.intervalUnlink). When it returns, the model FREES `sub`: by then no callback may be
   * using it, or be about to (a callback that found it before the unlink may still be running:
   * wait for it, for example with ctx.srcuSynchronize()). A later use of `sub` — one of its
   * declared words or locks, a device operation through it, a callback invoked on it — is a
   * notifier-use-after-free.
   */
  intervalRemove?(ctx: Ctx, sub: Sub): void;
  /**
   * Optional: `sub` was freed and a device fault on its range creates it again (an implicit
   * child, a range registered on demand). It runs from the fault path's work queue, WITHOUT a
   * reference on the mm: the model has allocated `sub` (its declared state zeroed); initialise it
   * and link it (ctx.intervalLink), or return false to give up (it is freed again). Linking while
   * the mm is exiting (mm_users 0) is a contract breach, the kernel's BUG_ON: take
   * ctx.mmgetNotZero() first and ctx.mmput() after. Without this callback the model links it.
   */
  intervalInsert?(ctx: Ctx, sub: Sub): boolean;
  /**
   * Optional: ->release, called once per linked subscription when the process exits (the 'exit'
   * event: __mmu_notifier_release, model/mm/exit.ts), inside an SRCU read section, before every
   * frame of the mm is freed. It must leave no device entry of `sub` valid and let no device
   * fault map one again (device faults stop once the mm is exiting). Without it, the core
   * invalidates the whole mm once (mn_itree_release, event 'release') through invalidateStart/End.
   */
  release?(ctx: Ctx, sub: Sub): void;
}

/**
 * The mm core as a given kernel had it. `oomReaper`: 'nonblocking-notifier' (the default, since
 * 93065ac753e4: a non-blockable invalidate_range_start that may fail), 'skip-if-notifiers'
 * (4d4bbd8526a8: the reaper leaves an mm with notifiers alone), 'unmap-without-notifier' (before
 * it: the PTEs are zapped and the frames freed with no start/end).
 */
export interface MmOptions {
  oomReaper?: 'nonblocking-notifier' | 'skip-if-notifiers' | 'unmap-without-notifier';
  /**
   * How __mmu_notifier_release at exit orders ->release and unhashing each subscription:
   * 'release-then-unhash' (the default: 3ad3d901bbcf, and again d34883d4e35c) or
   * 'unhash-then-release' (before 3ad3d901bbcf, and after 751efd8610d3: an invalidation in
   * between finds no notifier and the page is freed while the device still maps it).
   */
  notifierRelease?: 'release-then-unhash' | 'unhash-then-release';
}
