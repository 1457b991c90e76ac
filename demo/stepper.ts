/**
 * stepper.ts — step through a controlled-mode schedule, one scheduling point at a time, forward
 * and back: the page-table grids show the memory at the step, the witness marks how far the
 * schedule got. Each step is a real replay (schedule-run.ts) up to that step, cached; the steps
 * around the one shown are replayed ahead while the page is idle.
 *
 * Inputs: a JSON file (the picker, or dropped anywhere on the page) or `?schedule=` in the URL
 * (schedule-input.ts; `&step=k` opens at step k). Keys: ← → one step, Home / End the first step
 * and the last (the violation).
 */
import { checkSchedule } from '../src/schedule/schedule.js';
import { replayPlan, runningAt, type ReplayPlan } from '../src/schedule/stepping.js';
import { describe, readRings } from '../src/oracle/events.js';
import type { Outcome } from '../src/schedule/executor.js';
import type { MirrorProtocol } from '../src/protocols/api.js';
import type { Schedule, Witness } from '../src/api/types.js';
import { showState } from './controls.js';
import { PROTOCOL_NAMES, getProtocol } from './protocols.js';
import { PageGrids } from './page-grids.js';
import { replayTo, type StepState } from './schedule-run.js';
import { decodeScheduleParam, encodeScheduleParam, parseSchedule, type LoadedSchedule } from './schedule-input.js';
import type { RunView } from './run-loop.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

/** Steps kept (each a few hundred bytes: the cells and the step's newest event). */
const CACHE_STEPS = 4096;

/** What one step shows. */
interface StepView {
  cpu: Uint8Array;
  dev: Uint8Array;
  /** The newest event's ticket at this step (0: none yet), and its line. */
  ticket: number;
  event: string;
  /** ms the replay up to this step took. */
  ms: number;
}

/** The schedule being stepped through. */
interface Loaded {
  schedule: Schedule;
  name: string;
  proto: MirrorProtocol;
  plan: ReplayPlan;
  /** The replay to the end: its outcome fixes the last step n. */
  outcome: Outcome;
  steps: number;
  cache: Map<number, StepView>;
}

export class Stepper {
  private loaded: Loaded | undefined;
  private shown = -1;
  private want = 0;
  /** The stepping loop, while it runs. */
  private pumping: Promise<void> | undefined;
  /** Every replay goes through this chain: the workers run one schedule at a time. */
  private replays: Promise<unknown> = Promise.resolve();
  private generation = 0;

  constructor(
    private readonly module: WebAssembly.Module,
    private readonly view: RunView,
    /** Stop a free run (and wait until it is over) before a schedule takes the workers and the grids. */
    private readonly beforeLoad: () => Promise<void>,
  ) {
    const file = $<HTMLInputElement>('schedule-file');
    file.onchange = () => {
      const f = file.files?.[0];
      if (f) void this.loadFile(f);
      file.value = '';
    };
    window.addEventListener('dragover', (e) => {
      if (e.dataTransfer?.types.includes('Files')) e.preventDefault();
    });
    window.addEventListener('drop', (e) => {
      const f = e.dataTransfer?.files[0];
      if (!f) return;
      e.preventDefault();
      void this.loadFile(f);
    });
    $('step-first').onclick = () => this.go(0);
    $('step-back').onclick = () => this.go(this.want - 1);
    $('step-forward').onclick = () => this.go(this.want + 1);
    $('step-violation').onclick = () => this.go(Infinity);
    const slider = $<HTMLInputElement>('step-slider');
    slider.oninput = () => this.go(Number(slider.value));
    window.addEventListener('keydown', (e) => {
      if (!this.loaded || e.altKey || e.ctrlKey || e.metaKey) return;
      const target = e.target as HTMLElement | null;
      if (target?.closest('input, select, textarea, [contenteditable]')) return;
      const to = { ArrowLeft: this.want - 1, ArrowRight: this.want + 1, Home: 0, End: Infinity }[e.key];
      if (to === undefined) return;
      e.preventDefault();
      this.go(to);
    });
    this.setEnabled(false);
  }

  get active(): boolean {
    return this.loaded !== undefined;
  }

  /** The URL's `?schedule=` (and `&step=`), if any. */
  async loadFromUrl(): Promise<void> {
    const params = new URLSearchParams(location.search);
    const value = params.get('schedule');
    if (value === null) return;
    let input: LoadedSchedule;
    try {
      input = parseSchedule(await decodeScheduleParam(value), 'the URL’s ?schedule=');
    } catch (e) {
      return this.fail(e);
    }
    await this.load(input, 'the link', Number(params.get('step') ?? 0) || 0);
  }

  private async loadFile(file: File): Promise<void> {
    let input: LoadedSchedule;
    try {
      input = parseSchedule(await file.text(), file.name);
    } catch (e) {
      return this.fail(e);
    }
    await this.load(input, file.name, 0);
  }

  /** Check the schedule, replay it to its end (the real run: protocol, roles, Wasm, oracle), then show `step`. */
  async load(input: LoadedSchedule, where: string, step: number): Promise<void> {
    const gen = ++this.generation;
    await this.leave();
    await this.beforeLoad();
    if (gen !== this.generation) return;
    this.setError('');
    let schedule: Schedule;
    try {
      schedule = checkSchedule(input.schedule, where);
      if (schedule.protocolHash !== undefined || !PROTOCOL_NAMES.includes(schedule.protocol))
        throw new Error(
          `${where}: protocol ${schedule.protocol} is not built into the demo (it has ${PROTOCOL_NAMES.length}: ${PROTOCOL_NAMES.join(', ')}): replay it with hmmsim replay`,
        );
    } catch (e) {
      return this.fail(e);
    }
    const name = schedule.protocol;
    const proto = getProtocol(name);
    // the controls show the schedule's protocol (its description and expectation)
    const select = $<HTMLSelectElement>('protocol');
    select.value = name;
    select.dispatchEvent(new Event('change'));
    const plan = replayPlan(schedule, proto);
    showState('replaying', `replaying ${name}, seed ${schedule.seed}, ${schedule.switches.length} switches…`);
    this.setEnabled(false);
    const t0 = performance.now();
    let end: StepState;
    try {
      end = await this.exclusive(() => replayTo(this.module, this.view.pool, name, proto, plan));
      if (gen !== this.generation) return;
    } catch (e) {
      return this.fail(e);
    }
    const { outcome } = end;
    const loaded: Loaded = { schedule, name, proto, plan, outcome, steps: outcome.steps, cache: new Map() };
    this.loaded = loaded;
    this.cache(loaded, end, performance.now() - t0);
    this.view.violations.clear();
    if (outcome.witness) this.view.violations.showReplay(outcome.witness);
    $('replay-result').textContent = this.resultLine(outcome, input.recorded);
    if (outcome.error) this.setError(`the replay failed: ${outcome.error}`);
    else if (outcome.divergence) {
      const d = outcome.divergence;
      const why =
        d.thread >= 0
          ? `the schedule names T${d.thread}, which cannot run there`
          : 'the running thread blocks where the schedule has no switch';
      this.setError(`${where}: the replay diverged at step ${d.step}: ${why} (steps up to it are shown)`);
    }
    const slider = $<HTMLInputElement>('step-slider');
    slider.max = String(loaded.steps);
    this.setEnabled(true);
    void this.saveToUrl(schedule);
    this.go(step);
  }

  /** A free run takes the workers and the grids: stop stepping (after the replay in flight). */
  async leave(): Promise<void> {
    this.loaded = undefined;
    this.shown = -1;
    this.setEnabled(false);
    $('step-counter').textContent = 'step – / –';
    await this.pumping;
    await this.replays;
  }

  /** Show step `k` (clamped to 0..n): replay up to it unless cached, then the neighbours. */
  go(k: number): void {
    const loaded = this.loaded;
    if (!loaded) return;
    this.want = Math.max(0, Math.min(loaded.steps, Number.isFinite(k) ? Math.round(k) : loaded.steps));
    $('step-counter').dataset.busy = loaded.cache.has(this.want) ? '' : 'busy';
    this.pumping ??= this.pump().finally(() => (this.pumping = undefined));
  }

  /** Replay what is wanted, one replay at a time: the step asked for first, then its neighbours (prefetch). */
  private async pump(): Promise<void> {
    for (;;) {
      const loaded = this.loaded;
      if (!loaded) return;
      const k = this.want;
      const need = [k, k - 1, k + 1].find((s) => s >= 0 && s <= loaded.steps && !loaded.cache.has(s));
      if (this.shown !== k && loaded.cache.has(k)) this.render(k);
      if (need === undefined) return;
      const t0 = performance.now();
      let state: StepState;
      try {
        state = await this.exclusive(() => replayTo(this.module, this.view.pool, loaded.name, loaded.proto, loaded.plan, need));
      } catch (e) {
        return this.fail(e);
      }
      if (this.loaded !== loaded) return;
      const { outcome } = state;
      if (outcome.status === 'error' || outcome.status === 'divergence' || outcome.steps !== need) {
        // the same schedule must take the same path: ending elsewhere is a divergence of the harness
        const why =
          outcome.error ??
          (outcome.divergence ? `diverged at step ${outcome.divergence.step}` : `it ended at step ${outcome.steps} (${outcome.status})`);
        this.fail(new Error(`replaying to step ${need}: ${why}`));
        return;
      }
      this.cache(loaded, state, performance.now() - t0);
      // a neighbour replayed after the step was drawn: draw it again with the cells this step changed
      if (need === k - 1 && this.shown === k) this.render(k);
    }
  }

  /** Run `fn` once the replays before it are over (they share the workers). */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.replays.then(fn);
    this.replays = run.catch(() => undefined);
    return run;
  }

  private cache(loaded: Loaded, state: StepState, ms: number): void {
    const { cpu, dev } = PageGrids.cellsOf(state.i32, state.layout);
    const { layout, names } = state;
    const events = readRings(state.i32, layout.ringsBase, layout.config.threads, layout.config.ringEntries);
    const newest = events.at(-1);
    const event = newest ? `#${newest.ticket} T${newest.thread} ${names.roles[newest.thread]}: ${describe(newest, names)}` : 'no event yet';
    if (loaded.cache.size >= CACHE_STEPS) loaded.cache.delete(loaded.cache.keys().next().value as number);
    loaded.cache.set(state.step, { cpu, dev, ticket: newest?.ticket ?? 0, event, ms });
  }

  private render(k: number): void {
    const loaded = this.loaded!;
    const v = loaded.cache.get(k)!;
    const prev = loaded.cache.get(k - 1);
    const diff = (a: Uint8Array, b: Uint8Array | undefined) => (b ? a.map((x, i) => (x !== b[i] ? 1 : 0)) : undefined);
    const witness = loaded.outcome.witness;
    const marks = new Set<number>(witness && witness.page >= 0 ? [witness.page] : []);
    this.view.grids.show(v.cpu, v.dev, marks, diff(v.cpu, prev?.cpu), diff(v.dev, prev?.dev));
    this.shown = k;
    const counter = $('step-counter');
    counter.textContent = `step ${k} / ${loaded.steps}`;
    counter.dataset.step = String(k);
    counter.dataset.busy = k === this.want ? '' : 'busy';
    $<HTMLInputElement>('step-slider').value = String(k);
    const t = runningAt(loaded.outcome.switches, k);
    const who = t >= 0 ? `T${t} ${loaded.schedule.config.roles[t]} runs` : 'no thread has run yet';
    const current = this.view.violations.markProgress(v.ticket);
    const end =
      k === loaded.steps
        ? ` — the schedule ends here: ${loaded.outcome.status}${loaded.outcome.kind ? ` (${loaded.outcome.kind})` : ''}`
        : '';
    $('step-info').textContent = `${who}; newest event ${v.event}${end}`;
    $('step-witness').textContent = current ? `witness so far: ${current}` : 'the witness starts later';
    $('step-time').textContent = `replayed from step 0 in ${v.ms.toFixed(1)} ms`;
    showState('stepping', `stepping through ${loaded.name}, seed ${loaded.schedule.seed}: step ${k} of ${loaded.steps}`);
    const url = new URL(location.href);
    if (url.searchParams.has('schedule')) {
      url.searchParams.set('step', String(k));
      history.replaceState(null, '', url);
    }
  }

  private resultLine(outcome: Outcome, recorded: Witness | undefined): string {
    const found = outcome.kind ? `${outcome.kind} at step ${outcome.steps}` : `no violation in ${outcome.steps} steps (${outcome.status})`;
    if (!recorded) return `replayed: ${found}`;
    const same = outcome.witness?.text === recorded.text;
    return `replayed: ${found}; ${same ? 'the same witness as recorded, byte for byte' : `the witness differs from the recorded one (${recorded.kind})`}`;
  }

  private async saveToUrl(schedule: Schedule): Promise<void> {
    const url = new URL(location.href);
    url.search = new URLSearchParams({ schedule: await encodeScheduleParam(schedule), step: String(this.want) }).toString();
    if (this.loaded?.schedule === schedule) history.replaceState(null, '', url);
  }

  private setEnabled(on: boolean): void {
    for (const id of ['step-first', 'step-back', 'step-forward', 'step-violation', 'step-slider']) $<HTMLInputElement>(id).disabled = !on;
  }

  private setError(message: string): void {
    const el = $('schedule-error');
    el.textContent = message;
    el.hidden = !message;
  }

  /** One line in the page, never a thrown error. */
  private fail(e: unknown): void {
    const message = (e instanceof Error ? e.message : String(e)).split('\n')[0];
    this.setError(message);
    if (!this.loaded) {
      this.setEnabled(false);
      showState('schedule-error', message);
    }
  }
}
