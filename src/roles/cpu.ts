/** cpu.ts — the CPU faulter: reads and writes at random pages, faulting them in (COW breaks included). */
import { L } from '../memory/layout.js';
import { handleMmFault } from '../model/mm/fault.js';
import type { RoleContext } from './role.js';
import { exitMmap } from '../model/mm/exit.js';

/** With 'exit' in the mix, the process exits (exit_mmap, and a new mm) about once in this many CPU operations (64 in controlled mode). */
export const EXIT_EVERY = 1024;

export function cpuOp(rc: RoleContext): void {
  const { ctx, rng, stats } = rc;
  if (rc.events.includes('exit') && rng.int(ctx.sched ? 64 : EXIT_EVERY) === 0) {
    exitMmap(ctx);
    return;
  }
  const page = rng.int(ctx.pages);
  const write = rng.chance(0.5);
  ctx.mmapReadLock();
  try {
    for (let tries = 0; tries < 16; tries++) {
      const r = handleMmFault(ctx, page, write);
      if (r === 0) {
        if (ctx.wasm.cpu_access(page, write ? 1 : 0, rng.u32() & 0x3fffffff) !== L.EAGAIN) return;
      } else if (r !== L.EAGAIN) {
        stats.errors++; // -EFAULT (PROT_NONE / read-only VMA), -ENOMEM
        return;
      }
      stats.retries++;
    }
  } finally {
    ctx.mmapReadUnlock();
  }
}
