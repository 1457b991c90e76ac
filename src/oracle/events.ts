/**
 * events.ts — what goes into the per-thread event rings, and how an event reads in a witness.
 *
 * An event is 6 words (a..f) plus its type and a global ticket (assembly/events.ts). State
 * words and locks a protocol declares are named in events by a field code (scope, owner,
 * field index in the protocol's schema), so any thread can render any other thread's events.
 */
import { L } from '../memory/layout.js';
import { kindLabel } from '../api/kinds.js';
import { contractName } from './contract.js';

export const EV = {
  INV_START: 1, // a start, b end, c event kind, d blockable, e 1 (begin) / 0 (callbacks refused: -EAGAIN)
  INV_CALLBACKS_DONE: 2, // a start, b end
  INV_END: 3, // a start, b end
  FREE: 4, // a pfn, b page, c new gen
  MIGRATE: 5, // a page, b old pfn, c new pfn
  RECLAIM: 6, // a page, b pfn
  COW: 7, // a page, b old pfn, c new pfn
  ZAP_PTES: 8, // a start, b end, c frames unmapped
  WRPROTECT: 9, // a start, b end, c prot
  FREE_TABLES: 10, // a start, b end, c tables freed
  WALK: 11, // a start, b end, c result, d first pfn, e its gen
  PROGRAM: 12, // a start, b end, c device, d result, e pfn of start page, f gen
  DEV_ZAP: 13, // a start, b end, c device
  FENCE: 14, // a device, b in-flight DMAs waited for
  LOCK: 15, // a field code, b mode (0 mutex, 1 read, 2 write), c 1 = trylock failed
  UNLOCK: 16, // a field code, b mode
  WORD_READ: 17, // a field code, b value
  WORD_SET: 18, // a field code, b old, c new
  WAIT: 19, // a field code, b result (1 ok, 0 timeout)
  WAKE: 20, // a field code
  FAULT: 21, // a page, b write, c result
  MMAP_LOCK: 22, // a mode (1 read, 2 write), b 0 lock / 1 unlock, c anon_vma (1)
  POPULATE: 23, // a sub, b start, c end, d result (0 ok, 1 retry, <0 errno), e write
  VIOLATION: 24, // a kind, b page, c pfn, d gen wanted, e gen found, f device
  NOTE: 25, // a note index, b, c values
  DMA: 26, // a page, b write, c pfn, d gen
  SUB_ADD: 27, // a sub
  SUB_REMOVE: 28, // a sub
  WALK_BEGIN: 29, // a start, b end (WALK is logged when the walk returns)
  INV_RANGE: 30, // a start, b end: ->invalidate_range (after the PTE change, before inv_end)
  PFNCACHE: 31, // a field code, b PFNCACHE_OP, c page, d pfn (-1 none), e gen, f result
  PAGES_RELEASE: 32, // a entries, b unlock, c put: a protocol released what its walk took
  // subscription lifetime and exit (model/mm/lifetime.ts, srcu.ts, exit.ts): codes from 40 on
  SUB_LIFE: 40, // a sub, b start, c end, d what (SUB_LIFE_WHAT), e device
  SRCU_SYNC: 41, // a readers waited for
  MM_EXIT: 42, // a phase (MM_EXIT_PHASES), b pages
} as const;

/** EV.PFNCACHE's operations. */
export const PFNCACHE_OP = { resolve: 0, set: 1, clear: 2, use: 3, fence: 4 } as const;
const PFNCACHE_OP_NAMES = ['resolve', 'set', 'clear', 'use', 'fence'];

/** EV.SUB_LIFE's `d`: what happened to the subscription. */
export const SUB_LIFE_WHAT = ['remove begins', 'unlinked', 'freed', 'allocated', 'linked', '->release called on'] as const;
export const MM_EXIT_PHASES = [
  'exit: mm_users -> 0, exit_mmap begins',
  'exit_mmap: notifiers released',
  'exit_mmap: pages and subscriptions freed, a new mm',
] as const;

export const INV_EVENTS = ['unmap', 'protection', 'clear', 'migrate', 'release'] as const;
export type InvEvent = (typeof INV_EVENTS)[number];

export const ROLE_CODES = ['cpu', 'invalidator', 'driver', 'dma', 'main'] as const;

export const SCOPE = { mm: 0, sub: 1, range: 2 } as const;
/** Field code: scope in [31:28], owner (sub id / thread id) in [27:12], field index in [11:0]. */
export const fieldCode = (scope: number, owner: number, idx: number): number => (scope << 28) | (owner << 12) | idx;

export interface RawEvent {
  ticket: number;
  thread: number;
  type: number;
  a: number;
  b: number;
  c: number;
  d: number;
  e: number;
  f: number;
}

/** Names needed to render: schema field names per scope, protocol notes, thread roles. */
export interface RenderNames {
  fields: { mm: string[]; sub: string[]; range: string[] };
  notes: readonly string[];
  roles: string[];
}

const hex = (n: number) => '0x' + (n >>> 0).toString(16);
const rng = (a: number, b: number) => `[${hex(a)},${hex(b)})`;
const errno: Record<number, string> = {
  [L.EFAULT]: '-EFAULT',
  [L.EPERM]: '-EPERM',
  [L.EBUSY]: '-EBUSY',
  [L.EAGAIN]: '-EAGAIN',
  [L.ENOMEM]: '-ENOMEM',
  [L.NEED_FAULT]: 'fault',
  [L.NEED_COW]: 'cow',
  [L.PT_UAF]: 'PAGE-TABLE-USE-AFTER-FREE',
};
export const errName = (r: number): string => (r === 0 ? '0' : (errno[r] ?? String(r)));

export function fieldName(code: number, names: RenderNames): string {
  const scope = code >>> 28;
  const owner = (code >>> 12) & 0xffff;
  const idx = code & 0xfff;
  if (scope === SCOPE.mm) return `mm.${names.fields.mm[idx] ?? idx}`;
  if (scope === SCOPE.sub) return `sub${owner}.${names.fields.sub[idx] ?? idx}`;
  return `range(T${owner}).${names.fields.range[idx] ?? idx}`;
}

/** One event as a witness line's text (without the thread/role prefix). */
export function describe(e: RawEvent, names: RenderNames): string {
  const mode = ['', 'read', 'write'];
  switch (e.type) {
    case EV.INV_START:
      return `inv_start ${rng(e.a, e.b)} ${INV_EVENTS[e.c] ?? e.c}${e.d ? '' : ' non-blockable'}${e.e ? '' : ' -> -EAGAIN'}`;
    case EV.INV_CALLBACKS_DONE:
      return `  callbacks done ${rng(e.a, e.b)}: device entries must stay zapped until inv_end`;
    case EV.INV_END:
      return `inv_end ${rng(e.a, e.b)}`;
    case EV.FREE:
      return `free pfn ${e.a} (page ${hex(e.b)}) gen ${e.c - 1}->${e.c}`;
    case EV.MIGRATE:
      return `migrate page ${hex(e.a)}: pfn ${e.b} -> ${e.c}`;
    case EV.RECLAIM:
      return `reclaim page ${hex(e.a)}: pfn ${e.b} -> swap`;
    case EV.COW:
      return `cow break page ${hex(e.a)}: pfn ${e.b} -> ${e.c}`;
    case EV.ZAP_PTES:
      return `zap ptes ${rng(e.a, e.b)} (${e.c} frames)`;
    case EV.WRPROTECT:
      return `write-protect ptes ${rng(e.a, e.b)}${e.c ? ' (cow)' : ''}`;
    case EV.FREE_TABLES:
      return `free page tables in ${rng(e.a, e.b)} (${e.c})`;
    case EV.WALK_BEGIN:
      return `hmm_range_fault ${rng(e.a, e.b)} begins`;
    case EV.WALK:
      return `hmm_range_fault ${rng(e.a, e.b)} returns ${errName(e.c)}${e.c === 0 && e.d >= 0 ? ` pfn[${hex(e.a)}]=${e.d} gen ${e.e}` : ''}`;
    case EV.PROGRAM:
      return `program dev${e.c} ${rng(e.a, e.b)}${e.e >= 0 ? ` dev[${hex(e.a)}]=${e.e} gen ${e.f}` : ''}${e.d ? ' !' : ''}`;
    case EV.DEV_ZAP:
      return `zap device ${e.c} ${rng(e.a, e.b)}`;
    case EV.FENCE:
      return `device fence dev${e.a}${e.b ? ` (waited for ${e.b} DMA)` : ''}`;
    case EV.LOCK:
      return `${e.c ? 'trylock failed' : 'lock'} ${fieldName(e.a, names)}${e.b ? ` (${mode[e.b]})` : ''}`;
    case EV.UNLOCK:
      return `unlock ${fieldName(e.a, names)}${e.b ? ` (${mode[e.b]})` : ''}`;
    case EV.WORD_READ:
      return `read ${fieldName(e.a, names)} -> ${e.b}`;
    case EV.WORD_SET:
      return `${fieldName(e.a, names)} ${e.b}->${e.c}`;
    case EV.WAIT:
      return `wait ${fieldName(e.a, names)}${e.b ? '' : ' (timed out)'}`;
    case EV.WAKE:
      return `wake_up_all ${fieldName(e.a, names)}`;
    case EV.FAULT:
      return `cpu ${e.b ? 'write' : 'read'} fault ${hex(e.a)} -> ${errName(e.c)}`;
    case EV.MMAP_LOCK:
      return `${e.b ? 'unlock' : 'lock'} ${e.c ? 'anon_vma' : 'mmap_lock'} (${mode[e.a]})`;
    case EV.POPULATE:
      return `device fault sub${e.a} ${rng(e.b, e.c)}${e.e ? ' write' : ''} -> ${e.d === 1 ? 'retry' : e.d === 0 ? 'ok' : errName(e.d)}`;
    case EV.INV_RANGE:
      return `  invalidate_range ${rng(e.a, e.b)} (PTEs changed)`;
    case EV.PAGES_RELEASE:
      return `release ${e.a} pages of the last walk:${e.b ? ' unlock' : ''}${e.c ? ' put' : ''}`;
    case EV.PFNCACHE: {
      const what = `${PFNCACHE_OP_NAMES[e.b] ?? e.b} ${fieldName(e.a, names)}`;
      if (e.b === PFNCACHE_OP.clear || e.b === PFNCACHE_OP.fence) return what;
      const pfn = e.d >= 0 ? ` pfn ${e.d} gen ${e.e}` : ' (empty)';
      if (e.b === PFNCACHE_OP.use) return `${what} ->${pfn}${e.f === L.PFNC_ABORTED ? ' aborted: request pending' : ''}`;
      if (e.b === PFNCACHE_OP.resolve) return `${what}: page ${hex(e.c)} -> ${e.f < 0 ? errName(e.f) : `pfn ${e.d} gen ${e.e}`}`;
      return `${what} = page ${hex(e.c)}${pfn}`;
    }
    case EV.VIOLATION: {
      const label = kindLabel(e.a);
      if (e.f <= L.VR_DEVICE_PFNCACHE)
        return `${fieldName(L.VR_DEVICE_PFNCACHE - e.f, names)}[${hex(e.b)}] -> pfn ${e.c}${e.e !== e.d ? ` gen ${e.e} != ${e.d}` : ': the page no longer maps it'}  ${label}`;
      if (e.a === L.V_PAGE_TABLE_USE_AFTER_FREE) return `read page table pfn ${e.c} for ${hex(e.b)}: gen ${e.d} -> ${e.e}  ${label}`;
      if (e.a === L.V_WRITE_TO_READONLY) return `write dev${e.f}[${hex(e.b)}] -> pfn ${e.c}: CPU PTE is read-only  ${label}`;
      if (e.a === L.V_ACCESS_TO_PROTNONE) return `dev${e.f}[${hex(e.b)}] -> pfn ${e.c}: the page is PROT_NONE  ${label}`;
      if (e.a === L.V_CONTRACT) return `${contractName(e.c)} [${hex(e.b)},${hex(e.d)})  ${label}`;
      if (e.a === L.V_NOTIFIER_USE_AFTER_FREE) return `sub${e.c} (dev${e.f} from ${hex(e.b)}) used after T${e.d} freed it  ${label}`;
      if (e.a === L.V_DEVICE_PTE_DURING_INVALIDATION) return `dev${e.f}[${hex(e.b)}] -> pfn ${e.c} valid inside an invalidation  ${label}`;
      return `dev${e.f}[${hex(e.b)}] -> pfn ${e.c} gen ${e.e} != ${e.d}  ${label}`;
    }
    case EV.NOTE:
      return `${names.notes[e.a] ?? `note ${e.a}`}${e.b || e.c ? ` ${e.b}${e.c ? ' ' + e.c : ''}` : ''}`;
    case EV.DMA:
      return `dma ${e.b ? 'write' : 'read'} dev[${hex(e.a)}] -> pfn ${e.c} gen ${e.d}`;
    case EV.SUB_ADD:
      return `subscription add sub${e.a}`;
    case EV.SUB_REMOVE:
      return `subscription remove sub${e.a}`;
    case EV.SUB_LIFE:
      return `${SUB_LIFE_WHAT[e.d] ?? e.d} sub${e.a} (dev${e.e} ${rng(e.b, e.c)})`;
    case EV.SRCU_SYNC:
      return `synchronize_srcu${e.a ? ` (waited for ${e.a} reader${e.a > 1 ? 's' : ''})` : ''}`;
    case EV.MM_EXIT:
      return MM_EXIT_PHASES[e.a] ?? `exit phase ${e.a}`;
  }
  return `event ${e.type} ${e.a} ${e.b} ${e.c}`;
}

/** The page range an event touches, if any (for picking a witness's events). */
export function eventPages(e: RawEvent): [number, number] | null {
  switch (e.type) {
    case EV.INV_START:
    case EV.INV_CALLBACKS_DONE:
    case EV.INV_END:
    case EV.ZAP_PTES:
    case EV.WRPROTECT:
    case EV.FREE_TABLES:
    case EV.WALK:
    case EV.WALK_BEGIN:
    case EV.PROGRAM:
    case EV.DEV_ZAP:
      return [e.a, e.b];
    case EV.FREE:
      return [e.b, e.b + 1];
    case EV.MIGRATE:
    case EV.RECLAIM:
    case EV.COW:
    case EV.FAULT:
    case EV.DMA:
      return [e.a, e.a + 1];
    case EV.POPULATE:
    case EV.SUB_LIFE:
      return [e.b, e.c];
    case EV.MM_EXIT:
      return [0, e.b];
    case EV.VIOLATION:
      return [e.b, e.b + 1];
    case EV.INV_RANGE:
      return [e.a, e.b];
    case EV.PFNCACHE:
      return e.c >= 0 ? [e.c, e.c + 1] : null;
  }
  return null;
}

/** Copy every thread's ring (seqlock-style: torn entries are dropped), ordered by ticket (64-bit:
 *  the low word in EV_TICKET, the high word above the type in EV_TYPE). */
/** An event entry's fields as word indexes from its start. */
const EV_WORD = {
  ticket: L.EV_TICKET >> 2,
  type: L.EV_TYPE >> 2,
  a: L.EV_A >> 2,
  b: L.EV_B >> 2,
  c: L.EV_C >> 2,
  d: L.EV_D >> 2,
  e: L.EV_E >> 2,
  f: L.EV_F >> 2,
} as const;

export function readRings(i32: Int32Array, ringsBase: number, threads: number, entries: number, minTicket = 0): RawEvent[] {
  const out: RawEvent[] = [];
  const W = L.EV_SIZE >> 2;
  for (let t = 0; t < threads; t++) {
    const base = (ringsBase + t * entries * L.EV_SIZE) >> 2;
    for (let i = 0; i < entries; i++) {
      const s = base + i * W;
      const typeWord = Atomics.load(i32, s + EV_WORD.type);
      if (typeWord === 0) continue;
      const lo = Atomics.load(i32, s + EV_WORD.ticket);
      const ticket = (typeWord >>> L.EV_TICKET_HI_SHIFT) * 2 ** 32 + (lo >>> 0);
      if (ticket <= minTicket) continue;
      const ev: RawEvent = {
        ticket,
        thread: t,
        type: typeWord & L.EV_TYPE_MASK,
        a: i32[s + EV_WORD.a],
        b: i32[s + EV_WORD.b],
        c: i32[s + EV_WORD.c],
        d: i32[s + EV_WORD.d],
        e: i32[s + EV_WORD.e],
        f: i32[s + EV_WORD.f],
      };
      if (Atomics.load(i32, s + EV_WORD.type) !== typeWord || Atomics.load(i32, s + EV_WORD.ticket) !== lo) continue;
      out.push(ev);
    }
  }
  return out.sort((x, y) => x.ticket - y.ticket);
}
