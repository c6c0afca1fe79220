/*
 * bench_multipart.c - throughput of the multipart parser, beside memcpy.
 *
 *   bench_multipart [REPS]
 *
 * Builds two bodies in memory from a fixed seed (bench/go/main.go builds
 * the very same bytes, checked by the printed checksum):
 *   big:   one 1 GiB file part of random bytes, fed in 64 KiB spans;
 *   parts: 10,000 file parts of 1 KiB each, fed in 64 KiB spans;
 * and prints, per body, one line
 *   NAME BYTES CHECKSUM mfu BEST_GBPS MEDIAN_GBPS memcpy BEST MEDIAN
 * where memcpy copies the same bytes in 64 KiB chunks into one buffer:
 * the speed limit of anything that reads the body once.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_body.h"
#include "mfu_multipart.h"

#define SPAN 65536

static double now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int count(void *cls, const char *at, size_t len)
{
  (void)at;
  *(uint64_t *)cls += len;
  return 0;
}

static int parts(void *cls, const struct mfu_multipart_part *part)
{
  (void)part;
  ((uint64_t *)cls)[1]++;
  return 0;
}

static double run_mfu(const struct body *b)
{
  static const struct mfu_multipart_callbacks cbs = {parts, count, NULL,
                                                     NULL};
  static char hdr[16384];
  struct mfu_multipart p;
  uint64_t got[2] = {0, 0};
  size_t at;
  double t0 = now();

  if(mfu_multipart_init(&p, BENCH_BOUNDARY, strlen(BENCH_BOUNDARY), NULL,
                        &cbs, got, hdr, sizeof(hdr)))
    abort();
  for(at = 0; at < b->len; at += SPAN) {
    size_t n = b->len - at < SPAN ? b->len - at : SPAN;
    if(mfu_multipart_execute(&p, (const char *)b->data + at, n)) {
      fprintf(stderr, "bench: %s\n", mfu_multipart_errmsg(&p));
      exit(1);
    }
  }
  if(mfu_multipart_finish(&p) || got[0] != b->payload ||
     got[1] != b->nparts) {
    fprintf(stderr, "bench: wrong parse\n");
    exit(1);
  }
  return now() - t0;
}

static double run_memcpy(const struct body *b)
{
  static char dst[SPAN];
  size_t at;
  double t0 = now();
  for(at = 0; at < b->len; at += SPAN) {
    size_t n = b->len - at < SPAN ? b->len - at : SPAN;
    memcpy(dst, b->data + at, n);
    __asm__ volatile("" : : "r"(dst) : "memory");
  }
  return now() - t0;
}

static int cmp(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static void measure(const char *name, const struct body *b, int reps,
                    double (*fn)(const struct body *), double *best,
                    double *median)
{
  double t[64];
  int i;
  (void)name;
  for(i = 0; i < reps; i++)
    t[i] = fn(b);
  qsort(t, (size_t)reps, sizeof(t[0]), cmp);
  *best = (double)b->len / t[0] / 1e9;
  *median = (double)b->len / t[reps / 2] / 1e9;
}

int main(int argc, char **argv)
{
  int reps = argc > 1 ? atoi(argv[1]) : 7;
  int which;

  if(reps < 1 || reps > 64)
    reps = 7;
  for(which = 0; which < 2; which++) {
    struct body b;
    double mb, mm, cb, cm;
    if(which == 0)
      body_big(&b, (size_t)1 << 30);
    else
      body_parts(&b, 10000, 1024);
    run_mfu(&b);               /* warm up: page in the body */
    measure("mfu", &b, reps, run_mfu, &mb, &mm);
    measure("memcpy", &b, reps, run_memcpy, &cb, &cm);
    printf("%s %zu %016llx mfu %.3f %.3f memcpy %.3f %.3f\n",
           which ? "parts" : "big", b.len, (unsigned long long)b.sum,
           mb, mm, cb, cm);
    fflush(stdout);
    free(b.data);
  }
  return 0;
}
