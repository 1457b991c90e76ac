/**
 * The model's pfn caches and page references, stepped by hand (single-threaded, so each case is
 * exact): a use through a pfn cache whose frame was freed, or whose PTE no longer maps it once
 * the invalidation is over, is a use-after-free naming the cache; inside the invalidation (the
 * ->invalidate_range window) it is not. A frame referenced by a walk is not reused until its last
 * put, and a leaked frame lock is named, with its holder, by the watchdog.
 */
import { describe, it, expect } from 'vitest';
import { harness, L } from './mm-harness.js';
import { invalidateRangeStart, invalidateRange, invalidateRangeEnd } from '../dist/model/mm/notifier.js';
import { freeFrame } from '../dist/model/mm/fault.js';
import { munmap, migrate } from '../dist/model/mm/ops.js';
import { livenessWitness } from '../dist/oracle/watchdog.js';
import { addr } from '../dist/memory/layout.js';
import { WAIT } from '../dist/sync/env.js';

const UAF = L.V_USE_AFTER_FREE;
const APIC = 0x21; // kvm-apic-page-reload's APIC_ACCESS_PAGE

async function cached() {
  const h = await harness('kvm-apic-page-reload');
  h.cpuWrite(APIC, 7);
  const cache = h.ctx.range.state.apic_access_page;
  h.ctx.mmapReadLock();
  const pfn = cache.resolve(APIC);
  h.ctx.mmapReadUnlock();
  cache.set();
  expect(pfn).toBe(h.s.wasm.pte_get(APIC) >>> L.PTE_PFN_SHIFT);
  expect(cache.use()).toBe('done');
  expect(h.violations).toEqual([]);
  return { h, cache, pfn };
}

describe('pfn cache: the oracle checks every use', () => {
  it('a use after the cached frame was freed is a use-after-free naming the cache', async () => {
    const { h, cache } = await cached();
    migrate(h.ctx, APIC, APIC + 1); // moves the page and frees the old frame; nobody reloads the cache
    expect(cache.use()).toBe('done');
    expect(h.violations).toEqual([UAF]);
    const vr = addr.thread(h.s.layout, 0) + L.T_VIOL;
    expect(h.s.i32[(vr + L.VR_DEVICE) >> 2]).toBe(L.VR_DEVICE_PFNCACHE - cache.code); // the witness names the cache
    expect(h.s.i32[(vr + L.VR_PROGRAMMER) >> 2]).toBe(1); // set by T0
  });

  it('a use once the invalidation is over, while the PTE maps another frame, is a use-after-free (the frame is not freed yet)', async () => {
    const { h, cache, pfn } = await cached();
    const inv = invalidateRangeStart(h.ctx, APIC, APIC + 1, 'migrate')!;
    const old = h.s.wasm.migrate_page(APIC);
    expect(old).toBe(pfn);
    expect(cache.use()).toBe('done'); // between the PTE change and ->invalidate_range: a TLB may still hold it
    invalidateRange(h.ctx, inv);
    expect(h.violations).toEqual([]);
    invalidateRangeEnd(h.ctx, inv);
    expect(cache.use()).toBe('done'); // end has run, the frame is still allocated, the PTE maps the new one
    expect(h.violations).toEqual([UAF]);
    freeFrame(h.ctx, old, APIC);
  });

  it('a use whose check word moved is aborted before it touches the frame', async () => {
    const { h, cache } = await cached();
    const req = h.ctx.range.state.apic_reload_req;
    req.set(1);
    migrate(h.ctx, APIC, APIC + 1);
    expect(cache.use({ word: req, expect: 0 })).toBe('aborted');
    expect(h.violations).toEqual([]);
  });
});

describe('page references and the frame lock', () => {
  it('a frame a walk referenced is released by munmap but not reused until the last put', async () => {
    const h = await harness('nouveau-exclusive-folio-leak-fix');
    h.cpuWrite(70, 1);
    const r = h.ctx.ranges[2]; // not T0's own: T0 also plays the invalidator, whose zap uses its range as scratch
    r.setup(70, 71, true, true, 1, 0);
    h.ctx.mmapReadLock();
    expect(h.ctx.hmmRangeFault(r, undefined, { get: true, lock: true })).toBe(0);
    h.ctx.mmapReadUnlock();
    const pfn = r.pfn(70);
    const frame = addr.frame(h.s.layout, pfn) >> 2;
    expect(h.s.i32[frame + (L.F_REFCOUNT >> 2)]).toBe(2);
    expect(h.s.wasm.page_lock_frame(70, 1)).toBe(-(pfn + 2)); // locked by the walk: migration would wait
    const gen = h.s.wasm.frame_gen(pfn);
    munmap(h.ctx, 64, 72);
    expect(h.s.wasm.frame_gen(pfn)).toBe(gen + 1); // dead to the oracle at once
    expect(h.s.i32[frame + (L.F_STATE >> 2)]).toBe(L.FS_PINNED); // but not free: the walk's reference holds it
    for (let p = 100; p < 140; p++) h.cpuWrite(p, p); // allocations never get it back
    for (let p = 100; p < 140; p++) expect(h.s.wasm.pte_get(p) >>> L.PTE_PFN_SHIFT).not.toBe(pfn);
    h.ctx.releasePages(r); // folio_unlock + folio_put: the last reference frees it
    expect(h.s.i32[frame + (L.F_STATE >> 2)]).toBe(L.FS_FREE);
    expect(h.s.i32[frame + (L.F_LOCK >> 2)]).toBe(0);
  });

  it('a failed walk gives back what it took', async () => {
    const h = await harness('nouveau-exclusive-folio-leak-fix');
    for (let p = 80; p < 84; p++) h.cpuWrite(p, 1);
    h.s.wasm.vma_set(83, 84, L.VM_MAPPED); // PROT_NONE: the walk fails there
    const r = h.ctx.range;
    r.setup(80, 84, false, true, 1, 0);
    h.ctx.mmapReadLock();
    expect(h.ctx.hmmRangeFault(r, undefined, { get: true, lock: true })).toBe(L.EFAULT);
    h.ctx.mmapReadUnlock();
    for (let p = 80; p < 83; p++) {
      const frame = addr.frame(h.s.layout, h.s.wasm.pte_get(p) >>> L.PTE_PFN_SHIFT) >> 2;
      expect(h.s.i32[frame + (L.F_REFCOUNT >> 2)]).toBe(1);
      expect(h.s.i32[frame + (L.F_LOCK >> 2)]).toBe(0);
    }
  });

  it('the watchdog names a leaked frame lock and its holder', async () => {
    const h = await harness('nouveau-exclusive-folio-leak');
    h.cpuWrite(90, 1);
    const r = h.ctx.range;
    r.setup(90, 91, true, true, 1, 0);
    h.ctx.mmapReadLock();
    expect(h.ctx.hmmRangeFault(r, undefined, { get: true, lock: true })).toBe(0); // T0 takes the lock and leaks it
    h.ctx.mmapReadUnlock();
    const pfn = r.pfn(90);
    // T1 (migration) sleeps on it
    h.s.wasm.set_waiting(1, addr.frame(h.s.layout, pfn) + L.F_LOCK, WAIT.frameLock);
    const w = livenessWitness(h.s.i32, h.s.layout, h.s.options.proto, h.s.names, [1], 2000, 2000, 1);
    expect(w.kind).toBe('stall');
    expect(w.text).toContain(`T1 dma waiting for the folio lock of pfn ${pfn} (page 0x5a); held by: T0 driver`);
    expect(w.text).toContain(`waiting on the folio lock of pfn ${pfn}`);
  });
});
