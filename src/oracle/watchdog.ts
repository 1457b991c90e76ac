/**
 * watchdog.ts — liveness: a thread that makes no progress for a bound is a deadlock (it is
 * blocked on a lock, in or behind a wait-for cycle, or on a lock only stuck threads hold) or a
 * stall (it waits on a queue/completion, retries forever, waits on a live thread, or on a lock
 * that is free and that it could take: woken but not run). The report names every lock's owner,
 * waiters and lock word, and each thread's last events.
 */
import { L, type Layout, addr } from '../memory/layout.js';
import { WAIT, WAIT_NAMES } from '../sync/env.js';
import { readRings, type RenderNames } from './events.js';
import { renderEvents, formatLines } from './witness.js';
import type { MirrorProtocol } from '../protocols/api.js';
import type { Witness, WitnessEvent } from '../api/types.js';
import { callbackName } from '../protocols/call.js';

const fmtFor = (ms: number) => (ms >= 1000 ? `${Math.round(ms / 100) / 10} s` : `${Math.round(ms)} ms`);

/** Names of lock/queue words: mmap_lock, anon_vma, the protocol's declared state, DMA in-flight words. */
export function lockNames(lay: Layout, proto: MirrorProtocol): Map<number, string> {
  const m = new Map<number, string>();
  m.set(addr.header(L.H_MMAP_LOCK), 'mmap_lock');
  m.set(addr.header(L.H_ANON_VMA_LOCK), 'anon_vma');
  Object.keys(proto.mmState ?? {}).forEach((n, i) => m.set(addr.protoMm(lay, i), n));
  const nSubs = lay.config.devices * lay.config.subsPerDevice;
  for (let s = 0; s < nSubs; s++) Object.keys(proto.subState ?? {}).forEach((n, i) => m.set(addr.protoSub(lay, s, i), `sub${s}.${n}`));
  for (let t = 0; t < lay.config.threads; t++) {
    Object.keys(proto.rangeState ?? {}).forEach((n, i) => m.set(addr.protoRange(lay, t, i), `range(T${t}).${n}`));
    m.set(addr.dmaseq(lay, t), `T${t} DMA in-flight`);
  }
  return m;
}

/** Nearest name for an address inside a named line. */
function nameOf(names: Map<number, string>, a: number): string {
  const line = a - (a % L.LINE);
  return names.get(a) ?? names.get(line) ?? `0x${a.toString(16)}`;
}

interface ThreadState {
  tid: number;
  role: string;
  /** The protocol callback it is in (T_CALLBACK), or '' */
  callback: string;
  waitAddr: number;
  waitKind: number;
  held: { addr: number; mode: number }[];
}

function threadState(i32: Int32Array, lay: Layout, tid: number, roles: string[]): ThreadState {
  const t = addr.thread(lay, tid) >> 2;
  const n = Math.min(Atomics.load(i32, t + (L.T_HELD_N >> 2)), L.HELD_MAX);
  const held = [];
  for (let i = 0; i < n; i++) {
    const v = i32[t + (L.T_HELD >> 2) + i];
    held.push({ addr: v & ~L.HELD_MODE_MASK, mode: v & L.HELD_MODE_MASK });
  }
  const cb = Atomics.load(i32, t + (L.T_CALLBACK >> 2));
  return {
    tid,
    role: roles[tid] ?? '?',
    callback: callbackName(cb),
    waitAddr: Atomics.load(i32, t + (L.T_WAIT_ADDR >> 2)),
    waitKind: Atomics.load(i32, t + (L.T_WAIT_KIND >> 2)),
    held,
  };
}

const MODE = ['', 'mutex', 'read', 'write'];

/**
 * What a lock's own word says (src/sync/mutex.ts, src/sync/rwsem.ts): whether it is held, and
 * whether one of `waiters` (threads blocked on it, with their wait kinds) could take it now. A
 * lock that nobody holds and a waiter could take is no deadlock: that waiter was woken but not
 * yet run, or keeps losing the lock to threads that take it first (a stall). A free rwsem that
 * no waiter may enter (its writers-waiting count or read budget says otherwise) is stuck.
 */
export function lockWordState(i32: Int32Array, lockAddr: number, waiters: readonly number[]): { enterable: boolean; text: string } {
  const word = (off: number) => Atomics.load(i32, (lockAddr + off) >> 2);
  if (waiters.length > 0 && waiters.every((k) => k === WAIT.mutex)) {
    const state = word(L.MX_STATE);
    const text = state === 0 ? 'free' : `locked${state === 2 ? ', waiters' : ''} (owner word T${word(L.MX_OWNER) - 1})`;
    return { enterable: state === 0, text: `lock word: ${text}` };
  }
  const state = word(L.RW_STATE);
  const [wwait, rwait, budget] = [word(L.RW_WWAIT), word(L.RW_RWAIT), word(L.RW_RBUDGET)];
  const readers = state & L.RW_READER_MASK;
  const held = state & L.RW_WRITER ? `write-held (owner word T${word(L.RW_OWNER) - 1})` : readers ? `${readers} reader(s)` : 'free';
  const writerMay = budget <= 0 || rwait <= 0; // rwsem_write_trylock's read-budget gate
  const readerMay = wwait <= 0 || budget > 0; // a waiting reader's rwsem_read_trylock
  const enterable = state === 0 && waiters.some((k) => (k === WAIT.write ? writerMay : k === WAIT.read && readerMay));
  return {
    enterable,
    text: `lock word: ${held}; ${wwait} writer(s) and ${rwait} reader(s) waiting, read budget ${budget}`,
  };
}

/** Wait-for edges of thread `s`: a thread blocked on a lock waits for its holders, and a reader
 *  blocked on a rwsem also for the writers queued ahead of it (writers go first). */
function waitsForOf(states: ThreadState[], s: ThreadState | undefined): number[] {
  if (!s || !(s.waitKind === WAIT.mutex || s.waitKind === WAIT.read || s.waitKind === WAIT.write)) return [];
  const line = s.waitAddr - (s.waitAddr % 64);
  const out = states.filter((o) => o.held.some((h) => h.addr === line)).map((h) => h.tid);
  if (s.waitKind === WAIT.read)
    for (const o of states) if (o.waitKind === WAIT.write && o.waitAddr - (o.waitAddr % 64) === line && o.tid !== s.tid) out.push(o.tid);
  return out;
}

/**
 * `tids` and every thread they wait for, transitively: the holders of the locks they are blocked
 * on (and the writers queued ahead of a reader), the DMA thread a device fence waits for. Whom a
 * queue or completion waits for is not known: any thread may be its waker. Nor is whom a thread
 * in none of these waits (retrying, spinning) waits for, while an invalidation is in progress
 * (the header's H_INV_BEGUN ahead of H_INV_ENDED): a fault retries until the invalidation ends
 * (KVM's mmu_invalidate_in_progress, an interval's odd sequence), and any thread may be running
 * it, so any thread may be the one it waits for.
 */
export function waitClosure(i32: Int32Array, lay: Layout, roles: string[], tids: number[]): number[] {
  const invalidating = Atomics.load(i32, (L.BASE + L.H_INV_BEGUN) >> 2) !== Atomics.load(i32, (L.BASE + L.H_INV_ENDED) >> 2);
  const threads = lay.config.threads - 1;
  const states = Array.from({ length: threads }, (_, t) => threadState(i32, lay, t, roles));
  const seen = new Set<number>();
  const visit = (t: number): void => {
    if (seen.has(t) || !states[t]) return;
    seen.add(t);
    for (const v of waitsForOf(states, states[t])) visit(v);
    // and the owner its lock word names: a holder starved between taking the lock and recording
    // it in its held list is missing from the edges above
    const kind = states[t].waitKind;
    if (kind === WAIT.mutex || kind === WAIT.read || kind === WAIT.write) {
      const line = states[t].waitAddr - (states[t].waitAddr % L.LINE);
      const owner = Atomics.load(i32, (line + (kind === WAIT.mutex ? L.MX_OWNER : L.RW_OWNER)) >> 2) - 1;
      if (owner >= 0 && owner < threads) visit(owner);
    }
    if (kind === WAIT.waitqueue || kind === WAIT.completion || (kind === 0 && invalidating)) for (let u = 0; u < threads; u++) visit(u);
    if (states[t].waitKind === WAIT.fence)
      for (let d = 0; d < threads; d++) if (addr.dmaseq(lay, d) + L.DS_SEQ === states[t].waitAddr) visit(d);
  };
  for (const t of tids) visit(t);
  return [...seen].sort((a, b) => a - b);
}

/**
 * A wait-for cycle among the threads right now, or null: the threads in it (in wait order) and a
 * signature (each one's wait word and held locks) that stays the same while the cycle does.
 */
export function waitForCycle(i32: Int32Array, lay: Layout, roles: string[]): { tids: number[]; signature: string } | null {
  const threads = lay.config.threads - 1;
  const states = Array.from({ length: threads }, (_, t) => threadState(i32, lay, t, roles));
  const color = new Array<number>(threads).fill(0);
  const path: number[] = [];
  const dfs = (u: number): number[] | null => {
    color[u] = 1;
    path.push(u);
    for (const v of waitsForOf(states, states[u])) {
      if (color[v] === 1) return path.slice(path.indexOf(v));
      if (color[v] === 0) {
        const c = dfs(v);
        if (c) return c;
      }
    }
    path.pop();
    color[u] = 2;
    return null;
  };
  for (let t = 0; t < threads; t++) {
    if (color[t]) continue;
    const c = dfs(t);
    if (c)
      return { tids: c, signature: c.map((u) => `${u}:${states[u].waitAddr}:${states[u].held.map((h) => h.addr).join('+')}`).join(' ') };
  }
  return null;
}

/** A lock that a callback returned holding with nothing to release it (contract.ts reportLeak). */
export interface LeakedLock {
  /** The thread that holds it. */
  holder: number;
  /** The lock's line, and the mode of the leaked hold (HELD_MUTEX, HELD_READ, HELD_WRITE). */
  lockAddr: number;
  mode: number;
}

/**
 * Threads blocked on a lock that a leaked hold keeps them out of, now: they can never be woken.
 * A mutex waiter behind a leaked mutex, a writer behind any leaked hold of its rwsem, a reader
 * behind a leaked write hold or behind writers waiting on a rwsem with a leaked read hold (no
 * writer can ever get in, so the read budget an up_write gives never comes). A lock whose word
 * says a waiter could take it now is none of these. Only a protocol whose callback broke the
 * contract (returned holding a lock it took) can leak a hold; a sound protocol never does.
 */
export function leakedLockWaiters(
  i32: Int32Array,
  lay: Layout,
  roles: string[],
): { waiters: number[]; leak: LeakedLock; signature: string } | null {
  const threads = lay.config.threads - 1;
  const leaks: LeakedLock[] = [];
  for (let t = 0; t < threads; t++) {
    const tag = Atomics.load(i32, (addr.thread(lay, t) + L.T_LEAKED) >> 2);
    if (tag === 0) continue;
    const lockAddr = tag & ~L.HELD_MODE_MASK;
    // still held by it (the mark is cleared once it holds the lock no more; read racily, so check)
    if (threadState(i32, lay, t, roles).held.some((h) => h.addr === lockAddr))
      leaks.push({ holder: t, lockAddr, mode: tag & L.HELD_MODE_MASK });
  }
  if (!leaks.length) return null;
  const states = Array.from({ length: threads }, (_, t) => threadState(i32, lay, t, roles));
  const isLock = (k: number) => k === WAIT.mutex || k === WAIT.read || k === WAIT.write;
  const lineOf = (a: number) => a - (a % L.LINE);
  for (const leak of leaks) {
    const blocked = states.filter((s) => isLock(s.waitKind) && lineOf(s.waitAddr) === leak.lockAddr);
    if (
      !blocked.length ||
      lockWordState(
        i32,
        leak.lockAddr,
        blocked.map((s) => s.waitKind),
      ).enterable
    )
      continue;
    const writersWait = Atomics.load(i32, (leak.lockAddr + L.RW_WWAIT) >> 2) > 0;
    const keptOut = (s: ThreadState): boolean =>
      s.waitKind === WAIT.mutex
        ? leak.mode === L.HELD_MUTEX
        : s.waitKind === WAIT.write
          ? leak.mode !== L.HELD_MUTEX
          : leak.mode === L.HELD_WRITE || (leak.mode === L.HELD_READ && writersWait);
    const waiters = blocked.filter(keptOut).map((s) => s.tid);
    if (waiters.length)
      return {
        waiters,
        leak,
        signature: `${leak.holder}:${leak.lockAddr}:${leak.mode} ${waiters.map((t) => `${t}:${states[t].waitKind}`).join(',')}`,
      };
  }
  return null;
}

/** What a thread waits on, by name: a frame's lock or references, else the named word. */
function waitedName(lay: Layout, lnames: Map<number, string>, s: ThreadState): string {
  const pfn = Math.floor((s.waitAddr - lay.framesBase) / L.FRAME_SIZE);
  if (s.waitKind === WAIT.frameLock) return `the folio lock of pfn ${pfn}`;
  if (s.waitKind === WAIT.pageRefs) return `the references on pfn ${pfn}`;
  return nameOf(lnames, s.waitAddr);
}

/**
 * A thread waiting on a frame (model/mm/frame-refs.ts): for its lock (folio_lock), naming the
 * holder from the lock word, or for its extra references to drop, naming the last thread that
 * took one.
 */
function frameWaitLine(i32: Int32Array, lay: Layout, states: ThreadState[], s: ThreadState, stuck: number[]): string {
  const off = s.waitAddr - lay.framesBase;
  const pfn = Math.floor(off / L.FRAME_SIZE);
  const frame = addr.frame(lay, pfn) >> 2;
  const owner = Atomics.load(i32, frame + (L.F_OWNER >> 2));
  const page = owner > 0 ? ` (page 0x${(owner - 1).toString(16)})` : ' (unmapped)';
  const who = (tid: number) => (tid >= 0 ? `T${tid} ${states[tid]?.role ?? '?'}${stuck.includes(tid) ? ' (stuck)' : ''}` : 'nobody');
  if (s.waitKind === WAIT.frameLock) {
    const holder = (Atomics.load(i32, frame + (L.F_LOCK >> 2)) & L.FL_HOLDER_MASK) - 1;
    return `T${s.tid} ${s.role} waiting for the folio lock of pfn ${pfn}${page}; held by: ${who(holder)}`;
  }
  const refs = Atomics.load(i32, frame + (L.F_REFCOUNT >> 2));
  const by = Atomics.load(i32, frame + (L.F_REF_BY >> 2)) - 1;
  return `T${s.tid} ${s.role} waiting for the references on pfn ${pfn}${page} to drop (${refs - 1} beyond its mapping's); last taken by: ${who(by)}`;
}

/**
 * Build the liveness violation for the threads in `stuck` (no progress for `forMs`).
 * Deadlock if one of them is blocked on a lock (mutex/rwsem) that it cannot take, else stall.
 */
export function livenessWitness(
  i32: Int32Array,
  lay: Layout,
  proto: MirrorProtocol,
  names: RenderNames,
  stuck: number[],
  forMs: number,
  atMs: number,
  seed: number,
  /** Per thread: ms it has been seen blocked on the same lock without a break (watchdog samples). */
  blockedForMs: number[] = [],
  /** A wait-for cycle seen unchanged (threads in wait order), when that is what ended the run. */
  cycle?: number[],
  /** The rerun line's flags (protocol spec and every non-default flag), without the seed. */
  rerun = `--protocol ${proto.name}`,
  /** Per thread: ms it has been seen inside the same call of a callback (watchdog samples). A
   *  thread that returns and calls again (retrying) is not named as stuck in the callback. */
  inSameCallForMs?: number[],
  /** Per thread: its CPU time and run-queue wait within the bound (Node on Linux), for the report. */
  sched?: ({ cpuMs: number; waitMs: number } | undefined)[],
  /** Per thread: its lock was released (changed hands) while it was blocked on it. */
  released?: boolean[],
  /** The leaked lock that keeps `stuck` out, when that is what ended the run (leakedLockWaiters). */
  leak?: LeakedLock,
): Witness {
  const lnames = lockNames(lay, proto);
  const hungIn = (t: number, callback: string) => !!callback && (inSameCallForMs?.[t] ?? forMs) >= forMs / 2;
  const threads = lay.config.threads - 1; // the last thread record is the main thread's
  const states = Array.from({ length: threads }, (_, t) => threadState(i32, lay, t, names.roles));
  const isLock = (s: ThreadState) => s.waitKind === WAIT.mutex || s.waitKind === WAIT.read || s.waitKind === WAIT.write;
  const lineOf = (a: number) => a - (a % L.LINE);
  const holdersOf = (lockAddr: number) => states.filter((o) => o.held.some((h) => h.addr === lockAddr));
  // wait-for graph: a thread blocked on a lock waits for its holders, and a reader blocked on a
  // rwsem also for the writers queued ahead of it (writers go first)
  const waitsFor = (t: number): number[] => waitsForOf(states, states[t]);
  const reachesCycle = (t: number): boolean => {
    const onPath = new Set<number>();
    const done = new Set<number>();
    const dfs = (u: number): boolean => {
      if (onPath.has(u)) return true;
      if (done.has(u)) return false;
      onPath.add(u);
      for (const v of waitsFor(u)) if (dfs(v)) return true;
      onPath.delete(u);
      done.add(u);
      return false;
    };
    return dfs(t);
  };
  const lockWord = (lockAddr: number) =>
    lockWordState(
      i32,
      lockAddr,
      states.filter((o) => isLock(o) && lineOf(o.waitAddr) === lockAddr).map((o) => o.waitKind),
    );
  // a chain of lock holders from `t` that ends in a thread sleeping on an event (a device fence,
  // a wait queue, a completion): that thread waits for another to act, so the chain is a stall
  const waitsOnEvent = (t: number): boolean => {
    const seen = new Set<number>([t]);
    const todo = [t];
    while (todo.length) {
      const u = todo.pop()!;
      if (u !== t && states[u].waitAddr && !isLock(states[u])) return true;
      for (const v of waitsFor(u))
        if (!seen.has(v)) {
          seen.add(v);
          todo.push(v);
        }
    }
    return false;
  };
  // deadlock: a stuck thread blocked on one lock for most of the bound (nobody releases it), in
  // or behind a wait-for cycle, or blocked on a lock only stuck threads hold; never on a lock
  // that is free and that a waiter could take (lockWordState: a stall, however long it lasts);
  // one released meanwhile (a slow holder chain on a loaded machine) is judged by the rest, and
  // one whose holders wait on an event (waitsOnEvent) is a stall
  const deadlocked =
    cycle ??
    (leak ? stuck : undefined) ??
    stuck.filter((t) => {
      if (!isLock(states[t]) || lockWord(lineOf(states[t].waitAddr)).enterable) return false;
      if (reachesCycle(t)) return true;
      if (waitsOnEvent(t)) return false;
      if ((blockedForMs[t] ?? 0) >= forMs / 2 && !released?.[t]) return true;
      const hs = holdersOf(lineOf(states[t].waitAddr));
      return hs.length > 0 && hs.every((h) => stuck.includes(h.tid));
    });
  const kind = deadlocked.length ? 'deadlock' : 'stall';
  const lines: string[] = [];
  if (cycle)
    lines.push(`wait-for cycle, unchanged for ${forMs} ms: ${[...cycle, cycle[0]].map((t) => `T${t} ${states[t].role}`).join(' -> ')}`);
  if (leak)
    lines.push(
      `T${leak.holder} ${states[leak.holder].role} leaked ${nameOf(lnames, leak.lockAddr)} (${MODE[leak.mode]}): a callback returned holding it and ` +
        `nothing will release it, so its waiters can never be woken`,
    );
  for (const t of stuck) {
    const s = states[t];
    if (s.waitAddr) {
      const waiters = states.filter((o) => o.waitAddr && lineOf(o.waitAddr) === lineOf(s.waitAddr)).map((o) => `T${o.tid}`);
      if (isLock(s)) {
        const lockAddr = lineOf(s.waitAddr);
        const holders = holdersOf(lockAddr).map(
          (o) => `T${o.tid} ${o.role} (${MODE[o.held.find((h) => h.addr === lockAddr)!.mode]}${stuck.includes(o.tid) ? ', stuck' : ''})`,
        );
        const word = lockWord(lockAddr);
        const free = word.enterable ? ' (free: a waiter can take it; woken but not run, or starved by threads that take it first)' : '';
        lines.push(
          `T${t} ${s.role} blocked on ${WAIT_NAMES[s.waitKind]} ${nameOf(lnames, s.waitAddr)}; held by: ${holders.join(', ') || 'nobody'}; ` +
            `waiters: ${waiters.join(', ')}; ${word.text}${free}`,
        );
      } else if (s.waitKind === WAIT.frameLock || s.waitKind === WAIT.pageRefs) lines.push(frameWaitLine(i32, lay, states, s, stuck));
      else
        lines.push(
          `T${t} ${s.role} sleeping on ${WAIT_NAMES[s.waitKind] ?? 'wait'} ${nameOf(lnames, s.waitAddr)} for a condition that never came true; waiters: ${waiters.join(', ')}`,
        );
    } else if (hungIn(t, s.callback)) lines.push(`T${t} ${s.role}: ${s.callback}() has not returned for ${fmtFor(forMs)}`);
    else lines.push(`T${t} ${s.role} made no progress for ${forMs} ms (not blocked: retrying or spinning)`);
  }
  if (sched?.some((x) => x))
    lines.push(
      `scheduling in the last bound: ${sched
        .map((x, t) => (x ? `T${t} ${Math.round(x.cpuMs)} ms on a CPU, ${Math.round(x.waitMs)} ms waiting for one` : `T${t} ?`))
        .join('; ')}`,
    );
  lines.push('locks held:');
  for (const s of states)
    lines.push(
      `  T${s.tid} ${s.role.padEnd(11)} ${s.held.length ? s.held.map((h) => `${nameOf(lnames, h.addr)} (${MODE[h.mode]})`).join(', ') : '-'}${s.waitAddr ? `; waiting on ${waitedName(lay, lnames, s)}` : ''}`,
    );
  // each thread's last events
  const evs = readRings(i32, lay.ringsBase, lay.config.threads, lay.config.ringEntries);
  const last: WitnessEvent[] = [];
  for (const s of states) last.push(...renderEvents(evs.filter((e) => e.thread === s.tid).slice(-4), names));
  last.sort((a, b) => a.ticket - b.ticket);
  const inCallback = stuck.filter((t) => hungIn(t, states[t].callback) && !states[t].waitAddr);
  const summary = cycle
    ? `${kind}: wait-for cycle ${cycle.map((t) => `T${t} ${states[t].role}`).join(' -> ')} unchanged for ${forMs} ms`
    : leak
      ? `${kind}: ${stuck.map((t) => `T${t} ${states[t].role}`).join(', ')} blocked on ${nameOf(lnames, leak.lockAddr)}, ` +
        `leaked by T${leak.holder} ${states[leak.holder].role} (a callback returned holding it)`
      : inCallback.length
        ? `${kind}: ${inCallback.map((t) => `T${t} ${states[t].role}: ${states[t].callback}() has not returned for ${fmtFor(forMs)}`).join('; ')}`
        : `${kind}: ${stuck.map((t) => `T${t} ${states[t].role}`).join(', ')} made no progress for ${forMs} ms`;
  const text = `${proto.name}: ${summary}\n${lines.join('\n')}\nlast events:\n${formatLines(last)}\nrerun: hmmsim stress ${rerun} --seed ${seed}`;
  return { kind, thread: stuck[0], role: states[stuck[0]].role, atMs, page: -1, summary, events: last, text };
}
