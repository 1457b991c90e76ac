/**
 * wasm.ts — instantiating the hmmsim module on the shared memory, and the binding contract.
 *
 * Each thread instantiates the same compiled module on the same shared WebAssembly.Memory
 * (the module imports `env.memory`). The module has no data segments and allocates nothing,
 * so instantiating it never writes to the shared memory; `setup()` then caches the run's region
 * bases (from the header) in the instance's own globals.
 */
export interface HmmWasm {
  setup(): number;
  heap_base(): number;
  layout_get(i: number): number;
  header_get(i: number): number;
  ev(tid: number, type: number, a: number, b: number, c: number, d: number, e: number, f: number): number;
  progress(tid: number): void;
  set_waiting(tid: number, addr: number, kind: number): void;
  mutex_trylock(addr: number, tid: number): number;
  mutex_lock_contended(addr: number, tid: number): number;
  mutex_unlock(addr: number, tid: number): number;
  rwsem_read_trylock(addr: number, tid: number, slow: number): number;
  rwsem_up_read(addr: number, tid: number): number;
  rwsem_write_trylock(addr: number, tid: number): number;
  rwsem_up_write(addr: number, tid: number): number;
  rwsem_downgrade(addr: number, tid: number): number;
  mm_init(): void;
  frame_alloc(page: number): number;
  frame_free(pfn: number): void;
  frame_gen(pfn: number): number;
  pte_addr(page: number, alloc: number): number;
  pte_get(page: number): number;
  vma_get(page: number): number;
  vma_set(start: number, end: number, flags: number): void;
  handle_mm_fault(page: number, write: number): number;
  cpu_access(page: number, write: number, value: number): number;
  cow_break(page: number): number;
  zap_ptes(start: number, end: number, out: number): number;
  free_tables(start: number, end: number): number;
  wrprotect_ptes(start: number, end: number, cow: number): void;
  migrate_page(page: number): number;
  reclaim_page(page: number): number;
  inval_mark(start: number, end: number, delta: number): void;
  check_zapped(dev: number, start: number, end: number, tid: number, kind: number): number;
  frame_release(pfn: number, page: number, tid: number, oracle: number): number;
  check_prot(dev: number, start: number, end: number, tid: number): number;
  hmm_range_fault(r: number, from: number, tid: number, stop: number, paused: number): number;
  dev_program(dev: number, r: number, tid: number, oracle: number): number;
  dev_zap(dev: number, start: number, end: number): void;
  dev_entry(dev: number, page: number): number;
  dev_entry_gen(dev: number, page: number): number;
  dmaseq_addr(tid: number): number;
  dma_access(dev: number, page: number, write: number, value: number, tid: number, oracle: number, len: number): number;
  dma_begin(dev: number, page: number, write: number, tid: number, oracle: number): number;
  dma_end(dev: number, page: number, write: number, value: number, tid: number, oracle: number, len: number, res: number): number;
  cpu_peek(page: number): number;
  dev_peek(dev: number, page: number): number;
  pages(): number;
  range_addr(tid: number): number;
  // page references and the per-frame lock (model/mm/frame-refs.ts)
  frame_put(pfn: number): void;
  frame_trylock(pfn: number, tid: number): number;
  frame_unlock(pfn: number): void;
  page_lock_frame(page: number, tid: number): number;
  page_pinned_frame(page: number): number;
  range_release(r: number, n: number, unlock: number, put: number): void;
  range_reset(r: number, n: number): void;
  // pfn caches (model/pfn-cache.ts)
  pfncache_resolve(cache: number, page: number, write: number): number;
  pfncache_set(cache: number, tid: number): void;
  pfncache_clear(cache: number): void;
  pfncache_pfn(cache: number): number;
  pfncache_use(cache: number, code: number, checkAddr: number, expect: number, tid: number, oracle: number): number;
}

/** Instantiate on `memory` (shared). Does not touch the memory; call `setup()` once the header is written. */
export function instantiate(module: WebAssembly.Module, memory: WebAssembly.Memory): HmmWasm {
  const inst = new WebAssembly.Instance(module, { env: { memory } });
  return inst.exports as unknown as HmmWasm;
}

/** A shared memory of `pages` 64 KiB pages (initial = maximum: never grown, views never go stale). */
export function createSharedMemory(pages: number): WebAssembly.Memory {
  return new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
}
