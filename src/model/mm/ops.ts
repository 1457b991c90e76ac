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
 *
 * The OOM reaper follows the protocol's `mmOptions.oomReaper` (protocols/api.ts): the default
 * is the non-blockable invalidation above (since 93065ac753e4); 'skip-if-notifiers' gives up on
 * an mm with notifiers (4d4bbd8526a8); 'unmap-without-notifier' zaps and frees with no start/end
 * at all (the reaper as aac453635549 introduced it). Every row goes through `invalidating()`: the one place that takes the locks,
 * brackets the change with start/end and frees the frames after end.
 */
import { L } from '../../memory/layout.js';
import { EV } from '../../oracle/events.js';
import type { Ctx } from '../ctx.js';
import type { Invalidation } from '../range.js';
import type { InvEvent } from '../../oracle/events.js';
import { invalidateRangeStart, invalidateRange, invalidateRangeEnd } from './notifier.js';
import { lockFrames, unlockFrames } from './frame-refs.js';
import { freeFrame } from './fault.js';

export const VMA_RW = L.VM_MAPPED | L.VM_READ | L.VM_WRITE;
export type Prot = 'none' | 'read' | 'readwrite';
const PROT_FLAGS: Record<Prot, number> = { none: L.VM_MAPPED, read: L.VM_MAPPED | L.VM_READ, readwrite: VMA_RW };

/** The changes (by --events name) that take mmap_lock for write (the table above): none can begin while a thread holds it for read. */
export const MMAP_WRITE_EVENTS: ReadonlySet<string> = new Set(['munmap', 'mprotect', 'cow']);

/** The locks a change holds around its invalidation (the table above). */
interface OpLocks {
  mmap?: 'read' | 'write' | 'read-trylock';
  anonVma?: 'read' | 'write';
}

/** What a change unmapped: (pfn, page) pairs to free after invalidate_range_end. */
type Unmapped = number[];

interface OpSpec {
  locks: OpLocks;
  event: InvEvent;
  /** False for the OOM reaper: the protocol may refuse (-EAGAIN), and then nothing changes. */
  blockable?: boolean;
  /** False: no notifier call at all (the pre-4.14 OOM reaper). */
  notify?: boolean;
  /** Change the page table between start and end; returns the frames it unmapped. */
  change(inv: Invalidation | null): Unmapped;
  /** After invalidate_range_end, before the unmapped frames are released (migration unlocks them here). */
  beforeFree?(): void;
  /** Still under the locks, after the frames are freed (munmap frees the page tables here). */
  after?(): void;
}

function lockAll(ctx: Ctx, locks: OpLocks): boolean {
  if (locks.mmap === 'read-trylock') {
    if (!ctx.mmapReadTrylock()) return false;
  } else if (locks.mmap === 'read') ctx.mmapReadLock();
  else if (locks.mmap === 'write') ctx.mmapWriteLock();
  try {
    if (locks.anonVma === 'read') ctx.anonVmaLock.downRead();
    else if (locks.anonVma === 'write') ctx.anonVmaLock.downWrite();
  } catch (e) {
    unlockMmap(ctx, locks);
    throw e;
  }
  return true;
}

function unlockMmap(ctx: Ctx, locks: OpLocks): void {
  if (locks.mmap === 'write') ctx.mmapWriteUnlock();
  else if (locks.mmap) ctx.mmapReadUnlock();
}

function unlockAll(ctx: Ctx, locks: OpLocks): void {
  try {
    if (locks.anonVma === 'read') ctx.anonVmaLock.upRead();
    else if (locks.anonVma === 'write') ctx.anonVmaLock.upWrite();
  } finally {
    unlockMmap(ctx, locks);
  }
}

/**
 * Take the locks, invalidate_range_start, change, invalidate_range_end, free what was unmapped,
 * `after`, drop the locks. False when a trylock or a non-blockable start failed (nothing changed).
 */
function invalidating(ctx: Ctx, start: number, end: number, op: OpSpec): boolean {
  // a mutant's run may hold invalidations back a moment (model/hooks.ts): before the locks, so that
  // a change held back does not keep mmap_lock (or a queued writer's place) from the faults meanwhile
  ctx.hook?.beforeInvalidation?.();
  if (!lockAll(ctx, op.locks)) return false;
  try {
    let inv: Invalidation | null = null;
    if (op.notify !== false) {
      inv = invalidateRangeStart(ctx, start, end, op.event, op.blockable !== false);
      if (!inv) return false;
    }
    const unmapped = op.change(inv);
    if (inv) invalidateRange(ctx, inv);
    if (inv) invalidateRangeEnd(ctx, inv);
    op.beforeFree?.();
    for (let i = 0; i < unmapped.length; i += 2) freeFrame(ctx, unmapped[i], unmapped[i + 1]);
    op.after?.();
    return true;
  } finally {
    unlockAll(ctx, op.locks);
  }
}

/** zap_page_range: clear the PTEs of [start,end); returns the (pfn, page) pairs it unmapped. */
export function zapPtes(ctx: Ctx, start: number, end: number): Unmapped {
  const out = ctx.range.addr + L.R_HDR; // scratch: this thread's hmm_pfns (room for rangeMax pairs)
  const n = ctx.wasm.zap_ptes(start, end, out);
  ctx.trace(EV.ZAP_PTES, start, end, n);
  const i32 = ctx.env.i32;
  const unmapped: Unmapped = [];
  for (let i = 0; i < n; i++) {
    const pair = out + i * L.ZAP_PAIR_SIZE;
    unmapped.push(i32[(pair + L.ZAP_PFN) >> 2], i32[(pair + L.ZAP_PAGE) >> 2]);
  }
  return unmapped;
}

/** munmap [start,end) then map fresh anonymous memory there again (MAP_FIXED). */
export function munmap(ctx: Ctx, start: number, end: number): void {
  invalidating(ctx, start, end, {
    locks: { mmap: 'write', anonVma: 'write' },
    event: 'unmap',
    change: () => zapPtes(ctx, start, end),
    after: () => {
      const tables = ctx.wasm.free_tables(start, end);
      if (tables) ctx.trace(EV.FREE_TABLES, start, end, tables);
      ctx.wasm.vma_set(start, end, 0);
      ctx.wasm.vma_set(start, end, VMA_RW); // the remap
    },
  });
}

export function mprotect(ctx: Ctx, start: number, end: number, prot: Prot): void {
  invalidating(ctx, start, end, {
    locks: { mmap: 'write' },
    event: 'protection',
    change: () => {
      if (prot !== 'readwrite') {
        ctx.wasm.wrprotect_ptes(start, end, 0);
        ctx.trace(EV.WRPROTECT, start, end, 0);
      }
      ctx.wasm.vma_set(start, end, PROT_FLAGS[prot]);
      return [];
    },
  });
}

/** fork()'s copy_page_range: write-protect the parent's PTEs and mark them COW. */
export function forkCow(ctx: Ctx, start: number, end: number): void {
  invalidating(ctx, start, end, {
    locks: { mmap: 'write' },
    event: 'protection',
    change: () => {
      ctx.wasm.wrprotect_ptes(start, end, 1);
      ctx.trace(EV.WRPROTECT, start, end, 1);
      return [];
    },
  });
}

export function dontneed(ctx: Ctx, start: number, end: number): void {
  invalidating(ctx, start, end, { locks: { mmap: 'read' }, event: 'clear', change: () => zapPtes(ctx, start, end) });
}

/**
 * Migrate [start,end) to new frames (migrate_vma / compaction / NUMA): no mmap_lock. Each frame is
 * locked first (folio_lock, before the rmap lock: model/mm/frame-refs.ts), and only locked frames move.
 */
export function migrate(ctx: Ctx, start: number, end = start + 1): void {
  const locked = lockFrames(ctx, start, end);
  let unlocked = false;
  const unlock = () => {
    if (!unlocked) unlockFrames(ctx, locked);
    unlocked = true;
  };
  try {
    migrateLocked(ctx, start, end, locked, unlock);
  } finally {
    unlock();
  }
}

function migrateLocked(ctx: Ctx, start: number, end: number, locked: number[], unlock: () => void): void {
  invalidating(ctx, start, end, {
    locks: { anonVma: 'read' },
    event: 'migrate',
    beforeFree: unlock,
    change: () => {
      const old: Unmapped = [];
      for (let i = 0; i < locked.length; i += 2) {
        const page = locked[i];
        // the PTE must still map the frame we locked (else it changed meanwhile: leave it)
        if (ctx.wasm.pte_get(page) >>> L.PTE_PFN_SHIFT !== locked[i + 1]) continue;
        const pfn = ctx.wasm.migrate_page(page);
        if (pfn < 0) continue;
        old.push(pfn, page);
        ctx.trace(EV.MIGRATE, page, pfn, ctx.wasm.pte_get(page) >>> L.PTE_PFN_SHIFT);
      }
      return old;
    },
  });
}

/** Swap one page out (kswapd): no mmap_lock. */
export function reclaim(ctx: Ctx, page: number): void {
  invalidating(ctx, page, page + 1, {
    locks: { anonVma: 'read' },
    event: 'clear',
    change: () => {
      const old = ctx.wasm.reclaim_page(page);
      if (old < 0) return [];
      ctx.trace(EV.RECLAIM, page, old);
      return [old, page];
    },
  });
}

/**
 * The OOM reaper on [start,end): mmap_read_trylock, then (by default) a NON-blockable
 * invalidation that a protocol may refuse (-EAGAIN): then nothing is zapped and no end is
 * called. Returns false when it could not (or would not) reap.
 */
export function oomReap(ctx: Ctx, start: number, end: number): boolean {
  const mode = ctx.proto.mmOptions?.oomReaper ?? 'nonblocking-notifier';
  if (mode === 'skip-if-notifiers') {
    // 4d4bbd8526a8: mm_has_notifiers() under mmap_lock, then give up on this mm
    if (ctx.mmapReadTrylock()) ctx.mmapReadUnlock();
    return false;
  }
  return invalidating(ctx, start, end, {
    locks: { mmap: 'read-trylock' },
    event: 'clear',
    blockable: false,
    notify: mode !== 'unmap-without-notifier',
    change: () => zapPtes(ctx, start, end),
  });
}
