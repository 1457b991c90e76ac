/**
 * hmm-notifier-free-fix — 6d7c3cde93c1 "mm/hmm: fix use after free with struct hmm in the mmu
 * notifiers" (Linux 5.3). hmm_free() frees the hmm through mmu_notifier_call_srcu(), so the memory
 * outlives every callback that could have found the notifier; the callbacks reach the hmm by
 * container_of() and take kref_get_unless_zero() on it, bailing out when it is being freed.
 * call_srcu defers the kfree past a grace period; here intervalRemove waits for the grace period
 * (ctx.srcuSynchronize) and the model frees when it returns: the same guarantee, without the deferral.
 */
import type { MirrorProtocol } from '../api.js';
import type { Sub } from '../../model/range.js';
import bug, { hmmInvalidateStart, hmmMirrorUnregister } from './hmm-notifier-free.js';

/** kref_get_unless_zero(&hmm->kref) */
function kref_get_unless_zero(hmm: Sub): boolean {
  for (;;) {
    const v = hmm.state.kref.read();
    if (v === 0) return false;
    if (hmm.state.kref.cmpxchg(v, v + 1) === v) return true;
  }
}

const protocol: MirrorProtocol = {
  ...bug,
  name: 'hmm-notifier-free-fix',
  description: 'FIX (6d7c3cde93c1): struct hmm is freed after an SRCU grace period; callbacks take kref_get_unless_zero',
  expect: 'sound',
  invalidateStart: (ctx, inv) => hmmInvalidateStart(ctx, inv, kref_get_unless_zero),
  intervalRemove(ctx, hmm) {
    hmmMirrorUnregister(ctx, hmm);
    ctx.srcuSynchronize(); // mmu_notifier_call_srcu(&hmm->rcu, hmm_free_rcu)
  },
  history: { ...bug.history!, side: 'fix', twin: 'hmm-notifier-free' },
};
export default protocol;
