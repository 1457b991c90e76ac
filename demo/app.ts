/**
 * The demo's main thread: wires the controls, the two page-table grids, the counters and the
 * violation list to one run at a time (run-loop.ts), redrawn every animation frame.
 *
 *   controls.ts     inputs, URL state, the state line
 *   run-loop.ts     one run: Session + the shared run monitor (src/run/monitor.ts), Web Workers
 *   worker-pool.ts  the Web Workers (demo/worker.ts), one per role thread
 *   page-grids.ts   the CPU and device page tables, drawn from the shared memory
 *   counters.ts     ops, rates, violations by kind
 *   violations.ts   the violation list and the witness timeline
 */
<<<<<<< HEAD
import { DEFAULTS } from '../src/config/defaults.js';
import { Controls, showState } from './controls.js';
import { DemoRun, type RunView } from './run-loop.js';
import { WorkerPool } from './worker-pool.js';
import { PageGrids } from './page-grids.js';
import { ViolationList } from './violations.js';
import { Counters } from './counters.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
=======
import { Session } from '../src/run/session.js';
import { L, addr, type Layout, type LayoutConfig } from '../src/memory/layout.js';
import { VIOLATION_KINDS, type ViolationKind } from '../src/api/kinds.js';
import { schemaLines, type MirrorProtocol } from '../src/protocols/api.js';
import { EV, readRings } from '../src/oracle/events.js';
import { renderWitness } from '../src/oracle/witness.js';
import { DEFAULT_EVENTS, EVENT_NAMES, type EventName, type ProtocolResult, type Witness } from '../src/api/types.js';
import type { RoleResult, RoleTask } from '../src/run/thread.js';
import { PROTOCOL_NAMES, getProtocol } from './protocols.js';
import { DEFAULTS, dealRoles } from '../src/config/defaults.js';

const CFG = DEFAULTS;

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const hex = (n: number) => '0x' + (n >>> 0).toString(16);

// ------------------------------------------------------------------------------------------
// Web Workers: one per role thread, kept between runs
// ------------------------------------------------------------------------------------------

type Settled = RoleResult | Error | undefined;

class WorkerPool {
  private workers: (Worker | undefined)[] = [];
  private pending = new Map<number, (r: RoleResult | Error) => void>();
  private owner = new Map<number, number>(); // message id -> worker slot
  private nextId = 1;

  private spawn(slot: number): Worker {
    const w = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: `hmmsim-${slot}` });
    w.onmessage = (e: MessageEvent<{ id: number; result?: RoleResult; error?: string }>) => {
      const cb = this.pending.get(e.data.id);
      if (!cb) return;
      this.pending.delete(e.data.id);
      this.owner.delete(e.data.id);
      cb(e.data.error !== undefined ? new Error(e.data.error) : e.data.result!);
    };
    const fail = (msg: string) => {
      for (const [id, s] of this.owner)
        if (s === slot) {
          const cb = this.pending.get(id);
          this.pending.delete(id);
          this.owner.delete(id);
          cb?.(new Error(msg));
        }
    };
    w.onerror = (e) => {
      e.preventDefault();
      fail(`worker ${slot}: ${e.message || 'failed to load'}`);
    };
    w.onmessageerror = () => fail(`worker ${slot}: message could not be cloned`);
    this.workers[slot] = w;
    return w;
  }

  run(slot: number, task: RoleTask, protocol: string): Promise<RoleResult | Error> {
    const w = this.workers[slot] ?? this.spawn(slot);
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.owner.set(id, slot);
      w.postMessage({ id, task, protocol });
    });
  }

  /** A worker that did not stop: terminate it (its run is lost) and start afresh next time. */
  kill(slot: number): void {
    this.workers[slot]?.terminate();
    this.workers[slot] = undefined;
    for (const [id, s] of this.owner)
      if (s === slot) {
        const cb = this.pending.get(id);
        this.pending.delete(id);
        this.owner.delete(id);
        cb?.(new Error(`T${slot} did not stop and was terminated`));
      }
  }

  /** Keep at most n workers. */
  trim(n: number): void {
    for (let i = n; i < this.workers.length; i++) this.workers[i]?.terminate();
    this.workers.length = Math.min(this.workers.length, n);
  }
}

// ------------------------------------------------------------------------------------------
// Reading the page tables from the main thread (display only: racy reads are fine, but never
// show a sound protocol a false "stale")
// ------------------------------------------------------------------------------------------

const Cell = { Empty: 0, Mapped: 1, ReadOnly: 2, NonPresent: 3, Inval: 4, Stale: 5 } as const;
type Cell = (typeof Cell)[keyof typeof Cell];

/** Invalidations last microseconds: outline the pages of the newest few, held a couple of frames. */
const LATEST_INVALIDATIONS = 2;
const INVAL_AFTERGLOW_MS = 40;

const COLORS = ['#252b33', '#2fae62', '#1f7a8c', '#7a5cc4', '#e0a526', '#ff3b3b'];

class TableReader {
  private readonly i64: BigInt64Array;
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
    const { i32, layout } = this;
    const entries = layout.config.ringEntries;
    const W = L.EV_SIZE >> 2;
    const top = this.top;
    top.fill(0);
    let max = after;
    for (let t = 0; t < layout.config.threads; t++) {
      const base = addr.ring(layout, t) >> 2;
      for (let i = 0; i < entries; i++) {
        const s = base + i * W;
        const ticket = Atomics.load(i32, s);
        if (ticket <= after) continue;
        if (ticket > max) max = ticket;
        if (i32[s + 1] !== EV.INV_START) continue;
        // keep the k newest: top holds [ticket, start, end] triples, newest first
        for (let j = 0; j < k; j++) {
          if (ticket > top[j * 3]) {
            top.copyWithin((j + 1) * 3, j * 3, (k - 1) * 3);
            top[j * 3] = ticket;
            top[j * 3 + 1] = i32[s + 2];
            top[j * 3 + 2] = i32[s + 3];
            break;
          }
        }
      }
    }
    for (let j = 0; j < k; j++) if (top[j * 3]) mark(top[j * 3 + 1], top[j * 3 + 2]);
    return max;
  }
  private readonly top = new Int32Array(3 * 8);

  invalidating(page: number): boolean {
    return Atomics.load(this.i32, (this.layout.invalBase + page * 4) >> 2) !== 0;
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
    canvas: HTMLCanvasElement,
    private readonly pages: number,
  ) {
    this.cols = Math.ceil(Math.sqrt(pages));
    this.cell = Math.floor(300 / this.cols);
    this.size = this.cell * this.cols;
    const dpr = window.devicePixelRatio || 1;
    canvas.width = this.size * dpr;
    canvas.height = this.size * dpr;
    canvas.style.width = `${this.size}px`;
    canvas.style.height = `${this.size}px`;
    this.ctx = canvas.getContext('2d')!;
    this.ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  }

  /** states: a Cell per page; recent: 1 where an invalidation ran lately (amber outline); marks: violation pages. */
  draw(states: Uint8Array, recent: Uint8Array, marks: Set<number>): void {
    const { ctx, cell, cols } = this;
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
    ctx.strokeStyle = '#ffffff';
    ctx.lineWidth = 2;
    for (const p of marks) {
      const x = (p % cols) * cell;
      const y = Math.floor(p / cols) * cell;
      ctx.strokeRect(x + 1, y + 1, cell - 2, cell - 2);
    }
  }
}

// ------------------------------------------------------------------------------------------
// The run
// ------------------------------------------------------------------------------------------

interface ViolationEntry {
  kind: ViolationKind;
  page: number;
  thread: number;
  role: string;
  atMs: number;
  summary: string;
  witness: Witness | undefined;
  live: boolean;
}

interface Run {
  session: Session;
  proto: MirrorProtocol;
  name: string;
  seed: number;
  events: EventName[];
  durationMs: number;
  settled: Settled[];
  phase: 'starting' | 'running' | 'stopping' | 'done';
  startedAt: number;
  stopRequestedAt: number;
  elapsedMs: number;
  harnessError?: string;
  reader: TableReader;
  lastVTotal: number;
  lastScanAt: number;
  lastViolTicket: number;
  lastInvTicket: number;
  rate: { at: number; ops: number; perSec: number };
  result?: ProtocolResult;
}
>>>>>>> tooling

export async function startApp(wasmUrl: string): Promise<void> {
  $('status').textContent = 'compiling the Wasm module…';
  const resp = await fetch(wasmUrl);
  if (!resp.ok) throw new Error(`could not fetch ${wasmUrl}: HTTP ${resp.status} (run npm run build first)`);
  const module = await WebAssembly.compile(await resp.arrayBuffer());

  let run: DemoRun | undefined;
  const view: RunView = {
    pool: new WorkerPool(),
    grids: new PageGrids($<HTMLCanvasElement>('cpu-grid'), $<HTMLCanvasElement>('dev-grid'), DEFAULTS.pages),
    violations: new ViolationList(),
    counters: new Counters(),
    onDone: () => controls.setIdle(true),
  };
<<<<<<< HEAD
=======
  sel.onchange = showProto;
  showProto();

  // ---- counters table rows, one per violation kind ----
  const kindRows = new Map<ViolationKind, HTMLTableRowElement>();
  for (const k of VIOLATION_KINDS) {
    const tr = document.createElement('tr');
    tr.className = 'kind';
    tr.dataset.kind = k;
    tr.innerHTML = `<th>${k}</th><td>0</td>`;
    $('c-kinds').append(tr);
    kindRows.set(k, tr);
  }

  let run: Run | undefined;
  let violations: ViolationEntry[] = [];
  let selected = -1;

  const setState = (s: string, text: string) => {
    document.body.dataset.state = s;
    status.textContent = text;
  };
  const controlsEnabled = (idle: boolean) => {
    for (const el of [sel, seedIn, workersIn, durationIn, widenIn, stopFirstIn, $<HTMLButtonElement>('reseed')]) (el as HTMLInputElement).disabled = !idle;
    for (const c of eventsBox.querySelectorAll('input')) c.disabled = !idle;
    startBtn.disabled = !idle;
    stopBtn.disabled = idle;
  };

  // ---- violation list and witness ----
  const renderList = () => {
    const ol = $('viol-list');
    ol.textContent = '';
    violations.forEach((v, i) => {
      const li = document.createElement('li');
      li.className = i === selected ? 'selected' : '';
      li.dataset.index = String(i);
      const k = document.createElement('span');
      k.className = 'kind';
      k.textContent = v.kind;
      li.append(k, ` ${v.page >= 0 ? `page ${hex(v.page)}, ` : ''}T${v.thread} ${v.role}, ${v.live ? 'seen ≈' : ''}${v.atMs.toFixed(v.live ? 0 : 1)} ms`);
      if (v.live) {
        const s = document.createElement('span');
        s.className = 'live';
        s.textContent = ' (live)';
        li.append(s);
      }
      li.title = v.summary;
      li.onclick = () => select(i);
      ol.append(li);
    });
    $('viol-empty').hidden = violations.length > 0;
  };

  const select = (i: number) => {
    selected = i;
    renderList();
    drawWitness(violations[i]?.witness, violations[i]);
  };

  const drawWitness = (w: Witness | undefined, v?: ViolationEntry) => {
    const box = $('timeline');
    box.textContent = '';
    $('witness-text').textContent = w?.text ?? '';
    $('witness-title').textContent = w ? `${w.summary}${v?.live ? ' — live snapshot of the event rings; the oracle\'s own capture replaces it when the run stops' : ''}` : 'the interleaving that led to the violation, one lane per thread';
    if (!w?.events.length) {
      const p = document.createElement('p');
      p.className = 'empty';
      p.textContent = w ? 'no events recorded for this one' : 'no witness selected';
      box.append(p);
      return;
    }
    // lanes: the threads in the witness (an elision marker, thread -1, spans every lane)
    const threads = [...new Set(w.events.map((e) => e.thread).filter((t) => t >= 0))].sort((a, b) => a - b);
    const table = document.createElement('table');
    const head = document.createElement('tr');
    const n = document.createElement('th');
    n.className = 'n';
    n.textContent = '#';
    head.append(n);
    for (const t of threads) {
      const th = document.createElement('th');
      th.textContent = `T${t} ${w.events.find((e) => e.thread === t)?.role ?? ''}`;
      head.append(th);
    }
    const thead = document.createElement('thead');
    thead.append(head);
    const tbody = document.createElement('tbody');
    w.events.forEach((e, i) => {
      const tr = document.createElement('tr');
      const num = document.createElement('td');
      num.className = 'n';
      num.textContent = String(i + 1);
      tr.append(num);
      if (e.thread < 0) {
        const td = document.createElement('td');
        td.className = 'gap';
        td.colSpan = threads.length;
        td.textContent = e.text;
        tr.append(td);
        tbody.append(tr);
        return;
      }
      for (const t of threads) {
        const td = document.createElement('td');
        if (t === e.thread) {
          td.className = `ev ${eventClass(e.text)}`;
          td.textContent = e.text;
          td.title = `ticket ${e.ticket}`;
        }
        tr.append(td);
      }
      tbody.append(tr);
    });
    table.append(thead, tbody);
    box.append(table);
  };

  // ---- start / stop ----
>>>>>>> tooling
  const start = () => {
    const settings = controls.read();
    if (typeof settings === 'string') {
      showState('idle', settings);
      return;
    }
    run = new DemoRun(module, settings, view);
    controls.setIdle(false);
    controls.saveToUrl(settings);
  };
  const controls = new Controls(start, () => run?.stop());

  const frame = () => {
    requestAnimationFrame(frame);
    run?.frame(performance.now());
  };
  requestAnimationFrame(frame);

  controls.setIdle(true);
  showState('idle', 'ready: pick a protocol and press Start');
}
