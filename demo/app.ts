/**
 * The demo's main thread: the same Session (src/session.ts) the Node runner drives, with Web
 * Workers (demo/worker.ts -> src/thread.ts) in place of piscina.
 *
 * The main thread never blocks: no Atomics.wait here. Every animation frame it reads the shared
 * memory (start barrier, counters, watchdog, the two page tables) and redraws.
 */
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

export async function startApp(wasmUrl: string): Promise<void> {
  const status = $('status');
  status.textContent = 'compiling the Wasm module…';
  const resp = await fetch(wasmUrl);
  if (!resp.ok) throw new Error(`could not fetch ${wasmUrl}: HTTP ${resp.status} (run npm run build first)`);
  const module = await WebAssembly.compile(await resp.arrayBuffer());

  const pool = new WorkerPool();
  const sel = $<HTMLSelectElement>('protocol');
  const seedIn = $<HTMLInputElement>('seed');
  const workersIn = $<HTMLInputElement>('workers');
  const durationIn = $<HTMLInputElement>('duration');
  const widenIn = $<HTMLInputElement>('widen');
  const stopFirstIn = $<HTMLInputElement>('stop-first');
  const startBtn = $<HTMLButtonElement>('start');
  const stopBtn = $<HTMLButtonElement>('stop');
  const eventsBox = $('events');
  const cpuGrid = new Grid($<HTMLCanvasElement>('cpu-grid'), CFG.pages);
  const devGrid = new Grid($<HTMLCanvasElement>('dev-grid'), CFG.pages);

  // ---- controls ----
  const params = new URLSearchParams(location.search);
  for (const n of PROTOCOL_NAMES) {
    const p = getProtocol(n);
    const o = document.createElement('option');
    o.value = n;
    o.textContent = `${n}${p.expect === 'sound' ? '' : '  (broken)'}`;
    sel.append(o);
  }
  sel.value = PROTOCOL_NAMES.includes(params.get('protocol') ?? '') ? params.get('protocol')! : 'hmm-v5.2';
  const wantEvents = params.get('events')?.split(',') ?? DEFAULT_EVENTS;
  for (const ev of EVENT_NAMES) {
    const l = document.createElement('label');
    const c = document.createElement('input');
    c.type = 'checkbox';
    c.value = ev;
    c.id = `ev-${ev}`;
    c.checked = wantEvents.includes(ev);
    l.append(c, ` ${ev}`);
    eventsBox.append(l);
  }
  const randomSeed = () => String(crypto.getRandomValues(new Uint32Array(1))[0]);
  seedIn.value = params.get('seed') ?? randomSeed();
  if (params.get('workers')) workersIn.value = params.get('workers')!;
  $('reseed').onclick = () => (seedIn.value = randomSeed());

  const showProto = () => {
    const p = getProtocol(sel.value);
    $('proto-desc').textContent = p.description;
    const badge = $('expect');
    if (p.expect === 'sound' || p.expect === undefined) {
      badge.textContent = 'expected: sound';
      badge.className = 'badge sound';
    } else {
      badge.textContent = `expected: ${p.expect.violates.join(', ')}`;
      badge.className = 'badge broken';
    }
  };
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
  const start = () => {
    const name = sel.value;
    const proto = getProtocol(name);
    const events = [...eventsBox.querySelectorAll<HTMLInputElement>('input:checked')].map((c) => c.value as EventName);
    if (!events.length) {
      setState('idle', 'pick at least one event for the invalidator');
      return;
    }
    const n = Math.max(4, Math.min(16, Math.floor(Number(workersIn.value) || 4)));
    workersIn.value = String(n);
    const seed = Math.max(0, Math.min(2 ** 32 - 1, Math.floor(Number(seedIn.value) || 0)));
    seedIn.value = String(seed);
    const roles = dealRoles(n);
    const layout: LayoutConfig = {
      pages: CFG.pages, devices: CFG.devices, subsPerDevice: CFG.subsPerDevice, threads: n + 1, rangeMax: CFG.rangeMax, ringEntries: CFG.ringEntries,
      protoMmLines: Math.max(1, schemaLines(proto.mmState)), protoSubLines: Math.max(1, schemaLines(proto.subState)), protoRangeLines: Math.max(1, schemaLines(proto.rangeState)),
    };
    const session = new Session({
      proto, protocolUrl: name, protocolWhere: name, module, layout, roles, seed, events,
      oracle: true, recordEvents: true, widen: widenIn.checked, stopOnViolation: stopFirstIn.checked,
      lockTimeoutMs: CFG.lockTimeoutMs, sliceMs: CFG.sliceMs,
    });
    violations = [];
    selected = -1;
    renderList();
    drawWitness(undefined);
    $('verdict').textContent = '';
    $('verdict').className = 'verdict';
    pool.trim(n);
    const settled: Settled[] = Array.from({ length: n }, () => undefined);
    session.tasks.forEach((t, i) => pool.run(i, t, name).then((r) => (settled[i] = r)));
    const now = performance.now();
    run = {
      session, proto, name, seed, events, durationMs: Math.max(0, Number(durationIn.value) || 0) * 1000, settled,
      phase: 'starting', startedAt: now, stopRequestedAt: 0, elapsedMs: 0, reader: new TableReader(session.i32, session.layout),
      lastVTotal: 0, lastScanAt: 0, lastViolTicket: 0, lastInvTicket: 0, rate: { at: now, ops: 0, perSec: 0 },
    };
    controlsEnabled(false);
    setState('starting', `starting ${n} workers…`);
    const u = new URL(location.href);
    u.search = new URLSearchParams({ protocol: name, events: events.join(','), seed: String(seed), workers: String(n) }).toString();
    history.replaceState(null, '', u);
  };

  const requestStop = (why?: string) => {
    if (!run || run.phase === 'done' || run.phase === 'stopping') return;
    if (run.phase === 'running') run.elapsedMs = run.session.elapsedMs();
    if (why) run.harnessError ??= why;
    run.session.stop();
    run.phase = 'stopping';
    run.stopRequestedAt = performance.now();
    setState('stopping', 'stopping…');
  };

  startBtn.onclick = start;
  stopBtn.onclick = () => requestStop();

  // ---- live violations: scan the event rings when the counters move ----
  const scanViolations = (r: Run) => {
    const s = r.session;
    const layout = s.layout;
    const evs = readRings(s.i32, layout.ringsBase, layout.config.threads, layout.config.ringEntries);
    let added = false;
    for (const e of evs) {
      if (e.type !== EV.VIOLATION || e.ticket <= r.lastViolTicket) continue;
      r.lastViolTicket = e.ticket;
      const kind = VIOLATION_KINDS[e.a];
      if (!kind) continue;
      const atMs = s.elapsedMs();
      const w = renderWitness({ kind, thread: e.thread, ticket: e.ticket, atMs, page: e.b, pfn: e.c, genWant: e.d, genHave: e.e, device: e.f, events: evs }, s.names, r.name, r.seed);
      if (violations.length < 200) violations.push({ kind, page: e.b, thread: e.thread, role: w.role, atMs, summary: w.summary, witness: w, live: true });
      added = true;
    }
    if (added) {
      renderList();
      if (selected < 0) select(0);
    }
  };

  // ---- the end of a run: summarize exactly as the Node runner does ----
  const finish = (r: Run) => {
    const s = r.session;
    r.settled.forEach((x, i) => {
      if (x === undefined) pool.kill(i);
    });
    const hung = r.settled.map((x, t) => (x === undefined ? t : -1)).filter((t) => t >= 0);
    if (hung.length) r.harnessError ??= `T${hung.join(', T')} did not stop within the harness timeout and were terminated`;
    const res = s.summarize(r.settled, r.elapsedMs, r.harnessError);
    r.result = res;
    r.phase = 'done';
    // the oracle's captures replace the live snapshots
    const captured: ViolationEntry[] = res.witnesses.map((w) => ({ kind: w.kind, page: w.page, thread: w.thread, role: w.role, atMs: w.atMs, summary: w.summary, witness: w, live: false }));
    if (captured.length) violations = captured;
    else violations = violations.filter((v) => !v.live);
    renderList();
    select(violations.length ? 0 : -1);
    const verdict = $('verdict');
    const exp = res.expect === 'sound' ? 'sound' : `violates ${res.expect.violates.join(', ')}`;
    verdict.textContent = `verdict: ${res.verdict} (expected ${exp})${res.error ? ` — ${res.error.message}` : ''}`;
    verdict.className = `verdict ${res.verdict}`;
    updateCounters(r, true);
    controlsEnabled(true);
    const vt = Object.values(res.violations).reduce((a, b) => a + (b ?? 0), 0);
    setState('stopped', `stopped after ${(res.durationMs / 1000).toFixed(1)} s: ${fmt(res.ops)} ops, ${vt} violation${vt === 1 ? '' : 's'}`);
  };

  const updateCounters = (r: Run, final = false) => {
    const s = r.session;
    const elapsed = r.phase === 'running' ? s.elapsedMs() : r.elapsedMs;
    const ops = final && r.result ? r.result.ops : s.ops();
    const now = performance.now();
    if (r.phase === 'running' && now - r.rate.at >= 250) {
      const inst = ((ops - r.rate.ops) * 1000) / (now - r.rate.at);
      r.rate.perSec = r.rate.perSec ? r.rate.perSec * 0.5 + inst * 0.5 : inst;
      r.rate.at = now;
      r.rate.ops = ops;
    }
    $('c-elapsed').textContent = `${(elapsed / 1000).toFixed(1)} s`;
    $('c-ops').textContent = fmt(ops);
    $('c-ops-s').textContent = final && r.result ? fmt(r.result.opsPerSec) : fmt(r.rate.perSec);
    $('c-retries').textContent = fmt(final && r.result ? r.result.retries : s.retries());
    const v = s.violations();
    let total = 0;
    for (const k of VIOLATION_KINDS) {
      const c = v[k] ?? 0;
      total += c;
      const tr = kindRows.get(k)!;
      tr.cells[1].textContent = String(c);
      tr.classList.toggle('hit', c > 0);
    }
    const tot = $('viol-total');
    tot.textContent = String(total);
    tot.classList.toggle('hit', total > 0);
    const first = r.result?.firstViolationMs ?? (violations.length ? Math.min(...violations.map((x) => x.atMs)) : null);
    $('c-first').textContent = first === null ? '–' : `${first.toFixed(1)} ms`;
  };

  // ---- the frame loop ----
  const cpuStates = new Uint8Array(CFG.pages);
  const devStates = new Uint8Array(CFG.pages);
  const staleUntil = new Float64Array(CFG.pages); // keep a stale cell red long enough to see it
  const invalAt = new Float64Array(CFG.pages); // last frame a page was among the latest invalidated
  const recent = new Uint8Array(CFG.pages);
  const frame = () => {
    requestAnimationFrame(frame);
    const r = run;
    if (!r) return;
    const s = r.session;
    const now = performance.now();
    if (r.phase === 'starting') {
      if (s.ready() === s.n && !r.settled.some((x) => x !== undefined)) {
        s.go();
        r.phase = 'running';
        r.rate = { at: performance.now(), ops: 0, perSec: 0 };
        setState('running', `running ${r.name} with ${s.n} workers, seed ${r.seed}`);
      } else if (r.settled.some((x) => x !== undefined) || now - r.startedAt > CFG.barrierMs) {
        const err = r.settled.find((x) => x instanceof Error) as Error | undefined;
        requestStop(err ? err.message : 'workers did not reach the start barrier within 30 s');
      }
    }
    if (r.phase === 'running') {
      if (s.stopped()) requestStop();
      else if (s.watchdog(CFG.watchdogMs)) requestStop();
      else if (r.durationMs && s.elapsedMs() >= r.durationMs) requestStop();
      else if (r.settled.some((x) => x !== undefined)) requestStop();
    }
    if (r.phase === 'stopping') {
      const allIn = r.settled.every((x) => x !== undefined);
      if (allIn || now - r.stopRequestedAt > CFG.sliceMs * 20 + 5000) finish(r);
    }
    // live violations (throttled ring scans), liveness witness from the watchdog
    if (r.phase === 'running' || r.phase === 'stopping') {
      const vt = s.violationTotal();
      if (vt !== r.lastVTotal && now - r.lastScanAt > 150) {
        r.lastVTotal = vt;
        r.lastScanAt = now;
        scanViolations(r);
      }
      if (s.liveness && !violations.some((v) => v.witness === s.liveness)) {
        const w = s.liveness;
        violations.push({ kind: w.kind, page: w.page, thread: w.thread, role: w.role, atMs: w.atMs, summary: w.summary, witness: w, live: true });
        renderList();
        if (selected < 0) select(violations.length - 1);
      }
    }
    {
      // page tables: keep drawing (after a stop the memory shows where the race left things)
      const rd = r.reader;
      if (r.phase === 'running' || r.phase === 'stopping')
        r.lastInvTicket = rd.scanInvalidations(r.lastInvTicket, LATEST_INVALIDATIONS, (a, b) => {
          for (let p = Math.max(0, a); p < Math.min(b, CFG.pages); p++) invalAt[p] = now;
        });
      for (let p = 0; p < CFG.pages; p++) {
        cpuStates[p] = rd.cpu(p);
        if (cpuStates[p] === Cell.Inval) invalAt[p] = now;
        recent[p] = r.phase !== 'done' && now - invalAt[p] < INVAL_AFTERGLOW_MS ? 1 : 0;
        let d = rd.dev(0, p);
        if (d === Cell.Stale) staleUntil[p] = now + 800;
        else if (staleUntil[p] > now) d = Cell.Stale;
        devStates[p] = d;
      }
      const marks = new Set(violations.filter((v) => v.page >= 0).slice(-8).map((v) => v.page));
      cpuGrid.draw(cpuStates, recent, marks);
      devGrid.draw(devStates, recent, marks);
    }
    if (r.phase !== 'done') updateCounters(r);
  };
  requestAnimationFrame(frame);

  controlsEnabled(true);
  setState('idle', 'ready: pick a protocol and press Start');
}

function eventClass(text: string): string {
  if (/USE-AFTER-FREE|DEVICE-PTE-DURING|WRITE-TO-READONLY|DEADLOCK|STALL/.test(text)) return 'ev-viol';
  if (/^inv_start|^inv_end|callbacks done/.test(text)) return 'ev-inv';
  if (/^free |^migrate |^reclaim |^cow break|^zap ptes|^free page tables/.test(text)) return 'ev-free';
  if (/^hmm_range_fault|^device fault/.test(text)) return 'ev-walk';
  if (/^program |^dma /.test(text)) return 'ev-prog';
  return '';
}
