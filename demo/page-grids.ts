/**
 * page-grids.ts — the two canvas grids: the CPU page table and device 0's page table, one cell
 * per page, read from the shared memory every animation frame. Display only: racy reads are
 * fine, but a sound protocol is never shown a false "stale".
 */
import { L, addr, type Layout } from '../src/memory/layout.js';
import { EV } from '../src/oracle/events.js';

export const Cell = { Empty: 0, Mapped: 1, ReadOnly: 2, NonPresent: 3, Inval: 4, Stale: 5 } as const;
export type Cell = (typeof Cell)[keyof typeof Cell];

/** Invalidations last microseconds: outline the pages of the newest few, held a couple of frames. */
const LATEST_INVALIDATIONS = 2;
const INVAL_AFTERGLOW_MS = 40;
/** Keep a stale cell red long enough to see it. */
const STALE_HOLD_MS = 800;
/** Grid side in CSS pixels. */
const GRID_PX = 300;

const COLORS = ['#252b33', '#2fae62', '#1f7a8c', '#7a5cc4', '#e0a526', '#ff3b3b'];
/** Stepping through a schedule: the outline of the cells this step changed. */
const CHANGED_COLOR = '#4ea1ff';

/** Event ring entry fields, as word indexes from the entry's start. */
const EV_WORDS = L.EV_SIZE >> 2;
const EV_TYPE_W = L.EV_TYPE >> 2;
const EV_A_W = L.EV_A >> 2;
const EV_B_W = L.EV_B >> 2;

class TableReader {
  private readonly i64: BigInt64Array;
  /** The k newest invalidations as [ticket, start, end] triples, newest first. */
  private readonly top = new Int32Array(3 * 8);

  constructor(
    private readonly i32: Int32Array,
    private readonly layout: Layout,
  ) {
    this.i64 = new BigInt64Array(i32.buffer);
  }

  /**
   * The latest invalidations: of the INV_START events recorded since ticket `after` (every
   * thread's ring), the `k` newest; calls mark(start, end) for each and returns the highest
   * ticket seen. The invalidators run hundreds of thousands of operations a second, so "every
   * page invalidated lately" would light up the whole table: this shows where they are working
   * at the moment of the frame. Allocates nothing.
   */
  scanInvalidations(after: number, k: number, mark: (start: number, end: number) => void): number {
    const { i32, layout, top } = this;
    const entries = layout.config.ringEntries;
    top.fill(0);
    let max = after;
    for (let t = 0; t < layout.config.threads; t++) {
      const base = addr.ring(layout, t) >> 2;
      for (let i = 0; i < entries; i++) {
        const entry = base + i * EV_WORDS;
        const ticket = Atomics.load(i32, entry);
        if (ticket <= after) continue;
        if (ticket > max) max = ticket;
        if (i32[entry + EV_TYPE_W] !== EV.INV_START) continue;
        for (let j = 0; j < k; j++) {
          if (ticket > top[j * 3]) {
            top.copyWithin((j + 1) * 3, j * 3, (k - 1) * 3);
            top[j * 3] = ticket;
            top[j * 3 + 1] = i32[entry + EV_A_W];
            top[j * 3 + 2] = i32[entry + EV_B_W];
            break;
          }
        }
      }
    }
    for (let j = 0; j < k; j++) if (top[j * 3]) mark(top[j * 3 + 1], top[j * 3 + 2]);
    return max;
  }

  invalidating(page: number): boolean {
    return Atomics.load(this.i32, addr.inval(this.layout, page) >> 2) !== 0;
  }

  /** The CPU PTE, walked like assembly/mm.ts pte_addr(page, 0): directory -> table frame -> slot. */
  pte(page: number): number {
    const d = Atomics.load(this.i32, addr.dir(this.layout, page >> L.PT_SHIFT) >> 2);
    if (d === 0) return 0;
    const slot = Atomics.load(this.i32, (addr.frame(this.layout, d - 1) + L.F_TABLE) >> 2);
    if (slot < 0 || slot >= this.layout.tables) return 0;
    const p = this.layout.tableStoreBase + slot * L.TABLE_BYTES + ((page & (L.PTRS_PER_TABLE - 1)) << 2);
    return Atomics.load(this.i32, p >> 2);
  }

  cpu(page: number): Cell {
    if (this.invalidating(page)) return Cell.Inval;
    const pte = this.pte(page);
    const type = pte & L.PTE_TYPE_MASK;
    if (type === L.PTE_NONE) return Cell.Empty;
    if (type !== L.PTE_PRESENT) return Cell.NonPresent;
    return pte & L.PTE_WRITE ? Cell.Mapped : Cell.ReadOnly;
  }

  /** Stale: a valid entry whose frame's gen moved on since it was programmed (checked twice). */
  dev(dev: number, page: number): Cell {
    const a = addr.devpte(this.layout, dev, page) >> 3;
    const e1 = Atomics.load(this.i64, a);
    const lo = Number(BigInt.asIntN(32, e1));
    if (!(lo & L.DEV_VALID)) return this.invalidating(page) ? Cell.Inval : Cell.Empty;
    const pfn = lo >>> L.DEV_PFN_SHIFT;
    const gen = Number(e1 >> 32n);
    if (pfn < this.layout.frames) {
      const now = Atomics.load(this.i32, (addr.frame(this.layout, pfn) + L.F_GEN) >> 2);
      if (now !== gen && Atomics.load(this.i64, a) === e1) return Cell.Stale;
    }
    return this.invalidating(page) ? Cell.Inval : Cell.Mapped;
  }
}

class Grid {
  private readonly ctx: CanvasRenderingContext2D;
  private readonly cols: number;
  private readonly cell: number;
  private readonly size: number;
  constructor(
    private readonly canvas: HTMLCanvasElement,
    readonly pages: number,
  ) {
    this.cols = Math.ceil(Math.sqrt(pages));
    this.cell = Math.floor(GRID_PX / this.cols);
    this.size = this.cell * this.cols;
    const dpr = window.devicePixelRatio || 1;
    canvas.width = this.size * dpr;
    canvas.height = this.size * dpr;
    canvas.style.width = `${this.size}px`;
    canvas.style.height = `${this.size}px`;
    this.ctx = canvas.getContext('2d')!;
    this.ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  }

  /**
   * states: a Cell per page; recent: 1 where an invalidation ran lately (amber outline); marks:
   * violation pages; changed: 1 where the step shown changed the cell (stepping through a schedule).
   * The canvas's data-cells attribute holds the states as digits, one per page (the e2e test reads it).
   */
  draw(states: Uint8Array, recent: Uint8Array, marks: Set<number>, changed?: Uint8Array): void {
    const { ctx, cell, cols } = this;
    this.canvas.dataset.cells = states.join('');
    ctx.clearRect(0, 0, this.size, this.size);
    for (let p = 0; p < this.pages; p++) {
      const x = (p % cols) * cell;
      const y = Math.floor(p / cols) * cell;
      ctx.fillStyle = COLORS[states[p]];
      ctx.fillRect(x + 1, y + 1, cell - 2, cell - 2);
    }
    ctx.strokeStyle = COLORS[Cell.Inval];
    ctx.lineWidth = 1.5;
    for (let p = 0; p < this.pages; p++) {
      if (!recent[p] || states[p] === Cell.Inval) continue;
      ctx.strokeRect((p % cols) * cell + 1.75, Math.floor(p / cols) * cell + 1.75, cell - 3.5, cell - 3.5);
    }
    if (changed) {
      ctx.strokeStyle = CHANGED_COLOR;
      ctx.lineWidth = 2;
      ctx.setLineDash([3, 2]);
      for (let p = 0; p < this.pages; p++)
        if (changed[p]) ctx.strokeRect((p % cols) * cell + 1, Math.floor(p / cols) * cell + 1, cell - 2, cell - 2);
      ctx.setLineDash([]);
    }
    ctx.strokeStyle = '#ffffff';
    ctx.lineWidth = 2;
    for (const p of marks) {
      const x = (p % cols) * cell;
      const y = Math.floor(p / cols) * cell;
      ctx.strokeRect(x + 1, y + 1, cell - 2, cell - 2);
    }
  }
}

/** The two grids and what they remember between frames (stale hold, invalidation afterglow). */
export class PageGrids {
  private cpuGrid!: Grid;
  private devGrid!: Grid;
  private cpuStates!: Uint8Array;
  private devStates!: Uint8Array;
  private staleUntil!: Float64Array;
  private invalAt!: Float64Array; // last frame a page was among the latest invalidated
  private recent!: Uint8Array;
  private pages = 0;
  private reader: TableReader | undefined;
  private lastInvTicket = 0;

  constructor(
    private readonly cpuCanvas: HTMLCanvasElement,
    private readonly devCanvas: HTMLCanvasElement,
    pages: number,
  ) {
    this.resize(pages);
  }

  /** One cell per page of a run of `pages` pages (a schedule's run may have another size than the free runs). */
  private resize(pages: number): void {
    if (pages === this.pages) return;
    this.pages = pages;
    this.cpuGrid = new Grid(this.cpuCanvas, pages);
    this.devGrid = new Grid(this.devCanvas, pages);
    this.cpuStates = new Uint8Array(pages);
    this.devStates = new Uint8Array(pages);
    this.staleUntil = new Float64Array(pages);
    this.invalAt = new Float64Array(pages);
    this.recent = new Uint8Array(pages);
  }

  /** Show a new run's memory. */
  attach(i32: Int32Array, layout: Layout): void {
    this.resize(layout.config.pages);
    this.staleUntil.fill(0);
    this.invalAt.fill(0);
    this.reader = new TableReader(i32, layout);
    this.lastInvTicket = 0;
  }

  /** The CPU and device-0 cells of a memory that does not change (a schedule's state at one step). */
  static cellsOf(i32: Int32Array, layout: Layout): { cpu: Uint8Array; dev: Uint8Array } {
    const reader = new TableReader(i32, layout);
    const pages = layout.config.pages;
    const cpu = new Uint8Array(pages);
    const dev = new Uint8Array(pages);
    for (let p = 0; p < pages; p++) {
      cpu[p] = reader.cpu(p);
      dev[p] = reader.dev(0, p);
    }
    return { cpu, dev };
  }

  /** Draw fixed cells (stepping through a schedule): `changed` outlines the cells the step changed. */
  show(cpu: Uint8Array, dev: Uint8Array, marks: Set<number>, changedCpu?: Uint8Array, changedDev?: Uint8Array): void {
    this.reader = undefined;
    this.resize(cpu.length);
    const none = new Uint8Array(cpu.length);
    this.cpuGrid.draw(cpu, none, marks, changedCpu);
    this.devGrid.draw(dev, none, marks, changedDev);
  }

  /** Redraw; `live` while the run's threads may still be working (after a stop the memory shows where the race left things). */
  draw(now: number, live: boolean, marks: Set<number>): void {
    const reader = this.reader;
    if (!reader) return;
    const { pages, invalAt, staleUntil, cpuStates, devStates, recent } = this;
    if (live)
      this.lastInvTicket = reader.scanInvalidations(this.lastInvTicket, LATEST_INVALIDATIONS, (start, end) => {
        for (let p = Math.max(0, start); p < Math.min(end, pages); p++) invalAt[p] = now;
      });
    for (let p = 0; p < pages; p++) {
      cpuStates[p] = reader.cpu(p);
      if (cpuStates[p] === Cell.Inval) invalAt[p] = now;
      recent[p] = live && now - invalAt[p] < INVAL_AFTERGLOW_MS ? 1 : 0;
      let d = reader.dev(0, p);
      if (d === Cell.Stale) staleUntil[p] = now + STALE_HOLD_MS;
      else if (staleUntil[p] > now) d = Cell.Stale;
      devStates[p] = d;
    }
    this.cpuGrid.draw(cpuStates, recent, marks);
    this.devGrid.draw(devStates, recent, marks);
  }
}
