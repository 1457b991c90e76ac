/** invalidator.ts — the CPU-side changes, mixed as configured (--events). */
import { L } from '../memory/layout.js';
import { munmap, mprotect, forkCow, dontneed, migrate, reclaim, oomReap, type Prot } from '../model/mm/ops.js';
import type { RoleContext } from './role.js';

const PROTS: Prot[] = ['read', 'readwrite', 'read', 'readwrite', 'none'];
const OOM_CHUNK = 16;
const OOM_CHUNKS = 4;

export function invalidatorOp(rc: RoleContext): void {
  const { ctx, rng, stats } = rc;
  const mix = (rc.invEvents ??= rc.events.filter((e) => e !== 'interval' && e !== 'exit'));
  if (mix.length === 0) return; // the mix is only interval removal and exit: played by the driver and CPU roles
  const ev = rng.pick(mix);
  const pages = ctx.pages;
  // a short range (1-16 pages), or (munmap) sometimes a whole leaf table so page tables get freed
  const len = 1 + rng.int(16);
  const start = rng.int(pages - len + 1);
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
      // the reaper walks the victim's memory in chunks, each a non-blockable attempt
      const base = rng.int(pages / OOM_CHUNK) * OOM_CHUNK;
      for (let c = 0; c < OOM_CHUNKS; c++) {
        const s = (base + c * OOM_CHUNK) % pages;
        if (!oomReap(ctx, s, s + OOM_CHUNK)) stats.eagain++;
      }
      break;
    }
  }
}
