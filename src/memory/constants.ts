/**
 * constants.ts — the single source of truth for every fixed offset and code in the shared memory.
 *
 * Two kinds of numbers live here:
 *  - `L`: fixed constants (header field offsets, record strides and field offsets, PTE and
 *    device-entry encodings). `scripts/gen-layout.mjs` writes them into
 *    `assembly/layout.gen.ts`, so AssemblyScript and TypeScript read the same numbers;
 *    test/layout.test.ts proves the built Wasm agrees with this file.
 *  - `computeLayout(config)`: the region bases for one run (they depend on how many pages,
 *    devices, threads... the run has). The runner writes them into the header once, before any
 *    worker starts; Wasm reads them from the header (`setup()` caches them per instance).
 *
 * Every address is a byte offset into the one shared WebAssembly.Memory. Words written by
 * different threads at a high rate (tickets, stop flag, allocator head, lock words, per-thread
 * progress) each get their own 64-byte line.
 */
import { VIOLATION_CODES } from '../api/kinds.js';

export const LINE = 64;
export const WASM_PAGE = 65536;

/**
 * The header's config words, in order from offset 8 (after magic and version): word `NAME` sits
 * at `L.H_NAME`. header.ts writes each from the layout (headerValues must give every one);
 * scripts/gen-layout.mjs gives AssemblyScript a global `NAME` per field and `header_read()`,
 * which setup() calls to cache them all. Adding a field here is all three; test/layout.test.ts
 * checks Wasm reads back what TS wrote. FLAGS: bit 0 oracle on, bit 1 events on.
 */
export const HEADER_FIELDS = [
  'TOTAL_BYTES',
  'PAGES',
  'FRAMES',
  'TABLES',
  'DEVICES',
  'SUBS',
  'THREADS',
  'RANGE_MAX',
  'RING_ENTRIES',
  'DIR_ENTRIES',
  'FRAMES_BASE',
  'TABLESTORE_BASE',
  'DIR_BASE',
  'VMA_BASE',
  'SWAP_BASE',
  'INVAL_BASE',
  'DEVPT_BASE',
  'RANGES_BASE',
  'THREADS_BASE',
  'RINGS_BASE',
  'PROTO_MM_BASE',
  'PROTO_SUB_BASE',
  'SUBREC_BASE',
  'DMASEQ_BASE',
  'PROTO_RANGE_BASE',
  'PROTO_MM_LINES',
  'PROTO_SUB_LINES',
  'PROTO_RANGE_LINES',
  'FIRST_TABLE_FRAME',
  'FLAGS',
] as const;

export type HeaderField = (typeof HEADER_FIELDS)[number];

/** Where the config words start: after H_MAGIC and H_VERSION. */
const HEADER_FIELDS_AT = 8;

const HEADER_OFFSETS = Object.fromEntries(HEADER_FIELDS.map((f, i) => [`H_${f}`, HEADER_FIELDS_AT + 4 * i])) as {
  readonly [F in HeaderField as `H_${F}`]: number;
};

/** Fixed constants shared with AssemblyScript (generated into assembly/layout.gen.ts). */
export const L = {
  LINE: 64,
  /** Everything below BASE belongs to the AssemblyScript module's (constant) static data. */
  BASE: 65536,
  MAGIC: 0x484d4d53, // 'HMMS'
  LAYOUT_VERSION: 5,

  // ---- header (at BASE): config and region bases, one word each, then hot lines ----
  H_MAGIC: 0,
  H_VERSION: 4,
  ...HEADER_OFFSETS, // H_TOTAL_BYTES: 8 ... H_FLAGS: 124, from HEADER_FIELDS below
  // hot lines, one each
  H_TICKET: 128, // global event ticket (i64, atomic add: never wraps)
  H_STOP: 192, // stop flag: workers leave their loops when non-zero
  H_GO: 256, // start barrier: [ready count, go flag]
  H_GO_FLAG: 260, // ... the go flag: non-zero once the main thread released the barrier
  H_FREE_HEAD: 320, // i64: frame free-stack head (pfn+1 in low 32 bits, ABA tag in high 32)
  H_TFREE_HEAD: 336, // i64: page-table frame free-stack head, same encoding
  H_VIOLATIONS: 384, // i32[16]: violations by kind
  H_MMAP_LOCK: 448, // rwsem (one line)
  H_START_EPOCH: 512, // f64: epoch ms at which the run started (written once, before go)
  H_ANON_VMA_LOCK: 576, // rwsem: rmap walkers (migrate, reclaim) read, munmap write (frees tables)
  H_DETECTIONS: 640, // i32[16]: raw detections by kind (H_VIOLATIONS counts distinct lost races)
  H_DEVTID_BASE: 704, // region base: per device entry, the thread that programmed it (below)
  H_INV_BEGUN: 768, // invalidations whose callbacks began / whose end returned (the ABA window's clock)
  H_INV_ENDED: 772,
  // mutate runs only (mutate/shared.ts): what one thread's mutation hook tells the others' hooks
  H_MUTATE_HOLD: 776, // threads holding new invalidations back (a failure path's window)
  H_MUTATE_POPULATES: 780, // populate calls begun (what a hold waits for)
  H_MUTATE_SKIPPING: 784, // code + 1 of a lock some thread is in a section of, having skipped it (0: none)
  H_MUTATE_BETWEEN: 788, // code + 1 of a plain word some thread is between the load and the store of, under the mutated lock
  H_MUTATE_AIM: 792, // subscription index + 1 whose interval the CPU-side changes should aim at now (0: anywhere)
  H_MM_DEAD: 832, // the mm's life (model/mm/exit.ts): 0 alive, 1 the process dropped its reference (exit_mmap runs)
  H_MM_USERS: 836, // mmget references beyond the process's own (model/mm/lifetime.ts: mmgetNotZero / mmput)
  H_SIZE: 896,

  // ---- frames (physical pages) ----
  FRAME_SIZE: 64,
  F_GEN: 0, // bumped on every free
  F_STATE: 4,
  F_REFCOUNT: 8, // 1 for the mapping, + 1 per reference a walk took (RF_GET); 0 once free

  F_OWNER: 12, // content tag: VA page + 1 of the mapping it holds, 0 when free
  F_DATA: 16, // the data word (what CPU and device read and write)
  F_NEXT: 20, // free-stack link (pfn + 1, 0 = end)
  F_TABLE: 24, // for page-table frames: index of its table store slot
  F_LOCK: 28, // the per-frame lock (folio_lock): holder thread id + 1 in FL_HOLDER_MASK, FL_WAITERS while someone sleeps on it
  F_REF_BY: 32, // the thread that last took an extra reference + 1 (the watchdog names it)
  F_REF_WAITERS: 36, // threads waiting for the extra references to drop (ctx.waitPageRefs): a put wakes them
  FL_HOLDER_MASK: 0xffff,
  FL_WAITERS: 0x10000,
  FS_FREE: 0,
  FS_ANON: 1,
  FS_PAGETABLE: 2,
  FS_RESERVED: 3,
  FS_PINNED: 4, // unmapped and released by the mm (gen bumped) but still referenced: the last put frees it

  // ---- CPU page table: directory (one word per leaf table) -> leaf table frames ----
  PT_SHIFT: 6,
  PTRS_PER_TABLE: 64,
  TABLE_BYTES: 256,
  // PTE word: [1:0] type, [2] write, [3] cow, [31:4] pfn / swap slot
  PTE_NONE: 0,
  PTE_PRESENT: 1,
  PTE_MIGRATION: 2,
  PTE_SWAP: 3,
  PTE_TYPE_MASK: 3,
  PTE_WRITE: 4,
  PTE_COW: 8,
  PTE_PFN_SHIFT: 4,
  // directory entry: table frame pfn + 1 (0 = no table)

  // ---- VMA flags, one word per page (the model's VMAs are page-granular) ----
  VM_MAPPED: 1,
  VM_READ: 2,
  VM_WRITE: 4,

  // ---- device page table entry: one i64 per page per device ----
  // low word: [0] valid, [1] write, [31:2] pfn ; high word: frame gen it was programmed with
  DEV_VALID: 1,
  DEV_WRITE: 2,
  DEV_PFN_SHIFT: 2,
  DEVPTE_SIZE: 8,
  // per device entry (devtid region, one i32): programming thread id + 1 in [15:0]; [30] set once a
  // check has counted this entry as a lost race (later detections of it are raw detections only)
  DEVTID_TID_MASK: 0xffff,
  DEVTID_REPORTED: 0x40000000,
  DEVTID_SIZE: 4,

  // ---- hmm_pfns entries: one i64 per page ----
  // low word: [31] valid, [30] write, [29] error, [28:0] pfn ; high word: frame gen seen by the walk
  HMM_PFN_VALID: -2147483648, // 1 << 31
  HMM_PFN_WRITE: 0x40000000,
  HMM_PFN_ERROR: 0x20000000,
  HMM_PFN_MASK: 0x1fffffff,
  HMM_PFN_SIZE: 8,
  HMM_PFN_GEN: 4, // the high word's offset in an entry

  // ---- range records (one per driver thread: struct hmm_range) ----
  R_START: 0,
  R_END: 4,
  R_FLAGS: 8, // bit 0: fault missing pages, bit 1: require write
  R_NOTIFIER_SEQ: 12,
  R_CHECK_ADDR: 16, // lockless retry check: word address (0 = none) ...
  R_CHECK_EXPECT: 20, // ... and the value it must still hold
  R_SUB: 24,
  R_DEVICE: 28,
  R_REGISTERED: 32,
  R_FAULT_PAGE: 36, // out: page the walk needs faulted in
  R_WALK_DIR: 40, // walk state kept across fault-in resumes: directory word in use,
  R_WALK_D: 44, // ... its value (table pfn + 1) ...
  R_WALK_GEN: 48, // ... and the table's gen when the walk entered it
  R_HDR: 64, // the hmm_pfns array follows the header (a zap uses it as scratch: ZAP_ pairs)
  ZAP_PAIR_SIZE: 8, // a zap's list of unmapped frames: (pfn, page) pairs
  ZAP_PFN: 0,
  ZAP_PAGE: 4,
  RF_FAULT: 1,
  RF_WRITE: 2,
  RF_GET: 4, // the walk takes a reference on every frame it snapshots (get_user_pages, make_device_exclusive_range)
  RF_LOCK: 8, // ... and trylocks it; a frame whose lock is taken is left out (its hmm_pfns entry not valid)

  // ---- subscription records ----
  S_START: 0,
  S_END: 4,
  S_DEVICE: 8,
  S_LIFE: 12, // the subscription's lifetime (model/mm/lifetime.ts LIFE): live, closing, removed, freed, allocated
  S_FREED_BY: 16, // the thread that freed it + 1 (0: not freed)
  S_USERS: 20, // device faults in progress through it (a removal waits for them)
  S_FOUND: 24, // invalidations that found it and whose start callbacks have not returned (widening only)
  SUBREC_SIZE: 32,

  // ---- per-thread record (diagnostics + progress), 4 lines ----
  THREAD_SIZE: 256,
  T_PROGRESS: 0, // ops completed (own line, owner writes)
  T_RETRIES: 4, // populate retries (owner writes)
  T_ROLE: 64,
  T_WAIT_ADDR: 68, // lock/queue word it is blocked on (0 = running)
  T_WAIT_KIND: 72, // 1 mutex, 2 rwsem read, 3 rwsem write, 4 waitqueue
  T_HELD_N: 76,
  T_HELD: 80, // i32[8]: held lock addresses | mode in low 2 bits
  T_RING_HEAD: 112,
  T_VIOL: 128, // i32[16] scratch: violation details written by Wasm (the VR_ fields)
  T_COV: 192, // i32[8] race-window coverage counters (owner writes; oracle/coverage.ts names them)
  T_WALKING: 224, // driver: 1 while its hmm_range_fault runs
  T_SNAPSHOT: 228, // driver: 1 from a walk that returned 0 until it programs or populate returns
  T_CALLBACK: 232, // the protocol callback this thread is in: (call number << CALLBACK_CALL_SHIFT) | (CALLBACKS index + 1); 0 = none
  CALLBACK_INDEX_MASK: 0xff, // T_CALLBACK's callback field (the call number above it tells one call from the next)
  CALLBACK_CALL_SHIFT: 8,
  T_INV_BEGUN: 236, // driver: H_INV_BEGUN when its last walk began
  T_SRCU: 240, // SRCU read side (model/mm/srcu.ts): odd while this thread is inside a read section
  T_SRCU_WAITERS: 244, // threads in srcuSynchronize sleeping on T_SRCU (the reader wakes them)
  T_OS_TID: 248, // Node on Linux: the worker's OS thread id (0 unknown): the watchdog reads its CPU time and run-queue wait
  T_LEAKED: 252, // a lock a callback returned holding with nothing to release it (its T_HELD tag; 0 none): cleared once the thread holds it no more
  HELD_MAX: 8,
  HELD_MUTEX: 1,
  HELD_READ: 2,
  HELD_WRITE: 3,
  HELD_MODE_MASK: 3, // a T_HELD entry: lock address | mode (locks are line-aligned)

  // ---- violation record (at T_VIOL): what a Wasm check saw, read by the oracle ----
  VR_KIND: 0,
  VR_PAGE: 4,
  VR_PFN: 8,
  VR_GEN_WANT: 12, // the gen the entry was programmed with
  VR_GEN_HAVE: 16, // the frame's gen when the check ran (-1: not read)
  VR_DEVICE: 20,
  VR_PROGRAMMER: 24, // the thread that programmed the entry + 1 (0: no entry, or unknown)

  // ---- pfn cache record (a declared 'pfncache' field's line: model/pfn-cache.ts) ----
  C_ENTRY: 0, // i64: low word pfn + 1 (0: empty), high word the frame's gen when resolved
  C_PAGE: 8, // the page the cached pfn was resolved for
  C_USE_SEQ: 12, // odd while a use is in flight (the cache's fence waits on it)
  C_FENCE_WAITERS: 16, // fences sleeping on C_USE_SEQ
  C_SETTER: 20, // the thread that set the entry + 1
  C_REPORTED: 24, // 1 once a check counted the current entry as a lost race
  C_PEND_PFN: 28, // resolve's result, published by set: pfn ...
  C_PEND_GEN: 32, // ... its gen ...
  C_PEND_PAGE: 36, // ... and the page
  PFNC_EMPTY: 0, // pfncache_use: the cache holds no pfn
  PFNC_DONE: 1, // ... the use went through the cached pfn
  PFNC_ABORTED: 2, // ... the use's check word had moved: no access
  VR_DEVICE_PFNCACHE: -2, // a violation's VR_DEVICE for a pfn cache is VR_DEVICE_PFNCACHE - its field code

  // ---- DMA in-flight record (one line per thread, at dmaseq) ----
  DS_SEQ: 0, // odd while an access is in flight
  DS_FENCE_WAITERS: 4, // fences sleeping on DS_SEQ: the access wakes them when it ends
  DS_PFN: 8, // controlled mode: the frame dma_begin saw for dma_end (-1: none) ...
  DS_GEN: 12, // ... and the gen its device entry was programmed with
  DS_PAGE: 16, // the page of the access in flight (race-window coverage reads it)

  // ---- dma_access results (a violation returns -(kind + 1) instead) ----
  DMA_NO_ENTRY: 0, // no device entry: the device would fault
  DMA_DONE: 1,
  DMA_READONLY: 2, // write through a read-only device entry: refused

  // ---- event rings: per thread, RING_ENTRIES entries of 8 words ----
  EV_SIZE: 32,
  EV_TICKET: 0, // the ticket's low word
  EV_TYPE: 4, // [7:0] type, [31:8] the ticket's high word; 0 while the entry is being written
  EV_TYPE_MASK: 0xff,
  EV_TICKET_HI_SHIFT: 8,
  EV_A: 8,
  EV_B: 12,
  EV_C: 16,
  EV_D: 20,
  EV_E: 24,
  EV_F: 28,

  // ---- lock words (each lock occupies one line) ----
  MX_STATE: 0, // 0 unlocked, 1 locked, 2 locked with waiters
  MX_OWNER: 4, // thread id + 1
  RW_STATE: 0, // readers in [15:0], WRITER bit 16
  RW_OWNER: 4, // writer thread id + 1
  RW_SEQ: 8, // futex word: bumped on every release that may let a waiter in
  RW_WWAIT: 12, // writers waiting
  RW_RWAIT: 16, // readers waiting
  RW_RBUDGET: 20, // readers let in ahead of waiting writers after an up_write
  RW_WRITER: 0x10000,
  RW_READER_MASK: 0xffff,
  WQ_SEQ: 0,
  CMP_DONE: 4,

  // ---- violation kinds (index into H_VIOLATIONS): one code per kind of api/kinds.ts ----
  ...VIOLATION_CODES,

  // ---- errno-style results of Wasm calls ----
  OK: 0,
  EFAULT: -14,
  EPERM: -1,
  EBUSY: -16,
  EAGAIN: -11,
  ENOMEM: -12,
  NEED_FAULT: -1000, // walk: fault R_FAULT_PAGE in, then walk again
  NEED_COW: -1001, // fault: a COW break is needed (an invalidation, done by JS)
  PT_UAF: -1002, // walk read a freed page table
  WALK_PAUSED: -1003, // walk stopped at its `stop` page as asked: resume from R_FAULT_PAGE
} as const;

export type LayoutConstants = typeof L;

/**
 * Controlled mode's control block: its own SharedArrayBuffer (Int32 words), one per schedule,
 * shared by the role threads and the main thread (docs/cli.md, "Controlled mode"). Only the
 * thread holding the token runs; it alone writes the block, and hands the token over through
 * the next thread's gate word.
 */
export const CTL = {
  TOKEN: 0, // thread that may run; -1 once the schedule is over
  STEP: 1, // scheduling points so far
  STATUS: 2, // CTL_STATUS below
  LOW: 3, // next priority for a lowered thread (decreasing below every initial priority)
  NSWITCH: 4, // switches recorded
  CURSOR: 5, // replay: next entry of the given switch list
  DETAIL: 6, // divergence: the step; liveness: the first stuck thread
  DETAIL2: 7, // divergence: the thread the schedule named
  // the schedule server (schedule/serve.ts): every word but EPOCH is zeroed before each schedule
  EPOCH: 8, // schedules asked for so far (main bumps it to start the next; SERVE_QUIT: the workers leave)
  DONE: 10, // threads finished with this schedule (main waits for all)
  DEFER_UNTIL: 11, // the latest T_DEFER_UNTIL set in this schedule (no thread defers at a step past it)
  THREADS_BASE: 16, // per-thread words, T_STRIDE each
  T_STRIDE: 16,
  T_GATE: 0, // 1: this thread may run (futex word of the hand-off)
  T_PRIO: 1, // PCT priority
  T_WAIT_IDX: 2, // Int32 index + 1 of the word it is blocked on (0: not blocked)
  T_WAIT_EXPECT: 3, // ... the value it waits to change
  T_WAIT_KIND: 4, // ... the wait kind (sync/env.ts WAIT)
  T_WAIT_SINCE: 5, // ... the step it blocked at
  T_TIMED_OUT: 6, // set when the scheduler ends its wait by timeout
  T_PROGRESS_STEP: 7, // step of its last finished operation
  T_OWN_STEPS: 8, // points it ran
  T_EXITED: 9,
  T_OPS: 10, // operations it ran in this schedule (written when it finished)
  T_POSTED: 11, // 1: it posted its result (captures, a liveness witness or an error) on its port
  T_DEFER_UNTIL: 12, // widening (schedule/controller.ts widen): not picked before this step while another thread can run
  T_WAIT_UNTIMED: 13, // 1: its wait has no timeout (a queue wait the kernel never times out): no step bound ends it
  T_WOKEN: 14, // 1: the word it waits on changed at some point since it blocked (it may have missed the change since)
  MAX_THREADS: 16,
  // per thread t, MAX_THREADS words: every thread's T_OWN_STEPS when t last finished an operation
  // (t is stalled once every other live thread has run boundSteps points since)
  SNAP_BASE: 16 + 16 * 16,
  SWITCHES_BASE: 16 + 16 * 16 + 16 * 16, // (step, thread) pairs
  MAX_SWITCHES: 1 << 15,
} as const;

/** CTL.EPOCH when the schedule server's workers are to leave. */
export const SERVE_QUIT = -1;

/** CTL.STATUS values. */
export const CTL_STATUS = { running: 0, budget: 1, violation: 2, deadlock: 3, stall: 4, divergence: 5, error: 6 } as const;
