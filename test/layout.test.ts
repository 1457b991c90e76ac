import { describe, it, expect } from 'vitest';
import { L, computeLayout, LayoutError, addr, MAX_WASM_PAGES } from '../src/memory/layout.js';
import { HEADER_FIELDS } from '../src/memory/constants.js';
import { headerValues } from '../src/memory/header.js';
import { testMemory } from './helpers.js';

describe('layout: one source of truth for TS and AssemblyScript', () => {
  it('the built Wasm was compiled with exactly the constants of src/memory/constants.ts', () => {
    const { wasm } = testMemory();
    const names = Object.keys(L) as (keyof typeof L)[];
    const fromWasm = Object.fromEntries(names.map((n, i) => [n, wasm.layout_get(i)]));
    const fromTs = Object.fromEntries(names.map((n) => [n, L[n] | 0]));
    expect(fromWasm).toEqual(fromTs);
    expect(wasm.layout_get(names.length)).toBe(-1);
  });

  it('Wasm reads back every header word TS wrote (HEADER_FIELDS), and the words fit before the hot lines', () => {
    const { wasm, layout } = testMemory({ pages: 512, devices: 2, subsPerDevice: 8, threads: 6 });
    const fromTs = headerValues(layout, 3);
    const fromWasm = Object.fromEntries(HEADER_FIELDS.map((f, i) => [f, wasm.header_get(i)]));
    expect(fromWasm).toEqual(fromTs);
    expect(wasm.header_get(HEADER_FIELDS.length)).toBe(-1);
    expect(new Set(Object.values(fromTs)).size).toBeGreaterThan(HEADER_FIELDS.length / 2); // not all one value
    const offsets = HEADER_FIELDS.map((f) => L[`H_${f}`]);
    expect(offsets[0]).toBe(L.H_VERSION + 4);
    offsets.forEach((o, i) => i > 0 && expect(o).toBe(offsets[i - 1] + 4));
    expect(offsets[offsets.length - 1] + 4).toBeLessThanOrEqual(L.H_TICKET);
  });

  it('Wasm static data ends below the layout base (instantiating never writes our regions)', () => {
    const { wasm } = testMemory();
    expect(wasm.heap_base()).toBeLessThanOrEqual(L.BASE);
  });

  it('TS and Wasm address the same frame, PTE, VMA and device words', () => {
    const { wasm, i32, layout } = testMemory();
    wasm.mm_init();
    // a frame Wasm allocates is seen by TS at the TS-computed address
    const pfn = wasm.frame_alloc(7);
    expect(pfn).toBeGreaterThanOrEqual(0);
    const f = addr.frame(layout, pfn);
    expect(i32[(f + L.F_OWNER) >> 2]).toBe(8);
    expect(i32[(f + L.F_STATE) >> 2]).toBe(L.FS_ANON);
    i32[(f + L.F_GEN) >> 2] = 41;
    expect(wasm.frame_gen(pfn)).toBe(41);
    // VMA words
    wasm.vma_set(0, 64, L.VM_MAPPED | L.VM_READ);
    expect(i32[addr.vma(layout, 63) >> 2]).toBe(L.VM_MAPPED | L.VM_READ);
    // a fault allocates a table; the directory word TS reads names a page-table frame
    expect(wasm.handle_mm_fault(5, 0)).toBe(0);
    const d = i32[addr.dir(layout, 0) >> 2];
    expect(d).toBeGreaterThan(layout.firstTableFrame);
    expect(i32[(addr.frame(layout, d - 1) + L.F_STATE) >> 2]).toBe(L.FS_PAGETABLE);
    // device entry: TS writes an i64 where Wasm reads it
    const big = new BigInt64Array(i32.buffer);
    big[addr.devpte(layout, 0, 9) >> 3] = (5n << 32n) | BigInt(L.DEV_VALID | (123 << L.DEV_PFN_SHIFT));
    expect(wasm.dev_entry(0, 9)).toBe(L.DEV_VALID | (123 << L.DEV_PFN_SHIFT));
    expect(wasm.dev_entry_gen(0, 9)).toBe(5);
    expect(wasm.range_addr(3)).toBe(addr.range(layout, 3));
    expect(wasm.dmaseq_addr(2)).toBe(addr.dmaseq(layout, 2));
  });

  it('hot words sit on their own 64-byte lines', () => {
    const hot = [L.H_TICKET, L.H_STOP, L.H_GO, L.H_FREE_HEAD, L.H_VIOLATIONS, L.H_MMAP_LOCK, L.H_START_EPOCH, L.H_ANON_VMA_LOCK];
    const lines = hot.map((o) => Math.floor((L.BASE + o) / 64));
    expect(new Set(lines).size).toBe(hot.length);
    const layout = computeLayout({
      pages: 1024,
      devices: 2,
      subsPerDevice: 4,
      threads: 6,
      rangeMax: 64,
      ringEntries: 256,
      protoMmLines: 4,
      protoSubLines: 2,
      protoRangeLines: 1,
    });
    for (const b of [layout.framesBase, layout.threadsBase, layout.dmaseqBase, layout.protoMmBase, layout.protoSubBase, layout.rangesBase])
      expect(b % 64).toBe(0);
    expect(layout.rangeSize % 64).toBe(0);
    expect(L.THREAD_SIZE % 64).toBe(0);
    expect(L.T_PROGRESS).toBe(0);
    expect(L.T_ROLE % 64).toBe(0);
  });

  it('refuses a config that does not fit the memory maximum, with a one-line reason', () => {
    const base = {
      devices: 1,
      subsPerDevice: 1,
      threads: 4,
      rangeMax: 64,
      ringEntries: 256,
      protoMmLines: 1,
      protoSubLines: 1,
      protoRangeLines: 1,
    };
    expect(() => computeLayout({ ...base, pages: 1 << 24 })).toThrow(LayoutError);
    expect(() => computeLayout({ ...base, pages: 1 << 24 })).toThrow(/maximum is 1024.0 MiB: lower pages/);
    expect(() => computeLayout({ ...base, pages: 100 })).toThrow(/multiple of 64/);
    expect(() => computeLayout({ ...base, pages: 4096, maxBytes: 1 << 18 })).toThrow(/maximum is 0.3 MiB/);
    expect(computeLayout({ ...base, pages: 1 << 20 }).wasmPages).toBeLessThanOrEqual(MAX_WASM_PAGES);
  });
});
