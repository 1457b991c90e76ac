/**
 * controls.ts — the demo's inputs and its URL state: protocol, events, seed, workers, duration,
 * the two switches, Start/Stop; the page's state line. The settings a run starts with are read
 * here, within the shared limits (src/config/limits.ts), and written back to the URL.
 */
import { DEFAULT_EVENTS, EVENT_NAMES, type EventName } from '../src/api/types.js';
import { LIMITS } from '../src/config/limits.js';
import type { MirrorProtocol } from '../src/protocols/api.js';
import { PROTOCOL_NAMES, getProtocol } from './protocols.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

/** The protocol the page opens with. */
const DEFAULT_PROTOCOL = 'hmm-v5.2';

/** What one run is started with. */
export interface RunSettings {
  name: string;
  proto: MirrorProtocol;
  events: EventName[];
  workers: number;
  seed: number;
  /** Infinity: until Stop. */
  durationMs: number;
  widen: boolean;
  stopOnViolation: boolean;
}

const clamp = (value: number, limit: { min: number; max: number }) => Math.max(limit.min, Math.min(limit.max, value));
const randomSeed = () => String(crypto.getRandomValues(new Uint32Array(1))[0]);

/** The page's state (body[data-state], which the styles and the e2e test read) and its status line. */
export function showState(state: string, text: string): void {
  document.body.dataset.state = state;
  $('status').textContent = text;
}

export class Controls {
  private readonly protocolSelect = $<HTMLSelectElement>('protocol');
  private readonly seedInput = $<HTMLInputElement>('seed');
  private readonly workersInput = $<HTMLInputElement>('workers');
  private readonly durationInput = $<HTMLInputElement>('duration');
  private readonly widenInput = $<HTMLInputElement>('widen');
  private readonly stopFirstInput = $<HTMLInputElement>('stop-first');
  private readonly reseedButton = $<HTMLButtonElement>('reseed');
  private readonly startButton = $<HTMLButtonElement>('start');
  private readonly stopButton = $<HTMLButtonElement>('stop');
  private readonly eventsBox = $('events');

  /** Fill the inputs from the URL (?protocol=&events=&seed=&workers=), bound them by LIMITS, wire Start and Stop. */
  constructor(onStart: () => void, onStop: () => void) {
    const params = new URLSearchParams(location.search);
    const select = this.protocolSelect;
    for (const name of PROTOCOL_NAMES) {
      const option = document.createElement('option');
      option.value = name;
      option.textContent = `${name}${getProtocol(name).expect === 'sound' ? '' : '  (broken)'}`;
      select.append(option);
    }
    const asked = params.get('protocol') ?? '';
    select.value = PROTOCOL_NAMES.includes(asked) ? asked : DEFAULT_PROTOCOL;
    const wantEvents = params.get('events')?.split(',') ?? DEFAULT_EVENTS;
    for (const ev of EVENT_NAMES) {
      const label = document.createElement('label');
      const box = document.createElement('input');
      box.type = 'checkbox';
      box.value = ev;
      box.id = `ev-${ev}`;
      box.checked = wantEvents.includes(ev);
      label.append(box, ` ${ev}`);
      this.eventsBox.append(label);
    }
    this.workersInput.min = String(LIMITS.demoWorkers.min);
    this.workersInput.max = String(LIMITS.demoWorkers.max);
    this.seedInput.min = String(LIMITS.seed.min);
    this.seedInput.max = String(LIMITS.seed.max);
    this.seedInput.value = params.get('seed') ?? randomSeed();
    if (params.get('workers')) this.workersInput.value = params.get('workers')!;
    this.reseedButton.onclick = () => (this.seedInput.value = randomSeed());
    select.onchange = () => this.showProtocol();
    this.showProtocol();
    this.startButton.onclick = onStart;
    this.stopButton.onclick = onStop;
  }

  private showProtocol(): void {
    const proto = getProtocol(this.protocolSelect.value);
    $('proto-desc').textContent = proto.description;
    const badge = $('expect');
    if (proto.expect === 'sound' || proto.expect === undefined) {
      badge.textContent = 'expected: sound';
      badge.className = 'badge sound';
    } else {
      badge.textContent = `expected: ${proto.expect.violates.join(', ')}`;
      badge.className = 'badge broken';
    }
  }

  /** Idle: the inputs and Start work; running: only Stop. */
  setIdle(idle: boolean): void {
    const inputs = [
      this.protocolSelect,
      this.seedInput,
      this.workersInput,
      this.durationInput,
      this.widenInput,
      this.stopFirstInput,
      this.reseedButton,
    ];
    for (const el of inputs) el.disabled = !idle;
    for (const box of this.eventsBox.querySelectorAll('input')) box.disabled = !idle;
    this.startButton.disabled = !idle;
    this.stopButton.disabled = idle;
  }

  /** The settings for a run (numbers clamped to the limits and shown as clamped), or why there is none. */
  read(): RunSettings | string {
    const name = this.protocolSelect.value;
    const events = [...this.eventsBox.querySelectorAll<HTMLInputElement>('input:checked')].map((c) => c.value as EventName);
    if (!events.length) return 'pick at least one event for the invalidator';
    const workers = clamp(Math.floor(Number(this.workersInput.value) || LIMITS.demoWorkers.min), LIMITS.demoWorkers);
    this.workersInput.value = String(workers);
    const seed = clamp(Math.floor(Number(this.seedInput.value) || 0), LIMITS.seed);
    this.seedInput.value = String(seed);
    const seconds = Math.max(0, Number(this.durationInput.value) || 0);
    return {
      name,
      proto: getProtocol(name),
      events,
      workers,
      seed,
      durationMs: seconds ? seconds * 1000 : Infinity,
      widen: this.widenInput.checked,
      stopOnViolation: this.stopFirstInput.checked,
    };
  }

  /** Put a run's settings in the URL, so a reload (or a shared link) repeats it. */
  saveToUrl(settings: RunSettings): void {
    const url = new URL(location.href);
    const { name: protocol, events, seed, workers } = settings;
    url.search = new URLSearchParams({ protocol, events: events.join(','), seed: String(seed), workers: String(workers) }).toString();
    history.replaceState(null, '', url);
  }
}
