/*
 * store_bench.c - put throughput of the file store, arrangement against
 * arrangement: hashing and writing on the caller's thread, or on one or
 * two workers fed by the ring; buffered or O_DIRECT writes.
 *
 *   store_bench DIR [MiB[r] [rounds [THREADS/DIRECT/SLOT_KIB/SLOTS...]]]
 *
 * Each round puts one blob of MiB mebibytes (default 1024) in 256 KiB
 * writes, as libmicrohttpd hands a body over, once per arrangement.  With
 * "r" after MiB the bytes first cross a socket from a sender thread, as
 * an upload does, so receiving competes for the two cores too; THREADS
 * -1 is then the reference: write(2) the body to a file with no hash and
 * no fsync, as nginx does; -2 receives and drops it.  The
 * arrangements alternated round by round because page-cache writeback
 * here varies by seconds between runs.  Printed per arrangement: the
 * median seconds from put_begin to the end of put_commit (durable), and
 * the median seconds the caller spent inside put_write, which is what the
 * receiving thread loses.
 *
 *   store_bench DIR small THREADS BLOBS KiB [rounds [TMPFILE/FIRST_KIB/SPARE...]]
 *
 * Many small puts at once, as a server receiving many small uploads: each
 * of THREADS threads puts BLOBS distinct blobs of KiB kibibytes (one
 * put_write each), timed from the first put_begin to the last commit;
 * the blobs are deleted after each round, untimed, so inodes are reused
 * as on a store that gc keeps in shape.  Arrangements (default: the
 * store's defaults, and all three off) alternate round by round; printed:
 * median blobs per second.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "mfu_store.h"
#include "store_fs.h"

#define CHUNK (256 * 1024)
#define SRC (16 << 20)
#define MAX_ROUNDS 15
#define MAX_ARR 8

struct arrangement {
  const char *name;
  int threads, direct;
  size_t slot_size;
  unsigned slots;
  double total[MAX_ROUNDS], caller[MAX_ROUNDS];
  int n;
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

/* The other end of a socket, sending the body as a client would. */
struct feeder {
  int fd;
  const unsigned char *src;
  uint64_t bytes;
};

static void *feed(void *arg)
{
  struct feeder *f = arg;
  uint64_t off = 0;

  while(off < f->bytes) {
    ssize_t n = write(f->fd, f->src + off % SRC, CHUNK);
    if(n <= 0)
      break;
    off += (uint64_t)n;
  }
  close(f->fd);
  return NULL;
}

/* Next chunk of the body: from the socket, or straight from memory. */
static ssize_t next_chunk(int sock, unsigned char *buf,
                          const unsigned char *src, uint64_t off,
                          uint64_t bytes, const unsigned char **at)
{
  if(sock < 0) {
    *at = src + off % SRC;
    return off < bytes ? CHUNK : 0;
  }
  *at = buf;
  return read(sock, buf, CHUNK);
}

/* What a plain web server does with a body: write(2), no hash, no fsync
 * (nginx's client_body_temp_path). */
static int raw_write(const char *dir, int discard, int sock,
                     unsigned char *buf, const unsigned char *src,
                     uint64_t bytes)
{
  char path[512];
  const unsigned char *at;
  uint64_t off = 0;
  ssize_t n;
  int fd, rc = MFU_OK;

  snprintf(path, sizeof(path), "%s/raw-body", dir);
  fd = open(discard ? "/dev/null" : path,
            O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if(fd < 0)
    return MFU_E_IO;
  while((n = next_chunk(sock, buf, src, off, bytes, &at)) > 0) {
    if(write(fd, at, (size_t)n) != n) {
      rc = MFU_E_IO;
      break;
    }
    off += (uint64_t)n;
  }
  close(fd);
  unlink(path);
  return rc;
}

static int put_all(struct mfu_store *s, int sock, unsigned char *buf,
                   const unsigned char *src, uint64_t bytes, double *caller)
{
  struct mfu_store_put *w;
  char hex[MFU_SHA256_HEX];
  const unsigned char *at;
  uint64_t off = 0, size;
  ssize_t n;
  int rc, created;

  rc = mfu_store_put_begin(s, NULL, &w);
  while(!rc && (n = next_chunk(sock, buf, src, off, bytes, &at)) > 0) {
    double t1 = now();
    rc = mfu_store_put_write(w, at, (size_t)n);
    *caller += now() - t1;
    off += (uint64_t)n;
  }
  if(rc) {
    mfu_store_put_abort(w);
    return rc;
  }
  rc = mfu_store_put_commit(w, hex, &size, &created);
  return rc ? rc : mfu_store_delete(s, hex);
}

static int one(const char *dir, struct arrangement *a, int recv,
               unsigned char *src, uint64_t bytes)
{
  static unsigned char buf[CHUNK];
  struct store_fs_tuning t;
  struct mfu_store *s;
  struct feeder fd = {-1, src, bytes};
  pthread_t thr;
  int sv[2] = {-1, -1}, rc;
  double t0;

  store_fs_tuning_default(&t);
  t.threads = a->threads < 0 ? 0 : a->threads;
  t.direct = a->direct;
  t.slot_size = a->slot_size;
  t.slots = a->slots;
  rc = store_fs_open_tuned(dir, &t, &s);
  if(rc)
    return rc;
  src[0]++;   /* a new blob every time */
  if(recv) {
    if(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
      return MFU_E_IO;
    fd.fd = sv[1];
  }
  t0 = now();
  if(recv && pthread_create(&thr, NULL, feed, &fd))
    return MFU_E_NOMEM;
  a->caller[a->n] = 0;
  if(a->threads < 0)
    rc = raw_write(dir, a->threads == -2, sv[0], buf, src, bytes);
  else
    rc = put_all(s, sv[0], buf, src, bytes, &a->caller[a->n]);
  a->total[a->n++] = now() - t0;
  if(recv) {
    pthread_join(thr, NULL);
    close(sv[0]);
  }
  mfu_store_close(s);
  return rc;
}

/* --- many small puts ------------------------------------------------- */

struct small_arr {
  char name[40];
  int tmpfile;
  unsigned first_kib, spare;
  double rate[MAX_ROUNDS];
};

struct small_job {
  struct mfu_store *s;
  int id, blobs, rc;
  size_t len;
  char (*hex)[MFU_SHA256_HEX];
  uint64_t tag;
};

static void *small_puts(void *arg)
{
  struct small_job *j = arg;
  unsigned char *buf = malloc(j->len);
  int i;

  if(!buf) {
    j->rc = MFU_E_NOMEM;
    return NULL;
  }
  memset(buf, 0x5a, j->len);
  for(i = 0; i < j->blobs && !j->rc; i++) {
    struct mfu_store_put *w;
    uint64_t size;
    int created;
    /* Distinct bytes per blob, round and run. */
    snprintf((char *)buf, j->len < 64 ? j->len : 64, "%llx-%d-%d",
             (unsigned long long)j->tag, j->id, i);
    j->rc = mfu_store_put_begin(j->s, NULL, &w);
    if(j->rc)
      break;
    j->rc = mfu_store_put_write(w, buf, j->len);
    if(j->rc) {
      mfu_store_put_abort(w);
      break;
    }
    j->rc = mfu_store_put_commit(w, j->hex[i], &size, &created);
  }
  free(buf);
  return NULL;
}

static int small_round(const char *dir, struct small_arr *a, int threads,
                       int blobs, size_t len, uint64_t tag, double *rate)
{
  struct store_fs_tuning t;
  struct small_job jobs[256];
  pthread_t thr[256];
  struct mfu_store *s;
  double t0;
  int i, k, rc = 0;

  store_fs_tuning_default(&t);
#ifndef STORE_BENCH_NO_KNOBS
  t.tmpfile = a->tmpfile;
  t.first = (size_t)a->first_kib << 10;
  t.spare = a->spare;
#else
  (void)a;
#endif
  rc = store_fs_open_tuned(dir, &t, &s);
  if(rc)
    return rc;
  for(i = 0; i < threads; i++) {
    jobs[i] = (struct small_job){s, i, blobs, 0, len, NULL, tag};
    jobs[i].hex = calloc((size_t)blobs, MFU_SHA256_HEX);
    if(!jobs[i].hex)
      return MFU_E_NOMEM;
  }
  t0 = now();
  for(i = 0; i < threads; i++)
    if(pthread_create(&thr[i], NULL, small_puts, &jobs[i]))
      return MFU_E_NOMEM;
  for(i = 0; i < threads; i++)
    pthread_join(thr[i], NULL);
  *rate = (double)threads * blobs / (now() - t0);
  for(i = 0; i < threads; i++) {
    if(jobs[i].rc && !rc)
      rc = jobs[i].rc;
    for(k = 0; k < blobs; k++)
      if(jobs[i].hex[k][0])
        mfu_store_delete(s, jobs[i].hex[k]);
    free(jobs[i].hex);
  }
  mfu_store_close(s);
  return rc;
}

static int small_main(int argc, char **argv)
{
  struct small_arr arr[MAX_ARR] = {
    {"defaults", 1, 64, 8, {0}},
    {"0/0/0 (tmp/ + rename, slots)", 0, 0, 0, {0}},
  };
  int narr = 2, threads, blobs, rounds, r, i;
  unsigned kib;

  if(argc < 6)
    return 2;
  threads = atoi(argv[3]);
  blobs = atoi(argv[4]);
  kib = (unsigned)atoi(argv[5]);
  rounds = argc > 6 ? atoi(argv[6]) : 5;
  if(threads < 1 || threads > 256 || blobs < 1 || !kib || rounds < 1 ||
     rounds > MAX_ROUNDS)
    return 2;
  if(argc > 7) {
    narr = 0;
    for(i = 7; i < argc && narr < MAX_ARR; i++) {
      struct small_arr *a = &arr[narr++];
      if(sscanf(argv[i], "%d/%u/%u", &a->tmpfile, &a->first_kib,
                &a->spare) != 3)
        return 2;
      snprintf(a->name, sizeof(a->name), "%s", argv[i]);
    }
  }
  for(r = 0; r < rounds; r++) {
    for(i = 0; i < narr; i++) {
      uint64_t tag = ((uint64_t)getpid() << 16) ^ (uint64_t)(r * 64 + i);
      int rc = small_round(argv[1], &arr[i], threads, blobs,
                           (size_t)kib << 10, tag, &arr[i].rate[r]);
      if(rc) {
        fprintf(stderr, "%s: %s\n", arr[i].name, mfu_strerror(rc));
        return 1;
      }
    }
  }
  printf("%d threads x %d blobs of %u KiB, %d rounds, medians\n", threads,
         blobs, kib, rounds);
  for(i = 0; i < narr; i++)
    printf("%-32s %10.0f blobs/s\n", arr[i].name,
           median(arr[i].rate, rounds));
  return 0;
}

int main(int argc, char **argv)
{
  struct arrangement arr[] = {
    {"receive only", -2, 0, 1 << 20, 4, {0}, {0}, 0},
    {"write(2) only (reference)", -1, 0, 1 << 20, 4, {0}, {0}, 0},
    {"inline, buffered", 0, 0, 1 << 20, 4, {0}, {0}, 0},
    {"inline, direct", 0, 1, 1 << 20, 4, {0}, {0}, 0},
    {"1 worker, direct, 4x1M", 1, 1, 1 << 20, 4, {0}, {0}, 0},
    {"2 workers, buffered, 4x1M", 2, 0, 1 << 20, 4, {0}, {0}, 0},
    {"2 workers, direct, 4x1M", 2, 1, 1 << 20, 4, {0}, {0}, 0},
    {"2 workers, direct, 8x256K", 2, 1, 256 << 10, 8, {0}, {0}, 0},
  };
  size_t narr = sizeof(arr) / sizeof(arr[0]), i;
  static char names[MAX_ARR][40];
  char *end = NULL;
  uint64_t mib = argc > 2 ? strtoull(argv[2], &end, 10) : 1024;
  int recv = end && *end == 'r';
  int rounds = argc > 3 ? atoi(argv[3]) : 5, r;
  unsigned char *src;

  if(argc > 2 && !strcmp(argv[2], "small"))
    return small_main(argc, argv);
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
      int rc = one(argv[1], &arr[i], recv, src, mib << 20);
      if(rc) {
        fprintf(stderr, "%s: %s\n", arr[i].name, mfu_strerror(rc));
        return 1;
      }
    }
  }
  printf("%llu MiB%s, %d rounds, medians\n", (unsigned long long)mib,
         recv ? " received over a socket" : "", rounds);
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
