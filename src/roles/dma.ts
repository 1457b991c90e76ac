/**
 * dma.ts — the device's DMA engine: reads and writes through the device page table, a burst
 * per operation. Each access is bracketed by the thread's in-flight word (the fence waits on
 * it) and checked by the oracle in Wasm.
 */
import type { RoleContext } from './role.js';

export const DMA_BURST = 32;
/** Words per transfer: long enough that an unfenced zap can free the frame mid-transfer. */
export const DMA_LEN = 64;

export function dmaOp(rc: RoleContext): void {
  const { ctx, rng } = rc;
  const oracle = ctx.opts.oracle ? 1 : 0;
  for (let i = 0; i < DMA_BURST; i++) {
    const page = rng.int(ctx.pages);
    const write = rng.chance(0.3) ? 1 : 0;
    const len = ctx.opts.widen && rng.chance(0.05) ? DMA_LEN * 16 : DMA_LEN;
    const r = ctx.wasm.dma_access(rc.device, page, write, rng.u32() & 0x3fffffff, ctx.tid, oracle, len);
    if (r < 0) ctx.opts.onViolation(r); // else L.DMA_NO_ENTRY, L.DMA_DONE or L.DMA_READONLY: the device carries on
  }
}
