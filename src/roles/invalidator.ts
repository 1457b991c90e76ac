/**
 * invalidator.ts — the CPU-side changes, mixed as configured (--events).
 *
 * munmap, mprotect, fork and MADV_DONTNEED are system calls of the process's own threads: with
 * 'exit' in the mix each one holds the mm (a thread's mm_users reference, mmgetNotZero) while it
 * runs, and none starts once the process has exited (exit_mmap waits for the reference of one
 * already under way, model/mm/exit.ts). Reclaim, migration and the OOM reaper are not the
 * process's: they go on while it exits, as try_to_unmap and __oom_reap_task_mm do.
 */
import { L } from '../memory/layout.js';
import { mmgetNotZero, mmput, waitMmAlive } from '../model/mm/lifetime.js';
import { MMAP_WRITE_EVENTS, munmap, mprotect, forkCow, dontneed, migrate, reclaim, oomReap, type Prot } from '../model/mm/ops.js';
import type { EventName } from '../api/types.js';
import type { RoleContext } from './role.js';

const PROTS: Prot[] = ['read', 'readwrite', 'read', 'readwrite', 'none'];
const OOM_CHUNK = 16;
const OOM_CHUNKS = 4;

/** The changes a thread of the process makes by a system call (the others are the kernel's own). */
const SYSCALLS: ReadonlySet<EventName> = new Set(['munmap', 'mprotect', 'cow', 'dontneed']);

export function invalidatorOp(rc: RoleContext): void {
  const { ctx, rng } = rc;
  const mix = (rc.invEvents ??= rc.events.filter((e) => e !== 'interval' && e !== 'exit'));
  if (mix.length === 0) return; // the mix is only interval removal and exit: played by the driver and CPU roles
  // a mutant's run may aim the next change at an interval (mutate/hook.ts): then one that can
  // begin while the thread waiting for it holds mmap_lock for read
  const aim = ctx.hook?.aim?.() ?? null;
  const aimed = aim ? (rc.unlockedEvents ??= mix.filter((e) => !MMAP_WRITE_EVENTS.has(e))) : mix;
  const ev = rng.pick(aimed.length > 0 ? aimed : mix);
  if (!SYSCALLS.has(ev) || !rc.events.includes('exit')) {
    change(rc, ev, aim);
    return;
  }
  if (!mmgetNotZero(ctx)) {
    // the process has exited: no thread of it is left to call; the kernel's own changes go on
    const kernel = (rc.kernelEvents ??= mix.filter((e) => !SYSCALLS.has(e)));
    if (kernel.length > 0) change(rc, rng.pick(kernel), aim);
    else waitMmAlive(ctx);
    return;
  }
  try {
    change(rc, ev, aim);
  } finally {
    mmput(ctx);
  }
}

/** One change `ev`; inside `aim`'s interval when a mutant's run aims there (mutate/hook.ts). */
function change(rc: RoleContext, ev: EventName, aim: { start: number; end: number } | null): void {
  const { ctx, rng, stats } = rc;
  const pages = ctx.pages;
  // a short range (1-16 pages), or (munmap) sometimes a whole leaf table so page tables get freed;
  // inside an interval a mutant's run aims at, if any (mutate/hook.ts)
  const len = 1 + rng.int(16);
  const start = aim ? Math.min(aim.start + rng.int(aim.end - aim.start), pages - len) : rng.int(pages - len + 1);
  const end = start + len;
  switch (ev) {
    case 'munmap':
      if (rng.chance(0.5)) {
        const t = rng.int(pages / L.PTRS_PER_TABLE) * L.PTRS_PER_TABLE;
        munmap(ctx, t, t + L.PTRS_PER_TABLE);
      } else munmap(ctx, start, end);
      break;
    case 'mprotect':
      mprotect(ctx, start, end, rng.pick(PROTS));
      break;
    case 'cow':
      forkCow(ctx, start, end);
      break;
    case 'dontneed':
      dontneed(ctx, start, end);
      break;
    case 'migrate':
      migrate(ctx, start, end);
      break;
    case 'reclaim':
      // shrink_page_list: a batch of pages, each unmapped through its own rmap walk
      for (let p = start; p < end; p++) reclaim(ctx, p);
      break;
    case 'oom': {
      // the reaper walks the victim's memory in chunks, each a non-blockable attempt; a chunk
      // begins anywhere, so that it may span two intervals, as __oom_reap_task_mm's range (a
      // whole VMA) does: a start can then fail at a later interval, after an earlier one's
      // callback has run (the -EAGAIN path's undo)
      const base = rng.int(pages);
      for (let c = 0; c < OOM_CHUNKS; c++) {
        const s = (base + c * OOM_CHUNK) % pages;
        if (!oomReap(ctx, s, Math.min(s + OOM_CHUNK, pages))) stats.eagain++;
      }
      break;
    }
  }
}
