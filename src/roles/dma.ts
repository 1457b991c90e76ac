/**
 * dma.ts — the device's DMA engine: reads and writes through the device page table, a burst
 * per operation. Each access is bracketed by the thread's in-flight word (the fence waits on
 * it) and checked by the oracle in Wasm.
 */
import { L } from '../memory/layout.js';
import type { RoleContext } from './role.js';

export const DMA_BURST = 32;
/** Words per transfer: long enough that an unfenced zap can free the frame mid-transfer. */
export const DMA_LEN = 64;

export function dmaOp(rc: RoleContext): void {
  const { ctx, rng } = rc;
  const oracle = ctx.opts.oracle ? 1 : 0;
  // a hook that holds accesses in flight (a drop-fence mutant's run, mutate/hook.ts)
  const inFlight = ctx.sched === undefined && ctx.opts.widen ? ctx.hook?.inFlight : undefined;
  const record = ctx.wasm.dmaseq_addr(ctx.tid) >> 2; // this thread's in-flight record: the frame and gen dma_begin saw
  for (let i = 0; i < DMA_BURST; i++) {
    const page = rng.int(ctx.pages);
    const write = rng.chance(0.3) ? 1 : 0;
    const len = ctx.opts.widen && rng.chance(0.05) ? DMA_LEN * 16 : DMA_LEN;
    const value = rng.u32() & 0x3fffffff;
    if (inFlight !== undefined) {
      const begun = ctx.wasm.dma_begin(rc.device, page, write, ctx.tid, oracle);
      if (begun < 0) ctx.opts.onViolation(begun);
      const pfn = ctx.env.i32[record + (L.DS_PFN >> 2)];
      if (pfn >= 0) {
        const gen = ctx.env.i32[record + (L.DS_GEN >> 2)];
        const entry = ctx.wasm.dev_entry(rc.device, page);
        inFlight(
          () => ctx.wasm.dev_entry(rc.device, page) !== entry,
          () => ctx.wasm.frame_gen(pfn) !== gen,
        );
      }
      const done = ctx.wasm.dma_end(rc.device, page, write, value, ctx.tid, oracle, len, begun);
      if (done < 0 && begun >= 0) ctx.opts.onViolation(done);
      continue;
    }
    if (ctx.sched !== undefined) {
      // controlled mode: the access's two halves, a scheduling point after each
      const begun = ctx.wasm.dma_begin(rc.device, page, write, ctx.tid, oracle);
      if (begun < 0) ctx.opts.onViolation(begun);
      ctx.sched.point(0);
      const done = ctx.wasm.dma_end(rc.device, page, write, value, ctx.tid, oracle, len, begun);
      if (done < 0 && begun >= 0) ctx.opts.onViolation(done);
      ctx.sched.point(0);
      continue;
    }
    const r = ctx.wasm.dma_access(rc.device, page, write, value, ctx.tid, oracle, len);
    if (r < 0) ctx.opts.onViolation(r); // else L.DMA_NO_ENTRY, L.DMA_DONE or L.DMA_READONLY: the device carries on
  }
}
