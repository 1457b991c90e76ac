/**
 * witness-check.mjs — a mechanical check of one oracle witness (a Witness with its `record`), used
 * by the continuous soak (scripts/soak.mjs --continuous) on witnesses taken late in long runs, and
 * by its --selftest and test/witness-check.test.ts on deliberately corrupted ones.
 *
 * It reads the rendered witness as a user would and holds it to the oracle's record:
 *   - tickets strictly increasing, the violating event last (its ticket is the record's), and
 *     above 2^32 where the caller says the run's ticket had passed it (below, where it had not);
 *   - the violation line is the detector's, names the kind, the page, and the record's frame
 *     and device; the summary names the same kind, page, frame, detector and programmer (a driver);
 *   - each thread keeps one role throughout; the text is the header, one line per event rendered
 *     from its thread, role and text, and the rerun line.
 */
import { VIOLATION_KINDS } from '../dist/api/kinds.js';

export const TICKET_WRAP = 2 ** 32;

/** @typedef {import('../dist/api/types.js').Witness} Witness */

/** @param {number} n */
const hex = (n) => `0x${(n >>> 0).toString(16)}`;

/** Kinds whose violation line names a device entry (dev<N>[page] -> pfn <pfn>). */
const DEVICE_KINDS = new Set(['use-after-free', 'write-to-readonly', 'access-to-protnone', 'device-pte-during-invalidation']);

/**
 * Problems with witness `w` of a run of `protocol` (empty: it checks out).
 * `ticketAbove`: true, the violating ticket must exceed 2^32; false, it must not; undefined: either.
 * @param {Witness} w
 * @param {{ protocol?: string, ticketAbove?: boolean }} [options]
 * @returns {string[]}
 */
export function checkWitness(w, { protocol, ticketAbove } = {}) {
  /** @type {string[]} */
  const problems = [];
  /** @param {string} what */
  const fail = (what) => problems.push(what);
  const r = w.record;
  if (!r) return ['no violation record'];
  if (!VIOLATION_KINDS.includes(w.kind)) fail(`unknown kind ${w.kind}`);
  const evs = w.events;
  if (!evs.length) return [...problems, 'no events'];
  // order: strictly increasing tickets, the violating event last
  for (let i = 1; i < evs.length; i++)
    if (!(evs[i].ticket > evs[i - 1].ticket))
      fail(`events out of order at line ${i + 1}: ticket ${evs[i - 1].ticket} then ${evs[i].ticket}`);
  const last = evs[evs.length - 1];
  if (last.ticket !== r.ticket) fail(`the last event (ticket ${last.ticket}) is not the violation (ticket ${r.ticket})`);
  if (ticketAbove === true && !(r.ticket > TICKET_WRAP)) fail(`violation ticket ${r.ticket} not above 2^32 though the run passed it`);
  if (ticketAbove === false && r.ticket > TICKET_WRAP) fail(`violation ticket ${r.ticket} above 2^32 before the run passed it`);
  // the violation line: the detector's, the kind's label, the record's page, frame and device
  if (last.thread !== w.thread) fail(`the violation line is T${last.thread}'s, the detector is T${w.thread}`);
  if (last.role !== w.role) fail(`the violation line's role ${last.role} is not the detector's ${w.role}`);
  const text = last.text;
  if (!text.endsWith(`  ${w.kind.toUpperCase()}`)) fail(`the violation line does not end with ${w.kind.toUpperCase()}: ${text}`);
  const pageAt = w.kind === 'page-table-use-after-free' ? / for (0x[0-9a-f]+)/ : /\[(0x[0-9a-f]+)[\],]/;
  const page = pageAt.exec(text)?.[1];
  if (page !== hex(w.page)) fail(`the violation line's page ${page} is not the record's ${hex(w.page)}`);
  if (w.kind !== 'contract') {
    const pfn = / pfn (\d+)/.exec(text)?.[1];
    if (Number(pfn) !== r.pfn) fail(`the violation line's frame ${pfn} is not the record's ${r.pfn}`);
  }
  if (DEVICE_KINDS.has(w.kind)) {
    const dev = /dev(\d+)\[/.exec(text)?.[1];
    if (Number(dev) !== r.device) fail(`the violation line's device ${dev} is not the record's ${r.device}`);
  }
  // the summary
  const s = w.summary;
  if (!s.startsWith(`${w.kind} on page ${hex(w.page)}`)) fail(`summary does not start with the kind and page: ${s}`);
  if (w.kind !== 'contract' && r.pfn >= 0 && !s.includes(`(pfn ${r.pfn}`)) fail(`summary does not name frame ${r.pfn}`);
  if (!s.includes(`detected by T${w.thread} ${w.role} at `)) fail(`summary does not name the detector T${w.thread} ${w.role}`);
  if (w.kind !== 'contract' && r.device >= 0 && r.programmer >= 0) {
    const m = /in dev(\d+)'s entry programmed by T(\d+) (\S+)/.exec(s);
    if (!m || Number(m[1]) !== r.device || Number(m[2]) !== r.programmer)
      fail(`summary does not name dev${r.device}'s programmer T${r.programmer}: ${s}`);
    else if (m[3] !== 'driver') fail(`the entry's programmer T${r.programmer} is a ${m[3]}, not a driver`);
  }
  // threads keep their roles
  const roleOf = new Map([[w.thread, w.role]]);
  for (const e of evs) {
    if (e.thread < 0) continue;
    if (roleOf.has(e.thread) && roleOf.get(e.thread) !== e.role) fail(`T${e.thread} is both ${roleOf.get(e.thread)} and ${e.role}`);
    roleOf.set(e.thread, e.role);
  }
  // the text is the header, the events as lines, the rerun line
  const lines = w.text.split('\n');
  if (lines[0] !== `${protocol ?? lines[0].split(':')[0]}: ${s}`) fail(`text header is not '<protocol>: <summary>': ${lines[0]}`);
  if (lines.length !== evs.length + 2) fail(`text has ${lines.length - 2} event lines for ${evs.length} events`);
  evs.forEach((/** @type {Witness['events'][number]} */ e, /** @type {number} */ i) => {
    const want = e.thread < 0 ? `   ${e.text}` : `T${e.thread} ${e.role.padEnd(11)} ${e.text}`;
    if (lines[i + 1] !== want) fail(`text line ${i + 2} does not render event ${i + 1}: '${lines[i + 1]}' != '${want}'`);
  });
  const rerun = lines[lines.length - 1];
  if (!rerun.startsWith(`rerun: hmmsim stress --protocol `) || !/ --seed \d+$/.test(rerun)) fail(`bad rerun line: ${rerun}`);
  return problems;
}

/** `w` as if its run had passed 2^32 events before it: every ticket moved up by 2^32.
 * @param {Witness} w */
export function pastWrap(w) {
  const moved = structuredClone(w);
  for (const e of moved.events) e.ticket += TICKET_WRAP;
  if (moved.record) moved.record.ticket += TICKET_WRAP;
  return moved;
}

/** Deliberately corrupted copies of a good witness `w`: each must fail checkWitness.
 * @param {Witness} w  a witness with a record
 * @returns {{ what: string, w: Witness, ticketAbove?: boolean }[]} */
export function corruptions(w) {
  const record = w.record;
  if (!record) return [];
  /** @returns {Witness & { record: typeof record }} */
  const copy = () => ({ ...structuredClone(w), record: { ...record } });
  const out = [];
  const n = w.events.length;
  if (n >= 2) {
    const swapped = copy();
    [swapped.events[n - 2], swapped.events[n - 1]] = [swapped.events[n - 1], swapped.events[n - 2]];
    out.push({ what: 'the last two events swapped', w: swapped });
    const dropped = copy();
    dropped.events.pop();
    out.push({ what: 'the violating event dropped', w: dropped });
  }
  const frame = copy();
  frame.record.pfn += 1;
  out.push({ what: "the record's frame changed", w: frame });
  const page = copy();
  page.page += 1;
  out.push({ what: 'the page changed', w: page });
  if (record.ticket > TICKET_WRAP) {
    const low = copy();
    for (const e of low.events) e.ticket %= TICKET_WRAP;
    low.record.ticket %= TICKET_WRAP;
    out.push({ what: 'the tickets cut to 32 bits', w: low, ticketAbove: true });
    const wrapped = copy();
    wrapped.events[n - 1].ticket %= TICKET_WRAP;
    wrapped.record.ticket %= TICKET_WRAP;
    out.push({ what: 'the violation ticket wrapped to 32 bits', w: wrapped, ticketAbove: true });
  }
  const text = copy();
  const lines = text.text.split('\n');
  lines[n] = lines[n].replace(/^T(\d+)/, (_, t) => `T${Number(t) + 1}`);
  text.text = lines.join('\n');
  out.push({ what: "a text line's thread changed", w: text });
  const role = copy();
  const other = role.events.findIndex((e) => e.thread >= 0 && e.thread !== role.thread);
  if (other >= 0) {
    role.events[other].role = role.events[other].role === 'driver' ? 'dma' : 'driver';
    out.push({ what: 'an event given another role', w: role });
  }
  return out;
}
