/*
 * store_test.c - the file store against a real directory (mkdtemp): put,
 * dedup, abort, concurrent puts, reads, delete, list, sweep, disk full and
 * large blobs through the worker threads; unnamed temporary files
 * (O_TMPFILE) and the named ones in tmp/ that replace them where the file
 * system has none.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "mfu_store.h"
#include "store_fs.h"

#define ABC_SHA256 \
  "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define EMPTY_SHA256 \
  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

struct fixture {
  char dir[64];
  char url[80];
  struct mfu_store *s;
};

static void rm_rf(const char *path)
{
  char cmd[128];

  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
  if(system(cmd))
    fprintf(stderr, "could not remove %s\n", path);
}

static int setup(void **state)
{
  struct fixture *f = calloc(1, sizeof(*f));

  strcpy(f->dir, "/tmp/mfu-store-XXXXXX");
  if(!mkdtemp(f->dir))
    return -1;
  snprintf(f->url, sizeof(f->url), "file://%s/blobs", f->dir);
  if(mfu_store_open(f->url, &f->s))
    return -1;
  *state = f;
  return 0;
}

/* The same store with named temporary files, as where the file system
 * has no O_TMPFILE. */
static int setup_named(void **state)
{
  struct store_fs_tuning t;
  struct fixture *f;

  if(setup(state))
    return -1;
  f = *state;
  mfu_store_close(f->s);
  store_fs_tuning_default(&t);
  t.tmpfile = 0;
  snprintf(f->url, sizeof(f->url), "%s/blobs", f->dir);
  return store_fs_open_tuned(f->url, &t, &f->s) ? -1 : 0;
}

static int teardown(void **state)
{
  struct fixture *f = *state;

  mfu_store_close(f->s);
  rm_rf(f->dir);
  free(f);
  return 0;
}

static unsigned count_entries(const char *dir)
{
  DIR *d = opendir(dir);
  struct dirent *e;
  unsigned n = 0;

  assert_non_null(d);
  while((e = readdir(d)))
    n += e->d_name[0] != '.';
  closedir(d);
  return n;
}

static unsigned tmp_entries(struct fixture *f)
{
  char path[96];

  snprintf(path, sizeof(path), "%s/blobs/tmp", f->dir);
  return count_entries(path);
}

static unsigned nfiles;

static int count_file(const char *path, const struct stat *sb, int type,
                      struct FTW *ftw)
{
  (void)path;
  (void)sb;
  (void)ftw;
  nfiles += type == FTW_F;
  return 0;
}

/* Files (not directories) anywhere under the store. */
static unsigned files_in_store(struct fixture *f)
{
  char path[96];

  snprintf(path, sizeof(path), "%s/blobs", f->dir);
  nfiles = 0;
  assert_int_equal(nftw(path, count_file, 16, FTW_PHYS), 0);
  return nfiles;
}

static int put_bytes(struct mfu_store *s, const void *buf, size_t len,
                     size_t chunk, char *hex, int *created)
{
  struct mfu_store_put *w;
  const char *p = buf;
  uint64_t size = 0;
  int rc;

  rc = mfu_store_put_begin(s, "application/octet-stream", &w);
  if(rc)
    return rc;
  while(len) {
    size_t n = len < chunk ? len : chunk;
    rc = mfu_store_put_write(w, p, n);
    if(rc) {
      mfu_store_put_abort(w);
      return rc;
    }
    p += n;
    len -= n;
  }
  rc = mfu_store_put_commit(w, hex, &size, created);
  return rc;
}

static void sha256_hex(const void *buf, size_t len, char *hex)
{
  unsigned char md[32];
  unsigned i;

  assert_int_equal(EVP_Digest(buf, len, md, NULL, EVP_sha256(), NULL), 1);
  for(i = 0; i < 32; i++)
    sprintf(hex + 2 * i, "%02x", md[i]);
}

static void read_all(struct mfu_store *s, const char *hex, uint64_t off,
                     uint64_t len, char *out, size_t *got)
{
  struct mfu_store_reader *r;
  size_t n;

  *got = 0;
  assert_int_equal(mfu_store_read_open(s, hex, off, len, &r), MFU_OK);
  do {
    /* A small buffer, so reads take several calls. */
    assert_int_equal(mfu_store_read(r, out + *got, 3, &n), MFU_OK);
    *got += n;
  } while(n);
  mfu_store_reader_close(r);
}

static void test_put_read_back(void **state)
{
  struct fixture *f = *state;
  char hex[MFU_SHA256_HEX], buf[16];
  struct mfu_store_put *w;
  struct mfu_store_stat st;
  uint64_t size = 0;
  int created = -1;
  size_t got;

  assert_int_equal(mfu_store_put_begin(f->s, "text/plain", &w), MFU_OK);
  assert_int_equal(mfu_store_put_write(w, "a", 1), MFU_OK);
  assert_int_equal(mfu_store_put_write(w, "bc", 2), MFU_OK);
  assert_int_equal(mfu_store_put_commit(w, hex, &size, &created), MFU_OK);
  assert_string_equal(hex, ABC_SHA256);
  assert_int_equal(size, 3);
  assert_int_equal(created, 1);
  assert_int_equal(mfu_store_stat(f->s, hex, &st), MFU_OK);
  assert_int_equal(st.size, 3);
  read_all(f->s, hex, 0, UINT64_MAX, buf, &got);
  assert_int_equal(got, 3);
  assert_memory_equal(buf, "abc", 3);
  assert_int_equal(tmp_entries(f), 0);
  assert_int_equal(mfu_store_ping(f->s), MFU_OK);
}

static void test_empty_blob(void **state)
{
  struct fixture *f = *state;
  char hex[MFU_SHA256_HEX];
  int created;

  assert_int_equal(put_bytes(f->s, "", 0, 1, hex, &created), MFU_OK);
  assert_string_equal(hex, EMPTY_SHA256);
  assert_int_equal(created, 1);
}

static void test_dedup(void **state)
{
  struct fixture *f = *state;
  char hex[MFU_SHA256_HEX], hex2[MFU_SHA256_HEX], path[160];
  struct timespec old[2] = {{.tv_sec = 1000}, {.tv_sec = 1000}};
  struct mfu_store_stat st;
  int created;

  assert_int_equal(put_bytes(f->s, "abc", 3, 3, hex, &created), MFU_OK);
  assert_int_equal(created, 1);
  /* Stored again, the blob counts as fresh for gc's grace period. */
  snprintf(path, sizeof(path), "%s/blobs/sha256/ba/78/%s", f->dir, hex);
  assert_int_equal(utimensat(AT_FDCWD, path, old, 0), 0);
  assert_int_equal(mfu_store_stat(f->s, hex, &st), MFU_OK);
  assert_int_equal(st.mtime, 1000);
  assert_int_equal(put_bytes(f->s, "abc", 3, 1, hex2, &created), MFU_OK);
  assert_int_equal(created, 0);
  assert_string_equal(hex, hex2);
  assert_int_equal(mfu_store_stat(f->s, hex, &st), MFU_OK);
  assert_true(st.mtime > time(NULL) - 60);
  snprintf(path, sizeof(path), "%s/blobs/sha256/ba/78", f->dir);
  assert_int_equal(count_entries(path), 1);
  assert_int_equal(tmp_entries(f), 0);
}

static void test_abort_leaves_nothing(void **state)
{
  struct fixture *f = *state;
  struct mfu_store_put *w;
  static char big[3 << 20];

  assert_int_equal(mfu_store_put_begin(f->s, NULL, &w), MFU_OK);
  assert_int_equal(mfu_store_put_write(w, "abc", 3), MFU_OK);
  assert_int_equal(tmp_entries(f), 1);
  mfu_store_put_abort(w);
  assert_int_equal(tmp_entries(f), 0);
  /* Also with the workers running. */
  assert_int_equal(mfu_store_put_begin(f->s, NULL, &w), MFU_OK);
  assert_int_equal(mfu_store_put_write(w, big, sizeof(big)), MFU_OK);
  mfu_store_put_abort(w);
  assert_int_equal(tmp_entries(f), 0);
  mfu_store_put_abort(NULL);
}

/* Add len bytes as one put of batch b. */
static int batch_bytes(struct mfu_store *s, struct mfu_store_batch *b,
                       const void *buf, size_t len, char *hex)
{
  struct mfu_store_put *w;
  uint64_t size = 0;
  int rc = mfu_store_put_begin(s, NULL, &w);

  if(rc)
    return rc;
  if((rc = mfu_store_put_write(w, buf, len))) {
    mfu_store_put_abort(w);
    return rc;
  }
  rc = mfu_store_batch_add(b, w, hex, &size);
  if(!rc)
    assert_int_equal(size, len);
  return rc;
}

static void test_batch_publish(void **state)
{
  struct fixture *f = *state;
  struct mfu_store_batch *b;
  char hex[4][MFU_SHA256_HEX];
  struct mfu_store_stat st;
  int created[4] = {-1, -1, -1, -1};
  static char big[3 << 20];

  memset(big, 'b', sizeof(big));
  assert_int_equal(mfu_store_batch_new(f->s, &b), MFU_OK);
  assert_int_equal(batch_bytes(f->s, b, "abc", 3, hex[0]), MFU_OK);
  assert_int_equal(batch_bytes(f->s, b, big, sizeof(big), hex[1]), MFU_OK);
  assert_int_equal(batch_bytes(f->s, b, "abc", 3, hex[2]), MFU_OK);
  assert_int_equal(mfu_store_batch_count(b), 3);
  assert_string_equal(hex[0], ABC_SHA256);
  assert_string_equal(hex[2], ABC_SHA256);
  /* Hashed, but at no address until published. */
  assert_int_equal(mfu_store_stat(f->s, hex[0], &st), MFU_E_NOTFOUND);
  assert_int_equal(files_in_store(f), tmp_entries(f));
  assert_int_equal(mfu_store_batch_publish(b, created, 0), MFU_OK);
  assert_int_equal(mfu_store_batch_count(b), 0);
  assert_int_equal(created[0], 1);
  assert_int_equal(created[1], 1);
  assert_int_equal(created[2], 0);   /* the same bytes, stored once */
  assert_int_equal(created[3], -1);  /* only the puts added are reported */
  assert_int_equal(mfu_store_stat(f->s, hex[1], &st), MFU_OK);
  assert_int_equal(st.size, sizeof(big));
  assert_int_equal(files_in_store(f), 2);
  assert_int_equal(tmp_entries(f), 0);
  /* The batch goes on: a blob already stored is found, not made; the
   * names of this one wait for the sync, the blobs are readable now. */
  assert_int_equal(batch_bytes(f->s, b, big, sizeof(big), hex[3]), MFU_OK);
  assert_int_equal(batch_bytes(f->s, b, "xyz", 3, hex[2]), MFU_OK);
  assert_int_equal(mfu_store_batch_publish(b, created, MFU_STORE_SYNC_LATER),
                   MFU_OK);
  assert_int_equal(created[0], 0);
  assert_int_equal(created[1], 1);
  assert_int_equal(mfu_store_stat(f->s, hex[2], &st), MFU_OK);
  assert_int_equal(st.size, 3);
  assert_int_equal(mfu_store_sync(f->s), MFU_OK);
  assert_int_equal(files_in_store(f), 3);
  assert_string_equal(hex[3], hex[1]);
  mfu_store_batch_free(b);
  assert_int_equal(tmp_entries(f), 0);
}

static void test_batch_abort(void **state)
{
  struct fixture *f = *state;
  struct mfu_store_batch *b;
  char hex[MFU_SHA256_HEX];
  int created[2] = {-1, -1};

  assert_int_equal(mfu_store_batch_new(f->s, &b), MFU_OK);
  assert_int_equal(batch_bytes(f->s, b, "abc", 3, hex), MFU_OK);
  assert_int_equal(batch_bytes(f->s, b, "xyz", 3, hex), MFU_OK);
  mfu_store_batch_abort(b, created);
  assert_int_equal(created[0], 0);
  assert_int_equal(created[1], 0);
  assert_int_equal(mfu_store_batch_count(b), 0);
  assert_int_equal(files_in_store(f), 0);
  /* Freed with puts still in it: they go too. */
  assert_int_equal(batch_bytes(f->s, b, "abc", 3, hex), MFU_OK);
  mfu_store_batch_free(b);
  assert_int_equal(files_in_store(f), 0);
  mfu_store_batch_free(NULL);
}

struct batcher {
  struct mfu_store *s;
  pthread_barrier_t *bar;
  int later;
  int created[8];
  int rc;
};

/* Eight puts, the same eight bytes in every thread. */
static void *batch_race(void *arg)
{
  struct batcher *r = arg;
  struct mfu_store_batch *b;
  char hex[MFU_SHA256_HEX], buf[16];

  r->rc = mfu_store_batch_new(r->s, &b);
  for(int i = 0; i < 8 && !r->rc; i++) {
    snprintf(buf, sizeof(buf), "blob %d", i);
    r->rc = batch_bytes(r->s, b, buf, strlen(buf), hex);
  }
  pthread_barrier_wait(r->bar);
  /* Half the threads leave the names to one sync of their own. */
  if(!r->rc)
    r->rc = mfu_store_batch_publish(b, r->created,
                                    r->later ? MFU_STORE_SYNC_LATER : 0);
  if(!r->rc && r->later)
    r->rc = mfu_store_sync(r->s);
  mfu_store_batch_free(b);
  return NULL;
}

/* Concurrent batches share their syncs and still create each blob once. */
static void test_batch_concurrent(void **state)
{
  struct fixture *f = *state;
  struct batcher r[6];
  pthread_t t[6];
  pthread_barrier_t bar;
  int made[8] = {0};

  pthread_barrier_init(&bar, NULL, 6);
  for(int i = 0; i < 6; i++) {
    memset(&r[i], 0, sizeof(r[i]));
    r[i].s = f->s;
    r[i].bar = &bar;
    r[i].later = i % 2;
    assert_int_equal(pthread_create(&t[i], NULL, batch_race, &r[i]), 0);
  }
  for(int i = 0; i < 6; i++) {
    pthread_join(t[i], NULL);
    assert_int_equal(r[i].rc, MFU_OK);
    for(int k = 0; k < 8; k++)
      made[k] += r[i].created[k];
  }
  pthread_barrier_destroy(&bar);
  for(int k = 0; k < 8; k++)
    assert_int_equal(made[k], 1);
  assert_int_equal(files_in_store(f), 8);
  assert_int_equal(tmp_entries(f), 0);
}

struct racer {
  struct mfu_store *s;
  const char *buf;
  size_t len;
  pthread_barrier_t *bar;
  char hex[MFU_SHA256_HEX];
  int created;
  int rc;
};

static void *race(void *arg)
{
  struct racer *r = arg;
  struct mfu_store_put *w;
  uint64_t size;

  r->rc = mfu_store_put_begin(r->s, NULL, &w);
  if(r->rc)
    return NULL;
  r->rc = mfu_store_put_write(w, r->buf, r->len);
  pthread_barrier_wait(r->bar);
  if(r->rc) {
    mfu_store_put_abort(w);
    return NULL;
  }
  r->rc = mfu_store_put_commit(w, r->hex, &size, &r->created);
  return NULL;
}

static int count_blob(void *cls, const char *hex,
                      const struct mfu_store_stat *st)
{
  (void)hex;
  (void)st;
  (*(unsigned *)cls)++;
  return 0;
}

static void test_concurrent_identical_puts(void **state)
{
  struct fixture *f = *state;
  size_t len = (5 << 20) + 7;
  char *buf = malloc(len);
  pthread_barrier_t bar;
  int round;

  assert_non_null(buf);
  for(round = 0; round < 4; round++) {
    struct racer r[2];
    pthread_t t[2];
    unsigned n = 0;
    int i;

    memset(buf, 'a' + round, len);
    pthread_barrier_init(&bar, NULL, 2);
    for(i = 0; i < 2; i++) {
      r[i] = (struct racer){.s = f->s, .buf = buf, .len = len, .bar = &bar};
      assert_int_equal(pthread_create(&t[i], NULL, race, &r[i]), 0);
    }
    for(i = 0; i < 2; i++)
      pthread_join(t[i], NULL);
    pthread_barrier_destroy(&bar);
    assert_int_equal(r[0].rc, MFU_OK);
    assert_int_equal(r[1].rc, MFU_OK);
    assert_string_equal(r[0].hex, r[1].hex);
    assert_int_equal(r[0].created + r[1].created, 1);
    assert_int_equal(mfu_store_list(f->s, count_blob, &n), MFU_OK);
    assert_int_equal(n, round + 1);
  }
  assert_int_equal(tmp_entries(f), 0);
  free(buf);
}

/* Many puts of the same small bytes at once: one creates the blob, the
 * others find it, and it is stored once. */
static void test_identical_small_puts(void **state)
{
  struct fixture *f = *state;
  char buf[2048];
  pthread_barrier_t bar;
  int round;

  for(round = 0; round < 4; round++) {
    struct racer r[8];
    pthread_t t[8];
    unsigned n = 0;
    int i, made = 0;

    memset(buf, 'k' + round, sizeof(buf));
    pthread_barrier_init(&bar, NULL, 8);
    for(i = 0; i < 8; i++) {
      r[i] = (struct racer){.s = f->s, .buf = buf, .len = sizeof(buf),
                            .bar = &bar};
      assert_int_equal(pthread_create(&t[i], NULL, race, &r[i]), 0);
    }
    for(i = 0; i < 8; i++)
      pthread_join(t[i], NULL);
    pthread_barrier_destroy(&bar);
    for(i = 0; i < 8; i++) {
      assert_int_equal(r[i].rc, MFU_OK);
      assert_string_equal(r[i].hex, r[0].hex);
      made += r[i].created;
    }
    assert_int_equal(made, 1);
    assert_int_equal(mfu_store_list(f->s, count_blob, &n), MFU_OK);
    assert_int_equal(n, round + 1);
    assert_int_equal(files_in_store(f), round + 1);
  }
  assert_int_equal(tmp_entries(f), 0);
}

/* created says exactly whether this put stored the bytes. */
static void test_created_exact(void **state)
{
  struct fixture *f = *state;
  char hex[MFU_SHA256_HEX], buf[8];
  int created = -1;
  size_t got;

  assert_int_equal(put_bytes(f->s, "abc", 3, 3, hex, &created), MFU_OK);
  assert_int_equal(created, 1);
  assert_int_equal(put_bytes(f->s, "abc", 3, 2, hex, &created), MFU_OK);
  assert_int_equal(created, 0);
  assert_int_equal(mfu_store_delete(f->s, hex), MFU_OK);
  assert_int_equal(files_in_store(f), 0);
  assert_int_equal(put_bytes(f->s, "abc", 3, 1, hex, &created), MFU_OK);
  assert_int_equal(created, 1);
  read_all(f->s, hex, 0, UINT64_MAX, buf, &got);
  assert_int_equal(got, 3);
  assert_memory_equal(buf, "abc", 3);
  assert_int_equal(files_in_store(f), 1);
}

/* A put whose process dies holds an unnamed file: nothing is left, not
 * even for sweep_tmp. */
static void test_tmpfile_leaves_nothing(void **state)
{
  struct fixture *f = *state;
  static char big[3 << 20];
  struct mfu_store_put *w;
  char hex[MFU_SHA256_HEX];
  unsigned removed = 0;
  int status, created;
  pid_t pid;

  assert_int_equal(mfu_store_put_begin(f->s, NULL, &w), MFU_OK);
  assert_int_equal(mfu_store_put_write(w, "abc", 3), MFU_OK);
  assert_int_equal(files_in_store(f), 0);
  mfu_store_put_abort(w);
  assert_int_equal(files_in_store(f), 0);
  /* With the workers writing through a second descriptor. */
  assert_int_equal(mfu_store_put_begin(f->s, NULL, &w), MFU_OK);
  assert_int_equal(mfu_store_put_write(w, big, sizeof(big)), MFU_OK);
  assert_int_equal(files_in_store(f), 0);
  mfu_store_put_abort(w);
  assert_int_equal(files_in_store(f), 0);
  pid = fork();
  assert_true(pid >= 0);
  if(pid == 0) {
    struct mfu_store *s;
    if(mfu_store_open(f->url, &s) || mfu_store_put_begin(s, NULL, &w) ||
       mfu_store_put_write(w, big, sizeof(big)) ||
       mfu_store_put_write(w, "x", 1))
      _exit(1);
    _exit(0);   /* a crash: neither commit nor abort */
  }
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
  assert_int_equal(files_in_store(f), 0);
  assert_int_equal(mfu_store_sweep_tmp(f->s, 0, &removed), MFU_OK);
  assert_int_equal(removed, 0);
  assert_int_equal(put_bytes(f->s, big, sizeof(big), 65536, hex, &created),
                   MFU_OK);
  assert_int_equal(created, 1);
  assert_int_equal(files_in_store(f), 1);
}

/* Named temporary files: one in tmp/ while the put runs, none after. */
static void test_named_fallback(void **state)
{
  struct fixture *f = *state;
  struct mfu_store_put *w;
  char hex[MFU_SHA256_HEX];
  uint64_t size;
  int created;

  assert_int_equal(mfu_store_put_begin(f->s, NULL, &w), MFU_OK);
  assert_int_equal(mfu_store_put_write(w, "abc", 3), MFU_OK);
  assert_int_equal(tmp_entries(f), 1);
  assert_int_equal(mfu_store_put_commit(w, hex, &size, &created), MFU_OK);
  assert_string_equal(hex, ABC_SHA256);
  assert_int_equal(created, 1);
  assert_int_equal(tmp_entries(f), 0);
  assert_int_equal(files_in_store(f), 1);
  assert_int_equal(put_bytes(f->s, "abc", 3, 1, hex, &created), MFU_OK);
  assert_int_equal(created, 0);
  assert_int_equal(tmp_entries(f), 0);
  assert_int_equal(files_in_store(f), 1);
}

/* Sizes around the end of the first (heap) buffer and of a slot, with
 * and without spare slots and unnamed files. */
static void test_first_buffer(void **state)
{
  struct fixture *f = *state;
  size_t sizes[] = {1, (16 << 10) - 1, 16 << 10, (16 << 10) + 1,
                    (64 << 10) - 1, 64 << 10, (64 << 10) + 1,
                    (600 << 10) + 3};
  size_t chunks[] = {1000, 16 << 10, 64 << 10};
  unsigned char *buf = malloc(600 << 10 | 3);
  char path[96];
  int mode;
  size_t i;

  assert_non_null(buf);
  for(i = 0; i < (600 << 10 | 3); i++)
    buf[i] = (unsigned char)(i * 7 + (i >> 9));
  snprintf(path, sizeof(path), "%s/first", f->dir);
  for(mode = 0; mode < 4; mode++) {
    struct store_fs_tuning t;
    struct mfu_store *s;
    size_t k, c;

    store_fs_tuning_default(&t);
    t.slot_size = 64 << 10;
    t.first = 16 << 10;
    t.tmpfile = mode & 1;
    t.spare = mode & 2 ? 2 : 0;
    assert_int_equal(store_fs_open_tuned(path, &t, &s), MFU_OK);
    for(k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
      for(c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
        char want[MFU_SHA256_HEX], hex[MFU_SHA256_HEX];
        struct mfu_store_stat st;
        int created;

        sha256_hex(buf, sizes[k], want);
        assert_int_equal(put_bytes(s, buf, sizes[k], chunks[c], hex,
                                   &created), MFU_OK);
        assert_string_equal(hex, want);
        assert_int_equal(created, 1);
        assert_int_equal(mfu_store_stat(s, hex, &st), MFU_OK);
        assert_int_equal(st.size, sizes[k]);
        assert_int_equal(mfu_store_delete(s, hex), MFU_OK);
      }
    }
    mfu_store_close(s);
  }
  free(buf);
}

static void test_range_reads(void **state)
{
  struct fixture *f = *state;
  const char *data = "0123456789";
  char hex[MFU_SHA256_HEX], out[16];
  struct mfu_store_reader *r;
  size_t got;
  int created;

  assert_int_equal(put_bytes(f->s, data, 10, 4, hex, &created), MFU_OK);
  read_all(f->s, hex, 2, 5, out, &got);
  assert_int_equal(got, 5);
  assert_memory_equal(out, "23456", 5);
  read_all(f->s, hex, 7, 100, out, &got);   /* clipped at the end */
  assert_int_equal(got, 3);
  assert_memory_equal(out, "789", 3);
  read_all(f->s, hex, 10, 5, out, &got);
  assert_int_equal(got, 0);
  read_all(f->s, hex, 50, 5, out, &got);
  assert_int_equal(got, 0);
  assert_int_equal(mfu_store_read_open(f->s, EMPTY_SHA256, 0, 1, &r),
                   MFU_E_NOTFOUND);
  assert_int_equal(mfu_store_read_open(f->s, "../../etc/passwd", 0, 1, &r),
                   MFU_E_INVAL);
}

static void test_delete(void **state)
{
  struct fixture *f = *state;
  char hex[MFU_SHA256_HEX];
  struct mfu_store_stat st;
  int created;

  assert_int_equal(put_bytes(f->s, "abc", 3, 3, hex, &created), MFU_OK);
  assert_int_equal(mfu_store_delete(f->s, hex), MFU_OK);
  assert_int_equal(mfu_store_stat(f->s, hex, &st), MFU_E_NOTFOUND);
  assert_int_equal(mfu_store_delete(f->s, hex), MFU_OK);
  assert_int_equal(mfu_store_delete(f->s, "ba78"), MFU_E_INVAL);
  /* Stored again after a delete, it is created again. */
  assert_int_equal(put_bytes(f->s, "abc", 3, 3, hex, &created), MFU_OK);
  assert_int_equal(created, 1);
}

struct seen {
  char hex[4][MFU_SHA256_HEX];
  uint64_t size[4];
  unsigned n;
};

static int collect(void *cls, const char *hex,
                   const struct mfu_store_stat *st)
{
  struct seen *s = cls;

  if(s->n == 4)
    return 99;
  strcpy(s->hex[s->n], hex);
  s->size[s->n++] = st->size;
  return 0;
}

static void test_list(void **state)
{
  struct fixture *f = *state;
  char hex[3][MFU_SHA256_HEX], junk[200];
  struct seen s = {0};
  int created, i, found = 0;
  FILE *fp;

  assert_int_equal(put_bytes(f->s, "abc", 3, 3, hex[0], &created), MFU_OK);
  assert_int_equal(put_bytes(f->s, "", 0, 3, hex[1], &created), MFU_OK);
  assert_int_equal(put_bytes(f->s, "hello", 5, 3, hex[2], &created), MFU_OK);
  /* A stray file with a non-hash name is not a blob. */
  snprintf(junk, sizeof(junk), "%s/blobs/sha256/ba/78/notes.txt", f->dir);
  fp = fopen(junk, "w");
  assert_non_null(fp);
  fclose(fp);
  assert_int_equal(mfu_store_list(f->s, collect, &s), MFU_OK);
  assert_int_equal(s.n, 3);
  for(i = 0; i < 3; i++) {
    unsigned j;
    for(j = 0; j < s.n; j++) {
      if(!strcmp(s.hex[j], hex[i])) {
        found++;
        assert_int_equal(s.size[j], i == 0 ? 3 : i == 1 ? 0 : 5);
      }
    }
  }
  assert_int_equal(found, 3);
  /* fn stops the walk with its own value. */
  s.n = 4;
  assert_int_equal(mfu_store_list(f->s, collect, &s), 99);
}

static void test_sweep_tmp(void **state)
{
  struct fixture *f = *state;
  struct timespec old[2] = {{.tv_sec = 1000}, {.tv_sec = 1000}};
  char path[160];
  struct mfu_store_put *w;
  unsigned removed = 7;
  int fd;

  snprintf(path, sizeof(path), "%s/blobs/tmp/put-crashed", f->dir);
  fd = open(path, O_WRONLY | O_CREAT, 0644);
  assert_true(fd >= 0);
  assert_int_equal(futimens(fd, old), 0);
  close(fd);
  snprintf(path, sizeof(path), "%s/blobs/tmp/put-recent", f->dir);
  fd = open(path, O_WRONLY | O_CREAT, 0644);
  assert_true(fd >= 0);
  close(fd);
  /* A live put, however old it looks, is not swept. */
  assert_int_equal(mfu_store_put_begin(f->s, NULL, &w), MFU_OK);
  assert_int_equal(mfu_store_put_write(w, "abc", 3), MFU_OK);
  assert_int_equal(tmp_entries(f), 3);
  assert_int_equal(mfu_store_sweep_tmp(f->s, 3600, &removed), MFU_OK);
  assert_int_equal(removed, 1);
  assert_int_equal(tmp_entries(f), 2);
  assert_int_equal(mfu_store_sweep_tmp(f->s, 0, &removed), MFU_OK);
  assert_int_equal(removed, 1);
  assert_int_equal(tmp_entries(f), 1);
  {
    char hex[MFU_SHA256_HEX];
    uint64_t size;
    int created;
    assert_int_equal(mfu_store_put_commit(w, hex, &size, &created), MFU_OK);
    assert_string_equal(hex, ABC_SHA256);
  }
  assert_int_equal(tmp_entries(f), 0);
}

static void test_bad_urls(void **state)
{
  struct mfu_store *s;

  (void)state;
  assert_int_equal(mfu_store_open("file://", &s), MFU_E_INVAL);
  assert_null(s);
  assert_int_equal(mfu_store_open("ftp://x", &s), MFU_E_INVAL);
  assert_int_equal(mfu_store_open(NULL, &s), MFU_E_INVAL);
#ifndef MFU_HAVE_S3
  assert_int_equal(mfu_store_open("s3://bucket", &s), MFU_E_INVAL);
#endif
  assert_int_equal(mfu_store_open("file:///proc/version/x", &s), MFU_E_IO);
}

/* Relative directories are taken from the working directory. */
static void test_relative_dir(void **state)
{
  struct fixture *f = *state;
  struct mfu_store *s;
  char cwd[512], hex[MFU_SHA256_HEX], path[160];
  struct stat sb;
  int created;

  assert_non_null(getcwd(cwd, sizeof(cwd)));
  assert_int_equal(chdir(f->dir), 0);
  assert_int_equal(mfu_store_open("file://rel/store", &s), MFU_OK);
  assert_int_equal(chdir(cwd), 0);
  assert_int_equal(put_bytes(s, "abc", 3, 3, hex, &created), MFU_OK);
  mfu_store_close(s);
  snprintf(path, sizeof(path), "%s/rel/store/sha256/ba/78/%s", f->dir, hex);
  assert_int_equal(stat(path, &sb), 0);
  assert_int_equal(sb.st_mode & 0777, 0644);
}

/* Large blobs through every worker arrangement, odd write sizes. */
static void test_large_blobs(void **state)
{
  struct fixture *f = *state;
  size_t len = (64 << 20) + 12345;
  unsigned char *buf = malloc(len);
  char want[MFU_SHA256_HEX], path[96];
  int threads, direct;
  size_t i;
  uint32_t x = 12345;

  assert_non_null(buf);
  for(i = 0; i < len; i++) {
    x = x * 1103515245 + 12345;
    buf[i] = (unsigned char)(x >> 16);
  }
  sha256_hex(buf, len, want);
  snprintf(path, sizeof(path), "%s/tuned", f->dir);
  for(threads = 0; threads <= 3; threads++) {
    for(direct = 0; direct <= 1; direct++) {
      struct store_fs_tuning t;
      struct mfu_store *s;
      char hex[MFU_SHA256_HEX];
      struct mfu_store_stat st;
      size_t sizes[] = {len, 1 << 20, 4 << 20, 0};
      unsigned k;
      int created;

      store_fs_tuning_default(&t);
      t.threads = threads;
      t.direct = direct;
      t.slot_size = 256 << 10;
      assert_int_equal(store_fs_open_tuned(path, &t, &s), MFU_OK);
      assert_int_equal(put_bytes(s, buf, len, 100003, hex, &created),
                       MFU_OK);
      assert_string_equal(hex, want);
      assert_int_equal(created, 1);
      assert_int_equal(mfu_store_stat(s, hex, &st), MFU_OK);
      assert_int_equal(st.size, len);
      assert_int_equal(mfu_store_delete(s, hex), MFU_OK);
      /* Exactly one slot, exactly the ring, and nothing. */
      sizes[1] = t.slot_size;
      sizes[2] = t.slot_size * t.slots;
      for(k = 1; k < 4; k++) {
        char w2[MFU_SHA256_HEX];
        sha256_hex(buf, sizes[k], w2);
        assert_int_equal(put_bytes(s, buf, sizes[k], t.slot_size, hex,
                                   &created), MFU_OK);
        assert_string_equal(hex, w2);
        assert_int_equal(mfu_store_delete(s, hex), MFU_OK);
      }
      mfu_store_close(s);
    }
  }
  free(buf);
}

/*
 * Disk full: a 2 MiB tmpfs in a private mount namespace (a user namespace
 * when not root), so the real ENOSPC comes from the kernel.
 */
static int write_file(const char *path, const char *s)
{
  int fd = open(path, O_WRONLY);
  int ok;

  if(fd < 0)
    return -1;
  ok = write(fd, s, strlen(s)) == (ssize_t)strlen(s);
  close(fd);
  return ok ? 0 : -1;
}

static int enter_mount_ns(void)
{
  char map[64];
  uid_t uid = getuid();
  gid_t gid = getgid();

  if(!unshare(CLONE_NEWNS))
    return 0;
  if(unshare(CLONE_NEWUSER | CLONE_NEWNS))
    return -1;
  write_file("/proc/self/setgroups", "deny");
  snprintf(map, sizeof(map), "0 %u 1", (unsigned)uid);
  if(write_file("/proc/self/uid_map", map))
    return -1;
  snprintf(map, sizeof(map), "0 %u 1", (unsigned)gid);
  return write_file("/proc/self/gid_map", map);
}

/* Runs in the child: 0 passed, 1 failed, 2 no way to mount. */
static int nospace_child(const char *dir)
{
  static char big[1 << 20];
  struct mfu_store *s;
  struct mfu_store_put *w;
  char url[128], hex[MFU_SHA256_HEX], tmp[128];
  uint64_t size;
  int rc = 0, created, i, threads;

  if(enter_mount_ns() ||
     mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
     mount("tmpfs", dir, "tmpfs", 0, "size=2m"))
    return 2;
  snprintf(url, sizeof(url), "file://%s/blobs", dir);
  if(mfu_store_open(url, &s))
    return 1;
  memset(big, 'x', sizeof(big));
  for(threads = 0; threads <= 3; threads++) {
    struct store_fs_tuning t;
    struct mfu_store *ts;
    store_fs_tuning_default(&t);
    t.threads = threads;
    t.slot_size = 64 << 10;
    if(store_fs_open_tuned(dir, &t, &ts))
      return 1;
    if(mfu_store_put_begin(ts, NULL, &w))
      return 1;
    for(i = 0; i < 4 && !rc; i++)
      rc = mfu_store_put_write(w, big, sizeof(big));
    if(!rc)
      rc = mfu_store_put_commit(w, hex, &size, &created);
    else
      mfu_store_put_abort(w);
    if(rc != MFU_E_NOSPACE) {
      fprintf(stderr, "threads=%d: got %d, not MFU_E_NOSPACE\n", threads,
              rc);
      return 1;
    }
    rc = 0;
    mfu_store_close(ts);
  }
  snprintf(tmp, sizeof(tmp), "%s/tmp", dir);
  if(count_entries(tmp) != 0)
    return 1;
  /* After the failure the store still works for what fits. */
  if(put_bytes(s, "abc", 3, 3, hex, &created) || strcmp(hex, ABC_SHA256))
    return 1;
  mfu_store_close(s);
  return 0;
}

static void test_disk_full(void **state)
{
  struct fixture *f = *state;
  char dir[96];
  pid_t pid;
  int status;

  snprintf(dir, sizeof(dir), "%s/small", f->dir);
  assert_int_equal(mkdir(dir, 0755), 0);
  pid = fork();
  assert_true(pid >= 0);
  if(pid == 0)
    _exit(nospace_child(dir));
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  if(WEXITSTATUS(status) == 2)
    skip();   /* neither root nor user namespaces: cannot mount a tmpfs */
  assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_put_read_back, setup, teardown),
    cmocka_unit_test_setup_teardown(test_empty_blob, setup, teardown),
    cmocka_unit_test_setup_teardown(test_dedup, setup, teardown),
    cmocka_unit_test_setup_teardown(test_abort_leaves_nothing, setup_named,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_concurrent_identical_puts, setup,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_concurrent_identical_puts,
                                    setup_named, teardown),
    cmocka_unit_test_setup_teardown(test_identical_small_puts, setup,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_identical_small_puts, setup_named,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_created_exact, setup, teardown),
    cmocka_unit_test_setup_teardown(test_created_exact, setup_named,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_tmpfile_leaves_nothing, setup,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_named_fallback, setup_named,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_first_buffer, setup, teardown),
    cmocka_unit_test_setup_teardown(test_range_reads, setup, teardown),
    cmocka_unit_test_setup_teardown(test_delete, setup, teardown),
    cmocka_unit_test_setup_teardown(test_list, setup, teardown),
    cmocka_unit_test_setup_teardown(test_sweep_tmp, setup_named, teardown),
    cmocka_unit_test(test_bad_urls),
    cmocka_unit_test_setup_teardown(test_relative_dir, setup, teardown),
    cmocka_unit_test_setup_teardown(test_large_blobs, setup, teardown),
    cmocka_unit_test_setup_teardown(test_disk_full, setup, teardown),
    cmocka_unit_test_setup_teardown(test_batch_publish, setup, teardown),
    cmocka_unit_test_setup_teardown(test_batch_publish, setup_named,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_batch_abort, setup, teardown),
    cmocka_unit_test_setup_teardown(test_batch_abort, setup_named, teardown),
    cmocka_unit_test_setup_teardown(test_batch_concurrent, setup, teardown),
    cmocka_unit_test_setup_teardown(test_batch_concurrent, setup_named,
                                    teardown),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
