/**
 * witness.ts — turning a captured ring snapshot into the readable interleaving of the threads
 * involved in a violation (DESIGN.md section 5):
 *
 *   T3 driver   hmm_range_fault [0x40,0x48) -> 0 pfn[0x40]=917 gen 3
 *   T1 invalid  inv_start [0x42,0x43) migrate
 *   ...
 *   T4 dma      dev0[0x42] -> pfn 917 gen 4 != 3  USE-AFTER-FREE
 *
 * Which events: from the last snapshot (walk) of the violating page that led to the stale
 * entry, up to the detection: every event of the threads that walked/programmed/detected, and
 * the events of other threads that touch the page (invalidations, frees), including what those
 * threads did between their inv_start and inv_end of it (the callbacks).
 */
import { EV, describe, eventPages, type RawEvent, type RenderNames } from './events.js';
import type { Capture } from './oracle.js';
import type { Witness, WitnessEvent } from './types.js';

export const WITNESS_MAX_LINES = 40;

const covers = (e: RawEvent, page: number): boolean => {
  const r = eventPages(e);
  return r !== null && r[0] <= page && page < r[1];
};

export function selectWitnessEvents(c: Capture): RawEvent[] {
  const evs = c.events;
  const det = evs.findIndex((e) => e.ticket === c.ticket);
  const end = det >= 0 ? det : evs.length - 1;
  // who put the stale entry there: the last PROGRAM of the page before detection (maybe the detector)
  let prog = -1;
  for (let i = end; i >= 0; i--)
    if ((evs[i].type === EV.PROGRAM || evs[i].type === EV.WALK) && covers(evs[i], c.page)) {
      if (evs[i].type === EV.PROGRAM || evs[i].thread === c.thread) {
        prog = i;
        break;
      }
    }
  const actor = prog >= 0 ? evs[prog].thread : c.thread;
  // ... and the walk that snapshotted it
  let begin = Math.max(0, end - WITNESS_MAX_LINES);
  for (let i = prog >= 0 ? prog : end; i >= 0; i--)
    if (evs[i].thread === actor && (evs[i].type === EV.WALK || evs[i].type === EV.POPULATE) && covers(evs[i], c.page) && i !== prog) {
      begin = i;
      // include the protocol steps right before the walk (read_begin etc.)
      for (let j = i - 1, n = 0; j >= 0 && n < 4; j--) if (evs[j].thread === actor) (begin = j), n++;
      break;
    }
  const focus = new Set([actor, c.thread]);
  // threads inside an invalidation of the page: all their events between its start and end
  const inInval = new Map<number, boolean>();
  const keep: RawEvent[] = [];
  for (let i = begin; i <= end; i++) {
    const e = evs[i];
    const touches = covers(e, c.page);
    if (e.type === EV.INV_START && touches) inInval.set(e.thread, true);
    const within = inInval.get(e.thread) === true;
    if (focus.has(e.thread) || touches || within) keep.push(e);
    if (e.type === EV.INV_END && touches) inInval.set(e.thread, false);
  }
  if (keep.length > WITNESS_MAX_LINES) return [...keep.slice(0, 6), ...keep.slice(keep.length - (WITNESS_MAX_LINES - 6))];
  return keep;
}

export function renderEvents(evs: RawEvent[], names: RenderNames): WitnessEvent[] {
  return evs.map((e) => ({ ticket: e.ticket, thread: e.thread, role: names.roles[e.thread] ?? '?', text: describe(e, names) }));
}

export function formatLines(lines: WitnessEvent[]): string {
  return lines.map((l) => `T${l.thread} ${l.role.padEnd(11)} ${l.text}`).join('\n');
}

export function renderWitness(c: Capture, names: RenderNames, protocol: string, seed: number): Witness {
  const events = renderEvents(selectWitnessEvents(c), names);
  const summary = `${c.kind} on page 0x${c.page.toString(16)}` + (c.pfn >= 0 ? ` (pfn ${c.pfn}${c.genWant !== c.genHave && c.genHave >= 0 ? `, gen ${c.genWant} -> ${c.genHave}` : ''})` : '') + ` detected by T${c.thread} ${names.roles[c.thread] ?? ''} at ${c.atMs.toFixed(1)} ms`;
  const text = `${protocol}: ${summary}\n${formatLines(events)}\nrerun: hmmsim stress --protocol ${protocol} --seed ${seed}`;
  return { kind: c.kind, thread: c.thread, role: names.roles[c.thread] ?? '?', atMs: c.atMs, page: c.page, summary, events, text };
}
