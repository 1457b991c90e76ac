// pfncache.ts — a pfn cached outside the device page table (KVM's APIC-access page in the VMCS,
// the gfn=>pfn caches): resolve a page's pfn, publish it, and the oracle's check at each use.
// The record is a declared 'pfncache' field's line (src/model/pfn-cache.ts); its fields are
// the C_ constants. The entry is one i64 (pfn + 1 | gen << 32), so a use reads pfn and gen together.
import * as L from './layout.gen';
import { INVAL_BASE, frameAddr, threadAddr, hdr } from './base';
import { pte_get, violDetail } from './mm';

@inline function ptePfn(pte: i32): u32 {
  return <u32>pte >>> <u32>L.PTE_PFN_SHIFT;
}

/**
 * gfn_to_page / hva_to_pfn for `page` (read, or write if `write`): snapshot the frame the PTE maps
 * and its gen into the record's pending fields. Returns the pfn, NEED_FAULT (JS faults the page
 * in and calls again), -EBUSY (under migration) or -EFAULT (not readable / writable).
 * Caller holds mmap_lock for read.
 */
export function pfncache_resolve(cache: u32, page: u32, write: i32): i32 {
  for (;;) {
    const pte = pte_get(page);
    const type = pte & L.PTE_TYPE_MASK;
    if (type == L.PTE_MIGRATION) return L.EBUSY;
    if (type != L.PTE_PRESENT || (write && !(pte & L.PTE_WRITE))) return L.NEED_FAULT;
    const pfn = ptePfn(pte);
    const gen = atomic.load<i32>(frameAddr(pfn) + L.F_GEN);
    if (pte_get(page) != pte) continue; // changed while we read the gen
    store<i32>(cache + L.C_PEND_PFN, <i32>pfn);
    store<i32>(cache + L.C_PEND_GEN, gen);
    store<i32>(cache + L.C_PEND_PAGE, page);
    return <i32>pfn;
  }
  return L.EBUSY; // unreachable
}

/** Publish the last resolved pfn as the cache's entry (by `tid`). */
export function pfncache_set(cache: u32, tid: u32): void {
  store<i32>(cache + L.C_SETTER, <i32>tid + 1);
  atomic.store<i32>(cache + L.C_PAGE, load<i32>(cache + L.C_PEND_PAGE));
  atomic.store<i32>(cache + L.C_REPORTED, 0);
  const pfn = load<i32>(cache + L.C_PEND_PFN);
  atomic.store<i64>(cache + L.C_ENTRY, (<i64>load<i32>(cache + L.C_PEND_GEN) << 32) | <i64>(<u32>(pfn + 1)));
}

/** Drop the cache's entry. */
export function pfncache_clear(cache: u32): void {
  atomic.store<i64>(cache + L.C_ENTRY, 0);
}

/** The cached pfn, or -1 (empty). */
export function pfncache_pfn(cache: u32): i32 {
  return <i32>atomic.load<i64>(cache + L.C_ENTRY) - 1;
}

/**
 * Is the cached (pfn, gen) for `page` stale now? The frame must still carry the gen it had when
 * resolved and belong to the page (use-after-free), and once no invalidation of the page is
 * between callbacks-done and end, the PTE must still map it: a cache that outlived the
 * invalidation that changed the PTE holds a frame the mm is about to free or has freed.
 * Between callbacks-done and end the PTE may already have moved on (a TLB-like user drops the
 * cache in ->invalidate_range, after the PTE change): only a freed frame counts there.
 */
function cacheStale(page: u32, pfn: u32, gen: i32): bool {
  const f = frameAddr(pfn);
  if (atomic.load<i32>(f + L.F_GEN) != gen || atomic.load<i32>(f + L.F_OWNER) != <i32>page + 1) return true;
  // the PTE first, then the mark: an invalidation raises the page's mark before it changes the PTE
  // and lowers it at its end, so a changed PTE read here with a clear mark read after it means the
  // change's invalidation has ended. Read the other way round, a use that read the mark just
  // before an invalidation's callbacks were done and the PTE just after its change saw "clear"
  // and "changed" inside the window (a false use-after-free of a sound protocol).
  const pte = pte_get(page);
  if (atomic.load<i32>(INVAL_BASE + page * 4) != 0) return false;
  return (pte & L.PTE_TYPE_MASK) != L.PTE_PRESENT || ptePfn(pte) != pfn;
}

/** Count a stale use of the cache `code` once per entry (C_REPORTED), with the details for the witness. */
function cacheViolation(cache: u32, code: i32, tid: u32, page: u32, pfn: u32, gen: i32): i32 {
  const dev = L.VR_DEVICE_PFNCACHE - code;
  if (atomic.cmpxchg<i32>(cache + L.C_REPORTED, 0, 1) != 0) {
    atomic.add<i32>(hdr(L.H_DETECTIONS) + (L.V_USE_AFTER_FREE << 2), 1); // a lost race already counted: a detection only
    return L.PFNC_DONE;
  }
  const ret = violDetail(tid, L.V_USE_AFTER_FREE, page, <i32>pfn, gen, atomic.load<i32>(frameAddr(pfn) + L.F_GEN), dev);
  store<i32>(threadAddr(tid) + L.T_VIOL + L.VR_PROGRAMMER, load<i32>(cache + L.C_SETTER));
  return ret;
}

/**
 * One use through the cache `cache` (declared field code `code`) by thread `tid`: marked in
 * flight (C_USE_SEQ odd) so the cache's fence can wait for it; if `checkAddr` is set and that
 * word no longer holds `expect`, the use is aborted before it touches anything (a vCPU that sees
 * a pending request after entering guest mode). Returns PFNC_EMPTY, PFNC_DONE, PFNC_ABORTED, or
 * -(use-after-free + 1) when the oracle finds the cached frame stale at the start of the access
 * or freed by its end (details in T_VIOL).
 */
export function pfncache_use(cache: u32, code: i32, checkAddr: u32, expect: i32, tid: u32, oracle: i32): i32 {
  const seq = cache + L.C_USE_SEQ;
  atomic.add<i32>(seq, 1); // odd: in flight
  let res = L.PFNC_EMPTY;
  if (checkAddr != 0 && atomic.load<i32>(checkAddr) != expect) res = L.PFNC_ABORTED;
  else {
    const e = atomic.load<i64>(cache + L.C_ENTRY);
    const lo = <i32>e;
    if (lo != 0) {
      const pfn = <u32>(lo - 1);
      const gen = <i32>(e >>> 32);
      const page = <u32>atomic.load<i32>(cache + L.C_PAGE);
      const f = frameAddr(pfn);
      res = L.PFNC_DONE;
      if (oracle && cacheStale(page, pfn, gen)) res = cacheViolation(cache, code, tid, page, pfn, gen);
      for (let i = 0; i < 16; i++) atomic.load<i32>(f + L.F_DATA); // the access
      if (oracle && res == L.PFNC_DONE && atomic.load<i32>(f + L.F_GEN) != gen) res = cacheViolation(cache, code, tid, page, pfn, gen);
    }
  }
  atomic.add<i32>(seq, 1); // even: done
  if (atomic.load<i32>(cache + L.C_FENCE_WAITERS) != 0) atomic.notify(seq, 64);
  return res;
}
