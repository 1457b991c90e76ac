// base.ts — per-instance cache of the run's region bases, read once from the shared header.
//
// Globals are per instance (each worker has its own), so caching here is safe; nothing mutable
// and shared lives in globals or static data (docs/ARCHITECTURE.md, Toolchain facts: "Active data
// segments re-initialised on each instantiation").
import * as L from './layout.gen';

import { header_read, RING_ENTRIES, RANGE_MAX } from './layout.gen';

// the header's config words (one global each, generated from HEADER_FIELDS in src/memory/constants.ts)
export {
  PAGES, FRAMES, THREADS, RANGE_MAX, FIRST_TABLE_FRAME, FRAMES_BASE, TABLESTORE_BASE, DIR_BASE, VMA_BASE, SWAP_BASE,
  INVAL_BASE, DEVPT_BASE, RANGES_BASE, THREADS_BASE, RINGS_BASE, DMASEQ_BASE, FLAGS,
} from './layout.gen';
import { FRAMES_BASE, THREADS_BASE, RANGES_BASE, DEVPT_BASE, PAGES } from './layout.gen';

// derived from them
export let RING_MASK: u32 = 0;
export let RANGE_SIZE: u32 = 0;

@inline export function hdr(off: i32): u32 {
  return <u32>(L.BASE + off);
}

/** Cache the header's bases in this instance. Call once after instantiation, after the header is written. */
export function setup(): i32 {
  if (load<i32>(hdr(L.H_MAGIC)) != L.MAGIC) return -1;
  if (load<i32>(hdr(L.H_VERSION)) != L.LAYOUT_VERSION) return -2;
  header_read();
  RING_MASK = RING_ENTRIES - 1;
  RANGE_SIZE = ((<u32>L.R_HDR + RANGE_MAX * <u32>L.HMM_PFN_SIZE + <u32>L.LINE - 1) / <u32>L.LINE) * <u32>L.LINE;
  return 0;
}

@inline export function frameAddr(pfn: u32): u32 {
  return FRAMES_BASE + pfn * <u32>L.FRAME_SIZE;
}
@inline export function threadAddr(tid: u32): u32 {
  return THREADS_BASE + tid * <u32>L.THREAD_SIZE;
}
@inline export function rangeAddr(tid: u32): u32 {
  return RANGES_BASE + tid * RANGE_SIZE;
}
@inline export function devpteAddr(dev: u32, page: u32): u32 {
  return DEVPT_BASE + (dev * PAGES + page) * <u32>L.DEVPTE_SIZE;
}

/** Where the layout's data region begins; the build checks static data ends below it. */
export function heap_base(): u32 {
  return <u32>__heap_base;
}
