/**
 * hmm-mirror-eagain-lost-fix — 5a136b4ae327 "mm/hmm: Fix error flows in hmm_invalidate_range_start"
 * (Linux 5.3, *not confirmed*), the second of its two error flows. The loop's variable is renamed
 * (`int rc`), a mirror's -EAGAIN on a non-blockable range sets the function's ret and ends the
 * loop, and the unwind at `out:` undoes notifiers++ under the ranges lock (notifiers_decrement),
 * since the core calls no end after a failed start. A blockable range, or an error other than
 * -EAGAIN, is a WARN_ON and the loop goes on. The OOM reaper then leaves that chunk alone.
 */
import type { MirrorProtocol } from '../api.js';
import type { Ctx } from '../../model/ctx.js';
import type { Invalidation } from '../../model/range.js';
import { notifiers_decrement } from '../kernel/hmm-v5.2.js';
import bug, { invalidateStartBegin, sync_cpu_device_pagetables } from './hmm-mirror-eagain-lost.js';

function invalidateStart(ctx: Ctx, inv: Invalidation): boolean {
  if (!invalidateStartBegin(ctx, inv)) return false;
  let ret = 0;
  for (const mirror of inv.subs) {
    const rc = sync_cpu_device_pagetables(ctx, inv, mirror);
    if (rc) {
      if (inv.blockable || rc !== ctx.errno.EAGAIN) continue; // WARN_ON
      ret = ctx.errno.EAGAIN;
      break;
    }
  }
  if (ret) notifiers_decrement(ctx); // out: the error unwind
  return ret === 0;
}

const protocol: MirrorProtocol = {
  ...bug,
  name: 'hmm-mirror-eagain-lost-fix',
  description: "FIX (5a136b4ae327): a mirror's -EAGAIN is returned (no shadowed ret), and notifiers++ is undone",
  expect: 'sound',
  invalidateStart,
  history: { ...bug.history!, side: 'fix', twin: 'hmm-mirror-eagain-lost' },
};
export default protocol;
