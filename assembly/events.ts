// events.ts — per-thread event rings for witnesses.
//
// Each thread owns one ring (only it writes); entries are ordered across threads by one global
// 64-bit ticket (an atomic add on its own line: it does not wrap; at 10 M events/s 2^53 is 28
// years). An entry keeps the ticket's low word in EV_TICKET and its high word in EV_TYPE's bits
// [31:8] (the type in [7:0]). It is published seqlock-style on the type word: 0 first, then the
// fields and the ticket's low word, then the type word, so a reader copying rings while writers
// run can tell a torn entry (type word 0, or type word / low word changed) and drop it.
import * as L from './layout.gen';
import { hdr, threadAddr, RINGS_BASE, RING_MASK } from './base';

/** Record one event for thread `tid`; returns its ticket (exact as an f64 below 2^53). Owner thread only. */
export function ev(tid: u32, type: i32, a: i32, b: i32, c: i32, d: i32, e: i32, f: i32): f64 {
  const t = threadAddr(tid);
  const head = load<u32>(t + L.T_RING_HEAD);
  const ring = RINGS_BASE + tid * (RING_MASK + 1) * <u32>L.EV_SIZE;
  const slot = ring + (head & RING_MASK) * <u32>L.EV_SIZE;
  const ticket = atomic.add<i64>(hdr(L.H_TICKET), 1) + 1;
  atomic.store<i32>(slot + L.EV_TYPE, 0);
  store<i32>(slot + L.EV_TICKET, <i32>ticket);
  store<i32>(slot + L.EV_A, a);
  store<i32>(slot + L.EV_B, b);
  store<i32>(slot + L.EV_C, c);
  store<i32>(slot + L.EV_D, d);
  store<i32>(slot + L.EV_E, e);
  store<i32>(slot + L.EV_F, f);
  atomic.store<i32>(slot + L.EV_TYPE, (type & L.EV_TYPE_MASK) | <i32>(<u64>ticket >>> 32 << <u64>L.EV_TICKET_HI_SHIFT));
  atomic.store<u32>(t + L.T_RING_HEAD, head + 1);
  return <f64>ticket;
}

/** One op done by `tid`: bump its progress counter (the watchdog reads it). */
export function progress(tid: u32): void {
  const p = threadAddr(tid) + L.T_PROGRESS;
  atomic.store<i32>(p, load<i32>(p) + 1);
}
