/**
 * interval-remove-race-fix — 319561669a59 "mm/mmu_notifier.c: fix race in
 * mmu_interval_notifier_remove()" (Linux 5.18). The wait's condition takes subscriptions->lock
 * to read invalidate_seq (mmu_interval_seq_released), so it cannot see the new seq until
 * mn_itree_inv_end has left the lock, and with it finished the deferred removal.
 */
import type { MirrorProtocol } from '../api.js';
import type { Ctx } from '../../model/ctx.js';
import bug, { removeBegin } from './interval-remove-race.js';

/** mmu_interval_seq_released */
export function mmu_interval_seq_released(ctx: Ctx, seq: number): boolean {
  const subscriptions = ctx.mm;
  subscriptions.lock.lock();
  const ret = subscriptions.invalidate_seq.read() !== seq;
  subscriptions.lock.unlock();
  return ret;
}

const protocol: MirrorProtocol = {
  ...bug,
  name: 'interval-remove-race-fix',
  description: 'FIX (319561669a59): mmu_interval_notifier_remove reads invalidate_seq under subscriptions->lock',
  expect: 'sound',
  intervalRemove(ctx, sub) {
    const seq = removeBegin(ctx, sub);
    if (seq) ctx.mm.wq.waitEvent(() => mmu_interval_seq_released(ctx, seq));
  },
  history: { ...bug.history!, side: 'fix', twin: 'interval-remove-race' },
};
export default protocol;
