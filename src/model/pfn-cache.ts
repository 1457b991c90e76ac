/**
 * pfn-cache.ts — a pfn cached outside the device page table: KVM's APIC-access page address in
 * the VMCS, the gfn=>pfn caches (gpc). A protocol declares one as a state field of type
 * 'pfncache' (mmState, subState or rangeState: one line, the C_ fields of
 * src/memory/constants.ts) and drives it:
 *
 *   resolve(page, write?)   gfn_to_page / hva_to_pfn: the pfn the PTE maps now (faulted in if
 *                           need be; caller holds mmap_lock for read). Returns it or an errno.
 *   set()                   publish the last resolved pfn as the cache's entry
 *   clear()                 drop the entry (gpc->valid = false, a VMCS field reloaded)
 *   use(check?)             one access through the entry, checked by the oracle (assembly/
 *                           pfncache.ts): the frame must still be the page's (else
 *                           use-after-free), and once no invalidation of the page is between
 *                           callbacks-done and end, the PTE must still map it. With `check`, the
 *                           use aborts first if check.word !== check.expect (a vCPU that finds a
 *                           request pending after entering guest mode). Returns 'empty', 'done'
 *                           or 'aborted'.
 *   fence()                 wait until every use in flight when called has finished (a kick
 *                           that waits for the vCPUs to leave guest mode)
 *   pfn()                   the cached pfn, or -1 (not traced)
 *
 * Every operation but pfn() is a witness event; a stale use's witness names the cache and the
 * thread that set it.
 */
import { L } from '../memory/layout.js';
import { EV, PFNCACHE_OP } from '../oracle/events.js';
import { WAIT, block, now } from '../sync/env.js';
import type { HmmWasm } from '../memory/wasm.js';
import type { Tracer, Word } from './state.js';

/** What a pfn cache needs from its thread beyond a Tracer (Ctx provides it). */
export interface PfnCacheHost extends Tracer {
  readonly wasm: HmmWasm;
  readonly opts: { oracle: boolean; onViolation: (ret: number) => void; fault?: (page: number, write: boolean) => number };
}

export type PfnCacheUse = 'empty' | 'done' | 'aborted';

export class PfnCache {
  constructor(
    private readonly t: Tracer,
    /** The cache record's address (its declared line). */
    readonly addr: number,
    /** Its field code (witness events name it by this). */
    readonly code: number,
    readonly field = '',
  ) {}

  private get host(): PfnCacheHost {
    return this.t as PfnCacheHost;
  }

  /** hva_to_pfn: the pfn `page` maps, faulting it in if needed; or -EFAULT/-EBUSY/-ENOMEM/-EAGAIN. */
  resolve(page: number, write = false): number {
    const host = this.host;
    let r: number = L.EBUSY;
    for (let tries = 0; tries < 8; tries++) {
      r = host.wasm.pfncache_resolve(this.addr, page, write ? 1 : 0);
      if (r !== L.NEED_FAULT) break;
      const fr = host.opts.fault ? host.opts.fault(page, write) : L.EFAULT;
      r = fr === L.EAGAIN ? L.EBUSY : fr;
      if (fr < 0 && fr !== L.EAGAIN) break;
    }
    if (r === L.NEED_FAULT) r = L.EBUSY;
    const i32 = this.t.env.i32;
    const gen = r >= 0 ? Atomics.load(i32, (this.addr + L.C_PEND_GEN) >> 2) : 0;
    this.t.trace(EV.PFNCACHE, this.code, PFNCACHE_OP.resolve, page, r >= 0 ? r : -1, gen, Math.min(r, 0));
    return r;
  }

  /** Publish the last resolved pfn (gpc->pfn = new_pfn; the VMCS field written). */
  set(): void {
    this.host.wasm.pfncache_set(this.addr, this.t.env.tid);
    const i32 = this.t.env.i32;
    const pfn = Atomics.load(i32, (this.addr + L.C_PEND_PFN) >> 2);
    this.t.trace(
      EV.PFNCACHE,
      this.code,
      PFNCACHE_OP.set,
      Atomics.load(i32, (this.addr + L.C_PEND_PAGE) >> 2),
      pfn,
      Atomics.load(i32, (this.addr + L.C_PEND_GEN) >> 2),
    );
  }

  clear(): void {
    this.t.trace(EV.PFNCACHE, this.code, PFNCACHE_OP.clear, -1);
    this.host.wasm.pfncache_clear(this.addr);
  }

  /** The cached pfn, or -1. Not traced. */
  pfn(): number {
    return this.host.wasm.pfncache_pfn(this.addr);
  }

  /** One access through the cache (the oracle checks it); aborted first if check.word moved. */
  use(check?: { word: Word; expect: number }): PfnCacheUse {
    const host = this.host;
    const i32 = this.t.env.i32;
    const ret = host.wasm.pfncache_use(
      this.addr,
      this.code,
      check ? check.word.addr : 0,
      check ? check.expect : 0,
      this.t.env.tid,
      host.opts.oracle ? 1 : 0,
    );
    const entry = Atomics.load(i32, (this.addr + L.C_ENTRY) >> 2);
    const result = ret < 0 ? L.PFNC_DONE : ret;
    this.t.trace(
      EV.PFNCACHE,
      this.code,
      PFNCACHE_OP.use,
      Atomics.load(i32, (this.addr + L.C_PAGE) >> 2),
      entry - 1,
      Atomics.load(i32, (this.addr + L.C_ENTRY + 4) >> 2),
      result,
    );
    if (ret < 0) host.opts.onViolation(ret);
    return result === L.PFNC_ABORTED ? 'aborted' : result === L.PFNC_EMPTY ? 'empty' : 'done';
  }

  /** Wait until every use in flight when called has finished (bounded by the lock timeout). */
  fence(): void {
    const i32 = this.t.env.i32;
    const seqAddr = this.addr + L.C_USE_SEQ;
    const s = Atomics.load(i32, seqAddr >> 2);
    if ((s & 1) !== 0) {
      const waiters = (this.addr + L.C_FENCE_WAITERS) >> 2;
      const deadline = now() + this.t.env.lockTimeoutMs;
      Atomics.add(i32, waiters, 1);
      try {
        while (Atomics.load(i32, seqAddr >> 2) === s) if (block(this.t.env, seqAddr, s, WAIT.pfnCache, deadline) === 'timeout') break;
      } finally {
        Atomics.sub(i32, waiters, 1);
      }
    }
    this.t.trace(EV.PFNCACHE, this.code, PFNCACHE_OP.fence, -1);
  }
}
