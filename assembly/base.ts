// base.ts — per-instance cache of the run's region bases, read once from the shared header.
//
// Globals are per instance (each worker has its own), so caching here is safe; nothing mutable
// and shared lives in globals or static data (docs/ARCHITECTURE.md, Toolchain facts: "Active data
// segments re-initialised on each instantiation").
import * as L from './layout.gen';

export let PAGES: u32 = 0;
export let FRAMES: u32 = 0;
export let THREADS: u32 = 0;
export let RANGE_MAX: u32 = 0;
export let RING_MASK: u32 = 0;
export let FIRST_TABLE_FRAME: u32 = 0;
export let FRAMES_BASE: u32 = 0;
export let TABLESTORE_BASE: u32 = 0;
export let DIR_BASE: u32 = 0;
export let VMA_BASE: u32 = 0;
export let SWAP_BASE: u32 = 0;
export let INVAL_BASE: u32 = 0;
export let DEVPT_BASE: u32 = 0;
export let RANGES_BASE: u32 = 0;
export let RANGE_SIZE: u32 = 0;
export let THREADS_BASE: u32 = 0;
export let RINGS_BASE: u32 = 0;
export let DMASEQ_BASE: u32 = 0;
export let FLAGS: u32 = 0;

@inline export function hdr(off: i32): u32 {
  return <u32>(L.BASE + off);
}

/** Cache the header's bases in this instance. Call once after instantiation, after the header is written. */
export function setup(): i32 {
  if (load<i32>(hdr(L.H_MAGIC)) != L.MAGIC) return -1;
  if (load<i32>(hdr(L.H_VERSION)) != L.LAYOUT_VERSION) return -2;
  PAGES = load<u32>(hdr(L.H_PAGES));
  FRAMES = load<u32>(hdr(L.H_FRAMES));
  THREADS = load<u32>(hdr(L.H_THREADS));
  RANGE_MAX = load<u32>(hdr(L.H_RANGE_MAX));
  RING_MASK = load<u32>(hdr(L.H_RING_ENTRIES)) - 1;
  FIRST_TABLE_FRAME = load<u32>(hdr(L.H_FIRST_TABLE_FRAME));
  FRAMES_BASE = load<u32>(hdr(L.H_FRAMES_BASE));
  TABLESTORE_BASE = load<u32>(hdr(L.H_TABLESTORE_BASE));
  DIR_BASE = load<u32>(hdr(L.H_DIR_BASE));
  VMA_BASE = load<u32>(hdr(L.H_VMA_BASE));
  SWAP_BASE = load<u32>(hdr(L.H_SWAP_BASE));
  INVAL_BASE = load<u32>(hdr(L.H_INVAL_BASE));
  DEVPT_BASE = load<u32>(hdr(L.H_DEVPT_BASE));
  RANGES_BASE = load<u32>(hdr(L.H_RANGES_BASE));
  THREADS_BASE = load<u32>(hdr(L.H_THREADS_BASE));
  RINGS_BASE = load<u32>(hdr(L.H_RINGS_BASE));
  DMASEQ_BASE = load<u32>(hdr(L.H_DMASEQ_BASE));
  FLAGS = load<u32>(hdr(L.H_FLAGS));
  RANGE_SIZE = ((<u32>L.R_HDR + RANGE_MAX * 8 + 63) / 64) * 64;
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
  return DEVPT_BASE + (dev * PAGES + page) * 8;
}

/** Where the layout's data region begins; the build checks static data ends below it. */
export function heap_base(): u32 {
  return <u32>__heap_base;
}
