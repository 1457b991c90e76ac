/**
 * jswalk.mjs — the JS baseline of the range walk: assembly/mm.ts hmm_range_fault ported line
 * for line to JS, with `Atomics.load` where the Wasm walk uses atomic loads and plain typed-array
 * reads/writes where it uses plain ones (the i64 hmm_pfns entry is written as two i32 words,
 * which is what a JS walk would do; a BigInt store would only make JS look worse).
 */
import { L } from '../../dist/memory/layout.js';

/** @param {Int32Array} i32 the shared memory's words */
export function makeJsWalk(i32) {
  const hdr = (o) => i32[(L.BASE + o) >> 2];
  const FRAMES_BASE = hdr(L.H_FRAMES_BASE);
  const TABLESTORE_BASE = hdr(L.H_TABLESTORE_BASE);
  const DIR_BASE = hdr(L.H_DIR_BASE);
  const VMA_BASE = hdr(L.H_VMA_BASE);
  const THREADS_BASE = hdr(L.H_THREADS_BASE);
  const {
    FRAME_SIZE,
    F_GEN,
    F_STATE,
    F_TABLE,
    TABLE_BYTES,
    PT_SHIFT,
    PTRS_PER_TABLE,
    VM_MAPPED,
    VM_READ,
    VM_WRITE,
    RF_FAULT,
    RF_WRITE,
    HMM_PFN_ERROR,
    HMM_PFN_VALID,
    HMM_PFN_WRITE,
    PTE_TYPE_MASK,
    PTE_MIGRATION,
    PTE_PRESENT,
    PTE_WRITE,
    PTE_PFN_SHIFT,
    FS_PAGETABLE,
    EBUSY,
    EFAULT,
    EPERM,
    NEED_FAULT,
    PT_UAF,
    R_START,
    R_END,
    R_FLAGS,
    R_CHECK_ADDR,
    R_CHECK_EXPECT,
    R_HDR,
    R_FAULT_PAGE,
    THREAD_SIZE,
    T_VIOL,
    V_PAGE_TABLE_USE_AFTER_FREE,
    BASE,
    H_VIOLATIONS,
    VR_KIND,
    VR_PAGE,
    VR_PFN,
    VR_GEN_WANT,
    VR_GEN_HAVE,
  } = L;
  const PT_MASK = PTRS_PER_TABLE - 1;

  function viol(tid, kind, page, pfn, want, have) {
    const v = THREADS_BASE + tid * THREAD_SIZE + T_VIOL;
    i32[(v + VR_KIND) >> 2] = kind;
    i32[(v + VR_PAGE) >> 2] = page;
    i32[(v + VR_PFN) >> 2] = pfn;
    i32[(v + VR_GEN_WANT) >> 2] = want;
    i32[(v + VR_GEN_HAVE) >> 2] = have;
    Atomics.add(i32, (BASE + H_VIOLATIONS + kind * 4) >> 2, 1);
  }

  return function hmmRangeFaultJs(r, from, tid) {
    const start = i32[(r + R_START) >> 2] >>> 0;
    const end = i32[(r + R_END) >> 2] >>> 0;
    const flags = i32[(r + R_FLAGS) >> 2];
    const checkIdx = i32[(r + R_CHECK_ADDR) >> 2] >>> 2;
    const expect = i32[(r + R_CHECK_EXPECT) >> 2];
    const pfns = r + R_HDR;
    for (let page = from; page < end; page++) {
      if (checkIdx !== 0 && Atomics.load(i32, checkIdx) !== expect) return EBUSY;
      const out = (pfns + ((page - start) << 3)) >> 2;
      const vma = Atomics.load(i32, (VMA_BASE + page * 4) >> 2);
      if (!(vma & VM_MAPPED) || !(vma & VM_READ)) {
        i32[out] = HMM_PFN_ERROR;
        i32[out + 1] = 0;
        return EFAULT;
      }
      if (flags & RF_WRITE && !(vma & VM_WRITE)) {
        i32[out] = HMM_PFN_ERROR;
        i32[out + 1] = 0;
        return EPERM;
      }
      const dirIdx = (DIR_BASE + (page >>> PT_SHIFT) * 4) >> 2;
      const d = Atomics.load(i32, dirIdx);
      if (d === 0) {
        if (flags & RF_FAULT) {
          i32[(r + R_FAULT_PAGE) >> 2] = page;
          return NEED_FAULT;
        }
        i32[out] = 0;
        i32[out + 1] = 0;
        continue;
      }
      const tf = FRAMES_BASE + (d - 1) * FRAME_SIZE;
      const g1 = Atomics.load(i32, (tf + F_GEN) >> 2);
      const st = Atomics.load(i32, (tf + F_STATE) >> 2);
      const pIdx = (TABLESTORE_BASE + i32[(tf + F_TABLE) >> 2] * TABLE_BYTES + ((page & PT_MASK) << 2)) >> 2;
      const pte = Atomics.load(i32, pIdx);
      const g2 = Atomics.load(i32, (tf + F_GEN) >> 2);
      const d2 = Atomics.load(i32, dirIdx);
      if (g1 !== g2 || st !== FS_PAGETABLE || d2 !== d) {
        viol(tid, V_PAGE_TABLE_USE_AFTER_FREE, page, d - 1, g1, g2);
        return PT_UAF;
      }
      const type = pte & PTE_TYPE_MASK;
      if (type === PTE_MIGRATION) return EBUSY;
      if (type !== PTE_PRESENT || (flags & RF_WRITE && !(pte & PTE_WRITE))) {
        if (flags & RF_FAULT) {
          i32[(r + R_FAULT_PAGE) >> 2] = page;
          return NEED_FAULT;
        }
        i32[out] = 0;
        i32[out + 1] = 0;
        continue;
      }
      const pfn = pte >>> PTE_PFN_SHIFT;
      const gen = Atomics.load(i32, (FRAMES_BASE + pfn * FRAME_SIZE + F_GEN) >> 2);
      if (Atomics.load(i32, pIdx) !== pte) {
        page--;
        continue;
      }
      let lo = HMM_PFN_VALID | pfn;
      if (pte & PTE_WRITE) lo |= HMM_PFN_WRITE;
      i32[out] = lo;
      i32[out + 1] = gen;
    }
    return 0;
  };
}

/** Checksum of a range record's hmm_pfns, computed like the C harness (u64: sum = sum*31 + e). */
export function pfnsChecksum(memory, r, pages) {
  const v = new BigInt64Array(memory.buffer, r + L.R_HDR, pages);
  let sum = 0n;
  for (let i = 0; i < pages; i++) sum = BigInt.asUintN(64, sum * 31n + BigInt.asUintN(64, v[i]));
  return sum.toString();
}
