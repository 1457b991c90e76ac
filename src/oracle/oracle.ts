/**
 * oracle.ts — the worker side of the oracle: when a check in Wasm (program, DMA, walk,
 * callbacks-done) reports a violation, record it as an event, count it, timestamp the first,
 * and keep a witness: a snapshot of every thread's event ring taken right then (before the
 * rings move on), rendered later by witness.ts.
 */
import { L, STOP_WORD, addr, type Layout } from '../memory/layout.js';
import { VIOLATION_KINDS, type ViolationKind } from '../api/kinds.js';
import { EV, readRings, type RawEvent } from './events.js';
import type { HmmWasm } from '../memory/wasm.js';

export interface Capture {
  kind: ViolationKind;
  thread: number;
  ticket: number;
  atMs: number;
  page: number;
  pfn: number;
  genWant: number;
  genHave: number;
  device: number;
  /** The thread that programmed the stale entry, or -1 (not a device entry, or unknown). */
  programmer: number;
  events: RawEvent[];
  /** `events` is already the witness's selection (witness.ts selectWitnessEvents), not the whole snapshot. */
  selected?: boolean;
  /** The most recent of its kind (kept besides the first ones when latestEveryMs is set). */
  latest?: boolean;
}

/** How many witnesses each worker keeps per kind, and how far back a snapshot reaches. */
export const CAPTURES_PER_KIND = 2;
export const WINDOW_TICKETS = 1 << 20;

export const epochNow = (): number => performance.timeOrigin + performance.now();

export class Oracle {
  readonly counts: Partial<Record<ViolationKind, number>> = {};
  firstAtMs: number | null = null;
  /** The first CAPTURES_PER_KIND witnesses of each kind. */
  readonly firsts: Capture[] = [];
  /** Long runs: also keep the most recent witness of each kind, refreshed at most this often (ms; 0: off). */
  latestEveryMs = 0;
  private readonly latest = new Map<ViolationKind, Capture>();

  constructor(
    private readonly i32: Int32Array,
    private readonly wasm: HmmWasm,
    private readonly layout: Layout,
    private readonly tid: number,
    private readonly startEpochMs: () => number,
    private readonly stopOnViolation: boolean,
    /** Controlled mode: the time of a violation is the schedule's step, not the clock. */
    private readonly clock?: () => number,
  ) {}

  /** A Wasm check returned -(kind + 1); its details are in this thread's T_VIOL. */
  onViolation = (ret: number): void => {
    const kindIdx = -ret - 1;
    const kind = VIOLATION_KINDS[kindIdx];
    const record = addr.thread(this.layout, this.tid) + L.T_VIOL;
    const i32 = this.i32;
    const field = (off: number) => i32[(record + off) >> 2];
    const page = field(L.VR_PAGE),
      pfn = field(L.VR_PFN),
      genWant = field(L.VR_GEN_WANT),
      genHave = field(L.VR_GEN_HAVE),
      device = field(L.VR_DEVICE);
    const programmer = field(L.VR_PROGRAMMER) - 1;
    const ticket = this.wasm.ev(this.tid, EV.VIOLATION, kindIdx, page, pfn, genWant, genHave, device);
    this.counts[kind] = (this.counts[kind] ?? 0) + 1;
    const atMs = this.clock ? this.clock() : epochNow() - this.startEpochMs();
    if (this.firstAtMs === null) this.firstAtMs = atMs;
    const first = this.firsts.filter((c) => c.kind === kind).length < CAPTURES_PER_KIND;
    const last = this.latest.get(kind);
    const refresh = !first && this.latestEveryMs > 0 && (!last || atMs - last.atMs >= this.latestEveryMs);
    if (first || refresh) {
      const c = this.layout.config;
      const events = readRings(i32, this.layout.ringsBase, c.threads, c.ringEntries, ticket - WINDOW_TICKETS).filter(
        (e) => e.ticket <= ticket,
      );
      const capture: Capture = { kind, thread: this.tid, ticket, atMs, page, pfn, genWant, genHave, device, programmer, events };
      if (first) this.firsts.push(capture);
      else this.latest.set(kind, { ...capture, latest: true });
    }
    if (this.stopOnViolation) Atomics.store(i32, STOP_WORD, 1);
  };

  /** The witnesses kept: the first ones of each kind, then the most recent ones. */
  get captures(): Capture[] {
    return [...this.firsts, ...this.latest.values()];
  }
}
