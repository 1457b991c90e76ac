// sync.ts — lock fast paths on shared words. The slow paths (blocking) are in src/sync/*.ts,
// which block with JS Atomics.wait: waits inside Wasm lose wake-ups on Node 20 (docs/ARCHITECTURE.md,
// Toolchain facts).
//
// Every acquisition and release is recorded in the thread's held list (T_HELD), so a deadlock
// or stall report can say who holds what. Lock states are documented once, in src/sync/*.ts.
import * as L from './layout.gen';
import { threadAddr } from './base';

// ---- held-lock bookkeeping and owner words: written only by the owning thread, so plain stores
// (the lock's own atomic acquire/release orders them); other threads read them racily, for
// diagnostics only ----

@inline function heldPush(tid: u32, tag: i32): void {
  const t = threadAddr(tid);
  const n = load<i32>(t + L.T_HELD_N);
  if (n < L.HELD_MAX) store<i32>(t + L.T_HELD + (n << 2), tag);
  store<i32>(t + L.T_HELD_N, n + 1);
}

@inline function heldPop(tid: u32, addr: u32): void {
  const t = threadAddr(tid);
  const n = load<i32>(t + L.T_HELD_N);
  const lim = n < L.HELD_MAX ? n : L.HELD_MAX;
  // remove the last entry for this lock (locks are usually released in reverse order)
  for (let i = lim - 1; i >= 0; i--) {
    const p = t + L.T_HELD + (<u32>i << 2);
    if ((<u32>load<i32>(p) & ~3) == addr) {
      for (let j = i; j < lim - 1; j++) store<i32>(t + L.T_HELD + (<u32>j << 2), load<i32>(t + L.T_HELD + (<u32>(j + 1) << 2)));
      break;
    }
  }
  store<i32>(t + L.T_HELD_N, n > 0 ? n - 1 : 0);
  // a leaked lock (T_LEAKED, oracle/contract.ts) stays marked while the thread holds it at all
  const leaked = load<i32>(t + L.T_LEAKED);
  if (leaked == 0 || (<u32>leaked & ~3) != addr) return;
  for (let i = 0; i < lim - 1; i++) if ((<u32>load<i32>(t + L.T_HELD + (<u32>i << 2)) & ~3) == addr) return;
  atomic.store<i32>(t + L.T_LEAKED, 0);
}

/** Mark `tid` as blocked on `addr` (kind 1 mutex, 2 rwsem read, 3 rwsem write, 4 waitqueue), or running (addr 0). */
export function set_waiting(tid: u32, addr: u32, kind: i32): void {
  const t = threadAddr(tid);
  atomic.store<i32>(t + L.T_WAIT_KIND, kind);
  atomic.store<u32>(t + L.T_WAIT_ADDR, addr);
}

// ---- mutex: MX_STATE 0 unlocked, 1 locked, 2 locked with (possible) waiters ----

/** Try to take the mutex uncontended (0 -> 1). Returns 1 if taken. */
export function mutex_trylock(addr: u32, tid: u32): i32 {
  if (atomic.cmpxchg<i32>(addr + L.MX_STATE, 0, 1) != 0) return 0;
  store<i32>(addr + L.MX_OWNER, tid + 1);
  heldPush(tid, addr | L.HELD_MUTEX);
  return 1;
}

/** Contended acquire attempt: state := 2; taken iff it was 0. The caller then waits on state == 2. */
export function mutex_lock_contended(addr: u32, tid: u32): i32 {
  if (atomic.xchg<i32>(addr + L.MX_STATE, 2) != 0) return 0;
  store<i32>(addr + L.MX_OWNER, tid + 1);
  heldPush(tid, addr | L.HELD_MUTEX);
  return 1;
}

/** Release. Returns the old state: 2 means the caller must wake one waiter. */
export function mutex_unlock(addr: u32, tid: u32): i32 {
  store<i32>(addr + L.MX_OWNER, 0);
  heldPop(tid, addr);
  return atomic.xchg<i32>(addr + L.MX_STATE, 0);
}

// ---- rwsem: RW_STATE readers in [15:0] + WRITER bit; RW_WWAIT writers waiting; RW_RBUDGET ----

/**
 * Try to take the rwsem for read. `slow` = 1 when called by a reader that has been waiting: it
 * may use the read budget an up_write left for waiting readers (so writers cannot starve them).
 * A reader arriving while writers wait does not get in (so readers cannot starve writers).
 */
export function rwsem_read_trylock(addr: u32, tid: u32, slow: i32): i32 {
  for (;;) {
    const s = atomic.load<i32>(addr + L.RW_STATE);
    if ((s & L.RW_WRITER) != 0) return 0;
    if ((s & L.RW_READER_MASK) == L.RW_READER_MASK) return 0;
    let usedBudget = false;
    if (atomic.load<i32>(addr + L.RW_WWAIT) > 0) {
      if (!slow) return 0;
      const b = atomic.load<i32>(addr + L.RW_RBUDGET);
      if (b <= 0) return 0;
      if (atomic.cmpxchg<i32>(addr + L.RW_RBUDGET, b, b - 1) != b) continue;
      usedBudget = true;
    }
    if (atomic.cmpxchg<i32>(addr + L.RW_STATE, s, s + 1) == s) {
      heldPush(tid, addr | L.HELD_READ);
      return 1;
    }
    if (usedBudget) atomic.add<i32>(addr + L.RW_RBUDGET, 1);
  }
  return 0; // unreachable
}

/** Release a read hold. Returns 1 if waiters may need waking (last reader left, someone waits). */
export function rwsem_up_read(addr: u32, tid: u32): i32 {
  heldPop(tid, addr);
  const s = atomic.sub<i32>(addr + L.RW_STATE, 1) - 1;
  if ((s & L.RW_READER_MASK) != 0) return 0;
  return atomic.load<i32>(addr + L.RW_WWAIT) | atomic.load<i32>(addr + L.RW_RWAIT) ? 1 : 0;
}

/**
 * Try to take the rwsem for write (0 -> WRITER). Fails while the readers that the last up_write
 * let in ahead (RW_RBUDGET) still wait to enter: otherwise a writer re-taking the lock at once
 * would reset their budget before they woke, and a stream of writers would starve readers.
 */
export function rwsem_write_trylock(addr: u32, tid: u32): i32 {
  if (atomic.load<i32>(addr + L.RW_RBUDGET) > 0 && atomic.load<i32>(addr + L.RW_RWAIT) > 0) return 0;
  if (atomic.cmpxchg<i32>(addr + L.RW_STATE, 0, L.RW_WRITER) != 0) return 0;
  store<i32>(addr + L.RW_OWNER, tid + 1);
  atomic.store<i32>(addr + L.RW_RBUDGET, 0);
  heldPush(tid, addr | L.HELD_WRITE);
  return 1;
}

/**
 * Release the write hold. Readers waiting now get a budget to enter ahead of waiting writers.
 * Returns 1 if anyone waits (the caller bumps RW_SEQ and wakes all).
 */
export function rwsem_up_write(addr: u32, tid: u32): i32 {
  store<i32>(addr + L.RW_OWNER, 0);
  heldPop(tid, addr);
  const rw = atomic.load<i32>(addr + L.RW_RWAIT);
  atomic.store<i32>(addr + L.RW_RBUDGET, rw);
  atomic.and<i32>(addr + L.RW_STATE, ~L.RW_WRITER);
  return rw | atomic.load<i32>(addr + L.RW_WWAIT) ? 1 : 0;
}

/** Downgrade write -> read (like downgrade_write). */
export function rwsem_downgrade(addr: u32, tid: u32): i32 {
  store<i32>(addr + L.RW_OWNER, 0);
  heldPop(tid, addr);
  heldPush(tid, addr | L.HELD_READ);
  atomic.store<i32>(addr + L.RW_RBUDGET, atomic.load<i32>(addr + L.RW_RWAIT));
  atomic.store<i32>(addr + L.RW_STATE, 1);
  return atomic.load<i32>(addr + L.RW_RWAIT) ? 1 : 0;
}
