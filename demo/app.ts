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
 *   stepper.ts      a controlled-mode schedule stepped through (schedule-run.ts replays it)
 */
import { DEFAULTS } from '../src/config/defaults.js';
import { Controls, showState } from './controls.js';
import { DemoRun, type RunView } from './run-loop.js';
import { WorkerPool } from './worker-pool.js';
import { PageGrids } from './page-grids.js';
import { ViolationList } from './violations.js';
import { Counters } from './counters.js';
import { Stepper } from './stepper.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

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
  const start = async () => {
    const settings = controls.read();
    if (typeof settings === 'string') {
      showState('idle', settings);
      return;
    }
    controls.setIdle(false);
    await stepper.leave(); // a free run takes the workers and the grids
    run = new DemoRun(module, settings, view);
    controls.saveToUrl(settings);
  };
  const controls = new Controls(
    () => void start(),
    () => run?.stop(),
  );
  // a schedule to step through takes the workers and the grids: a free run stops first
  const stopRun = async () => {
    run?.stop();
    while (run && !run.done) await new Promise((resolve) => requestAnimationFrame(resolve));
    run = undefined;
  };
  const stepper = new Stepper(module, view, stopRun);

  const frame = () => {
    requestAnimationFrame(frame);
    run?.frame(performance.now());
  };
  requestAnimationFrame(frame);

  controls.setIdle(true);
  showState('idle', 'ready: pick a protocol and press Start');
  await stepper.loadFromUrl();
}
