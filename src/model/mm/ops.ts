/**
 * ops.ts — the CPU-side changes an invalidator makes, each with the locks, notifier event and
 * blockable flag the kernel uses, and each freeing unmapped frames only after
 * invalidate_range_end:
 *
 *   munmap (+ remap)   mmap_lock write, anon_vma write   MMU_NOTIFY_UNMAP     frees page tables too
 *   mprotect           mmap_lock write                   MMU_NOTIFY_PROTECTION_VMA
 *   fork (COW)         mmap_lock write                   MMU_NOTIFY_PROTECTION_PAGE  write-protects, marks COW
 *   madvise(DONTNEED)  mmap_lock read                    MMU_NOTIFY_CLEAR
 *   migrate            anon_vma read (no mmap_lock)      MMU_NOTIFY_MIGRATE
 *   reclaim            anon_vma read (no mmap_lock)      MMU_NOTIFY_CLEAR
 *   OOM reap           mmap_lock read (trylock)          MMU_NOTIFY_CLEAR, non-blockable: may fail
 */
import { L } from '../../memory/layout.js';
import { EV } from '../../oracle/events.js';
import type { Ctx } from '../ctx.js';
import { invalidateRangeStart, invalidateRangeEnd } from './notifier.js';
import { freeFrame } from './fault.js';

export const VMA_RW = L.VM_MAPPED | L.VM_READ | L.VM_WRITE;
export type Prot = 'none' | 'read' | 'readwrite';
const PROT_FLAGS: Record<Prot, number> = { none: L.VM_MAPPED, read: L.VM_MAPPED | L.VM_READ, readwrite: VMA_RW };

/** Scratch for the (pfn, page) pairs a zap unmaps: this thread's hmm_pfns (room for rangeMax pairs). */
function scratch(ctx: Ctx): number {
  return ctx.range.addr + L.R_HDR;
}

function zapAndFree(ctx: Ctx, start: number, end: number, inv: NonNullable<ReturnType<typeof invalidateRangeStart>>): void {
  const out = scratch(ctx);
  const n = ctx.wasm.zap_ptes(start, end, out);
  ctx.trace(EV.ZAP_PTES, start, end, n);
  invalidateRangeEnd(ctx, inv);
  const i32 = ctx.env.i32;
  for (let i = 0; i < n; i++) {
    const pair = out + i * L.ZAP_PAIR_SIZE;
    freeFrame(ctx, i32[(pair + L.ZAP_PFN) >> 2], i32[(pair + L.ZAP_PAGE) >> 2]);
  }
}

/** munmap [start,end) then map fresh anonymous memory there again (MAP_FIXED). */
export function munmap(ctx: Ctx, start: number, end: number): void {
  ctx.mmapWriteLock();
  try {
    ctx.anonVmaLock.downWrite();
    try {
      const inv = invalidateRangeStart(ctx, start, end, 'unmap')!;
      zapAndFree(ctx, start, end, inv);
      const tables = ctx.wasm.free_tables(start, end);
      if (tables) ctx.trace(EV.FREE_TABLES, start, end, tables);
      ctx.wasm.vma_set(start, end, 0);
      ctx.wasm.vma_set(start, end, VMA_RW); // the remap
    } finally {
      ctx.anonVmaLock.upWrite();
    }
  } finally {
    ctx.mmapWriteUnlock();
  }
}

export function mprotect(ctx: Ctx, start: number, end: number, prot: Prot): void {
  ctx.mmapWriteLock();
  try {
    const inv = invalidateRangeStart(ctx, start, end, 'protection')!;
    if (prot !== 'readwrite') {
      ctx.wasm.wrprotect_ptes(start, end, 0);
      ctx.trace(EV.WRPROTECT, start, end, 0);
    }
    ctx.wasm.vma_set(start, end, PROT_FLAGS[prot]);
    invalidateRangeEnd(ctx, inv);
  } finally {
    ctx.mmapWriteUnlock();
  }
}

/** fork()'s copy_page_range: write-protect the parent's PTEs and mark them COW. */
export function forkCow(ctx: Ctx, start: number, end: number): void {
  ctx.mmapWriteLock();
  try {
    const inv = invalidateRangeStart(ctx, start, end, 'protection')!;
    ctx.wasm.wrprotect_ptes(start, end, 1);
    ctx.trace(EV.WRPROTECT, start, end, 1);
    invalidateRangeEnd(ctx, inv);
  } finally {
    ctx.mmapWriteUnlock();
  }
}

export function dontneed(ctx: Ctx, start: number, end: number): void {
  ctx.mmapReadLock();
  try {
    const inv = invalidateRangeStart(ctx, start, end, 'clear')!;
    zapAndFree(ctx, start, end, inv);
  } finally {
    ctx.mmapReadUnlock();
  }
}

/** Migrate [start,end) to new frames (migrate_vma / compaction / NUMA): no mmap_lock. */
export function migrate(ctx: Ctx, start: number, end = start + 1): void {
  ctx.anonVmaLock.downRead();
  try {
    const inv = invalidateRangeStart(ctx, start, end, 'migrate')!;
    const old: number[] = [];
    for (let page = start; page < end; page++) {
      const pfn = ctx.wasm.migrate_page(page);
      old.push(pfn);
      if (pfn >= 0) ctx.trace(EV.MIGRATE, page, pfn, ctx.wasm.pte_get(page) >>> L.PTE_PFN_SHIFT);
    }
    invalidateRangeEnd(ctx, inv);
    old.forEach((pfn, i) => pfn >= 0 && freeFrame(ctx, pfn, start + i));
  } finally {
    ctx.anonVmaLock.upRead();
  }
}

/** Swap one page out (kswapd): no mmap_lock. */
export function reclaim(ctx: Ctx, page: number): void {
  ctx.anonVmaLock.downRead();
  try {
    const inv = invalidateRangeStart(ctx, page, page + 1, 'clear')!;
    const old = ctx.wasm.reclaim_page(page);
    if (old >= 0) ctx.trace(EV.RECLAIM, page, old);
    invalidateRangeEnd(ctx, inv);
    if (old >= 0) freeFrame(ctx, old, page);
  } finally {
    ctx.anonVmaLock.upRead();
  }
}

/**
 * The OOM reaper on [start,end): mmap_read_trylock, then a NON-blockable invalidation that a
 * protocol may refuse (-EAGAIN): then nothing is zapped and no end is called. Returns false
 * when it could not reap.
 */
export function oomReap(ctx: Ctx, start: number, end: number): boolean {
  if (!ctx.mmapReadTrylock()) return false;
  try {
    const inv = invalidateRangeStart(ctx, start, end, 'clear', false);
    if (!inv) return false;
    zapAndFree(ctx, start, end, inv);
    return true;
  } finally {
    ctx.mmapReadUnlock();
  }
}
