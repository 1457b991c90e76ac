// The hmmsim Wasm module: one instance per thread, all on one shared memory.
export { setup, heap_base } from './base';
export { layout_get, header_get } from './layout.gen';
export { ev, progress } from './events';
export {
  set_waiting, mutex_trylock, mutex_lock_contended, mutex_unlock,
  rwsem_read_trylock, rwsem_up_read, rwsem_write_trylock, rwsem_up_write, rwsem_downgrade,
} from './sync';
export {
  mm_init, frame_alloc, frame_free, frame_gen, pte_addr, pte_get, vma_get, vma_set,
  handle_mm_fault, cpu_access, cow_break, zap_ptes, free_tables, wrprotect_ptes, migrate_page,
  reclaim_page, inval_mark, check_zapped, frame_release, check_prot, hmm_range_fault, dev_program, dev_zap, dev_entry,
  dev_entry_gen, dmaseq_addr, dma_access, dma_begin, dma_end, cpu_peek, dev_peek, pages, range_addr,
  frame_put, frame_trylock, frame_unlock, page_lock_frame, page_pinned_frame, range_release, range_reset,
} from './mm';
export { pfncache_resolve, pfncache_set, pfncache_clear, pfncache_pfn, pfncache_use } from './pfncache';
