/**
 * witness.ts — turning a captured ring snapshot into the readable interleaving of the threads
 * involved in a violation (docs/ARCHITECTURE.md, Witnesses):
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
import { EV, PFNCACHE_OP, describe, eventPages, fieldName, type RawEvent, type RenderNames } from './events.js';
import { L } from '../memory/layout.js';
import type { Capture } from './oracle.js';
import { contractName } from './contract.js';
import type { Witness, WitnessEvent } from '../api/types.js';

export const WITNESS_MAX_LINES = 40;

const covers = (e: RawEvent, page: number): boolean => {
  const r = eventPages(e);
  return r !== null && r[0] <= page && page < r[1];
};

/** What put a stale entry in place: a device program, or a pfn cache's set. */
const isProgram = (e: RawEvent): boolean => e.type === EV.PROGRAM || (e.type === EV.PFNCACHE && e.b === PFNCACHE_OP.set);
/** The snapshot it came from: a walk, or a pfn cache's resolve. */
const isWalk = (e: RawEvent): boolean => e.type === EV.WALK || (e.type === EV.PFNCACHE && e.b === PFNCACHE_OP.resolve);

/**
 * A capture reduced to the events its witness shows: what a role thread hands back to the main
 * thread. A snapshot holds up to every ring's entries (80 K events at the defaults), and copying
 * dozens of them between threads took seconds on a loaded machine, past the harness timeout.
 */
export function selectedCapture(c: Capture): Capture {
  return c.selected ? c : { ...c, events: selectWitnessEvents(c), selected: true };
}

export function selectWitnessEvents(c: Capture): RawEvent[] {
  const evs = c.events;
  const det = evs.findIndex((e) => e.ticket === c.ticket);
  const end = det >= 0 ? det : evs.length - 1;
  if (c.kind === 'contract') {
    // the breaching callback: the detector's events from its inv_start / device fault on, and
    // what other threads did to the range meanwhile
    let from = Math.max(0, end - WITNESS_MAX_LINES);
    for (let i = end; i >= 0; i--) {
      const e = evs[i];
      if (e.thread === c.thread && ((e.type === EV.INV_START && e.e === 1) || e.type === EV.WALK_BEGIN)) {
        from = i;
        break;
      }
    }
    const keep = evs.slice(from, end + 1).filter((e) => e.thread === c.thread || covers(e, c.page));
    return keep.length > WITNESS_MAX_LINES ? elide(keep, c, c.thread) : keep;
  }
  if (c.kind === 'notifier-use-after-free') {
    // the subscription's removal and free (c.genWant: the thread that freed it), then the use:
    // the freeing thread's and the user's events from the last removal of it, and what touched its range
    const freer = c.genWant;
    let from = Math.max(0, end - WITNESS_MAX_LINES);
    for (let i = end; i >= 0; i--) {
      const e = evs[i];
      if (e.type === EV.SUB_LIFE && e.a === c.pfn && (e.d === 0 || e.d === 5)) {
        from = i;
        break;
      }
    }
    // and back to the start of the user's current callback (the one that had found the subscription)
    for (let i = end; i >= 0; i--)
      if (evs[i].thread === c.thread && evs[i].type === EV.INV_START && evs[i].e === 1) {
        from = Math.min(from, i);
        break;
      }
    const keep = evs
      .slice(from, end + 1)
      .filter((e) => e.thread === c.thread || e.thread === freer || (e.type === EV.SUB_LIFE && e.a === c.pfn));
    return keep.length > WITNESS_MAX_LINES ? elide(keep, c, c.thread) : keep;
  }
  // who put the stale entry there: the last PROGRAM of the page before detection (maybe the
  // detector itself); for a walk-time detection, the detector's own walk
  let prog = -1;
  for (let i = end; i >= 0; i--) {
    const e = evs[i];
    if (covers(e, c.page) && (isProgram(e) || (isWalk(e) && e.thread === c.thread))) {
      prog = i;
      break;
    }
  }
  const actor = prog >= 0 ? evs[prog].thread : c.thread;
  // the actor's operation that led there: from the end of its previous device fault
  let begin = Math.max(0, end - WITNESS_MAX_LINES);
  const from = prog >= 0 ? prog : end;
  let walk = -1;
  for (let i = from; i >= 0; i--)
    if (evs[i].thread === actor && isWalk(evs[i]) && covers(evs[i], c.page) && i !== prog) {
      walk = i;
      break;
    }
  if (walk < 0 && prog >= 0 && isWalk(evs[prog])) walk = prog;
  // a detection inside a walk (a page table freed under it): the walk has not logged its end
  // yet, so it starts at the detector's last walk start covering the page
  if (walk < 0 && prog < 0)
    for (let i = end; i >= 0; i--)
      if (evs[i].thread === actor && evs[i].type === EV.WALK_BEGIN && covers(evs[i], c.page)) {
        walk = i;
        break;
      }
  if (walk >= 0) {
    // back to the walk's beginning (it may have paused or faulted pages in meanwhile)
    for (let i = walk - 1; i >= 0; i--)
      if (evs[i].thread === actor && evs[i].type === EV.WALK_BEGIN) {
        walk = i;
        break;
      } else if (evs[i].thread === actor && (evs[i].type === EV.WALK || evs[i].type === EV.POPULATE)) break;
    begin = walk;
    for (let i = walk - 1; i >= 0; i--) {
      if (evs[i].thread !== actor) continue;
      if (evs[i].type === EV.POPULATE) break;
      begin = i;
    }
  }
  const opBegin = begin;
  // invalidations of the page still open when the window begins: include them from their start
  const open = new Map<number, number>(); // thread -> index of its open inv_start covering the page
  for (let i = 0; i < begin; i++) {
    const e = evs[i];
    if (!covers(e, c.page)) continue;
    if (e.type === EV.INV_START && e.e === 1) open.set(e.thread, i);
    else if (e.type === EV.INV_END || (e.type === EV.INV_START && e.e === 0)) open.delete(e.thread);
  }
  for (const i of open.values()) begin = Math.min(begin, i);
  const focus = new Set([actor, c.thread]);
  // threads inside an invalidation of the page: all their events between its start and end
  const inInval = new Map<number, boolean>();
  const keep: RawEvent[] = [];
  for (let i = begin; i <= end; i++) {
    const e = evs[i];
    const touches = covers(e, c.page);
    if (e.type === EV.INV_START && touches) inInval.set(e.thread, e.e === 1);
    const within = inInval.get(e.thread) === true;
    // CPU faults are noise unless they are the actor's, on this very page
    const noise = e.type === EV.FAULT && !(touches && e.thread === actor);
    const mine = focus.has(e.thread) && i >= opBegin;
    if (!noise && (mine || touches || within)) keep.push(e);
    if (e.type === EV.INV_END && touches) inInval.set(e.thread, false);
  }
  return keep.length > WITNESS_MAX_LINES ? elide(keep, c, actor) : keep;
}

/** The events that say what happened to the violating frame and page (kept when eliding). */
function isKey(e: RawEvent, c: Capture, actor: number): boolean {
  switch (e.type) {
    case EV.FREE:
      return e.a === c.pfn;
    case EV.MIGRATE:
    case EV.COW:
    case EV.RECLAIM:
      return e.b === c.pfn;
    case EV.INV_START:
    case EV.INV_END:
    case EV.INV_CALLBACKS_DONE:
    case EV.ZAP_PTES:
    case EV.WRPROTECT:
    case EV.FREE_TABLES:
    case EV.DEV_ZAP:
      return covers(e, c.page);
    case EV.PFNCACHE:
    case EV.INV_RANGE:
      return covers(e, c.page);
    case EV.WORD_SET:
      return true; // the protocol's state changes: sequence counts, flags, counts
    case EV.SUB_LIFE:
      return c.kind !== 'notifier-use-after-free' || e.a === c.pfn; // a subscription's removal, free, re-creation
    case EV.MM_EXIT:
    case EV.SRCU_SYNC:
      return true;
    case EV.WALK_BEGIN:
    case EV.WALK:
    case EV.PROGRAM:
    case EV.LOCK:
    case EV.UNLOCK:
    case EV.WORD_READ:
      return e.thread === actor;
  }
  return false;
}

/** Cut a long witness to WITNESS_MAX_LINES: head and tail, and from the middle the key events. */
function elide(keep: RawEvent[], c: Capture, actor: number): RawEvent[] {
  const HEAD = 8,
    TAIL = 8;
  const mid = keep.slice(HEAD, keep.length - TAIL);
  const budget = WITNESS_MAX_LINES - HEAD - TAIL;
  // the exit and the subscriptions' lifetimes are kept first (they are few); then the other key events
  const must = mid.filter((e) => (e.type === EV.MM_EXIT || e.type === EV.SUB_LIFE) && isKey(e, c, actor)).slice(-(budget >> 1));
  const room = budget - must.length;
  let chosen = mid.filter((e) => isKey(e, c, actor) && !must.includes(e));
  if (chosen.length > room) chosen = [...chosen.slice(0, room >> 1), ...chosen.slice(chosen.length - (room - (room >> 1)))];
  const picked = new Set([...must, ...chosen]);
  const out: RawEvent[] = keep.slice(0, HEAD);
  let gap: RawEvent[] = [];
  // a gap line stands for two or more events; a lone skipped event is shown instead
  const closeGap = () => {
    if (gap.length === 1) out.push(gap[0]);
    else if (gap.length > 1) out.push({ ...gap[gap.length - 1], type: -1, a: gap.length });
    gap = [];
  };
  for (const e of mid) {
    if (picked.has(e)) {
      closeGap();
      out.push(e);
    } else gap.push(e);
  }
  closeGap();
  return [...out, ...keep.slice(keep.length - TAIL)];
}

export function renderEvents(evs: RawEvent[], names: RenderNames): WitnessEvent[] {
  return evs.map((e) =>
    e.type === -1
      ? { ticket: e.ticket, thread: -1, role: '', text: `... ${e.a} more events ...` }
      : { ticket: e.ticket, thread: e.thread, role: names.roles[e.thread] ?? '?', text: describe(e, names) },
  );
}

export function formatLines(lines: WitnessEvent[]): string {
  return lines.map((l) => (l.thread < 0 ? `   ${l.text}` : `T${l.thread} ${l.role.padEnd(11)} ${l.text}`)).join('\n');
}

/** Controlled mode renders the time as a step and reruns with its own command line. */
export interface RenderOptions {
  atStep?: boolean;
  /** The whole rerun command line (default: `hmmsim stress --protocol <name> --seed <seed>`). */
  rerun?: string;
}

export function renderWitness(c: Capture, names: RenderNames, protocol: string, seed: number, opts: RenderOptions = {}): Witness {
  const events = renderEvents(c.selected ? c.events : selectWitnessEvents(c), names);
  const at = opts.atStep ? `step ${c.atMs}` : `${c.atMs.toFixed(1)} ms`;
  const gens = c.genWant !== c.genHave && c.genHave >= 0 ? `, gen ${c.genWant} -> ${c.genHave}` : '';
  const freed = c.kind === 'notifier-use-after-free';
  const what =
    c.kind === 'contract'
      ? ` (${contractName(c.pfn)})`
      : freed
        ? ` (sub${c.pfn}, freed by T${c.genWant} ${names.roles[c.genWant] ?? ''})`
        : c.pfn >= 0
          ? ` (pfn ${c.pfn}${gens})`
          : '';
  const programmer = c.programmer ?? -1;
  const entry =
    c.kind !== 'contract' && !freed && c.device >= 0 && programmer >= 0
      ? ` in dev${c.device}'s entry programmed by T${programmer} ${names.roles[programmer] ?? ''}`
      : c.kind !== 'contract' && c.device <= L.VR_DEVICE_PFNCACHE
        ? ` in pfn cache ${fieldName(L.VR_DEVICE_PFNCACHE - c.device, names)}${programmer >= 0 ? ` set by T${programmer} ${names.roles[programmer] ?? ''}` : ''}`
        : '';
  const summary = `${c.kind} on page 0x${c.page.toString(16)}${what}${entry} detected by T${c.thread} ${names.roles[c.thread] ?? ''} at ${at}`;
  const text = `${protocol}: ${summary}\n${formatLines(events)}\nrerun: ${opts.rerun ?? `hmmsim stress --protocol ${protocol} --seed ${seed}`}`;
  const record = { ticket: c.ticket, pfn: c.pfn, genWant: c.genWant, genHave: c.genHave, device: c.device, programmer };
  return {
    kind: c.kind,
    thread: c.thread,
    role: names.roles[c.thread] ?? '?',
    atMs: c.atMs,
    page: c.page,
    summary,
    events,
    text,
    record,
    ...(c.latest ? { latest: true } : {}),
  };
}
