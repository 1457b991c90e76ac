/**
 * xen-gntdev-unmap-wait-fix — dbe97cff7dd9 "xen/gntdev: Avoid blocking in unmap_grant_pages()"
 * (Linux 5.19). unmap_grant_pages() becomes asynchronous: it starts the unmap and returns; the
 * grants are unmapped once the pages are unused (gnttab_unmap_refs_async, a reference on the map
 * held until its completion). gntdev's notifier no longer waits for anyone's references, so the
 * device that holds them gets past mmu_interval_read_begin and drops them. Otherwise as
 * xen-gntdev-unmap-wait.
 */
import type { MirrorProtocol } from '../api.js';
import bug, { itreeStart, type GntdevInvalidate } from './xen-gntdev-unmap-wait.js';

/** After the fix: the unmap is queued; its completion runs when the references drop (not modelled: no device entries). */
const unmap_grant_pages_async: GntdevInvalidate = (_ctx, inv) => inv.blockable;

const protocol: MirrorProtocol = {
  ...bug,
  name: 'xen-gntdev-unmap-wait-fix',
  description: "FIX (dbe97cff7dd9): gntdev's notifier starts the grant unmap asynchronously and does not wait for the pages",
  expect: 'sound',
  invalidateStart: (ctx, inv) => itreeStart(ctx, inv, unmap_grant_pages_async),
  history: { ...bug.history!, side: 'fix', twin: 'xen-gntdev-unmap-wait' },
};
export default protocol;
