/**
 * notifier-release-unhashed-fix — 3ad3d901bbcf "mm: mmu_notifier: fix freed page still mapped in
 * secondary MMU" (Linux 3.6), as restored by d34883d4e35c (Linux 3.10). __mmu_notifier_release
 * first calls every notifier's ->release inside an SRCU read section, then unhashes them and waits
 * for a grace period: while a notifier's pages may still be freed, it is still on the list, and an
 * invalidation reaches it. (The re-fix also says a ->release may now be called twice when
 * unregister races with exit, "really rare"; that is not modelled.)
 */
import type { MirrorProtocol } from '../api.js';
import bug from './notifier-release-unhashed.js';

const protocol: MirrorProtocol = {
  ...bug,
  name: 'notifier-release-unhashed-fix',
  description: 'FIX (3ad3d901bbcf, d34883d4e35c): exit calls each ->release before it unhashes the notifier',
  expect: 'sound',
  mmOptions: { notifierRelease: 'release-then-unhash' },
  history: { ...bug.history!, side: 'fix', twin: 'notifier-release-unhashed' },
};
export default protocol;
