/**
 * The oracle is tested too: each violation kind fires when the state is deliberately broken
 * (single-threaded, so each case is exact), and never on the same steps done right.
 */
import { describe, it, expect } from 'vitest';
import { harness, L } from './mm-harness.js';
import { invalidateRangeStart, invalidateRangeEnd } from '../dist/model/mm/notifier.js';
import { STOP_WORD, VIOLATIONS_WORD } from '../dist/memory/layout.js';
import { callProto } from '../dist/protocols/call.js';
import { mmu_interval_read_begin } from '../dist/protocols/kernel/interval-v5.5.js';
import { Stopped } from '../dist/sync/env.js';

const KIND = {
  dpte: L.V_DEVICE_PTE_DURING_INVALIDATION,
  uaf: L.V_USE_AFTER_FREE,
  wro: L.V_WRITE_TO_READONLY,
  pt: L.V_PAGE_TABLE_USE_AFTER_FREE,
};
const viol = (h: { s: { i32: Int32Array } }, k: number) => Atomics.load(h.s.i32, VIOLATIONS_WORD + k);

describe('oracle: every kind can fire', () => {
  it('use-after-free at program time: the frame was freed since the walk', async () => {
    const h = await harness('interval-v5.5');
    h.cpuWrite(5, 1);
    const r = h.ctx.range;
    r.setup(0, 8, false, true, 0, 0);
    h.ctx.mmapReadLock();
    expect(h.ctx.hmmRangeFault(r)).toBe(0);
    h.ctx.mmapReadUnlock();
    // the page is freed behind the protocol's back (no invalidation)
    const pfn = h.s.wasm.pte_get(5) >>> L.PTE_PFN_SHIFT;
    h.s.wasm.frame_free(pfn);
    h.ctx.programDevice(h.ctx.subs[0], r);
    expect(h.violations).toEqual([KIND.uaf]);
    expect(viol(h, KIND.uaf)).toBe(1);
  });

  it('use-after-free at DMA time: a device entry outlives its frame', async () => {
    const h = await harness('kvm');
    h.cpuWrite(9, 1);
    expect(h.deviceFault(8, 12, false)).toBe('ok');
    expect(h.dma(9)).toBe(1); // fine so far
    h.s.wasm.frame_free(h.s.wasm.pte_get(9) >>> L.PTE_PFN_SHIFT);
    expect(h.dma(9)).toBe(-(KIND.uaf + 1));
  });

  it('device-pte-during-invalidation: programmed between callbacks-done and end', async () => {
    const h = await harness('interval-v5.5');
    const r = h.ctx.range;
    r.setup(20, 24, false, true, 0, 0);
    h.ctx.mmapReadLock();
    expect(h.ctx.hmmRangeFault(r)).toBe(0);
    h.ctx.mmapReadUnlock();
    const inv = invalidateRangeStart(h.ctx, 20, 24, 'clear')!;
    h.ctx.programDevice(h.ctx.subs[0], r); // no retry check: maps pages under invalidation
    expect(h.violations).toEqual([KIND.dpte]);
    expect(h.dma(21)).toBe(-(KIND.dpte + 1));
    invalidateRangeEnd(h.ctx, inv);
  });

  it('contract: callbacks returned true with the device still mapping the range', async () => {
    const h = await harness('interval-v5.5');
    expect(h.deviceFault(40, 44, false)).toBe('ok');
    const proto = h.ctx.proto;
    const saved = proto.invalidateStart;
    proto.invalidateStart = () => true; // a callback that zaps nothing
    try {
      const inv = invalidateRangeStart(h.ctx, 40, 44, 'unmap')!;
      invalidateRangeEnd(h.ctx, inv);
    } finally {
      proto.invalidateStart = saved;
    }
    expect(h.violations).toEqual([L.V_CONTRACT]);
  });

  it('contract: populate waits for an invalidation with none in progress', async () => {
    // the state interval-v5.5's invalidate_range_start leaves when, after its trylock of an
    // interval's user_lock failed (-EAGAIN), its mn_itree_inv_end does not make the sequence even
    // again: the mm's sequence odd and equal to the interval's, and no invalidation in progress
    const h = await harness('interval-v5.5');
    const sub = h.ctx.subs[0];
    const readBegin = () => callProto(h.ctx, 'populate', () => mmu_interval_read_begin(h.ctx, sub));
    h.ctx.mm.invalidate_seq.set(5);
    sub.state.invalidate_seq.set(5);
    // an invalidation in progress: read_begin may wait for it (the stop flag ends the wait at once)
    const inv = invalidateRangeStart(h.ctx, 200, 201, 'clear')!;
    Atomics.store(h.s.i32, STOP_WORD, 1);
    expect(readBegin).toThrow(Stopped);
    expect(h.violations).toEqual([]);
    invalidateRangeEnd(h.ctx, inv);
    h.ctx.mm.invalidate_seq.set(5); // as the mutant leaves it: odd after the end
    // none in progress: only a later invalidation could end this wait
    expect(readBegin).toThrow(Stopped);
    expect(h.violations).toEqual([L.V_CONTRACT]);
    Atomics.store(h.s.i32, STOP_WORD, 0);
    // done right (the sequence even again), read_begin does not wait, and nothing more is reported
    h.ctx.mm.invalidate_seq.set(6);
    expect(readBegin()).toBe(5);
    expect(h.violations).toEqual([L.V_CONTRACT]);
  });

  it('write-to-readonly: the device writes while the CPU PTE is read-only', async () => {
    const h = await harness('kvm');
    expect(h.deviceFault(60, 62, true)).toBe('ok');
    expect(h.dma(60, 7)).toBe(1);
    h.s.wasm.wrprotect_ptes(60, 62, 0); // write-protect without an invalidation
    expect(h.dma(60, 8)).toBe(-(KIND.wro + 1));
    expect(h.dma(61)).toBe(1); // reads are fine
  });

  it('page-table-use-after-free: a table freed while a walk is using it', async () => {
    const h = await harness('interval-v5.5');
    for (let p = 64; p < 72; p++) h.cpuWrite(p, p);
    const r = h.ctx.range;
    r.setup(64, 72, false, false, 1, 0);
    const w = h.s.wasm;
    // walk half of it (as if preempted at page 68), then munmap frees the table under it
    expect(w.hmm_range_fault(r.addr, 64, 0, 68, 0)).toBe(L.WALK_PAUSED);
    w.zap_ptes(64, 128, r.addr + L.R_HDR);
    w.free_tables(64, 128);
    expect(w.hmm_range_fault(r.addr, 68, 0, -1, 1)).toBe(L.PT_UAF);
    expect(viol(h, KIND.pt)).toBe(1);
    // the same walk without the free is clean
    const h2 = await harness('interval-v5.5');
    for (let p = 64; p < 72; p++) h2.cpuWrite(p, p);
    h2.ctx.range.setup(64, 72, false, false, 1, 0);
    expect(h2.s.wasm.hmm_range_fault(h2.ctx.range.addr, 64, 0, 68, 0)).toBe(L.WALK_PAUSED);
    expect(h2.s.wasm.hmm_range_fault(h2.ctx.range.addr, 68, 0, -1, 1)).toBe(0);
  });

  it('the same steps done right report nothing', async () => {
    const h = await harness('interval-v5.5');
    for (let p = 0; p < 32; p++) h.cpuWrite(p, p);
    expect(h.deviceFault(0, 16, true)).toBe('ok');
    for (let p = 0; p < 16; p++) expect(h.dma(p, p)).toBe(1);
    const inv = invalidateRangeStart(h.ctx, 0, 16, 'clear')!;
    h.s.wasm.zap_ptes(0, 16, h.ctx.range.addr + L.R_HDR);
    invalidateRangeEnd(h.ctx, inv);
    for (let p = 0; p < 16; p++) expect(h.dma(p)).toBe(0);
    expect(h.violations).toEqual([]);
    for (const k of Object.values(KIND)) expect(viol(h, k)).toBe(0);
  });
});
