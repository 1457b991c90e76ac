/**
 * violations.ts — the violation list and the witness timeline (one lane per thread). While a
 * run goes, entries are live snapshots read from the event rings; when it stops, the oracle's
 * own captures replace them.
 */
import { VIOLATION_KINDS, type ViolationKind } from '../src/api/kinds.js';
import { EV, readRings } from '../src/oracle/events.js';
import { renderWitness } from '../src/oracle/witness.js';
import type { Witness } from '../src/api/types.js';
import type { Session } from '../src/run/session.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const hex = (n: number) => '0x' + (n >>> 0).toString(16);

/** At most this many live entries are listed. */
const MAX_LIVE = 200;
/** Violation pages outlined on the grids: the newest few. */
const MARKED_PAGES = 8;

interface ViolationEntry {
  kind: ViolationKind;
  page: number;
  thread: number;
  role: string;
  atMs: number;
  summary: string;
  witness: Witness | undefined;
  live: boolean;
  /** A controlled-mode witness: atMs is its step. */
  atStep?: boolean;
}

const entryOf = (w: Witness, live: boolean): ViolationEntry => ({
  kind: w.kind,
  page: w.page,
  thread: w.thread,
  role: w.role,
  atMs: w.atMs,
  summary: w.summary,
  witness: w,
  live,
});

/** A witness line's class: its violation label (the kinds in capitals), or the kind of step. */
const VIOLATION_LABEL = new RegExp(VIOLATION_KINDS.map((k) => k.toUpperCase()).join('|'));
function eventClass(text: string): string {
  if (VIOLATION_LABEL.test(text)) return 'ev-viol';
  if (/^inv_start|^inv_end|callbacks done/.test(text)) return 'ev-inv';
  if (/^free |^migrate |^reclaim |^cow break|^zap ptes|^free page tables/.test(text)) return 'ev-free';
  if (/^hmm_range_fault|^device fault/.test(text)) return 'ev-walk';
  if (/^program |^dma /.test(text)) return 'ev-prog';
  return '';
}

export class ViolationList {
  private entries: ViolationEntry[] = [];
  private selected = -1;
  private lastTicket = 0;

  /** A new run: nothing listed, nothing selected. */
  clear(): void {
    this.entries = [];
    this.lastTicket = 0;
    this.select(-1);
  }

  /** Earliest violation listed (ms into the run), or null. */
  firstAtMs(): number | null {
    return this.entries.length ? Math.min(...this.entries.map((v) => v.atMs)) : null;
  }

  /** Pages to outline on the grids. */
  markedPages(): Set<number> {
    return new Set(
      this.entries
        .filter((v) => v.page >= 0)
        .slice(-MARKED_PAGES)
        .map((v) => v.page),
    );
  }

  /** Live: read the violations recorded in the event rings since the last scan, with their witnesses. */
  scanRings(session: Session, protocol: string, seed: number): void {
    const layout = session.layout;
    const events = readRings(session.i32, layout.ringsBase, layout.config.threads, layout.config.ringEntries);
    let added = false;
    for (const e of events) {
      if (e.type !== EV.VIOLATION || e.ticket <= this.lastTicket) continue;
      this.lastTicket = e.ticket;
      const kind = VIOLATION_KINDS[e.a];
      if (!kind) continue;
      const atMs = session.elapsedMs();
      const capture = {
        kind,
        thread: e.thread,
        ticket: e.ticket,
        atMs,
        page: e.b,
        pfn: e.c,
        genWant: e.d,
        genHave: e.e,
        device: e.f,
        programmer: -1,
        events,
      };
      const w = renderWitness(capture, session.names, protocol, seed);
      if (this.entries.length < MAX_LIVE) this.entries.push({ ...entryOf(w, true), atMs });
      added = true;
    }
    if (added) {
      this.render();
      if (this.selected < 0) this.select(0);
    }
  }

  /** Live: the watchdog's liveness witness, once. */
  addLiveness(w: Witness): void {
    if (this.entries.some((v) => v.witness === w)) return;
    this.entries.push(entryOf(w, true));
    this.render();
    if (this.selected < 0) this.select(this.entries.length - 1);
  }

  /** The run stopped: the oracle's captures replace the live snapshots. */
  settle(captured: Witness[]): void {
    this.entries = captured.length ? captured.map((w) => entryOf(w, false)) : this.entries.filter((v) => !v.live);
    this.render();
    this.select(this.entries.length ? 0 : -1);
  }

  /** Stepping through a schedule: its replay's witness is the one entry, drawn at once. */
  showReplay(w: Witness): void {
    this.entries = [{ ...entryOf(w, false), atStep: true }];
    this.select(0);
  }

  /**
   * Stepping: the witness rows up to `ticket` (the newest event at the step shown) are done, the
   * newest of them is the current one, the rest are still to come. Returns the current row's text.
   */
  markProgress(ticket: number): string | undefined {
    let current: HTMLElement | undefined;
    for (const tr of $('timeline').querySelectorAll<HTMLElement>('tbody tr[data-ticket]')) {
      const t = Number(tr.dataset.ticket);
      tr.classList.remove('current');
      tr.classList.toggle('future', t > ticket);
      if (t <= ticket) current = tr;
    }
    current?.classList.add('current');
    return current?.querySelector('td.ev')?.textContent ?? undefined;
  }

  private select(i: number): void {
    this.selected = i;
    this.render();
    this.drawWitness(this.entries[i]);
  }

  private render(): void {
    const ol = $('viol-list');
    ol.textContent = '';
    this.entries.forEach((v, i) => {
      const li = document.createElement('li');
      li.className = i === this.selected ? 'selected' : '';
      li.dataset.index = String(i);
      const k = document.createElement('span');
      k.className = 'kind';
      k.textContent = v.kind;
      const at = v.atStep ? `step ${v.atMs}` : `${v.live ? 'seen ≈' : ''}${v.atMs.toFixed(v.live ? 0 : 1)} ms`;
      li.append(k, ` ${v.page >= 0 ? `page ${hex(v.page)}, ` : ''}T${v.thread} ${v.role}, ${at}`);
      if (v.live) {
        const s = document.createElement('span');
        s.className = 'live';
        s.textContent = ' (live)';
        li.append(s);
      }
      li.title = v.summary;
      li.onclick = () => this.select(i);
      ol.append(li);
    });
    $('viol-empty').hidden = this.entries.length > 0;
  }

  /** The witness timeline: one lane per thread, one row per event. */
  private drawWitness(v: ViolationEntry | undefined): void {
    const w = v?.witness;
    const box = $('timeline');
    box.textContent = '';
    $('witness-text').textContent = w?.text ?? '';
    $('witness-title').textContent = w
      ? `${w.summary}${v?.live ? " — live snapshot of the event rings; the oracle's own capture replaces it when the run stops" : ''}`
      : 'the interleaving that led to the violation, one lane per thread';
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
      tr.dataset.ticket = String(e.ticket);
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
  }
}
