/**
 * header.ts — the run's config and region bases, written once into the header before any worker
 * starts, and read back by workers and the browser (Wasm's `setup()` caches them per instance).
 */
import { L } from './constants.js';
import { LayoutError, type Layout } from './layout.js';

/** Write config and region bases into the header. Single-threaded, before workers start. */
export function writeHeader(i32: Int32Array, lay: Layout, flags: number): void {
  const h = (off: number, v: number) => {
    i32[(L.BASE + off) >> 2] = v;
  };
  const c = lay.config;
  h(L.H_MAGIC, L.MAGIC);
  h(L.H_VERSION, L.LAYOUT_VERSION);
  h(L.H_TOTAL_BYTES, lay.totalBytes);
  h(L.H_PAGES, c.pages);
  h(L.H_FRAMES, lay.frames);
  h(L.H_TABLES, lay.tables);
  h(L.H_DEVICES, c.devices);
  h(L.H_SUBS, c.devices * c.subsPerDevice);
  h(L.H_THREADS, c.threads);
  h(L.H_RANGE_MAX, c.rangeMax);
  h(L.H_RING_ENTRIES, c.ringEntries);
  h(L.H_DIR_ENTRIES, lay.dirEntries);
  h(L.H_FRAMES_BASE, lay.framesBase);
  h(L.H_TABLESTORE_BASE, lay.tableStoreBase);
  h(L.H_DIR_BASE, lay.dirBase);
  h(L.H_VMA_BASE, lay.vmaBase);
  h(L.H_SWAP_BASE, lay.swapBase);
  h(L.H_INVAL_BASE, lay.invalBase);
  h(L.H_DEVPT_BASE, lay.devptBase);
  h(L.H_DEVTID_BASE, lay.devtidBase);
  h(L.H_RANGES_BASE, lay.rangesBase);
  h(L.H_THREADS_BASE, lay.threadsBase);
  h(L.H_RINGS_BASE, lay.ringsBase);
  h(L.H_PROTO_MM_BASE, lay.protoMmBase);
  h(L.H_PROTO_SUB_BASE, lay.protoSubBase);
  h(L.H_PROTO_RANGE_BASE, lay.protoRangeBase);
  h(L.H_SUBREC_BASE, lay.subrecBase);
  h(L.H_DMASEQ_BASE, lay.dmaseqBase);
  h(L.H_PROTO_MM_LINES, c.protoMmLines);
  h(L.H_PROTO_SUB_LINES, c.protoSubLines);
  h(L.H_PROTO_RANGE_LINES, c.protoRangeLines);
  h(L.H_FIRST_TABLE_FRAME, lay.firstTableFrame);
  h(L.H_FLAGS, flags);
}

/** Read a layout back from a header (workers, browser). */
export function readHeader(i32: Int32Array): { pages: number; frames: number; threads: number } {
  const g = (off: number) => i32[(L.BASE + off) >> 2];
  if (g(L.H_MAGIC) !== L.MAGIC) throw new LayoutError('shared memory has no hmmsim header');
  if (g(L.H_VERSION) !== L.LAYOUT_VERSION) throw new LayoutError('shared memory layout version mismatch');
  return { pages: g(L.H_PAGES), frames: g(L.H_FRAMES), threads: g(L.H_THREADS) };
}
