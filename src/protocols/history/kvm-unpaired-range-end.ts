/**
 * kvm-unpaired-range-end — the bug fixed by c2655835fd8c "mm/mmu_notifiers: ensure range_end()
 * is paired with range_start()" (Linux 5.12; the chain behaved so since 93065ac753e4, 4.19).
 *
 * The mm has two subscribers (model/mm/subscribers.ts): KVM (kernel/kvm.ts: its start raises
 * mmu_invalidate_in_progress and its end lowers it), and a second notifier whose start fails
 * with -EAGAIN on every other non-blockable range; the commit verified its fix with just such a
 * notifier added to KVM. The OOM reaper's non-blockable invalidation calls both starts, the
 * second fails, the chain returns -EAGAIN, and the core calls no end: KVM's count stays raised,
 * and every later KVM fault retries forever (a stall; in the kernel, a soft lockup in the guest).
 *
 * Its event mix leaves out mprotect: a KVM fault on a PROT_NONE or read-only page ends with
 * -EFAULT/-EPERM instead of retrying, and such failed faults count as the driver's progress,
 * which would hide the stall.
 *
 * mm state: mmu_lock, mmu_invalidate_seq, mmu_invalidate_in_progress   (KVM, as kernel/kvm.ts)
 *           other_calls   the second notifier's count of non-blockable starts
 */
import type { MirrorProtocol } from '../api.js';
import type { Ctx } from '../../model/ctx.js';
import type { Invalidation } from '../../model/range.js';
import { notifierChain, type NotifierSubscriber } from '../../model/mm/subscribers.js';
import kvm, { invalidateStart as kvmStart, invalidateEnd as kvmEnd } from '../kernel/kvm.js';

/**
 * KVM as a subscriber. Its mmu_lock is a spinlock: its start never fails, blockable or not (the
 * model's kernel/kvm.ts trylocks on a non-blockable range instead, which a chain with end-pairing
 * may not do).
 */
export const KVM_SUBSCRIBER: NotifierSubscriber = {
  name: 'kvm',
  invalidateRangeStart: (ctx, inv) => kvmStart(ctx, { ...inv, blockable: true }),
  invalidateRangeEnd: kvmEnd,
};

/** A notifier that cannot sleep half the time: -EAGAIN on every other non-blockable range; no end. */
export const FLAKY_SUBSCRIBER: NotifierSubscriber = {
  name: 'second notifier',
  startMayFail: true,
  invalidateRangeStart(ctx: Ctx, inv: Invalidation): boolean {
    if (inv.blockable) return true;
    return (ctx.mm.other_calls.inc() & 1) === 0;
  },
};

const chain = notifierChain([KVM_SUBSCRIBER, FLAKY_SUBSCRIBER], 'none-on-failure');

const protocol: MirrorProtocol = {
  ...kvm,
  name: 'kvm-unpaired-range-end',
  description:
    'BUG (c2655835fd8c): a second notifier fails its non-blockable start; KVM never gets its end and its in-progress count leaks',
  expect: { violates: ['stall'] },
  mmState: { ...kvm.mmState, other_calls: 'word' },
  events: ['munmap', 'dontneed', 'migrate', 'reclaim', 'cow', 'oom'],
  invalidateStart: chain.invalidateStart,
  invalidateEnd: chain.invalidateEnd,
  history: {
    commit: 'c2655835fd8c',
    subject: 'mm/mmu_notifiers: ensure range_end() is paired with range_start()',
    kernel: '5.12',
    side: 'bug',
    twin: 'kvm-unpaired-range-end-fix',
  },
};
export default protocol;
