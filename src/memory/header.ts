/**
 * header.ts — the run's config and region bases, written once into the header before any worker
 * starts, and read back by workers and the browser (Wasm's `setup()` caches them per instance).
 */
import { HEADER_FIELDS, L, type HeaderField } from './constants.js';
import { LayoutError, headerWord, type Layout } from './layout.js';
import { createSharedMemory, instantiate } from './wasm.js';

/** Every header config word's value for this layout (the type makes sure none is left out). */
export function headerValues(lay: Layout, flags: number): Record<HeaderField, number> {
  const c = lay.config;
  return {
    TOTAL_BYTES: lay.totalBytes,
    PAGES: c.pages,
    FRAMES: lay.frames,
    TABLES: lay.tables,
    DEVICES: c.devices,
    SUBS: c.devices * c.subsPerDevice,
    THREADS: c.threads,
    RANGE_MAX: c.rangeMax,
    RING_ENTRIES: c.ringEntries,
    DIR_ENTRIES: lay.dirEntries,
    FRAMES_BASE: lay.framesBase,
    TABLESTORE_BASE: lay.tableStoreBase,
    DIR_BASE: lay.dirBase,
    VMA_BASE: lay.vmaBase,
    SWAP_BASE: lay.swapBase,
    INVAL_BASE: lay.invalBase,
    DEVPT_BASE: lay.devptBase,
    RANGES_BASE: lay.rangesBase,
    THREADS_BASE: lay.threadsBase,
    RINGS_BASE: lay.ringsBase,
    PROTO_MM_BASE: lay.protoMmBase,
    PROTO_SUB_BASE: lay.protoSubBase,
    SUBREC_BASE: lay.subrecBase,
    DMASEQ_BASE: lay.dmaseqBase,
    PROTO_RANGE_BASE: lay.protoRangeBase,
    PROTO_MM_LINES: c.protoMmLines,
    PROTO_SUB_LINES: c.protoSubLines,
    PROTO_RANGE_LINES: c.protoRangeLines,
    FIRST_TABLE_FRAME: lay.firstTableFrame,
    FLAGS: flags,
  };
}

/** Write config and region bases into the header. Single-threaded, before workers start. */
export function writeHeader(i32: Int32Array, lay: Layout, flags: number): void {
  i32[headerWord(L.H_MAGIC)] = L.MAGIC;
  i32[headerWord(L.H_VERSION)] = L.LAYOUT_VERSION;
  const values = headerValues(lay, flags);
  for (const field of HEADER_FIELDS) i32[headerWord(L[`H_${field}`])] = values[field];
  i32[headerWord(L.H_DEVTID_BASE)] = lay.devtidBase; // past the config words: their run ends at the ticket's line
}

/** Read a layout back from a header (workers, browser). */
export function readHeader(i32: Int32Array): { pages: number; frames: number; threads: number } {
  const g = (off: number) => i32[headerWord(off)];
  if (g(L.H_MAGIC) !== L.MAGIC) throw new LayoutError('shared memory has no hmmsim header');
  if (g(L.H_VERSION) !== L.LAYOUT_VERSION) throw new LayoutError('shared memory layout version mismatch');
  return { pages: g(L.H_PAGES), frames: g(L.H_FRAMES), threads: g(L.H_THREADS) };
}

/** Header flag bits (H_FLAGS). */
export const HEADER_FLAG = { oracle: 1, events: 2 } as const;

/**
 * A run's shared memory: allocated for `layout`, header written (with `flags`), and one Wasm
 * instance on it for the calling thread, set up. What the session, the tests and the benches
 * all start from.
 */
export function createRunMemory(layout: Layout, flags: number, module: WebAssembly.Module) {
  const memory = createSharedMemory(layout.wasmPages);
  const i32 = new Int32Array(memory.buffer);
  writeHeader(i32, layout, flags);
  const wasm = instantiate(module, memory);
  if (wasm.setup() !== 0) throw new Error('hmmsim wasm setup() found no header of this layout version');
  return { memory, i32, wasm };
}
