/**
 * The oracle's former blind windows, each stepped by hand on one thread against the built Wasm
 * module: a stale program after invalidate_range_end but before the frame's free, a stale
 * writable or PROT_NONE entry after a protection change, and a program slipping between the
 * callbacks-done scan and the in-invalidation mark. Each case fails on an oracle without the
 * check, and the same steps done right report nothing.
 */
import { describe, it, expect } from 'vitest';
import { harness, L, type Harness } from './mm-harness.js';
import { invalidateRangeStart, invalidateRangeEnd } from '../dist/model/mm/notifier.js';
import { freeFrame } from '../dist/model/mm/fault.js';
import { mprotect } from '../dist/model/mm/ops.js';

const K = {
  dpte: L.V_DEVICE_PTE_DURING_INVALIDATION,
  uaf: L.V_USE_AFTER_FREE,
  wro: L.V_WRITE_TO_READONLY,
  protnone: L.V_ACCESS_TO_PROTNONE,
};
const counter = (h: Harness, base: number, k: number) => Atomics.load(h.s.i32, ((L.BASE + base) >> 2) + k);
const viol = (h: Harness, k: number) => counter(h, L.H_VIOLATIONS, k);
const detections = (h: Harness, k: number) => counter(h, L.H_DETECTIONS, k);
/** T_VIOL of thread 0: [kind, page, pfn, genWant, genHave, device, programmer + 1]. */
const details = (h: Harness) =>
  Array.from(h.s.i32.subarray((h.s.layout.threadsBase + L.T_VIOL) >> 2, ((h.s.layout.threadsBase + L.T_VIOL) >> 2) + 7));

/** Driver thread 0 snapshots [start, end) (walk only, no program yet). */
function snapshot(h: Harness, start: number, end: number, write: boolean) {
  for (let p = start; p < end; p++) h.cpuWrite(p, p);
  h.ctx.range.setup(start, end, write, true, 0, 0);
  h.ctx.mmapReadLock();
  expect(h.ctx.hmmRangeFault(h.ctx.range)).toBe(0);
  h.ctx.mmapReadUnlock();
}

/** madvise(DONTNEED) of [start, end) stepped by hand: start, zap, end; returns the frames to free. */
function dontneedUntilFree(h: Harness, start: number, end: number): [number, number][] {
  const out = h.ctx.ranges[2].addr + L.R_HDR; // another thread's scratch: thread 0's hmm_pfns hold the snapshot
  const inv = invalidateRangeStart(h.ctx, start, end, 'clear')!;
  const n = h.s.wasm.zap_ptes(start, end, out);
  invalidateRangeEnd(h.ctx, inv);
  return Array.from({ length: n }, (_, i) => [h.s.i32[(out >> 2) + 2 * i], h.s.i32[(out >> 2) + 2 * i + 1]] as [number, number]);
}

describe('oracle: no blind windows', () => {
  it('end-to-free: a stale program after invalidate_range_end is a use-after-free at the frame free', async () => {
    const h = await harness('interval-v5.5');
    snapshot(h, 20, 24, false);
    const freed = dontneedUntilFree(h, 20, 24);
    expect(freed.length).toBe(4);
    h.ctx.programDevice(h.ctx.subs[0], h.ctx.range); // stale: gen unchanged and mark clear, so it passes here
    expect(h.violations).toEqual([]);
    for (const [pfn, page] of freed) freeFrame(h.ctx, pfn, page);
    expect(h.violations).toEqual([K.uaf, K.uaf, K.uaf, K.uaf]);
    expect(viol(h, K.uaf)).toBe(4); // four stale entries
    const [kind, page, pfn, , , device, programmer] = details(h);
    expect([kind, page, pfn, device, programmer - 1]).toEqual([K.uaf, freed[3][1], freed[3][0], 0, 0]); // the last free's, T0 programmed it
    // a later invalidation zaps the entries before any DMA touched them: nothing more, nothing less
    const inv = invalidateRangeStart(h.ctx, 20, 24, 'clear')!;
    invalidateRangeEnd(h.ctx, inv);
    expect(viol(h, K.uaf)).toBe(4);
  });

  it('end-to-free done right: the frames are freed with no device entry left', async () => {
    const h = await harness('interval-v5.5');
    expect(h.deviceFault(20, 24, true)).toBe('ok');
    for (const [pfn, page] of dontneedUntilFree(h, 20, 24)) freeFrame(h.ctx, pfn, page);
    expect(h.deviceFault(20, 24, true)).toBe('ok'); // fresh frames
    expect(h.violations).toEqual([]);
  });

  it('mprotect(read): a stale writable program after the change is write-to-readonly', async () => {
    const h = await harness('interval-v5.5');
    snapshot(h, 30, 32, true);
    mprotect(h.ctx, 30, 32, 'read');
    h.ctx.programDevice(h.ctx.subs[0], h.ctx.range);
    expect(h.violations).toEqual([K.wro]);
  });

  it('mprotect(read): a writable entry installed before invalidate_range_end returns is write-to-readonly', async () => {
    const h = await harness('interval-v5.5');
    snapshot(h, 30, 32, true);
    const proto = h.ctx.proto;
    const saved = proto.invalidateEnd;
    // the stale program lands in the end callback's window, unchecked (as from a thread the
    // program-time check raced with): the end-of-protection check must see it
    proto.invalidateEnd = (ctx, inv) => {
      saved.call(proto, ctx, inv);
      h.s.wasm.dev_program(0, h.ctx.range.addr, 0, 0);
    };
    try {
      mprotect(h.ctx, 30, 32, 'read');
    } finally {
      proto.invalidateEnd = saved;
    }
    expect(h.violations).toEqual([K.wro]);
    expect(h.dma(30)).toBe(1); // a read through it is allowed
  });

  it('mprotect(none): a device entry over PROT_NONE is access-to-protnone, at program and at DMA', async () => {
    const h = await harness('interval-v5.5');
    snapshot(h, 40, 44, false);
    mprotect(h.ctx, 40, 44, 'none');
    expect(h.s.wasm.handle_mm_fault(41, 0)).toBe(L.EFAULT); // the CPU faults
    h.ctx.programDevice(h.ctx.subs[0], h.ctx.range);
    expect(h.violations).toEqual([K.protnone]);
    expect(h.dma(41)).toBe(-(K.protnone + 1));
    expect(viol(h, K.protnone)).toBe(4); // four stale entries; the DMA hit one of them again
    expect(detections(h, K.protnone)).toBe(5);
  });

  it('mprotect done right: entries after the change allow no more than the PTE', async () => {
    const h = await harness('interval-v5.5');
    expect(h.deviceFault(30, 34, true)).toBe('ok');
    mprotect(h.ctx, 30, 32, 'read');
    mprotect(h.ctx, 32, 34, 'none');
    expect(h.deviceFault(30, 32, false)).toBe('ok');
    expect(h.deviceFault(32, 34, false)).toBe(L.EFAULT);
    expect(h.dma(30)).toBe(1);
    expect(h.dma(30, 5)).toBe(2); // refused: read-only device entry
    expect(h.dma(33)).toBe(0); // no entry
    expect(h.violations).toEqual([]);
  });

  for (const when of ['after', 'before'] as const)
    it(`check-then-act: a program landing just ${when} the callbacks-done scan is seen`, async () => {
      const h = await harness('interval-v5.5');
      snapshot(h, 50, 54, false);
      const real = h.s.wasm;
      // step the other thread's program into the middle of invalidate_range_start's bookkeeping
      const program = () => h.ctx.programDevice(h.ctx.subs[0], h.ctx.range);
      Object.assign(h.ctx, {
        wasm: {
          ...real,
          check_zapped: (...a: [number, number, number, number, number]) => {
            if (when === 'before') program();
            const r = real.check_zapped(...a);
            if (when === 'after') program();
            return r;
          },
        },
      });
      const inv = invalidateRangeStart(h.ctx, 50, 54, 'clear')!;
      Object.assign(h.ctx, { wasm: real });
      invalidateRangeEnd(h.ctx, inv);
      // the program's own check sees the mark; a program before the scan is also seen by the
      // scan, and the start that returned true with entries still valid is a contract breach
      expect(new Set(h.violations)).toEqual(new Set(when === 'after' ? [K.dpte] : [K.dpte, L.V_CONTRACT]));
      expect(viol(h, K.dpte)).toBe(4); // four stale entries, each counted once however many checks saw it
    });

  it('a stale entry hit again and again is one lost race, every hit a detection', async () => {
    const h = await harness('kvm');
    h.cpuWrite(9, 1);
    expect(h.deviceFault(8, 12, false)).toBe('ok');
    h.s.wasm.frame_free(h.s.wasm.pte_get(9) >>> L.PTE_PFN_SHIFT);
    for (let i = 0; i < 100; i++) expect(h.dma(9)).toBe(-(K.uaf + 1));
    expect(viol(h, K.uaf)).toBe(1);
    expect(detections(h, K.uaf)).toBe(100);
  });
});
