/*
 * store_bench.c - put throughput of the file store, arrangement against
 * arrangement: hashing and writing on the caller's thread, or on one or
 * two workers fed by the ring; buffered or O_DIRECT writes.
 *
 *   store_bench DIR [MiB [rounds [THREADS/DIRECT/SLOT_KIB/SLOTS...]]]
 *
 * Each round puts one blob of MiB mebibytes (default 1024) in 256 KiB
 * writes, as libmicrohttpd hands a body over, once per arrangement, the
 * arrangements alternated round by round because page-cache writeback
 * here varies by seconds between runs.  Printed per arrangement: the
 * median seconds from put_begin to the end of put_commit (durable), and
 * the median seconds the caller spent inside put_write, which is what the
 * receiving thread loses.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mfu_store.h"
#include "store_fs.h"

#define CHUNK (256 * 1024)
#define SRC (16 << 20)
#define MAX_ROUNDS 15
#define MAX_ARR 7

struct arrangement {
  const char *name;
  int threads, direct;
  size_t slot_size;
  unsigned slots;
  double total[MAX_ROUNDS], caller[MAX_ROUNDS];
};

static double now(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;

  return (x > y) - (x < y);
}

static double median(double *v, int n)
{
  qsort(v, (size_t)n, sizeof(*v), cmp);
  return v[n / 2];
}

static int one(const char *dir, struct arrangement *a, unsigned char *src,
               uint64_t bytes, int round)
{
  struct store_fs_tuning t;
  struct mfu_store *s;
  struct mfu_store_put *w;
  char hex[MFU_SHA256_HEX];
  double t0, in_write = 0;
  uint64_t off, size;
  int rc, created;

  store_fs_tuning_default(&t);
  t.threads = a->threads;
  t.direct = a->direct;
  t.slot_size = a->slot_size;
  t.slots = a->slots;
  rc = store_fs_open_tuned(dir, &t, &s);
  if(rc)
    return rc;
  src[0] = (unsigned char)round;   /* a new blob every time */
  src[1] = (unsigned char)(a - (struct arrangement *)0);
  t0 = now();
  rc = mfu_store_put_begin(s, NULL, &w);
  for(off = 0; !rc && off < bytes; off += CHUNK) {
    double t1 = now();
    rc = mfu_store_put_write(w, src + off % SRC, CHUNK);
    in_write += now() - t1;
  }
  if(rc)
    mfu_store_put_abort(w);
  else
    rc = mfu_store_put_commit(w, hex, &size, &created);
  a->total[round] = now() - t0;
  a->caller[round] = in_write;
  if(!rc)
    rc = mfu_store_delete(s, hex);
  mfu_store_close(s);
  return rc;
}

int main(int argc, char **argv)
{
  struct arrangement arr[] = {
    {"inline, buffered", 0, 0, 256 << 10, 4, {0}, {0}},
    {"inline, direct", 0, 1, 1 << 20, 4, {0}, {0}},
    {"1 worker, buffered, 4x256K", 1, 0, 256 << 10, 4, {0}, {0}},
    {"1 worker, direct, 4x256K", 1, 1, 256 << 10, 4, {0}, {0}},
    {"1 worker, direct, 4x1M", 1, 1, 1 << 20, 4, {0}, {0}},
    {"2 workers, direct, 4x1M", 2, 1, 1 << 20, 4, {0}, {0}},
    {"2 workers, direct, 8x256K", 2, 1, 256 << 10, 8, {0}, {0}},
  };
  size_t narr = sizeof(arr) / sizeof(arr[0]), i;
  static char names[MAX_ARR][40];
  uint64_t mib = argc > 2 ? strtoull(argv[2], NULL, 10) : 1024;
  int rounds = argc > 3 ? atoi(argv[3]) : 5, r;
  unsigned char *src;

  if(argc < 2 || rounds < 1 || rounds > MAX_ROUNDS || !mib) {
    fprintf(stderr, "usage: store_bench DIR [MiB [rounds<=15]]\n");
    return 2;
  }
  /* Arrangements named on the command line replace the table:
   * THREADS/DIRECT/SLOT_KIB/SLOTS, e.g. 2/1/1024/4. */
  if(argc > 4) {
    narr = 0;
    for(i = 4; i < (size_t)argc && narr < MAX_ARR; i++) {
      struct arrangement *a = &arr[narr];
      unsigned kib;
      if(sscanf(argv[i], "%d/%d/%u/%u", &a->threads, &a->direct, &kib,
                &a->slots) != 4)
        return 2;
      a->slot_size = (size_t)kib << 10;
      snprintf(names[narr], sizeof(names[narr]), "%s", argv[i]);
      a->name = names[narr++];
    }
  }
  src = malloc(SRC);
  if(!src)
    return 1;
  for(i = 0; i < SRC; i++)
    src[i] = (unsigned char)(rand() >> 7);
  for(r = 0; r < rounds; r++) {
    for(i = 0; i < narr; i++) {
      int rc = one(argv[1], &arr[i], src, mib << 20, r);
      if(rc) {
        fprintf(stderr, "%s: %s\n", arr[i].name, mfu_strerror(rc));
        return 1;
      }
    }
  }
  printf("%llu MiB, %d rounds, medians\n", (unsigned long long)mib, rounds);
  printf("%-28s %10s %10s %10s\n", "arrangement", "total s", "MB/s",
         "caller s");
  for(i = 0; i < narr; i++) {
    double t = median(arr[i].total, rounds);
    printf("%-28s %10.3f %10.0f %10.3f\n", arr[i].name, t,
           (double)(mib << 20) / t / 1e6, median(arr[i].caller, rounds));
  }
  free(src);
  return 0;
}
