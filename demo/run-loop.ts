/**
 * run-loop.ts — one run in the browser: the same Session (src/run/session.ts) and the same run
 * monitor (src/run/monitor.ts) the Node runner drives, with Web Workers in place of piscina.
 *
 * The main thread never blocks: no Atomics.wait here. Every animation frame, `frame()` polls the
 * monitor (start barrier, deadline, watchdog, stop), scans for live violations and redraws.
 */
import { Session, layoutConfigFor } from '../src/run/session.js';
import { RunMonitor, type Settled } from '../src/run/monitor.js';
import { DEFAULTS, dealRoles } from '../src/config/defaults.js';
import type { ProtocolResult } from '../src/api/types.js';
import { showState, type RunSettings } from './controls.js';
import type { WorkerPool } from './worker-pool.js';
import type { PageGrids } from './page-grids.js';
import type { ViolationList } from './violations.js';
import { fmt, type Counters } from './counters.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

/** Scan the event rings for live violations at most this often (ms), and only when the counters moved. */
const RING_SCAN_MS = 150;

/** What a run draws on. */
export interface RunView {
  pool: WorkerPool;
  grids: PageGrids;
  violations: ViolationList;
  counters: Counters;
  /** Called once the run is over and its verdict is shown. */
  onDone: () => void;
}

export class DemoRun {
  readonly session: Session;
  readonly monitor: RunMonitor;
  private readonly settled: Settled[];
  private result: ProtocolResult | undefined;
  private lastViolationTotal = 0;
  private lastScanAt = 0;

  /** Lay out the memory, start one worker per role thread and wait for them at the barrier. */
  constructor(
    module: WebAssembly.Module,
    private readonly settings: RunSettings,
    private readonly view: RunView,
  ) {
    const { name, proto, workers, seed, events } = settings;
    const roles = dealRoles(workers);
    const { pages, devices, subsPerDevice } = DEFAULTS;
    const layout = layoutConfigFor(proto, { pages, devices, subsPerDevice, roleThreads: workers });
    const session = new Session({
      proto,
      protocolUrl: name,
      protocolWhere: name,
      module,
      layout,
      roles,
      seed,
      events,
      oracle: true,
      recordEvents: true,
      widen: settings.widen,
      stopOnViolation: settings.stopOnViolation,
      lockTimeoutMs: DEFAULTS.lockTimeoutMs,
      sliceMs: DEFAULTS.sliceMs,
    });
    this.session = session;
    view.violations.clear();
    view.grids.attach(session.i32, session.layout);
    $('verdict').textContent = '';
    $('verdict').className = 'verdict';
    view.pool.trim(workers);
    const settled: Settled[] = Array.from({ length: workers }, () => undefined);
    session.tasks.forEach((task, i) => view.pool.run(i, task, name).then((r) => (settled[i] = r)));
    this.settled = settled;
    this.monitor = new RunMonitor(session, settled, {
      durationMs: settings.durationMs,
      opsBudget: Infinity,
      watchdogMs: DEFAULTS.watchdogMs,
      stopOnViolation: settings.stopOnViolation,
      barrierMs: DEFAULTS.barrierMs,
      sliceMs: DEFAULTS.sliceMs,
      expect: proto.expect ?? 'sound',
    });
    showState('starting', `starting ${workers} workers…`);
  }

  get done(): boolean {
    return this.monitor.phase === 'done';
  }

  /** The Stop button. */
  stop(): void {
    if (this.monitor.phase === 'stopping' || this.monitor.phase === 'done') return;
    this.monitor.stop();
    showState('stopping', 'stopping…');
  }

  /** One animation frame: advance the monitor, pick up live violations, redraw. */
  frame(now: number): void {
    const { monitor, session, view } = this;
    const before = monitor.phase;
    if (before !== 'done') {
      const phase = monitor.poll();
      if (phase !== before) this.entered(phase, now);
    }
    const live = monitor.phase === 'running' || monitor.phase === 'stopping';
    if (live) {
      const total = session.violationTotal();
      if (total !== this.lastViolationTotal && now - this.lastScanAt > RING_SCAN_MS) {
        this.lastViolationTotal = total;
        this.lastScanAt = now;
        view.violations.scanRings(session, this.settings.name, this.settings.seed);
      }
      if (session.liveness) view.violations.addLiveness(session.liveness);
    }
    // the page tables keep being drawn: after a stop the memory shows where the race left things
    view.grids.draw(now, live, view.violations.markedPages());
    if (monitor.phase !== 'done') this.showCounters(now);
  }

  private entered(phase: RunMonitor['phase'], now: number): void {
    const { session, settings } = this;
    if (phase === 'running') {
      this.view.counters.restartRate(now);
      showState('running', `running ${settings.name} with ${session.n} workers, seed ${settings.seed}`);
    } else if (phase === 'stopping') {
      showState('stopping', 'stopping…');
    } else if (phase === 'done') {
      this.finish();
    }
  }

  private showCounters(now: number): void {
    const { monitor, session } = this;
    const running = monitor.phase === 'running';
    const elapsed = running ? session.elapsedMs() : monitor.elapsedMs;
    this.view.counters.update(session, elapsed, running, now, this.view.violations.firstAtMs(), this.result);
  }

  /** The end of a run: kill the workers that did not stop, summarize exactly as the Node runner does. */
  private finish(): void {
    const { monitor, session, view } = this;
    for (const tid of monitor.hung()) view.pool.kill(tid);
    const result = session.summarize(this.settled, monitor.elapsedMs, monitor.harnessError);
    this.result = result;
    view.violations.settle(result.witnesses);
    const verdict = $('verdict');
    const expected = result.expect === 'sound' ? 'sound' : `violates ${result.expect.violates.join(', ')}`;
    verdict.textContent = `verdict: ${result.verdict} (expected ${expected})${result.error ? ` — ${result.error.message}` : ''}`;
    verdict.className = `verdict ${result.verdict}`;
    this.showCounters(performance.now());
    view.onDone();
    const total = Object.values(result.violations).reduce((a, b) => a + (b ?? 0), 0);
    const seconds = (result.durationMs / 1000).toFixed(1);
    showState('stopped', `stopped after ${seconds} s: ${fmt(result.ops)} ops, ${total} violation${total === 1 ? '' : 's'}`);
  }
}
