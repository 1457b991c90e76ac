/**
 * Subscription lifetime, SRCU and exit (model/mm/lifetime.ts, srcu.ts, exit.ts), stepped by hand
 * on one thread: each new check fires on the broken interleaving and stays quiet on the right one.
 */
import { describe, it, expect } from 'vitest';
import { harness, L, type Harness } from './mm-harness.js';
import { Ctx } from '../dist/model/ctx.js';
import { LIFE, insertSubscription, removeSubscription, subLife, intervalUnlink } from '../dist/model/mm/lifetime.js';
import { srcuReadLock, srcuReadUnlock } from '../dist/model/mm/srcu.js';
import { exitMmap } from '../dist/model/mm/exit.js';
import { reclaim } from '../dist/model/mm/ops.js';
import { BREACH } from '../dist/oracle/contract.js';
import { reportNotifierUaf } from '../dist/oracle/lifetime.js';
import { kvmRelease } from '../dist/protocols/history/notifier-release-unhashed.js';
import { invalidate } from '../dist/protocols/kernel/interval-v5.5.js';

const NUAF = L.V_NOTIFIER_USE_AFTER_FREE;
const counter = (h: Harness, word: number, k: number) => Atomics.load(h.s.i32, ((L.BASE + word) >> 2) + k);
const tviol = (h: Harness, i: number) => h.s.i32[((h.s.layout.threadsBase + L.T_VIOL) >> 2) + i];

/** A second thread's ctx on the same memory (tid 1), for a reader on another thread. */
function otherThread(h: Harness, lockTimeoutMs: number): Ctx {
  const env = { i32: h.s.i32, wasm: h.s.wasm, tid: 1, lockTimeoutMs, sliceMs: 10 };
  return new Ctx(env, h.s.wasm, h.s.layout, h.ctx.proto, {
    oracle: true,
    events: true,
    widen: false,
    seed: 1,
    dmaTids: [[1]],
    onViolation: (r: number) => h.violations.push(-r - 1),
  });
}

describe('notifier-use-after-free', () => {
  it('an invalidation that found the subscription before its removal touches it after the free (6d7c3cde93c1)', async () => {
    const h = await harness('hmm-notifier-free');
    const sub = h.ctx.subs[0];
    expect(h.deviceFault(0, 4, false)).toBe('ok');
    const found = h.ctx.subsIn(0, 8); // __mmu_notifier_invalidate_range_start: hlist_for_each, mn == hmm->mn
    expect(found).toContain(sub);
    expect(removeSubscription(h.ctx, sub)).toBe(true); // hmm_mirror_unregister -> hmm_free: unhash, kfree
    expect(subLife(h.ctx, sub)).toBe(LIFE.FREED);
    expect(h.violations).toEqual([]);
    // the callback now runs on what it found: mutex_lock(&hmm->lock) (the per-hmm part of hmm_invalidate_range_start)
    const inv = { start: 0, end: 8, event: 'clear' as const, blockable: true, subs: found };
    invalidate(h.ctx, sub, inv, h.ctx.mm.invalidate_seq.peek());
    expect(h.violations[0]).toBe(NUAF);
    expect(tviol(h, 2)).toBe(sub.id); // the subscription
    expect(tviol(h, 3)).toBe(0); // freed by T0
    expect(counter(h, L.H_VIOLATIONS, NUAF)).toBe(1); // one free, one lost race...
    expect(counter(h, L.H_DETECTIONS, NUAF)).toBeGreaterThan(1); // ...however many uses saw it
    // a device operation through it is a use too
    const before = h.violations.length;
    h.ctx.zapDevice(sub, 0, 8);
    expect(h.violations.length).toBe(before + 1);
  });

  it('a use that saw the free is counted even when the subscription was allocated and linked again before it could mark it', async () => {
    // the use reads S_LIFE (freed), is preempted; a fault creates the subscription again and links
    // it; then the use reports: once counted only by marking the freed word, this lost race
    // stopped the run with no violation counted (a broken protocol's run judged a miss)
    for (const relink of [false, true]) {
      const h = await harness('hmm-notifier-free');
      const sub = h.ctx.subs[0];
      expect(removeSubscription(h.ctx, sub)).toBe(true);
      const seen = Atomics.load(h.s.i32, (h.s.layout.subrecBase + sub.id * L.SUBREC_SIZE + L.S_LIFE) >> 2);
      expect(seen & 0xff).toBe(LIFE.FREED);
      if (relink)
        expect(insertSubscription(h.ctx, sub)).toBe(true); // ALLOCATED, then linked: LIVE
      else
        expect(Atomics.compareExchange(h.s.i32, (h.s.layout.subrecBase + sub.id * L.SUBREC_SIZE + L.S_LIFE) >> 2, seen, seen)).toBe(seen);
      reportNotifierUaf(h.ctx, sub, seen);
      expect(counter(h, L.H_VIOLATIONS, NUAF), `relinked: ${relink}`).toBe(1);
      reportNotifierUaf(h.ctx, sub, seen); // a second use of the same free: a detection only (not relinked)
      expect(counter(h, L.H_DETECTIONS, NUAF)).toBe(2);
      if (!relink) expect(counter(h, L.H_VIOLATIONS, NUAF)).toBe(1);
    }
  });

  it('the same steps with the subscription found after the removal: nothing', async () => {
    const h = await harness('hmm-notifier-free');
    const sub = h.ctx.subs[0];
    expect(removeSubscription(h.ctx, sub)).toBe(true);
    const found = h.ctx.subsIn(0, 8); // unhashed: not found
    expect(found).not.toContain(sub);
    for (const other of found) invalidate(h.ctx, other, { start: 0, end: 8, event: 'clear', blockable: true, subs: found }, 3);
    expect(h.violations).toEqual([]);
    // a device fault on it creates it again (intervalInsert), and it is live, with fresh state
    expect(insertSubscription(h.ctx, sub)).toBe(true);
    expect(subLife(h.ctx, sub)).toBe(LIFE.LIVE);
    expect(sub.state.kref.peek()).toBe(1);
    expect(h.deviceFault(0, 4, false)).toBe('ok');
    expect(h.violations).toEqual([]);
  });

  it('srcuSynchronize waits for a read section that began before it, and only for that', async () => {
    const h = await harness('hmm-notifier-free-fix');
    const reader = h.ctx;
    const writer = otherThread(h, 60); // its waits give up after 60 ms
    const t0 = performance.now();
    writer.srcuSynchronize(); // no reader
    expect(performance.now() - t0).toBeLessThan(30);
    srcuReadLock(reader);
    srcuReadLock(reader); // nested: one section
    srcuReadUnlock(reader);
    const t1 = performance.now();
    writer.srcuSynchronize(); // waits (here until its bounded wait gives up: one thread cannot end the section)
    expect(performance.now() - t1).toBeGreaterThanOrEqual(50);
    srcuReadUnlock(reader);
    const t2 = performance.now();
    writer.srcuSynchronize();
    expect(performance.now() - t2).toBeLessThan(30);
  });
});

describe('registration on an exiting mm', () => {
  it('linking while mm_users is 0 is a contract breach (a4e63bce1414: the BUG_ON); with mmget it is refused', async () => {
    const h = await harness('odp-implicit-child-exit');
    const sub = h.ctx.subs[1];
    expect(removeSubscription(h.ctx, sub)).toBe(true);
    Atomics.store(h.s.i32, (L.BASE + L.H_MM_DEAD) >> 2, 1); // exit has begun: mm_users 0
    expect(insertSubscription(h.ctx, sub)).toBe(true); // the bug: no mmget
    expect(h.violations).toEqual([L.V_CONTRACT]);
    expect(tviol(h, 2)).toBe(BREACH.REGISTER_DEAD_MM);

    const f = await harness('odp-implicit-child-exit-fix');
    const fsub = f.ctx.subs[1];
    expect(removeSubscription(f.ctx, fsub)).toBe(true);
    Atomics.store(f.s.i32, (L.BASE + L.H_MM_DEAD) >> 2, 1);
    expect(insertSubscription(f.ctx, fsub)).toBe(false); // -EFAULT: it stays freed
    expect(subLife(f.ctx, fsub)).toBe(LIFE.FREED);
    Atomics.store(f.s.i32, (L.BASE + L.H_MM_DEAD) >> 2, 0); // the next mm
    expect(insertSubscription(f.ctx, fsub)).toBe(true);
    expect(f.violations).toEqual([]);
  });
});

describe('exit: notifier release', () => {
  it('unhashed before ->release: a reclaim in between frees a page the device maps (3ad3d901bbcf)', async () => {
    const h = await harness('notifier-release-unhashed');
    for (let p = 0; p < 8; p++) h.cpuWrite(p, p);
    expect(h.deviceFault(0, 8, false)).toBe('ok');
    intervalUnlink(h.ctx, h.ctx.subs[0]); // __mmu_notifier_release: hlist_del_init_rcu first
    reclaim(h.ctx, 3); // try_to_unmap: no notifier found, the page is freed
    expect(h.violations).toEqual([L.V_USE_AFTER_FREE]);
  });

  it('->release before the unhash: the same reclaim is clean, and a whole exit leaves nothing mapped', async () => {
    const h = await harness('notifier-release-unhashed-fix');
    for (let p = 0; p < 8; p++) h.cpuWrite(p, p);
    expect(h.deviceFault(0, 8, false)).toBe('ok');
    kvmRelease(h.ctx, h.ctx.subs[0]);
    intervalUnlink(h.ctx, h.ctx.subs[0]);
    reclaim(h.ctx, 3);
    expect(h.violations).toEqual([]);

    const x = await harness('notifier-release-unhashed-fix');
    for (let p = 0; p < 80; p++) x.cpuWrite(p, p);
    expect(x.deviceFault(0, 16, true)).toBe('ok');
    expect(x.deviceFault(64, 80, false)).toBe('ok');
    expect(exitMmap(x.ctx)).toBe(true);
    expect(x.violations).toEqual([]);
    for (const sub of x.ctx.subs) expect(subLife(x.ctx, sub)).toBe(LIFE.FREED); // released, then freed
    for (let p = 0; p < 80; p++) expect(x.dma(p)).toBe(L.DMA_NO_ENTRY);
    expect(Atomics.load(x.s.i32, (L.BASE + L.H_MM_DEAD) >> 2)).toBe(0); // a new mm
    x.cpuWrite(5, 1); // usable again
    expect(insertSubscription(x.ctx, x.ctx.subs[0])).toBe(true);
    expect(x.deviceFault(0, 8, false)).toBe('ok');
    expect(x.violations).toEqual([]);
  });
});
