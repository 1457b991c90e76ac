/**
 * counters.ts — the counters table: elapsed, ops, ops/s (smoothed while running), retries, and
 * one row per violation kind (src/api/kinds.ts), with the total and the first violation's time.
 */
import { VIOLATION_KINDS, type ViolationKind } from '../src/api/kinds.js';
import type { ProtocolResult } from '../src/api/types.js';
import type { Session } from '../src/run/session.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
export const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

/** The ops/s figure is a rate over at least this long, halved into the previous one. */
const RATE_WINDOW_MS = 250;

export class Counters {
  private readonly kindRows = new Map<ViolationKind, HTMLTableRowElement>();
  private rate = { at: 0, ops: 0, perSec: 0 };

  constructor() {
    for (const kind of VIOLATION_KINDS) {
      const tr = document.createElement('tr');
      tr.className = 'kind';
      tr.dataset.kind = kind;
      tr.innerHTML = `<th>${kind}</th><td>0</td>`;
      $('c-kinds').append(tr);
      this.kindRows.set(kind, tr);
    }
  }

  /** The run's clock started: the rate starts from zero. */
  restartRate(now: number): void {
    this.rate = { at: now, ops: 0, perSec: 0 };
  }

  /**
   * Show the counters: live ones read from the shared memory while `running`, the final
   * result's once there is one. `firstViolationMs` is the earliest one listed so far.
   */
  update(
    session: Session,
    elapsedMs: number,
    running: boolean,
    now: number,
    firstViolationMs: number | null,
    result?: ProtocolResult,
  ): void {
    const ops = result ? result.ops : session.ops();
    const rate = this.rate;
    if (running && now - rate.at >= RATE_WINDOW_MS) {
      const inst = ((ops - rate.ops) * 1000) / (now - rate.at);
      rate.perSec = rate.perSec ? rate.perSec * 0.5 + inst * 0.5 : inst;
      rate.at = now;
      rate.ops = ops;
    }
    $('c-elapsed').textContent = `${(elapsedMs / 1000).toFixed(1)} s`;
    $('c-ops').textContent = fmt(ops);
    $('c-ops-s').textContent = fmt(result ? result.opsPerSec : rate.perSec);
    $('c-retries').textContent = fmt(result ? result.retries : session.retries());
    const violations = session.violations();
    let total = 0;
    for (const kind of VIOLATION_KINDS) {
      const count = violations[kind] ?? 0;
      total += count;
      const tr = this.kindRows.get(kind)!;
      tr.cells[1].textContent = String(count);
      tr.classList.toggle('hit', count > 0);
    }
    const totalCell = $('viol-total');
    totalCell.textContent = String(total);
    totalCell.classList.toggle('hit', total > 0);
    const first = result?.firstViolationMs ?? firstViolationMs;
    $('c-first').textContent = first === null ? '–' : `${first.toFixed(1)} ms`;
  }
}
