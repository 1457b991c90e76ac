// mm.ts — the per-page work: frame allocator, CPU page table, faults, the PTE side of each
// invalidation, the hmm_range_fault walk, and the device side (program, zap, DMA) with the
// oracle's checks. JS (src/model/mm/*.ts) orchestrates: it takes the locks and calls the notifiers;
// every function here states which locks its caller must hold.
//
// Invariants the model keeps (the oracle relies on them, so a sound protocol is never flagged):
//  - a present PTE changes (pfn or write bit removed) only between invalidate_range_start and
//    invalidate_range_end of an invalidation covering it; none -> present and RO -> RW
//    upgrades need none (as in the kernel);
//  - a data frame is freed (gen bumped) only after the invalidate_range_end that unmapped it;
//  - a page-table frame is freed only by munmap, under mmap_lock held for write.
import * as L from './layout.gen';
import {
  PAGES, FRAMES, FIRST_TABLE_FRAME, TABLESTORE_BASE, DIR_BASE, VMA_BASE, SWAP_BASE, INVAL_BASE,
  DMASEQ_BASE, DEVICES, hdr, frameAddr, threadAddr, rangeAddr, devpteAddr, devtidAddr,
} from './base';

// ------------------------------------------------------------------------------------------
// Frames: two lock-free stacks (data frames, page-table frames), heads tagged against ABA.
// ------------------------------------------------------------------------------------------

function stackPop(head: u32): i32 {
  for (;;) {
    const h = atomic.load<i64>(head);
    const top = <u32>(h & 0xffffffff);
    if (top == 0) return -1;
    const pfn = top - 1;
    const next = <u32>atomic.load<i32>(frameAddr(pfn) + L.F_NEXT);
    const nh = ((((h >>> 32) + 1) & 0xffffffff) << 32) | <i64>next;
    if (atomic.cmpxchg<i64>(head, h, nh) == h) return <i32>pfn;
  }
  return -1; // unreachable
}

function stackPush(head: u32, pfn: u32): void {
  for (;;) {
    const h = atomic.load<i64>(head);
    atomic.store<i32>(frameAddr(pfn) + L.F_NEXT, <i32>(h & 0xffffffff));
    const nh = ((((h >>> 32) + 1) & 0xffffffff) << 32) | <i64>(pfn + 1);
    if (atomic.cmpxchg<i64>(head, h, nh) == h) return;
  }
}

/** Single-threaded init: every frame free, table frames bound to their store slots. */
export function mm_init(): void {
  atomic.store<i64>(hdr(L.H_FREE_HEAD), 0);
  atomic.store<i64>(hdr(L.H_TFREE_HEAD), 0);
  for (let pfn = FRAMES; pfn-- > 0; ) {
    const f = frameAddr(pfn);
    store<i32>(f + L.F_GEN, 1);
    store<i32>(f + L.F_STATE, L.FS_FREE);
    store<i32>(f + L.F_REFCOUNT, 0);
    store<i32>(f + L.F_OWNER, 0);
    store<i32>(f + L.F_DATA, 0);
    store<i32>(f + L.F_LOCK, 0);
    store<i32>(f + L.F_REF_BY, 0);
    store<i32>(f + L.F_REF_WAITERS, 0);
    if (pfn >= FIRST_TABLE_FRAME) {
      store<i32>(f + L.F_TABLE, pfn - FIRST_TABLE_FRAME);
      stackPush(hdr(L.H_TFREE_HEAD), pfn);
    } else {
      store<i32>(f + L.F_TABLE, -1);
      stackPush(hdr(L.H_FREE_HEAD), pfn);
    }
  }
}

/** Allocate a data frame holding page `page` (owner tag), zero data. Lock-free. -1 if none. */
export function frame_alloc(page: u32): i32 {
  const pfn = stackPop(hdr(L.H_FREE_HEAD));
  if (pfn < 0) return -1;
  const f = frameAddr(<u32>pfn);
  store<i32>(f + L.F_DATA, 0);
  atomic.store<i32>(f + L.F_REFCOUNT, 1);
  atomic.store<i32>(f + L.F_OWNER, page + 1);
  atomic.store<i32>(f + L.F_STATE, L.FS_ANON);
  return pfn;
}

/** Free a frame: gen++ first (every later check sees it), then back on its stack. */
export function frame_free(pfn: u32): void {
  const f = frameAddr(pfn);
  atomic.add<i32>(f + L.F_GEN, 1);
  const st = atomic.load<i32>(f + L.F_STATE);
  atomic.store<i32>(f + L.F_STATE, L.FS_FREE);
  atomic.store<i32>(f + L.F_OWNER, 0);
  atomic.store<i32>(f + L.F_REFCOUNT, 0);
  atomic.store<i32>(f + L.F_DATA, 0x7fbad000 | (<i32>pfn & 0xfff)); // poison
  stackPush(hdr(st == L.FS_PAGETABLE ? L.H_TFREE_HEAD : L.H_FREE_HEAD), pfn);
}

export function frame_gen(pfn: u32): i32 {
  return atomic.load<i32>(frameAddr(pfn) + L.F_GEN);
}

// ------------------------------------------------------------------------------------------
// Page references and the per-frame lock (get_page / folio_lock). A frame holds one reference
// for its mapping; a walk with RF_GET adds one per frame (get_page_unless_zero, then the PTE is
// re-read, as GUP does). The mm's release of an unmapped frame (frame_release) bumps its gen and
// drops the mapping's reference: a frame still referenced stays FS_PINNED, off the free stack,
// until the last put (frame_put) frees it. So a put never touches a frame that was reused.
// ------------------------------------------------------------------------------------------

/** get_page_unless_zero: a reference on `pfn`, unless it is free already. */
function frame_try_get(pfn: u32, tid: u32): bool {
  const f = frameAddr(pfn);
  for (;;) {
    const c = atomic.load<i32>(f + L.F_REFCOUNT);
    if (c <= 0) return false;
    if (atomic.cmpxchg<i32>(f + L.F_REFCOUNT, c, c + 1) == c) {
      atomic.store<i32>(f + L.F_REF_BY, <i32>tid + 1);
      return true;
    }
  }
  return false; // unreachable
}

/** put_page: drop a reference; the last one frees a frame the mm has released (FS_PINNED). */
export function frame_put(pfn: u32): void {
  const f = frameAddr(pfn);
  const c = atomic.sub<i32>(f + L.F_REFCOUNT, 1);
  if (c == 1) {
    // the mapping's reference went first (frame_release), so the frame is dead already: free it
    atomic.store<i32>(f + L.F_STATE, L.FS_FREE);
    atomic.store<i32>(f + L.F_DATA, 0x7fbad000 | (<i32>pfn & 0xfff)); // poison
    stackPush(hdr(L.H_FREE_HEAD), pfn);
  } else if (atomic.load<i32>(f + L.F_REF_WAITERS) != 0) atomic.notify(f + L.F_REFCOUNT, 64); // ctx.waitPageRefs
}

/** folio_trylock by thread `tid`. */
export function frame_trylock(pfn: u32, tid: u32): i32 {
  const a = frameAddr(pfn) + L.F_LOCK;
  for (;;) {
    const v = atomic.load<i32>(a);
    if (v & L.FL_HOLDER_MASK) return 0;
    if (atomic.cmpxchg<i32>(a, v, v | (<i32>tid + 1)) == v) return 1; // keeps FL_WAITERS: the unlock wakes them
  }
  return 0; // unreachable
}

/** folio_unlock: wakes the sleepers (FL_WAITERS) if any. */
export function frame_unlock(pfn: u32): void {
  const a = frameAddr(pfn) + L.F_LOCK;
  if (atomic.xchg<i32>(a, 0) & L.FL_WAITERS) atomic.notify(a, 64);
}

/**
 * The frame `page` maps, referenced and locked by `tid` for migration (isolate + folio_lock: the
 * reference keeps it from being freed and reused while locked): its pfn; -1 if the page is not
 * present; -(pfn + 2) if another thread holds its lock (the caller sleeps on F_LOCK and tries
 * again). Release with frame_unlock, then frame_put.
 */
export function page_lock_frame(page: u32, tid: u32): i32 {
  for (;;) {
    const pte = pte_get(page);
    if ((pte & L.PTE_TYPE_MASK) != L.PTE_PRESENT) return -1;
    const pfn = ptePfn(pte);
    if (!frame_try_get(pfn, tid)) continue; // freed under us: the PTE has changed
    if (pte_get(page) != pte) {
      frame_put(pfn);
      continue;
    }
    if (frame_trylock(pfn, tid)) return <i32>pfn;
    frame_put(pfn);
    return -(<i32>pfn + 2);
  }
  return -1; // unreachable
}

/** The frame `page` maps if it has references beyond its mapping's, else -1. */
export function page_pinned_frame(page: u32): i32 {
  const pte = pte_get(page);
  if ((pte & L.PTE_TYPE_MASK) != L.PTE_PRESENT) return -1;
  const pfn = ptePfn(pte);
  return atomic.load<i32>(frameAddr(pfn) + L.F_REFCOUNT) > 1 ? <i32>pfn : -1;
}

/** Clear the first `n` entries of range `r`'s hmm_pfns (before a walk that takes references). */
export function range_reset(r: u32, n: u32): void {
  const pfns = r + <u32>L.R_HDR;
  for (let i: u32 = 0; i < n; i++) store<i64>(pfns + i * <u32>L.HMM_PFN_SIZE, 0);
}

/**
 * Release what a walk with RF_GET (and RF_LOCK) took on the first `n` entries of range `r`'s
 * hmm_pfns: unlock each valid entry's frame (`unlock`) and drop its reference (`put`).
 */
export function range_release(r: u32, n: u32, unlock: i32, put: i32): void {
  const pfns = r + <u32>L.R_HDR;
  for (let i: u32 = 0; i < n; i++) {
    const lo = load<i32>(pfns + i * <u32>L.HMM_PFN_SIZE);
    if (!(lo & L.HMM_PFN_VALID)) continue;
    const pfn = <u32>(lo & L.HMM_PFN_MASK);
    if (unlock) frame_unlock(pfn);
    if (put) frame_put(pfn);
  }
}

// ------------------------------------------------------------------------------------------
// Page table: directory word per leaf table (table pfn + 1), leaf tables are frames.
// ------------------------------------------------------------------------------------------

@inline function tableSlot(tpfn: u32): u32 {
  return TABLESTORE_BASE + <u32>load<i32>(frameAddr(tpfn) + L.F_TABLE) * <u32>L.TABLE_BYTES;
}

/** Address of the PTE for `page`, allocating its leaf table if `alloc`. 0 if none.
 *  Caller holds mmap_lock (read or write) or the anon_vma lock, so the table cannot be freed. */
export function pte_addr(page: u32, alloc: i32): u32 {
  const dir = DIR_BASE + (page >> <u32>L.PT_SHIFT) * 4;
  let d = atomic.load<i32>(dir);
  if (d == 0) {
    if (!alloc) return 0;
    const t = stackPop(hdr(L.H_TFREE_HEAD));
    if (t < 0) return 0;
    const slot = tableSlot(<u32>t);
    for (let i: u32 = 0; i < <u32>L.TABLE_BYTES; i += 4) atomic.store<i32>(slot + i, 0);
    atomic.store<i32>(frameAddr(<u32>t) + L.F_STATE, L.FS_PAGETABLE);
    atomic.store<i32>(frameAddr(<u32>t) + L.F_OWNER, (page >> <u32>L.PT_SHIFT) + 1);
    const old = atomic.cmpxchg<i32>(dir, 0, t + 1);
    if (old != 0) {
      frame_free(<u32>t);
      d = old;
    } else d = t + 1;
  }
  return tableSlot(<u32>(d - 1)) + ((page & (<u32>L.PTRS_PER_TABLE - 1)) << 2);
}

export function pte_get(page: u32): i32 {
  const p = pte_addr(page, 0);
  return p ? atomic.load<i32>(p) : 0;
}

export function vma_get(page: u32): i32 {
  return atomic.load<i32>(VMA_BASE + page * 4);
}
/** Set VMA flags of [start,end). Caller holds mmap_lock for write (setup: single-threaded). */
export function vma_set(start: u32, end: u32, flags: i32): void {
  for (let p = start; p < end; p++) atomic.store<i32>(VMA_BASE + p * 4, flags);
}

@inline function ptePfn(pte: i32): u32 {
  return <u32>pte >>> <u32>L.PTE_PFN_SHIFT;
}
@inline function mkPte(type: i32, pfn: u32, bits: i32): i32 {
  return type | bits | <i32>(pfn << <u32>L.PTE_PFN_SHIFT);
}

// ------------------------------------------------------------------------------------------
// CPU faults (handle_mm_fault). Caller holds mmap_lock for read.
// ------------------------------------------------------------------------------------------

/**
 * Make `page` present (and writable if `write`). Returns 0, -EFAULT (no VMA / PROT_NONE / write
 * to a read-only VMA), -EAGAIN (migration entry, or lost a race: try again), -ENOMEM, or
 * NEED_COW (a write to a COW page: JS breaks it with an invalidation, see cow_break).
 */
export function handle_mm_fault(page: u32, write: i32): i32 {
  const vma = vma_get(page);
  if (!(vma & L.VM_MAPPED) || !(vma & L.VM_READ)) return L.EFAULT;
  if (write && !(vma & L.VM_WRITE)) return L.EFAULT;
  const p = pte_addr(page, 1);
  if (!p) return L.ENOMEM;
  const pte = atomic.load<i32>(p);
  const type = pte & L.PTE_TYPE_MASK;
  const wbit = vma & L.VM_WRITE ? L.PTE_WRITE : 0;
  if (type == L.PTE_NONE || type == L.PTE_SWAP) {
    const pfn = frame_alloc(page);
    if (pfn < 0) return L.ENOMEM;
    if (type == L.PTE_SWAP) store<i32>(frameAddr(<u32>pfn) + L.F_DATA, load<i32>(SWAP_BASE + page * 4));
    if (atomic.cmpxchg<i32>(p, pte, mkPte(L.PTE_PRESENT, <u32>pfn, wbit)) != pte) {
      frame_free(<u32>pfn); // never visible to anyone
      return L.EAGAIN;
    }
    return 0;
  }
  if (type == L.PTE_MIGRATION) return L.EAGAIN;
  // present
  if (!write || (pte & L.PTE_WRITE)) return 0;
  if (pte & L.PTE_COW) return L.NEED_COW;
  // write fault on a read-only PTE in a writable VMA: upgrade in place (no invalidation needed)
  if (atomic.cmpxchg<i32>(p, pte, pte | L.PTE_WRITE) != pte) return L.EAGAIN;
  return 0;
}

/** CPU access after a successful fault: read (write=0) or write `value`. Returns the data or -EAGAIN. */
export function cpu_access(page: u32, write: i32, value: i32): i32 {
  const p = pte_addr(page, 0);
  if (!p) return L.EAGAIN;
  const pte = atomic.load<i32>(p);
  if ((pte & L.PTE_TYPE_MASK) != L.PTE_PRESENT) return L.EAGAIN;
  if (write && !(pte & L.PTE_WRITE)) return L.EAGAIN;
  const f = frameAddr(ptePfn(pte));
  if (write) {
    atomic.store<i32>(f + L.F_DATA, value);
    return value;
  }
  return atomic.load<i32>(f + L.F_DATA);
}

/**
 * COW break, second half (JS has called invalidate_range_start for [page, page+1)): copy into a
 * new frame and switch the PTE. Returns the old pfn (free it after invalidate_range_end), or
 * -EAGAIN if the PTE changed meanwhile, -ENOMEM.
 */
export function cow_break(page: u32): i32 {
  const p = pte_addr(page, 0);
  if (!p) return L.EAGAIN;
  const pte = atomic.load<i32>(p);
  if ((pte & L.PTE_TYPE_MASK) != L.PTE_PRESENT || !(pte & L.PTE_COW)) return L.EAGAIN;
  const npfn = frame_alloc(page);
  if (npfn < 0) return L.ENOMEM;
  const old = ptePfn(pte);
  store<i32>(frameAddr(<u32>npfn) + L.F_DATA, atomic.load<i32>(frameAddr(old) + L.F_DATA));
  if (atomic.cmpxchg<i32>(p, pte, mkPte(L.PTE_PRESENT, <u32>npfn, L.PTE_WRITE)) != pte) {
    frame_free(<u32>npfn);
    return L.EAGAIN;
  }
  return <i32>old;
}

// ------------------------------------------------------------------------------------------
// The PTE side of invalidations. Each runs between invalidate_range_start (callbacks done) and
// invalidate_range_end; frames they unmap are returned in a per-thread list and freed by JS
// after invalidate_range_end. `out` points at a u32 array with room for 2 x (end - start) entries.
// ------------------------------------------------------------------------------------------

/**
 * munmap / madvise(DONTNEED) / OOM reap: clear every PTE in [start,end). Present frames go to
 * `out` as (pfn, page) pairs; migration entries are cleared (the migrating thread owns and frees that frame); swap
 * entries are dropped. Returns how many pfns were written to `out`.
 * Caller: mmap_lock (write for munmap, read for DONTNEED and the reaper).
 */
export function zap_ptes(start: u32, end: u32, out: u32): i32 {
  let n = 0;
  for (let page = start; page < end; page++) {
    const p = pte_addr(page, 0);
    if (!p) continue;
    const pte = atomic.xchg<i32>(p, 0);
    if ((pte & L.PTE_TYPE_MASK) == L.PTE_PRESENT) {
      const pair = out + <u32>n * <u32>L.ZAP_PAIR_SIZE;
      store<u32>(pair + L.ZAP_PFN, ptePfn(pte));
      store<u32>(pair + L.ZAP_PAGE, page);
      n++;
    }
  }
  return n;
}

/**
 * munmap, after zap_ptes and invalidate_range_end: free the leaf tables lying wholly inside
 * [start,end). Caller holds mmap_lock for write and the anon_vma lock for write.
 */
export function free_tables(start: u32, end: u32): i32 {
  let n = 0;
  const per = <u32>L.PTRS_PER_TABLE;
  for (let i = (start + per - 1) / per; (i + 1) * per <= end; i++) {
    const d = atomic.xchg<i32>(DIR_BASE + i * 4, 0);
    if (d != 0) {
      frame_free(<u32>(d - 1));
      n++;
    }
  }
  return n;
}

/** mprotect(read-only) / fork's write-protect: clear the write bit (set COW if `cow`). */
export function wrprotect_ptes(start: u32, end: u32, cow: i32): void {
  for (let page = start; page < end; page++) {
    const p = pte_addr(page, 0);
    if (!p) continue;
    for (;;) {
      const pte = atomic.load<i32>(p);
      if ((pte & L.PTE_TYPE_MASK) != L.PTE_PRESENT) break;
      const npte = (pte & ~L.PTE_WRITE) | (cow ? L.PTE_COW : 0);
      if (npte == pte || atomic.cmpxchg<i32>(p, pte, npte) == pte) break;
    }
  }
}

/**
 * Migration of one page, inside its invalidation: present -> migration entry, copy to a new
 * frame, migration entry -> present(new). Returns the old pfn (free after end), -EAGAIN if the
 * page was not present or changed under us, -ENOMEM. Caller holds the anon_vma lock (read).
 */
export function migrate_page(page: u32): i32 {
  const p = pte_addr(page, 0);
  if (!p) return L.EAGAIN;
  const pte = atomic.load<i32>(p);
  if ((pte & L.PTE_TYPE_MASK) != L.PTE_PRESENT) return L.EAGAIN;
  const old = ptePfn(pte);
  const mig = (pte & ~L.PTE_TYPE_MASK) | L.PTE_MIGRATION;
  if (atomic.cmpxchg<i32>(p, pte, mig) != pte) return L.EAGAIN;
  const npfn = frame_alloc(page);
  if (npfn < 0) {
    atomic.cmpxchg<i32>(p, mig, pte); // put the old page back
    return L.ENOMEM;
  }
  store<i32>(frameAddr(<u32>npfn) + L.F_DATA, atomic.load<i32>(frameAddr(old) + L.F_DATA));
  const npte = mkPte(L.PTE_PRESENT, <u32>npfn, pte & (L.PTE_WRITE | L.PTE_COW));
  if (atomic.cmpxchg<i32>(p, mig, npte) != mig) {
    // zapped meanwhile (DONTNEED / reaper): both frames are ours to free
    frame_free(<u32>npfn);
  }
  return <i32>old;
}

/** Reclaim (swap-out) of one page, inside its invalidation. Returns the old pfn or -EAGAIN.
 *  Caller holds the anon_vma lock (read). */
export function reclaim_page(page: u32): i32 {
  const p = pte_addr(page, 0);
  if (!p) return L.EAGAIN;
  const pte = atomic.load<i32>(p);
  if ((pte & L.PTE_TYPE_MASK) != L.PTE_PRESENT) return L.EAGAIN;
  const old = ptePfn(pte);
  atomic.store<i32>(SWAP_BASE + page * 4, atomic.load<i32>(frameAddr(old) + L.F_DATA));
  if (atomic.cmpxchg<i32>(p, pte, mkPte(L.PTE_SWAP, page, 0)) != pte) return L.EAGAIN;
  return <i32>old;
}

// ------------------------------------------------------------------------------------------
// Oracle bookkeeping: per-page count of invalidations between callbacks-done and end; the
// violation record. A detection always counts in H_DETECTIONS; it counts as a lost race
// (H_VIOLATIONS) only the first time a check sees that device entry (its devtid REPORTED bit),
// so a stale entry that DMA hits a thousand times is one lost race.
// ------------------------------------------------------------------------------------------

export function inval_mark(start: u32, end: u32, delta: i32): void {
  for (let page = start; page < end; page++) atomic.add<i32>(INVAL_BASE + page * 4, delta);
}

/** First time a check reports the entry (dev, page) as stale? Sets its REPORTED bit. */
function firstReport(dev: i32, page: u32): bool {
  if (dev < 0) return true;
  const a = devtidAddr(<u32>dev, page);
  for (;;) {
    const v = atomic.load<i32>(a);
    if (v & L.DEVTID_REPORTED) return false;
    if (atomic.cmpxchg<i32>(a, v, v | L.DEVTID_REPORTED) == v) return true;
  }
  return false; // unreachable
}

/** Count one detection of `kind` on entry (dev, page) (dev -1: no device entry involved). */
export function countViol(kind: i32, dev: i32, page: u32): void {
  atomic.add<i32>(hdr(L.H_DETECTIONS) + (kind << 2), 1);
  if (firstReport(dev, page)) atomic.add<i32>(hdr(L.H_VIOLATIONS) + (kind << 2), 1);
}

/** Count and record the details (T_VIOL: kind, page, pfn, gen wanted, gen found, device, the
 *  thread that programmed the entry + 1 or 0) for the caller's witness. Returns -(kind + 1). */
export function violDetail(tid: u32, kind: i32, page: u32, pfn: i32, genWant: i32, genHave: i32, dev: i32): i32 {
  const v = threadAddr(tid) + L.T_VIOL;
  store<i32>(v + L.VR_KIND, kind);
  store<i32>(v + L.VR_PAGE, page);
  store<i32>(v + L.VR_PFN, pfn);
  store<i32>(v + L.VR_GEN_WANT, genWant);
  store<i32>(v + L.VR_GEN_HAVE, genHave);
  store<i32>(v + L.VR_DEVICE, dev);
  store<i32>(v + L.VR_PROGRAMMER, dev >= 0 ? atomic.load<i32>(devtidAddr(<u32>dev, page)) & L.DEVTID_TID_MASK : 0);
  countViol(kind, dev, page);
  return -(kind + 1);
}

/** Callbacks done for [start,end) (the in-invalidation mark is already raised): no device may
 *  still map a page of it. Returns the first device-mapped page found (violation `kind`), or -1. */
export function check_zapped(dev: u32, start: u32, end: u32, tid: u32, kind: i32): i32 {
  for (let page = start; page < end; page++) {
    const e = atomic.load<i64>(devpteAddr(dev, page));
    if (<i32>e & L.DEV_VALID) {
      violDetail(tid, kind, page, <i32>(<u32>e >>> <u32>L.DEV_PFN_SHIFT), <i32>(e >>> 32), -1, dev);
      return <i32>page;
    }
  }
  return -1;
}

/**
 * A device entry (frame `pfn` at `gen`, writable if `write`) for `page` exists now: is it a lost
 * race? The frame must still carry `gen` (use-after-free), no invalidation may be between
 * callbacks-done and end (device-pte-during-invalidation), the page may not be PROT_NONE
 * (access-to-protnone) and a writable entry needs a writable PTE where the PTE maps the same
 * frame (write-to-readonly). Returns the kind, or -1.
 */
function entryStale(page: u32, pfn: u32, gen: i32, write: bool): i32 {
  const f = frameAddr(pfn);
  if (atomic.load<i32>(f + L.F_GEN) != gen || atomic.load<i32>(f + L.F_OWNER) != <i32>page + 1) return L.V_USE_AFTER_FREE;
  // the mark first, then the VMA and the PTE (the other order from a pfn cache's check, which
  // reads the PTE first): an invalidation raises the mark before it changes either, and unlike a
  // pfn cache's use, a device entry alive or in use once the mark is up is a lost race by itself
  // (the start's callbacks had to zap it, and fence the access). So "mark clear, then PTE
  // read-only" means either the change's invalidation had ended (the entry is stale) or the mark
  // rose while this entry was stored or in flight: a lost race either way, reported under the
  // kind this check reads last.
  if (atomic.load<i32>(INVAL_BASE + page * 4) != 0) return L.V_DEVICE_PTE_DURING_INVALIDATION;
  const vma = vma_get(page);
  if ((vma & L.VM_MAPPED) && !(vma & L.VM_READ)) return L.V_ACCESS_TO_PROTNONE;
  if (write) {
    const pte = pte_get(page);
    if ((pte & L.PTE_TYPE_MASK) == L.PTE_PRESENT && ptePfn(pte) == pfn && !(pte & L.PTE_WRITE)) return L.V_WRITE_TO_READONLY;
  }
  return -1;
}

/**
 * Free a frame that an invalidation unmapped (after its invalidate_range_end), checking that no
 * device entry maps it: gen++ first, then scan each device's entry for `page` (the frame's only
 * mapping) for one carrying the old gen. A program racing with this either sees the new gen or
 * its entry is seen here. Returns 0 or -(use-after-free + 1), the programming thread in T_VIOL.
 */
export function frame_release(pfn: u32, page: u32, tid: u32, oracle: i32): i32 {
  const f = frameAddr(pfn);
  // gen++ first (every later check sees it); the frame is dead to the oracle from here on. It
  // goes back on the free stack when its mapping's reference is the last: else (a walk with
  // RF_GET holds one) it stays FS_PINNED until the last put.
  const gen = atomic.add<i32>(f + L.F_GEN, 1);
  atomic.store<i32>(f + L.F_OWNER, 0);
  atomic.store<i32>(f + L.F_STATE, L.FS_PINNED);
  frame_put(pfn);
  if (!oracle) return 0;
  let res = 0;
  for (let dev: u32 = 0; dev < DEVICES; dev++) {
    const e = atomic.load<i64>(devpteAddr(dev, page));
    const lo = <i32>e;
    if (!(lo & L.DEV_VALID) || (<u32>lo >>> <u32>L.DEV_PFN_SHIFT) != pfn || <i32>(e >>> 32) != gen) continue;
    if (res == 0) res = violDetail(tid, L.V_USE_AFTER_FREE, page, <i32>pfn, gen, gen + 1, <i32>dev);
    else countViol(L.V_USE_AFTER_FREE, <i32>dev, page);
  }
  return res;
}

/**
 * invalidate_range_end of a protection change (mprotect, fork's write-protect), after the
 * protocol's end callback: no entry of device `dev` in [start,end) may allow more than the new
 * PTE (writable over read-only, anything over PROT_NONE). Returns 0 or the first violation.
 */
export function check_prot(dev: u32, start: u32, end: u32, tid: u32): i32 {
  let res = 0;
  for (let page = start; page < end; page++) {
    const e = atomic.load<i64>(devpteAddr(dev, page));
    const lo = <i32>e;
    if (!(lo & L.DEV_VALID)) continue;
    const pfn = <u32>lo >>> <u32>L.DEV_PFN_SHIFT;
    const vma = vma_get(page);
    let kind = -1;
    if ((vma & L.VM_MAPPED) && !(vma & L.VM_READ)) kind = L.V_ACCESS_TO_PROTNONE;
    else if (lo & L.DEV_WRITE) {
      const pte = pte_get(page);
      if ((pte & L.PTE_TYPE_MASK) == L.PTE_PRESENT && ptePfn(pte) == pfn && !(pte & L.PTE_WRITE)) kind = L.V_WRITE_TO_READONLY;
    }
    if (kind < 0) continue;
    if (res == 0) res = violDetail(tid, kind, page, <i32>pfn, <i32>(e >>> 32), -1, <i32>dev);
    else countViol(kind, <i32>dev, page);
  }
  return res;
}

// ------------------------------------------------------------------------------------------
// hmm_range_fault: walk [start,end) of a range record into its hmm_pfns array.
// Caller holds mmap_lock for read (a protocol that does not lets the walk read freed tables,
// which it reports as PT_UAF).
// ------------------------------------------------------------------------------------------

/**
 * Walk from page `from` (pausing at page `stop` if it is inside the range; `paused` = 1 when
 * resuming from such a pause). Returns 0 when the whole range is snapshotted; -EBUSY when the lockless
 * check (R_CHECK_ADDR != R_CHECK_EXPECT) fails or a page is under migration; -EFAULT on a hole or
 * PROT_NONE; -EPERM when write is required and the VMA is read-only; NEED_FAULT with
 * R_FAULT_PAGE set when a page must be faulted in (JS does it, then walks on from there);
 * WALK_PAUSED at `stop` (resume from R_FAULT_PAGE); PT_UAF (details in T_VIOL) when a page
 * table the walk used was freed while it used it.
 */
export function hmm_range_fault(r: u32, from: u32, tid: u32, stop: u32, paused: i32): i32 {
  const start = load<u32>(r + L.R_START);
  const end = load<u32>(r + L.R_END);
  const flags = load<i32>(r + L.R_FLAGS);
  const checkAddr = load<u32>(r + L.R_CHECK_ADDR);
  const expect = load<i32>(r + L.R_CHECK_EXPECT);
  const pfns = r + <u32>L.R_HDR;
  // The leaf table in use: its directory word, the value there, and the table's gen when the walk
  // entered it. A table freed while the walk uses it is caught when the walk leaves it (moves to
  // the next table, or finishes); the state travels in the range record across NEED_FAULT and
  // pause resumes, since the table stays in use meanwhile. One check per table, not per page.
  let curDir: u32 = 0, curD: i32 = 0, curGen: i32 = 0;
  if (from != start) {
    curDir = load<u32>(r + L.R_WALK_DIR);
    curD = load<i32>(r + L.R_WALK_D);
    curGen = load<i32>(r + L.R_WALK_GEN);
  }
  // the lockless retry check, once per walk_page_range() call as in the kernel (not after a pause:
  // that models a walker preempted mid-walk)
  if (!paused && checkAddr != 0 && atomic.load<i32>(checkAddr) != expect) return L.EBUSY;
  for (let page = from; page < end; page++) {
    if (page == stop && page != from) {
      store<i32>(r + L.R_FAULT_PAGE, page);
      store<u32>(r + L.R_WALK_DIR, curDir);
      store<i32>(r + L.R_WALK_D, curD);
      store<i32>(r + L.R_WALK_GEN, curGen);
      return L.WALK_PAUSED;
    }
    const out = pfns + (page - start) * <u32>L.HMM_PFN_SIZE;
    const vma = vma_get(page);
    if (!(vma & L.VM_MAPPED) || !(vma & L.VM_READ)) {
      store<i64>(out, <i64>L.HMM_PFN_ERROR);
      return L.EFAULT;
    }
    if ((flags & L.RF_WRITE) && !(vma & L.VM_WRITE)) {
      store<i64>(out, <i64>L.HMM_PFN_ERROR);
      return L.EPERM;
    }
    const dir = DIR_BASE + (page >> <u32>L.PT_SHIFT) * 4;
    if (dir != curDir || curD == 0) {
      if (tableFreed(curDir, curD, curGen)) return walkPtUaf(tid, page - 1, curD, curGen);
      const d = atomic.load<i32>(dir);
      curDir = dir;
      curD = d;
      if (d == 0) {
        if (flags & L.RF_FAULT) {
          store<i32>(r + L.R_FAULT_PAGE, page);
          store<u32>(r + L.R_WALK_DIR, 0);
          store<i32>(r + L.R_WALK_D, 0);
          return L.NEED_FAULT;
        }
        store<i64>(out, 0);
        continue;
      }
      const tf = frameAddr(<u32>(d - 1));
      curGen = atomic.load<i32>(tf + L.F_GEN);
      if (atomic.load<i32>(tf + L.F_STATE) != L.FS_PAGETABLE || atomic.load<i32>(dir) != d) {
        // freed between reading the directory and entering the table: nothing read from it yet
        curD = 0;
        page--;
        continue;
      }
    }
    const p = tableSlot(<u32>(curD - 1)) + ((page & (<u32>L.PTRS_PER_TABLE - 1)) << 2);
    const pte = atomic.load<i32>(p);
    const type = pte & L.PTE_TYPE_MASK;
    if (type == L.PTE_MIGRATION) return L.EBUSY;
    if (type != L.PTE_PRESENT || ((flags & L.RF_WRITE) && !(pte & L.PTE_WRITE))) {
      if (flags & L.RF_FAULT) {
        // leaving the table for a fault: the entry just read came from a table freed meanwhile?
        if (tableFreed(curDir, curD, curGen)) return walkPtUaf(tid, page, curD, curGen);
        store<i32>(r + L.R_FAULT_PAGE, page);
        store<u32>(r + L.R_WALK_DIR, curDir);
        store<i32>(r + L.R_WALK_D, curD);
        store<i32>(r + L.R_WALK_GEN, curGen);
        return L.NEED_FAULT;
      }
      store<i64>(out, 0);
      continue;
    }
    const pfn = ptePfn(pte);
    const gen = atomic.load<i32>(frameAddr(pfn) + L.F_GEN);
    const get = (flags & L.RF_GET) != 0;
    if (get && !frame_try_get(pfn, tid)) {
      if (atomic.load<i32>(p) == pte) return L.EBUSY; // a mapped frame without references: never (bail, not spin)
      page--; // freed under us: the PTE has changed, walk this page again
      continue;
    }
    if (atomic.load<i32>(p) != pte) {
      if (get) frame_put(pfn);
      page--; // changed while we read the gen: walk this page again
      continue;
    }
    if (get && (flags & L.RF_LOCK) && !frame_trylock(pfn, tid)) {
      frame_put(pfn); // make_device_exclusive_range: a page it cannot lock is left out
      store<i64>(out, (<i64>gen << 32) | <i64>(<u32>(L.HMM_PFN_ERROR | <i32>pfn)));
      continue;
    }
    let lo = L.HMM_PFN_VALID | <i32>pfn;
    if (pte & L.PTE_WRITE) lo |= L.HMM_PFN_WRITE;
    store<i64>(out, (<i64>gen << 32) | <i64>(<u32>lo));
  }
  if (tableFreed(curDir, curD, curGen)) return walkPtUaf(tid, end - 1, curD, curGen);
  return 0;
}

/** Was the table the walk is using (directory word `dir` held `d`, gen `gen`) freed since? */
@inline function tableFreed(dir: u32, d: i32, gen: i32): bool {
  return d != 0 && (atomic.load<i32>(frameAddr(<u32>(d - 1)) + L.F_GEN) != gen || atomic.load<i32>(dir) != d);
}

function walkPtUaf(tid: u32, page: u32, d: i32, gen: i32): i32 {
  violDetail(tid, L.V_PAGE_TABLE_USE_AFTER_FREE, page, d - 1, gen, atomic.load<i32>(frameAddr(<u32>(d - 1)) + L.F_GEN), -1);
  return L.PT_UAF;
}

// ------------------------------------------------------------------------------------------
// Device side. A device entry is one i64: valid, write, pfn | gen it was programmed with.
// ------------------------------------------------------------------------------------------

/**
 * Program device `dev` from range record `r`'s hmm_pfns (the driver's "update device page
 * table"). Caller holds the protocol's user lock and has passed its retry check. Every page is
 * programmed (a broken protocol's effect is real), each entry stored first and checked after
 * (entryStale), so an invalidation that raises its mark and scans the entries cannot slip between
 * a check and its store. Returns 0 or the first violation as -(kind+1), details in T_VIOL.
 */
export function dev_program(dev: u32, r: u32, tid: u32, oracle: i32): i32 {
  const start = load<u32>(r + L.R_START);
  const end = load<u32>(r + L.R_END);
  const pfns = r + <u32>L.R_HDR;
  let res = 0;
  for (let page = start; page < end; page++) {
    const e = load<i64>(pfns + (page - start) * <u32>L.HMM_PFN_SIZE);
    const lo = <i32>e;
    if (!(lo & L.HMM_PFN_VALID)) continue;
    const pfn = <u32>(lo & L.HMM_PFN_MASK);
    const gen = <i32>(e >>> 32);
    let d = L.DEV_VALID | <i32>(pfn << <u32>L.DEV_PFN_SHIFT);
    if (lo & L.HMM_PFN_WRITE) d |= L.DEV_WRITE;
    // who programmed it (the oracle's bookkeeping only; a plain store: the checks that read it
    // tolerate a racing re-program, the entry's own store below orders it)
    if (oracle) store<i32>(devtidAddr(dev, page), <i32>tid + 1);
    atomic.store<i64>(devpteAddr(dev, page), (<i64>gen << 32) | <i64>(<u32>d));
    if (!oracle) continue;
    const kind = entryStale(page, pfn, gen, (lo & L.HMM_PFN_WRITE) != 0);
    if (kind < 0) continue;
    if (res == 0) res = violDetail(tid, kind, page, <i32>pfn, gen, atomic.load<i32>(frameAddr(pfn) + L.F_GEN), <i32>dev);
    else countViol(kind, <i32>dev, page);
  }
  return res;
}

/** Zap device entries of [start,end). Caller holds the protocol's user lock. */
export function dev_zap(dev: u32, start: u32, end: u32): void {
  for (let page = start; page < end; page++) atomic.store<i64>(devpteAddr(dev, page), 0);
}

/** Device entry low word (valid/write/pfn) for display and tests. */
export function dev_entry(dev: u32, page: u32): i32 {
  return <i32>atomic.load<i64>(devpteAddr(dev, page));
}
export function dev_entry_gen(dev: u32, page: u32): i32 {
  return <i32>(atomic.load<i64>(devpteAddr(dev, page)) >>> 32);
}

/** The DMA thread's in-flight word (odd while an access is in flight). */
export function dmaseq_addr(tid: u32): u32 {
  return DMASEQ_BASE + tid * <u32>L.LINE;
}

/**
 * One device access by DMA thread `tid` of device `dev` at `page` (read, or write `value`),
 * transferring `len` words.
 * The access is bracketed by the thread's in-flight word so an invalidation's fence can wait
 * for it. Returns L.DMA_NO_ENTRY (no device entry: the device would fault), L.DMA_DONE, L.DMA_READONLY
 * (write to a read-only device entry: refused), or -(kind+1) on a violation (details in T_VIOL):
 * use-after-free (frame gen or content differs from what was programmed), write-to-readonly
 * (device writes while the CPU PTE for that frame is read-only), device-pte-during-invalidation.
 */
export function dma_access(dev: u32, page: u32, write: i32, value: i32, tid: u32, oracle: i32, len: i32): i32 {
  const record = dmaseq_addr(tid);
  const seq = record + L.DS_SEQ;
  store<i32>(record + L.DS_PAGE, page);
  atomic.add<i32>(seq, 1); // odd: in flight
  const e = atomic.load<i64>(devpteAddr(dev, page));
  const lo = <i32>e;
  let res = L.DMA_NO_ENTRY;
  if (lo & L.DEV_VALID) {
    const pfn = <u32>lo >>> <u32>L.DEV_PFN_SHIFT;
    const gen = <i32>(e >>> 32);
    const f = frameAddr(pfn);
    if (write && !(lo & L.DEV_WRITE)) res = L.DMA_READONLY;
    else {
      res = L.DMA_DONE;
      if (oracle) {
        const kind = entryStale(page, pfn, gen, write != 0);
        if (kind >= 0) res = violDetail(tid, kind, page, <i32>pfn, gen, atomic.load<i32>(f + L.F_GEN), dev);
      }
      // the transfer: `len` beats on the frame's data; the frame must stay ours throughout
      for (let i = 0; i < len; i++) {
        if (write) atomic.store<i32>(f + L.F_DATA, value + i);
        else atomic.load<i32>(f + L.F_DATA);
      }
      if (oracle && res == L.DMA_DONE) {
        const after = atomic.load<i32>(f + L.F_GEN);
        if (after != gen) res = violDetail(tid, L.V_USE_AFTER_FREE, page, <i32>pfn, gen, after, dev);
      }
    }
  }
  atomic.add<i32>(seq, 1); // even: done
  if (atomic.load<i32>(record + L.DS_FENCE_WAITERS) != 0) atomic.notify(seq, 64); // a fence sleeps on it
  return res;
}

/**
 * The first half of dma_access, split for controlled mode, which puts a scheduling point
 * between the halves (dma_access stays one fused call: the free-running hot path): mark the
 * access in flight, read the device entry, check it. Keeps the entry's frame and gen in the
 * thread's in-flight record (DS_PFN, DS_GEN) for dma_end. Returns what dma_access would so far.
 */
export function dma_begin(dev: u32, page: u32, write: i32, tid: u32, oracle: i32): i32 {
  const record = dmaseq_addr(tid);
  store<i32>(record + L.DS_PAGE, page);
  atomic.add<i32>(record + L.DS_SEQ, 1); // odd: in flight
  const e = atomic.load<i64>(devpteAddr(dev, page));
  const lo = <i32>e;
  let res = L.DMA_NO_ENTRY;
  store<i32>(record + L.DS_PFN, -1);
  if (lo & L.DEV_VALID) {
    const pfn = <u32>lo >>> <u32>L.DEV_PFN_SHIFT;
    const gen = <i32>(e >>> 32);
    const f = frameAddr(pfn);
    if (write && !(lo & L.DEV_WRITE)) res = L.DMA_READONLY;
    else {
      res = L.DMA_DONE;
      store<i32>(record + L.DS_PFN, <i32>pfn);
      store<i32>(record + L.DS_GEN, gen);
      if (oracle) {
        const kind = entryStale(page, pfn, gen, write != 0);
        if (kind >= 0) res = violDetail(tid, kind, page, <i32>pfn, gen, atomic.load<i32>(f + L.F_GEN), dev);
      }
    }
  }
  return res;
}

/** The second half: the transfer of `len` words on the frame dma_begin saw, the after-check, done. */
export function dma_end(dev: u32, page: u32, write: i32, value: i32, tid: u32, oracle: i32, len: i32, res: i32): i32 {
  const record = dmaseq_addr(tid);
  const pfn = load<i32>(record + L.DS_PFN);
  if (pfn >= 0) {
    const gen = load<i32>(record + L.DS_GEN);
    const f = frameAddr(<u32>pfn);
    // the transfer: `len` beats on the frame's data; the frame must stay ours throughout
    for (let i = 0; i < len; i++) {
      if (write) atomic.store<i32>(f + L.F_DATA, value + i);
      else atomic.load<i32>(f + L.F_DATA);
    }
    if (oracle && res == L.DMA_DONE) {
      const after = atomic.load<i32>(f + L.F_GEN);
      if (after != gen) res = violDetail(tid, L.V_USE_AFTER_FREE, page, pfn, gen, after, dev);
    }
  }
  atomic.add<i32>(record + L.DS_SEQ, 1); // even: done
  if (atomic.load<i32>(record + L.DS_FENCE_WAITERS) != 0) atomic.notify(record + L.DS_SEQ, 64); // a fence sleeps on it
  return res;
}

/** Data word of the frame `page` maps on the CPU (tests), or -1 if not present. */
export function cpu_peek(page: u32): i32 {
  const pte = pte_get(page);
  if ((pte & L.PTE_TYPE_MASK) != L.PTE_PRESENT) return -1;
  return atomic.load<i32>(frameAddr(ptePfn(pte)) + L.F_DATA);
}

/** Data word through device `dev`'s entry for `page`, or -1 if none (tests). */
export function dev_peek(dev: u32, page: u32): i32 {
  const lo = <i32>atomic.load<i64>(devpteAddr(dev, page));
  if (!(lo & L.DEV_VALID)) return -1;
  return atomic.load<i32>(frameAddr(<u32>lo >>> <u32>L.DEV_PFN_SHIFT) + L.F_DATA);
}

export function pages(): u32 {
  return PAGES;
}
export function range_addr(tid: u32): u32 {
  return rangeAddr(tid);
}
