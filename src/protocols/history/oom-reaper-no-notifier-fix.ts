/**
 * oom-reaper-no-notifier-fix — 4d4bbd8526a8 "mm, oom_reaper: skip mm structs with mmu notifiers"
 * (Linux 4.14). With mmap_sem held for read, the reaper checks mm_has_notifiers() and, if the mm
 * has any, drops the lock and leaves the mm alone: a victim with a secondary MMU is not reaped
 * (until 93065ac753e4 "mm, oom: distinguish blockable mode for mmu notifiers" let it reap through
 * a non-blockable start/end).
 */
import type { MirrorProtocol } from '../api.js';
import bug from './oom-reaper-no-notifier.js';

const protocol: MirrorProtocol = {
  ...bug,
  name: 'oom-reaper-no-notifier-fix',
  description: 'FIX (4d4bbd8526a8): the OOM reaper skips an mm that has mmu notifiers',
  expect: 'sound',
  mmOptions: { oomReaper: 'skip-if-notifiers' },
  history: { ...bug.history!, side: 'fix', twin: 'oom-reaper-no-notifier' },
};
export default protocol;
