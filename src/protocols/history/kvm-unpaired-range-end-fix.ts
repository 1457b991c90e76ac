/**
 * kvm-unpaired-range-end-fix — c2655835fd8c "mm/mmu_notifiers: ensure range_end() is paired with
 * range_start()" (Linux 5.12). When a start fails on a non-blockable range, the chain now calls
 * the end of every subscriber that has one before returning -EAGAIN, so KVM's
 * mmu_invalidate_in_progress is lowered again; a notifier that can fail its start may not have an
 * end. Otherwise as kvm-unpaired-range-end.
 */
import type { MirrorProtocol } from '../api.js';
import { notifierChain } from '../../model/mm/subscribers.js';
import bug, { KVM_SUBSCRIBER, FLAKY_SUBSCRIBER } from './kvm-unpaired-range-end.js';

const chain = notifierChain([KVM_SUBSCRIBER, FLAKY_SUBSCRIBER], 'all-on-failure');

const protocol: MirrorProtocol = {
  ...bug,
  name: 'kvm-unpaired-range-end-fix',
  description: "FIX (c2655835fd8c): on a failed non-blockable start the chain calls every subscriber's end, so KVM's count stays paired",
  expect: 'sound',
  invalidateStart: chain.invalidateStart,
  invalidateEnd: chain.invalidateEnd,
  history: { ...bug.history!, side: 'fix', twin: 'kvm-unpaired-range-end' },
};
export default protocol;
