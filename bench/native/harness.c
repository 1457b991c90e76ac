/*
 * harness.c — the native baselines of the hmmsim micro-benchmarks (bench/micro.mjs).
 *
 * Compiled at bench time with `cc -O2 -pthread` against a layout.h that bench/lib/native.mjs
 * generates from dist/memory/layout.js (the same constants the Wasm module is built with).
 *
 *   harness walk IMAGE RANGE_ADDR BATCH REPS   the hmm_range_fault walk over a memory image that
 *                                              the Wasm side set up (same bytes, same offsets)
 *   harness sync BATCH REPS                    pthread mutex / rwlock read / rwlock write, and a
 *                                              seqcount read section (C11 atomics)
 *   harness pingpong ROUNDS REPS               futex wake hand-off between two threads
 *
 * Each mode prints one JSON object: per measurement the median (and min/max) over REPS batches,
 * in ns per operation (walk: ns per page; pingpong: ns per round trip = two hand-offs).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "layout.h"

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Print "name":{"median":..,"min":..,"max":..,"reps":..} from samples (sorted in place). */
static void emit(const char *name, double *s, int n, int last) {
  qsort(s, n, sizeof *s, cmp_d);
  double med = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
  printf("\"%s\":{\"median\":%.4f,\"min\":%.4f,\"max\":%.4f,\"reps\":%d}%s", name, med, s[0], s[n - 1], n,
         last ? "" : ",");
}

/* ------------------------------------------------------------------------------------------ */
/* The walk: a line-for-line port of assembly/mm.ts hmm_range_fault (atomic loads are seq_cst). */
/* ------------------------------------------------------------------------------------------ */

static uint8_t *M; /* the memory image: offsets are byte addresses, as in Wasm */
static uint32_t FRAMES_BASE, TABLESTORE_BASE, DIR_BASE, VMA_BASE, THREADS_BASE;

#define AL32(a) __atomic_load_n((int32_t *)(M + (a)), __ATOMIC_SEQ_CST)
#define LD32(a) (*(int32_t *)(M + (a)))
#define ST32(a, v) (*(int32_t *)(M + (a)) = (v))
#define ST64(a, v) (*(int64_t *)(M + (a)) = (v))

static inline uint32_t frame_addr(uint32_t pfn) { return FRAMES_BASE + pfn * L_FRAME_SIZE; }
static inline uint32_t table_slot(uint32_t tpfn) {
  return TABLESTORE_BASE + (uint32_t)LD32(frame_addr(tpfn) + L_F_TABLE) * (uint32_t)L_TABLE_BYTES;
}

static void viol(uint32_t tid, int kind, uint32_t page, int pfn, int want, int have) {
  uint32_t v = THREADS_BASE + tid * L_THREAD_SIZE + L_T_VIOL;
  ST32(v + L_VR_KIND, kind);
  ST32(v + L_VR_PAGE, (int32_t)page);
  ST32(v + L_VR_PFN, pfn);
  ST32(v + L_VR_GEN_WANT, want);
  ST32(v + L_VR_GEN_HAVE, have);
  __atomic_fetch_add((int32_t *)(M + L_BASE + L_H_VIOLATIONS + kind * 4), 1, __ATOMIC_SEQ_CST);
}

__attribute__((noinline)) static int hmm_range_fault(uint32_t r, uint32_t from, uint32_t tid) {
  const uint32_t start = (uint32_t)LD32(r + L_R_START);
  const uint32_t end = (uint32_t)LD32(r + L_R_END);
  const int32_t flags = LD32(r + L_R_FLAGS);
  const uint32_t check_addr = (uint32_t)LD32(r + L_R_CHECK_ADDR);
  const int32_t expect = LD32(r + L_R_CHECK_EXPECT);
  const uint32_t pfns = r + L_R_HDR;
  for (uint32_t page = from; page < end; page++) {
    if (check_addr != 0 && AL32(check_addr) != expect) return L_EBUSY;
    const uint32_t out = pfns + ((page - start) << 3);
    const int32_t vma = AL32(VMA_BASE + page * 4);
    if (!(vma & L_VM_MAPPED) || !(vma & L_VM_READ)) {
      ST64(out, (int64_t)L_HMM_PFN_ERROR);
      return L_EFAULT;
    }
    if ((flags & L_RF_WRITE) && !(vma & L_VM_WRITE)) {
      ST64(out, (int64_t)L_HMM_PFN_ERROR);
      return L_EPERM;
    }
    const uint32_t dir = DIR_BASE + (page >> L_PT_SHIFT) * 4;
    const int32_t d = AL32(dir);
    if (d == 0) {
      if (flags & L_RF_FAULT) {
        ST32(r + L_R_FAULT_PAGE, (int32_t)page);
        return L_NEED_FAULT;
      }
      ST64(out, 0);
      continue;
    }
    const uint32_t tf = frame_addr((uint32_t)(d - 1));
    const int32_t g1 = AL32(tf + L_F_GEN);
    const int32_t st = AL32(tf + L_F_STATE);
    const uint32_t p = table_slot((uint32_t)(d - 1)) + ((page & (L_PTRS_PER_TABLE - 1)) << 2);
    const int32_t pte = AL32(p);
    const int32_t g2 = AL32(tf + L_F_GEN);
    const int32_t d2 = AL32(dir);
    if (g1 != g2 || st != L_FS_PAGETABLE || d2 != d) {
      viol(tid, L_V_PAGE_TABLE_USE_AFTER_FREE, page, d - 1, g1, g2);
      return L_PT_UAF;
    }
    const int32_t type = pte & L_PTE_TYPE_MASK;
    if (type == L_PTE_MIGRATION) return L_EBUSY;
    if (type != L_PTE_PRESENT || ((flags & L_RF_WRITE) && !(pte & L_PTE_WRITE))) {
      if (flags & L_RF_FAULT) {
        ST32(r + L_R_FAULT_PAGE, (int32_t)page);
        return L_NEED_FAULT;
      }
      ST64(out, 0);
      continue;
    }
    const uint32_t pfn = (uint32_t)pte >> L_PTE_PFN_SHIFT;
    const int32_t gen = AL32(frame_addr(pfn) + L_F_GEN);
    if (AL32(p) != pte) {
      page--;
      continue;
    }
    int32_t lo = (int32_t)L_HMM_PFN_VALID | (int32_t)pfn;
    if (pte & L_PTE_WRITE) lo |= L_HMM_PFN_WRITE;
    ST64(out, ((int64_t)gen << 32) | (int64_t)(uint32_t)lo);
  }
  return 0;
}

static int mode_walk(int argc, char **argv) {
  if (argc < 6) return fprintf(stderr, "usage: walk IMAGE RANGE_ADDR BATCH REPS\n"), 2;
  FILE *f = fopen(argv[2], "rb");
  if (!f) return perror(argv[2]), 2;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  M = aligned_alloc(65536, ((size_t)n + 65535) / 65536 * 65536);
  if (!M || fread(M, 1, (size_t)n, f) != (size_t)n) return fprintf(stderr, "read failed\n"), 2;
  fclose(f);
  if (LD32(L_BASE + L_H_MAGIC) != L_MAGIC) return fprintf(stderr, "no hmmsim header in image\n"), 2;
  FRAMES_BASE = (uint32_t)LD32(L_BASE + L_H_FRAMES_BASE);
  TABLESTORE_BASE = (uint32_t)LD32(L_BASE + L_H_TABLESTORE_BASE);
  DIR_BASE = (uint32_t)LD32(L_BASE + L_H_DIR_BASE);
  VMA_BASE = (uint32_t)LD32(L_BASE + L_H_VMA_BASE);
  THREADS_BASE = (uint32_t)LD32(L_BASE + L_H_THREADS_BASE);
  const uint32_t r = (uint32_t)strtoul(argv[3], 0, 0);
  const int batch = atoi(argv[4]), reps = atoi(argv[5]);
  const uint32_t pages = (uint32_t)LD32(r + L_R_END) - (uint32_t)LD32(r + L_R_START);
  int rc = 0;
  for (int i = 0; i < batch * 4; i++) rc |= hmm_range_fault(r, (uint32_t)LD32(r + L_R_START), 0); /* warm-up */
  if (rc != 0) return fprintf(stderr, "walk returned %d\n", rc), 3;
  double *s = malloc(sizeof(double) * (size_t)reps);
  for (int k = 0; k < reps; k++) {
    double t0 = now_ns();
    for (int i = 0; i < batch; i++) rc |= hmm_range_fault(r, (uint32_t)LD32(r + L_R_START), 0);
    s[k] = (now_ns() - t0) / ((double)batch * pages);
  }
  /* a checksum of the output, so the JS side can verify the C walk wrote what Wasm wrote */
  uint64_t sum = 0;
  for (uint32_t i = 0; i < pages; i++) sum = sum * 31 + (uint64_t) * (int64_t *)(M + r + L_R_HDR + i * 8);
  printf("{\"pages\":%u,\"rc\":%d,\"checksum\":\"%llu\",", pages, rc, (unsigned long long)sum);
  emit("walkNsPerPage", s, reps, 1);
  printf("}\n");
  return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Locks, uncontended: pthread mutex, pthread rwlock (read, write), seqcount read section.      */
/* ------------------------------------------------------------------------------------------ */

static pthread_mutex_t mtx = PTHREAD_MUTEX_INITIALIZER;
static pthread_rwlock_t rwl = PTHREAD_RWLOCK_INITIALIZER;
static _Alignas(64) int seq_word;
static _Alignas(64) int data_word = 42;
static volatile int sink;

static int mode_sync(int argc, char **argv) {
  if (argc < 4) return fprintf(stderr, "usage: sync BATCH REPS\n"), 2;
  const int batch = atoi(argv[2]), reps = atoi(argv[3]);
  double *s = malloc(sizeof(double) * (size_t)reps);
  printf("{");
  for (int which = 0; which < 4; which++) {
    for (int k = -reps / 4; k < reps; k++) { /* negative k: warm-up */
      double t0 = now_ns();
      switch (which) {
      case 0:
        for (int i = 0; i < batch; i++) {
          pthread_mutex_lock(&mtx);
          pthread_mutex_unlock(&mtx);
        }
        break;
      case 1:
        for (int i = 0; i < batch; i++) {
          pthread_rwlock_rdlock(&rwl);
          pthread_rwlock_unlock(&rwl);
        }
        break;
      case 2:
        for (int i = 0; i < batch; i++) {
          pthread_rwlock_wrlock(&rwl);
          pthread_rwlock_unlock(&rwl);
        }
        break;
      case 3:
        /* seqcount read section: read_begin (wait while odd), read, read_retry */
        for (int i = 0; i < batch; i++) {
          int s0, v;
          do {
            while ((s0 = __atomic_load_n(&seq_word, __ATOMIC_SEQ_CST)) & 1) {
            }
            v = __atomic_load_n(&data_word, __ATOMIC_SEQ_CST);
          } while (__atomic_load_n(&seq_word, __ATOMIC_SEQ_CST) != s0);
          sink = v;
        }
        break;
      }
      if (k >= 0) s[k] = (now_ns() - t0) / batch;
    }
    static const char *names[] = {"mutexLockUnlock", "rwsemReadLockUnlock", "rwsemWriteLockUnlock", "seqcountRead"};
    emit(names[which], s, reps, which == 3);
  }
  printf("}\n");
  return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Wake hand-off: two threads ping-pong on one futex word (FUTEX_WAIT / FUTEX_WAKE, private).  */
/* ------------------------------------------------------------------------------------------ */

static _Alignas(64) int turn;
static int rounds;

static long futex(int *addr, int op, int val) { return syscall(SYS_futex, addr, op, val, NULL, NULL, 0); }

/* Hand the turn to `to` and sleep until it comes back to `me`. */
static void pass(int me, int to) {
  __atomic_store_n(&turn, to, __ATOMIC_SEQ_CST);
  futex(&turn, FUTEX_WAKE_PRIVATE, 1);
  while (__atomic_load_n(&turn, __ATOMIC_SEQ_CST) != me) futex(&turn, FUTEX_WAIT_PRIVATE, to);
}

static void *pong(void *arg) {
  (void)arg;
  for (int i = 0; i < rounds; i++) {
    while (__atomic_load_n(&turn, __ATOMIC_SEQ_CST) != 1) futex(&turn, FUTEX_WAIT_PRIVATE, 0);
    __atomic_store_n(&turn, 0, __ATOMIC_SEQ_CST);
    futex(&turn, FUTEX_WAKE_PRIVATE, 1);
  }
  return NULL;
}

#define CHUNK 100 /* round trips per timed chunk */

static int mode_pingpong(int argc, char **argv) {
  if (argc < 4) return fprintf(stderr, "usage: pingpong ROUNDS REPS\n"), 2;
  rounds = atoi(argv[2]) / CHUNK * CHUNK;
  const int reps = atoi(argv[3]);
  const int per = rounds / CHUNK;
  double *s = malloc(sizeof(double) * (size_t)reps);
  double *c = malloc(sizeof(double) * (size_t)reps * per);
  int nc = 0;
  for (int k = -1; k < reps; k++) { /* k = -1: warm-up */
    turn = 0;
    pthread_t t;
    pthread_create(&t, NULL, pong, NULL);
    double t0 = now_ns();
    for (int j = 0; j < per; j++) {
      double c0 = now_ns();
      for (int i = 0; i < CHUNK; i++) pass(0, 1);
      if (k >= 0) c[nc++] = (now_ns() - c0) / CHUNK;
    }
    double dt = now_ns() - t0;
    pthread_join(t, NULL);
    if (k >= 0) s[k] = dt / rounds;
  }
  /* futexRoundTrip: median over every chunk of CHUNK round trips (robust to preemption on a
     loaded machine, the same statistic the JS side reports); futexRunMean: per-run means */
  printf("{");
  emit("futexRoundTrip", c, nc, 0);
  emit("futexRunMean", s, reps, 1);
  printf("}\n");
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) return fprintf(stderr, "usage: harness walk|sync|pingpong ...\n"), 2;
  if (!strcmp(argv[1], "walk")) return mode_walk(argc, argv);
  if (!strcmp(argv[1], "sync")) return mode_sync(argc, argv);
  if (!strcmp(argv[1], "pingpong")) return mode_pingpong(argc, argv);
  return fprintf(stderr, "unknown mode %s\n", argv[1]), 2;
}
