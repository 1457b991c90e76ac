/**
 * layout.ts — where each region of the shared memory lies for one run.
 *
 * `computeLayout(config)` gives the region bases (they depend on how many pages, devices,
 * threads... the run has); `addr` computes record addresses the same way Wasm does. The fixed
 * offsets and codes are in constants.ts; header.ts writes the bases where Wasm reads them.
 */
import { L, LINE, WASM_PAGE } from './constants.js';
import { LAYOUT_LIMITS, withinLimit, type IntLimit } from '../config/limits.js';

export { L, LINE, WASM_PAGE } from './constants.js';

/** What a run's memory must hold. */
export interface LayoutConfig {
  pages: number; // virtual pages in the mirrored address space
  devices: number;
  subsPerDevice: number;
  threads: number; // worker threads (every role)
  rangeMax: number; // most pages one device fault may cover
  ringEntries: number; // events kept per thread (power of two)
  protoMmLines: number; // lines of per-mm protocol state
  protoSubLines: number; // lines of per-subscription protocol state
  protoRangeLines: number; // lines of per-range protocol state
  /** Frames beyond one per page (migration, COW and swap-in need spares). */
  spareFrames?: number;
  /** Largest memory the run may use, bytes (default 1 GiB, the module's declared maximum). */
  maxBytes?: number;
}

export interface Layout {
  config: Required<LayoutConfig>;
  frames: number;
  tables: number;
  dirEntries: number;
  firstTableFrame: number;
  framesBase: number;
  tableStoreBase: number;
  dirBase: number;
  vmaBase: number;
  swapBase: number;
  invalBase: number;
  devptBase: number;
  devtidBase: number;
  rangesBase: number;
  rangeSize: number;
  threadsBase: number;
  ringsBase: number;
  protoMmBase: number;
  protoSubBase: number;
  protoRangeBase: number;
  subrecBase: number;
  dmaseqBase: number;
  totalBytes: number;
  wasmPages: number;
}

/** The module declares this maximum (asconfig.json: maximumMemory 16384 pages = 1 GiB). */
export const MAX_WASM_PAGES = 16384;

export class LayoutError extends Error {}

const alignLine = (n: number) => Math.ceil(n / LINE) * LINE;

function checkInt(name: keyof typeof LAYOUT_LIMITS, value: number) {
  const limit: IntLimit = LAYOUT_LIMITS[name];
  if (!withinLimit(value, limit)) throw new LayoutError(`${name} must be an integer from ${limit.min} to ${limit.max} (got ${value})`);
}

/**
 * Compute every region base for a run. Pure; throws LayoutError (one line, says what to change)
 * on a config that is out of range or does not fit the memory maximum.
 */
export function computeLayout(cfg: LayoutConfig): Layout {
  const config: Required<LayoutConfig> = {
    spareFrames: cfg.spareFrames ?? Math.max(64, cfg.pages + 16 * cfg.threads),
    maxBytes: cfg.maxBytes ?? MAX_WASM_PAGES * WASM_PAGE,
    ...cfg,
  } as Required<LayoutConfig>;
  checkInt('pages', config.pages);
  if (config.pages % LAYOUT_LIMITS.pages.multipleOf !== 0)
    throw new LayoutError(`pages must be a multiple of ${LAYOUT_LIMITS.pages.multipleOf} (got ${config.pages})`);
  checkInt('devices', config.devices);
  checkInt('subsPerDevice', config.subsPerDevice);
  if (config.pages / config.subsPerDevice < 1 || config.pages % config.subsPerDevice !== 0)
    throw new LayoutError(`pages (${config.pages}) must be a multiple of subsPerDevice (${config.subsPerDevice})`);
  checkInt('threads', config.threads);
  checkInt('rangeMax', config.rangeMax);
  checkInt('ringEntries', config.ringEntries);
  if ((config.ringEntries & (config.ringEntries - 1)) !== 0)
    throw new LayoutError(`ringEntries must be a power of two (got ${config.ringEntries})`);

  const dirEntries = config.pages / L.PTRS_PER_TABLE;
  const tables = dirEntries; // one leaf table per directory entry at most
  const dataFrames = config.pages + config.spareFrames;
  const frames = dataFrames + tables;
  if (frames >= 1 << 28) throw new LayoutError(`too many frames (${frames}): lower pages`);
  const firstTableFrame = dataFrames;

  let at = L.BASE + L.H_SIZE;
  const take = (bytes: number) => {
    const base = alignLine(at);
    at = base + bytes;
    return base;
  };
  const framesBase = take(frames * L.FRAME_SIZE);
  const tableStoreBase = take(tables * L.TABLE_BYTES);
  const dirBase = take(dirEntries * 4);
  const vmaBase = take(config.pages * 4);
  const swapBase = take(config.pages * 4);
  const invalBase = take(config.pages * 4);
  const devptBase = take(config.devices * config.pages * L.DEVPTE_SIZE);
  const rangeSize = alignLine(L.R_HDR + config.rangeMax * L.HMM_PFN_SIZE);
  const devtidBase = take(config.devices * config.pages * L.DEVTID_SIZE);
  const rangesBase = take(config.threads * rangeSize);
  const threadsBase = take(config.threads * L.THREAD_SIZE);
  const ringsBase = take(config.threads * config.ringEntries * L.EV_SIZE);
  const protoMmBase = take(config.protoMmLines * LINE);
  const nSubs = config.devices * config.subsPerDevice;
  const protoSubBase = take(nSubs * config.protoSubLines * LINE);
  const protoRangeBase = take(config.threads * config.protoRangeLines * LINE);
  const subrecBase = take(nSubs * L.SUBREC_SIZE);
  const dmaseqBase = take(config.threads * LINE);
  const totalBytes = alignLine(at);
  const wasmPages = Math.ceil(totalBytes / WASM_PAGE);
  if (totalBytes > config.maxBytes || wasmPages > MAX_WASM_PAGES)
    throw new LayoutError(
      `config needs ${(totalBytes / 2 ** 20).toFixed(1)} MiB of shared memory but the maximum is ` +
        `${(Math.min(config.maxBytes, MAX_WASM_PAGES * WASM_PAGE) / 2 ** 20).toFixed(1)} MiB: lower pages, devices or threads`,
    );
  return {
    config,
    frames,
    tables,
    dirEntries,
    firstTableFrame,
    framesBase,
    tableStoreBase,
    dirBase,
    vmaBase,
    swapBase,
    invalBase,
    devptBase,
    devtidBase,
    rangesBase,
    rangeSize,
    threadsBase,
    ringsBase,
    protoMmBase,
    protoSubBase,
    protoRangeBase,
    subrecBase,
    dmaseqBase,
    totalBytes,
    wasmPages,
  };
}

/** Int32Array index of the header word at byte offset `off` (an L.H_ constant). */
export const headerWord = (off: number): number => (L.BASE + off) >> 2;
/** The stop flag: every thread leaves its loop, and every wait its sleep, once it is non-zero. */
export const STOP_WORD = headerWord(L.H_STOP);
/** Start barrier: threads count themselves in READY_WORD, then wait for GO_WORD. */
export const READY_WORD = headerWord(L.H_GO);
export const GO_WORD = headerWord(L.H_GO_FLAG);
/** Violation counters by kind code: VIOLATIONS_WORD + code. */
export const VIOLATIONS_WORD = headerWord(L.H_VIOLATIONS);
/** Raw detection counters by kind code: DETECTIONS_WORD + code. */
export const DETECTIONS_WORD = headerWord(L.H_DETECTIONS);

/** Helpers for addresses computed the same way in Wasm. */
export const addr = {
  header: (off: number) => L.BASE + off,
  frame: (lay: Layout, pfn: number) => lay.framesBase + pfn * L.FRAME_SIZE,
  vma: (lay: Layout, page: number) => lay.vmaBase + page * 4,
  dir: (lay: Layout, idx: number) => lay.dirBase + idx * 4,
  inval: (lay: Layout, page: number) => lay.invalBase + page * 4,
  devpte: (lay: Layout, dev: number, page: number) => lay.devptBase + (dev * lay.config.pages + page) * L.DEVPTE_SIZE,
  range: (lay: Layout, tid: number) => lay.rangesBase + tid * lay.rangeSize,
  thread: (lay: Layout, tid: number) => lay.threadsBase + tid * L.THREAD_SIZE,
  ring: (lay: Layout, tid: number) => lay.ringsBase + tid * lay.config.ringEntries * L.EV_SIZE,
  protoMm: (lay: Layout, line: number) => lay.protoMmBase + line * LINE,
  protoSub: (lay: Layout, sub: number, line: number) => lay.protoSubBase + (sub * lay.config.protoSubLines + line) * LINE,
  protoRange: (lay: Layout, tid: number, line: number) => lay.protoRangeBase + (tid * lay.config.protoRangeLines + line) * LINE,
  subrec: (lay: Layout, sub: number) => lay.subrecBase + sub * L.SUBREC_SIZE,
  dmaseq: (lay: Layout, tid: number) => lay.dmaseqBase + tid * LINE,
};
