/*
 * catalog_test.c - the SQLite catalog against a temporary database file:
 * migrations, round trips with every field, paging, conflicts, orphans on
 * delete, idempotency keys, concurrent writers and inserts committed in
 * one group.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "mfu_catalog.h"

#define SHA_A "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define SHA_B "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SHA_C "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"

struct fixture {
  char dir[64];
  char url[96];
  struct mfu_catalog *c;
};

static int setup(void **state)
{
  struct fixture *f = calloc(1, sizeof(*f));

  strcpy(f->dir, "/tmp/mfu-catalog-XXXXXX");
  if(!mkdtemp(f->dir))
    return -1;
  snprintf(f->url, sizeof(f->url), "sqlite://%s/sub/mfu.db", f->dir);
  if(mfu_catalog_open(f->url, &f->c))
    return -1;
  *state = f;
  return 0;
}

static int teardown(void **state)
{
  struct fixture *f = *state;
  char cmd[128];

  mfu_catalog_close(f->c);
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
  if(system(cmd))
    return -1;
  free(f);
  return 0;
}

/* An item on the stack: files point at static strings. */
static void make_item(struct mfu_item *it, struct mfu_file *files,
                      size_t nfiles, const char *id, const char *user)
{
  memset(it, 0, sizeof(*it));
  snprintf(it->id, sizeof(it->id), "%s", id);
  it->username = (char *)user;
  it->text = (char *)"最喜小儿无赖，溪头卧剥莲蓬。";
  it->created_at = 1700000000;
  it->files = files;
  it->nfiles = nfiles;
}

static void make_file(struct mfu_file *f, enum mfu_group g, unsigned idx,
                      const char *name, const char *sha)
{
  memset(f, 0, sizeof(*f));
  f->group = g;
  f->index = idx;
  f->name = (char *)name;
  f->duration = -1;
  f->duration_probed = -1;
  f->content_type = (char *)"application/octet-stream";
  f->size = 3;
  snprintf(f->sha256, sizeof(f->sha256), "%s", sha);
  f->ext = (char *)"";
}

static void test_migrations_idempotent(void **state)
{
  struct fixture *f = *state;
  struct mfu_item it, *got;
  struct mfu_file fl;
  int v = -1;

  assert_int_equal(mfu_catalog_schema_version(f->c, &v), MFU_OK);
  assert_int_equal(v, 2);
  assert_int_equal(mfu_catalog_ping(f->c), MFU_OK);
  make_file(&fl, MFU_GROUP_IMAGES, 0, "a.png", SHA_A);
  make_item(&it, &fl, 1, "6571d2a4c3f1e2b0a1000001", "user1");
  assert_int_equal(mfu_catalog_item_insert(f->c, &it), MFU_OK);
  /* Reopening runs no step twice and keeps the data. */
  mfu_catalog_close(f->c);
  assert_int_equal(mfu_catalog_open(f->url, &f->c), MFU_OK);
  assert_int_equal(mfu_catalog_schema_version(f->c, &v), MFU_OK);
  assert_int_equal(v, 2);
  assert_int_equal(mfu_catalog_item_get(f->c, it.id, &got), MFU_OK);
  assert_int_equal(got->nfiles, 1);
  mfu_item_free(got);
}

static void test_round_trip(void **state)
{
  struct fixture *f = *state;
  struct mfu_file fl[4];
  struct mfu_item it, *got;

  make_file(&fl[0], MFU_GROUP_IMAGES, 0, "picture001.png", SHA_A);
  fl[0].duration = 123;
  fl[0].width = 640;
  fl[0].height = 480;
  fl[0].content_type = (char *)"image/png";
  fl[0].ext = (char *)".png";
  fl[0].size = 48213;
  make_file(&fl[1], MFU_GROUP_AUDIOS, 0, "清平乐·村居.mp3", SHA_B);
  fl[1].duration = 234;
  fl[1].duration_probed = 233.5;
  fl[1].codec = (char *)"mp3";
  fl[1].content_type = (char *)"audio/mpeg";
  fl[1].ext = (char *)".mp3";
  fl[1].size = 5000000000ULL;   /* past 32 bits */
  make_file(&fl[2], MFU_GROUP_AUDIOS, 1, "清平乐·村居.mp3", SHA_B);
  make_file(&fl[3], MFU_GROUP_VIDEOS, 0, "v.mp4", SHA_C);
  fl[3].duration_probed = 0.0;   /* known and zero, not unknown */
  make_item(&it, fl, 4, "6571d2a4c3f1e2b0a1000002", "用户1");
  assert_int_equal(mfu_catalog_item_insert(f->c, &it), MFU_OK);

  assert_int_equal(mfu_catalog_item_get(f->c, it.id, &got), MFU_OK);
  assert_string_equal(got->id, it.id);
  assert_string_equal(got->username, "用户1");
  assert_string_equal(got->text, it.text);
  assert_int_equal(got->created_at, 1700000000);
  assert_null(got->idem_key);
  assert_int_equal(got->nfiles, 4);
  assert_int_equal(got->files[0].group, MFU_GROUP_IMAGES);
  assert_string_equal(got->files[0].name, "picture001.png");
  assert_int_equal(got->files[0].duration, 123);
  assert_true(got->files[0].duration_probed < 0);
  assert_int_equal(got->files[0].width, 640);
  assert_int_equal(got->files[0].height, 480);
  assert_null(got->files[0].codec);
  assert_string_equal(got->files[0].content_type, "image/png");
  assert_int_equal(got->files[0].size, 48213);
  assert_string_equal(got->files[0].sha256, SHA_A);
  assert_string_equal(got->files[0].ext, ".png");
  assert_int_equal(got->files[1].group, MFU_GROUP_AUDIOS);
  assert_int_equal(got->files[1].index, 0);
  assert_string_equal(got->files[1].name, "清平乐·村居.mp3");
  assert_int_equal(got->files[1].duration, 234);
  assert_true(got->files[1].duration_probed == 233.5);
  assert_string_equal(got->files[1].codec, "mp3");
  assert_int_equal(got->files[1].size, 5000000000ULL);
  assert_int_equal(got->files[1].width, 0);
  assert_int_equal(got->files[2].index, 1);
  assert_int_equal(got->files[2].duration, -1);
  assert_int_equal(got->files[3].group, MFU_GROUP_VIDEOS);
  assert_true(got->files[3].duration_probed == 0.0);
  assert_string_equal(got->files[3].ext, "");
  mfu_item_free(got);

  assert_int_equal(mfu_catalog_item_get(f->c, "6571d2a4c3f1e2b0a1000099",
                                        &got), MFU_E_NOTFOUND);
  assert_null(got);
}

static void test_empty_item(void **state)
{
  struct fixture *f = *state;
  struct mfu_item it, *got;

  make_item(&it, NULL, 0, "6571d2a4c3f1e2b0a1000003", "user1");
  it.text = NULL;
  assert_int_equal(mfu_catalog_item_insert(f->c, &it), MFU_OK);
  assert_int_equal(mfu_catalog_item_get(f->c, it.id, &got), MFU_OK);
  assert_string_equal(got->text, "");
  assert_int_equal(got->nfiles, 0);
  mfu_item_free(got);
  it.username = NULL;
  assert_int_equal(mfu_catalog_item_insert(f->c, &it), MFU_E_INVAL);
}

static void test_list_paging(void **state)
{
  struct fixture *f = *state;
  struct mfu_item it, **page;
  struct mfu_file fl;
  char id[MFU_ID_HEX], after[MFU_ID_HEX];
  size_t n, seen = 0;
  int i;

  make_file(&fl, MFU_GROUP_IMAGES, 0, "a.png", SHA_A);
  for(i = 0; i < 7; i++) {
    snprintf(id, sizeof(id), "6571d2a4c3f1e2b0a10000%02d", i);
    make_item(&it, &fl, 1, id, i == 3 ? "other" : "user1");
    assert_int_equal(mfu_catalog_item_insert(f->c, &it), MFU_OK);
  }
  /* user1 has 6: pages of 4 and 2, newest (highest id) first. */
  assert_int_equal(mfu_catalog_item_list(f->c, "user1", NULL, 4, &page, &n),
                   MFU_OK);
  assert_int_equal(n, 4);
  assert_string_equal(page[0]->id, "6571d2a4c3f1e2b0a1000006");
  assert_string_equal(page[3]->id, "6571d2a4c3f1e2b0a1000002");
  assert_int_equal(page[0]->nfiles, 1);
  assert_string_equal(page[0]->files[0].name, "a.png");
  strcpy(after, page[3]->id);
  seen += n;
  mfu_item_list_free(page, n);
  assert_int_equal(mfu_catalog_item_list(f->c, "user1", after, 4, &page, &n),
                   MFU_OK);
  assert_int_equal(n, 2);
  assert_string_equal(page[0]->id, "6571d2a4c3f1e2b0a1000001");
  assert_string_equal(page[1]->id, "6571d2a4c3f1e2b0a1000000");
  strcpy(after, page[1]->id);
  seen += n;
  mfu_item_list_free(page, n);
  assert_int_equal(seen, 6);
  assert_int_equal(mfu_catalog_item_list(f->c, "user1", after, 4, &page, &n),
                   MFU_OK);
  assert_int_equal(n, 0);
  assert_null(page);
  assert_int_equal(mfu_catalog_item_list(f->c, "nobody", NULL, 4, &page,
                                         &n), MFU_OK);
  assert_int_equal(n, 0);
}

static void test_duplicates(void **state)
{
  struct fixture *f = *state;
  struct mfu_item it, it2, *got;
  struct mfu_file fl[2];

  make_file(&fl[0], MFU_GROUP_IMAGES, 0, "a.png", SHA_A);
  make_file(&fl[1], MFU_GROUP_IMAGES, 1, "b.png", SHA_B);
  make_item(&it, fl, 2, "6571d2a4c3f1e2b0a1000010", "user1");
  it.idem_key = (char *)"key-1";
  assert_int_equal(mfu_catalog_item_insert(f->c, &it), MFU_OK);
  assert_int_equal(mfu_catalog_item_insert(f->c, &it), MFU_E_EXISTS);
  /* A new id with the user's used key: nothing of it is written. */
  make_item(&it2, &fl[1], 1, "6571d2a4c3f1e2b0a1000011", "user1");
  it2.idem_key = (char *)"key-1";
  assert_int_equal(mfu_catalog_item_insert(f->c, &it2), MFU_E_EXISTS);
  assert_int_equal(mfu_catalog_item_get(f->c, it2.id, &got),
                   MFU_E_NOTFOUND);
  /* The same key of another user is another key. */
  it2.username = (char *)"user2";
  assert_int_equal(mfu_catalog_item_insert(f->c, &it2), MFU_OK);
  /* Two files at one position of one group. */
  fl[1].index = 0;
  make_item(&it, fl, 2, "6571d2a4c3f1e2b0a1000012", "user1");
  assert_int_equal(mfu_catalog_item_insert(f->c, &it), MFU_E_EXISTS);
  assert_int_equal(mfu_catalog_item_get(f->c, it.id, &got), MFU_E_NOTFOUND);
}

static void test_delete_orphans(void **state)
{
  struct fixture *f = *state;
  struct mfu_file a[2], b[1];
  struct mfu_item ia, ib, *got;
  char **orph, type[64], id[MFU_ID_HEX];
  size_t n;
  uint64_t refs;

  make_file(&a[0], MFU_GROUP_IMAGES, 0, "shared.png", SHA_A);
  a[0].content_type = (char *)"image/png";
  make_file(&a[1], MFU_GROUP_AUDIOS, 0, "own.mp3", SHA_B);
  make_file(&a[1], MFU_GROUP_AUDIOS, 0, "own.mp3", SHA_B);
  make_file(&b[0], MFU_GROUP_IMAGES, 0, "again.png", SHA_A);
  make_item(&ia, a, 2, "6571d2a4c3f1e2b0a1000020", "user1");
  ia.idem_key = (char *)"k";
  make_item(&ib, b, 1, "6571d2a4c3f1e2b0a1000021", "user1");
  assert_int_equal(mfu_catalog_item_insert(f->c, &ia), MFU_OK);
  assert_int_equal(mfu_catalog_item_insert(f->c, &ib), MFU_OK);
  assert_int_equal(mfu_catalog_blob_refs(f->c, SHA_A, &refs), MFU_OK);
  assert_int_equal(refs, 2);
  assert_int_equal(mfu_catalog_blob_type(f->c, SHA_A, type, sizeof(type)),
                   MFU_OK);
  assert_string_equal(type, "image/png");
  assert_int_equal(mfu_catalog_blob_type(f->c, SHA_A, type, 5),
                   MFU_E_INVAL);
  assert_int_equal(mfu_catalog_blob_type(f->c, SHA_C, type, sizeof(type)),
                   MFU_E_NOTFOUND);

  /* A's own blob goes, the shared one stays. */
  assert_int_equal(mfu_catalog_item_delete(f->c, ia.id, &orph, &n), MFU_OK);
  assert_int_equal(n, 1);
  assert_string_equal(orph[0], SHA_B);
  mfu_catalog_strings_free(orph, n);
  assert_int_equal(mfu_catalog_item_get(f->c, ia.id, &got), MFU_E_NOTFOUND);
  assert_int_equal(mfu_catalog_blob_refs(f->c, SHA_A, &refs), MFU_OK);
  assert_int_equal(refs, 1);
  assert_int_equal(mfu_catalog_blob_refs(f->c, SHA_B, &refs), MFU_OK);
  assert_int_equal(refs, 0);
  /* Its idempotency key went with it. */
  assert_int_equal(mfu_catalog_idem_get(f->c, "user1", "k", 1 << 30, id),
                   MFU_E_NOTFOUND);
  /* Now the last reference. */
  assert_int_equal(mfu_catalog_item_delete(f->c, ib.id, &orph, &n), MFU_OK);
  assert_int_equal(n, 1);
  assert_string_equal(orph[0], SHA_A);
  mfu_catalog_strings_free(orph, n);
  assert_int_equal(mfu_catalog_item_delete(f->c, ib.id, &orph, &n),
                   MFU_E_NOTFOUND);
  assert_null(orph);
  assert_int_equal(n, 0);
}

static void test_idempotency_ttl(void **state)
{
  struct fixture *f = *state;
  struct mfu_item it;
  char id[MFU_ID_HEX];

  make_item(&it, NULL, 0, "6571d2a4c3f1e2b0a1000030", "user1");
  it.idem_key = (char *)"retry-me";
  it.created_at = (int64_t)time(NULL) - 100;
  assert_int_equal(mfu_catalog_item_insert(f->c, &it), MFU_OK);
  assert_int_equal(mfu_catalog_idem_get(f->c, "user1", "retry-me", 1000,
                                        id), MFU_OK);
  assert_string_equal(id, it.id);
  assert_int_equal(mfu_catalog_idem_get(f->c, "user2", "retry-me", 1000,
                                        id), MFU_E_NOTFOUND);
  assert_int_equal(mfu_catalog_idem_get(f->c, "user1", "other", 1000, id),
                   MFU_E_NOTFOUND);
  /* Past its ttl it is forgotten for good, and the key is free again. */
  assert_int_equal(mfu_catalog_idem_get(f->c, "user1", "retry-me", 10, id),
                   MFU_E_NOTFOUND);
  assert_int_equal(mfu_catalog_idem_get(f->c, "user1", "retry-me", 1000,
                                        id), MFU_E_NOTFOUND);
  make_item(&it, NULL, 0, "6571d2a4c3f1e2b0a1000031", "user1");
  it.idem_key = (char *)"retry-me";
  it.created_at = (int64_t)time(NULL);
  assert_int_equal(mfu_catalog_item_insert(f->c, &it), MFU_OK);
  assert_int_equal(mfu_catalog_idem_get(f->c, "user1", "retry-me", 1000,
                                        id), MFU_OK);
  assert_string_equal(id, it.id);
}

#define WRITERS 6
#define PER_WRITER 40

struct writer {
  struct mfu_catalog *c;
  int n;
  int failures;
};

static void *write_items(void *arg)
{
  struct writer *w = arg;
  struct mfu_file fl[3];
  struct mfu_item it, *got;
  char id[MFU_ID_HEX];
  int i;

  make_file(&fl[0], MFU_GROUP_IMAGES, 0, "a.png", SHA_A);
  make_file(&fl[1], MFU_GROUP_AUDIOS, 0, "b.mp3", SHA_B);
  make_file(&fl[2], MFU_GROUP_AUDIOS, 1, "b.mp3", SHA_B);
  for(i = 0; i < PER_WRITER; i++) {
    snprintf(id, sizeof(id), "6571d2a4c3f1e2b0a1%02d%04d", w->n, i);
    make_item(&it, fl, 3, id, "crowd");
    if(mfu_catalog_item_insert(w->c, &it))
      w->failures++;
    /* Reads interleave with the other threads' writes. */
    if(mfu_catalog_item_get(w->c, id, &got) || got->nfiles != 3)
      w->failures++;
    mfu_item_free(got);
  }
  return NULL;
}

static void test_concurrent_inserts(void **state)
{
  struct fixture *f = *state;
  struct writer w[WRITERS];
  pthread_t t[WRITERS];
  struct mfu_item **page;
  uint64_t refs;
  size_t n;
  int i;

  for(i = 0; i < WRITERS; i++) {
    w[i] = (struct writer){.c = f->c, .n = i};
    assert_int_equal(pthread_create(&t[i], NULL, write_items, &w[i]), 0);
  }
  for(i = 0; i < WRITERS; i++) {
    pthread_join(t[i], NULL);
    assert_int_equal(w[i].failures, 0);
  }
  assert_int_equal(mfu_catalog_item_list(f->c, "crowd", NULL, 1000, &page,
                                         &n), MFU_OK);
  assert_int_equal(n, WRITERS * PER_WRITER);
  mfu_item_list_free(page, n);
  assert_int_equal(mfu_catalog_blob_refs(f->c, SHA_B, &refs), MFU_OK);
  assert_int_equal(refs, 2 * WRITERS * PER_WRITER);
}

#define CROWD 64
#define PER_CROWD 20

struct racer {
  struct mfu_catalog *c;
  pthread_barrier_t *start;
  struct mfu_item it;
  struct mfu_file fl[2];
  int n;
  int rc;
};

/* PER_CROWD inserts, all released at once so that they pile up behind
 * each other's COMMITs. */
static void *crowd_insert(void *arg)
{
  struct racer *r = arg;
  char id[MFU_ID_HEX];
  int i;

  make_file(&r->fl[0], MFU_GROUP_IMAGES, 0, "a.png", SHA_A);
  make_file(&r->fl[1], MFU_GROUP_VIDEOS, 0, "v.mp4", SHA_C);
  pthread_barrier_wait(r->start);
  for(i = 0; i < PER_CROWD; i++) {
    snprintf(id, sizeof(id), "6571d2a4c3f1e2b0a2%02d%04d", r->n, i);
    make_item(&r->it, r->fl, 2, id, "crowd");
    r->it.created_at += i;
    if(mfu_catalog_item_insert(r->c, &r->it))
      r->rc++;
  }
  return NULL;
}

static void test_crowd_inserts(void **state)
{
  struct fixture *f = *state;
  struct racer *r = calloc(CROWD, sizeof(*r));
  pthread_t t[CROWD];
  pthread_barrier_t start;
  struct mfu_item *got;
  char id[MFU_ID_HEX];
  uint64_t refs;
  int i, j;

  assert_non_null(r);
  assert_int_equal(pthread_barrier_init(&start, NULL, CROWD), 0);
  for(i = 0; i < CROWD; i++) {
    r[i].c = f->c;
    r[i].start = &start;
    r[i].n = i;
    assert_int_equal(pthread_create(&t[i], NULL, crowd_insert, &r[i]), 0);
  }
  for(i = 0; i < CROWD; i++) {
    pthread_join(t[i], NULL);
    assert_int_equal(r[i].rc, 0);
  }
  pthread_barrier_destroy(&start);
  free(r);
  /* Every item is there after the catalog is reopened, whole. */
  mfu_catalog_close(f->c);
  assert_int_equal(mfu_catalog_open(f->url, &f->c), MFU_OK);
  for(i = 0; i < CROWD; i++) {
    for(j = 0; j < PER_CROWD; j++) {
      snprintf(id, sizeof(id), "6571d2a4c3f1e2b0a2%02d%04d", i, j);
      assert_int_equal(mfu_catalog_item_get(f->c, id, &got), MFU_OK);
      assert_int_equal(got->nfiles, 2);
      assert_int_equal(got->created_at, 1700000000 + j);
      assert_string_equal(got->files[1].sha256, SHA_C);
      mfu_item_free(got);
    }
  }
  assert_int_equal(mfu_catalog_blob_refs(f->c, SHA_C, &refs), MFU_OK);
  assert_int_equal(refs, CROWD * PER_CROWD);
}

static void *insert_once(void *arg)
{
  struct racer *r = arg;

  r->rc = mfu_catalog_item_insert(r->c, &r->it);
  return NULL;
}

enum {
  G_FIRST,       /* leads, and waits for the lock below */
  G_ID_A,        /* these two share an id */
  G_ID_B,
  G_KEY_A,       /* these two share an idempotency key */
  G_KEY_B,
  G_OLD_ID,      /* the id of an item committed before */
  G_PLAIN,
  G_POS,         /* two files at one position */
  G_LAST,
  G_COUNT
};

static void make_racer(struct racer *r, struct mfu_catalog *c, int n,
                       const char *id, size_t nfiles, const char *key)
{
  make_file(&r->fl[0], MFU_GROUP_IMAGES, 0, "a.png", SHA_A);
  make_file(&r->fl[1], MFU_GROUP_IMAGES, 1, "b.png", SHA_B);
  make_item(&r->it, r->fl, nfiles, id, "user1");
  r->it.idem_key = (char *)key;
  r->c = c;
  r->n = n;
  r->rc = -1000;
}

static const char *const group_ids[G_COUNT] = {
  "6571d2a4c3f1e2b0a3000000", "6571d2a4c3f1e2b0a3000001",
  "6571d2a4c3f1e2b0a3000001", "6571d2a4c3f1e2b0a3000003",
  "6571d2a4c3f1e2b0a3000004", "6571d2a4c3f1e2b0a3000005",
  "6571d2a4c3f1e2b0a3000006", "6571d2a4c3f1e2b0a3000007",
  "6571d2a4c3f1e2b0a3000008",
};

/* Of two racers for one key, exactly one won; returns its index. */
static int one_winner(const struct racer *r, int a, int b)
{
  assert_true((r[a].rc == MFU_OK && r[b].rc == MFU_E_EXISTS) ||
              (r[a].rc == MFU_E_EXISTS && r[b].rc == MFU_OK));
  return r[a].rc == MFU_OK ? a : b;
}

/* Another connection holds the write lock while the inserts queue up, so
 * all but the first go in one group: each conflict fails its own item and
 * no other. */
static void test_group_conflicts(void **state)
{
  struct fixture *f = *state;
  struct racer r[G_COUNT];
  pthread_t t[G_COUNT];
  struct mfu_item old, *got;
  char path[128], id[MFU_ID_HEX];
  sqlite3 *db;
  int i, win;

  make_item(&old, NULL, 0, group_ids[G_OLD_ID], "user1");
  assert_int_equal(mfu_catalog_item_insert(f->c, &old), MFU_OK);
  for(i = 0; i < G_COUNT; i++)
    make_racer(&r[i], f->c, i, group_ids[i], 1 + (i == G_ID_B), NULL);
  r[G_KEY_A].it.idem_key = (char *)"same-key";
  r[G_KEY_B].it.idem_key = (char *)"same-key";
  r[G_POS].fl[1].index = 0;
  r[G_POS].it.nfiles = 2;

  snprintf(path, sizeof(path), "%s/sub/mfu.db", f->dir);
  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL),
                   SQLITE_OK);
  for(i = 0; i < G_COUNT; i++) {
    assert_int_equal(pthread_create(&t[i], NULL, insert_once, &r[i]), 0);
    usleep(i == G_FIRST ? 100000 : 10000);
  }
  usleep(200000);
  assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close(db);
  for(i = 0; i < G_COUNT; i++)
    pthread_join(t[i], NULL);

  mfu_catalog_close(f->c);
  assert_int_equal(mfu_catalog_open(f->url, &f->c), MFU_OK);
  assert_int_equal(r[G_FIRST].rc, MFU_OK);
  assert_int_equal(r[G_PLAIN].rc, MFU_OK);
  assert_int_equal(r[G_LAST].rc, MFU_OK);
  assert_int_equal(r[G_OLD_ID].rc, MFU_E_EXISTS);
  assert_int_equal(r[G_POS].rc, MFU_E_EXISTS);
  assert_int_equal(mfu_catalog_item_get(f->c, group_ids[G_POS], &got),
                   MFU_E_NOTFOUND);
  /* The old item kept its rows; the loser of the id wrote none. */
  assert_int_equal(mfu_catalog_item_get(f->c, group_ids[G_OLD_ID], &got),
                   MFU_OK);
  assert_int_equal(got->nfiles, 0);
  mfu_item_free(got);
  win = one_winner(r, G_ID_A, G_ID_B);
  assert_int_equal(mfu_catalog_item_get(f->c, group_ids[G_ID_A], &got),
                   MFU_OK);
  assert_int_equal(got->nfiles, r[win].it.nfiles);
  mfu_item_free(got);
  /* The loser of the key wrote neither its item nor its key. */
  win = one_winner(r, G_KEY_A, G_KEY_B);
  assert_int_equal(mfu_catalog_idem_get(f->c, "user1", "same-key", 1 << 30,
                                        id), MFU_OK);
  assert_string_equal(id, group_ids[win]);
  assert_int_equal(mfu_catalog_item_get(f->c, group_ids[win], &got),
                   MFU_OK);
  mfu_item_free(got);
  assert_int_equal(mfu_catalog_item_get(f->c, group_ids[win == G_KEY_A
                                                        ? G_KEY_B : G_KEY_A],
                                        &got), MFU_E_NOTFOUND);
  for(i = 0; i < G_COUNT; i++) {
    if(r[i].rc)
      continue;
    assert_int_equal(mfu_catalog_item_get(f->c, group_ids[i], &got), MFU_OK);
    assert_string_equal(got->files[0].name, "a.png");
    mfu_item_free(got);
  }
}

static void test_bad_urls(void **state)
{
  struct mfu_catalog *c;

  (void)state;
  assert_int_equal(mfu_catalog_open("mysql://x", &c), MFU_E_INVAL);
  assert_null(c);
  assert_int_equal(mfu_catalog_open("sqlite://", &c), MFU_E_INVAL);
  assert_int_equal(mfu_catalog_open(NULL, &c), MFU_E_INVAL);
#ifndef MFU_HAVE_PG
  assert_int_equal(mfu_catalog_open("postgresql://localhost/x", &c),
                   MFU_E_INVAL);
#endif
  assert_int_equal(mfu_catalog_open("sqlite:///proc/version/x.db", &c),
                   MFU_E_IO);
  assert_int_equal(mfu_catalog_open("sqlite:///etc/passwd", &c), MFU_E_IO);
  assert_string_equal(mfu_group_name(MFU_GROUP_AUDIOS), "audios");
  assert_null(mfu_group_name(MFU_GROUP_COUNT));
}

static void test_relative_path(void **state)
{
  struct fixture *f = *state;
  struct mfu_catalog *c;
  char cwd[512], path[128];
  int v;

  assert_non_null(getcwd(cwd, sizeof(cwd)));
  assert_int_equal(chdir(f->dir), 0);
  assert_int_equal(mfu_catalog_open("sqlite://data/rel.db", &c), MFU_OK);
  assert_int_equal(chdir(cwd), 0);
  assert_int_equal(mfu_catalog_schema_version(c, &v), MFU_OK);
  mfu_catalog_close(c);
  snprintf(path, sizeof(path), "%s/data/rel.db", f->dir);
  assert_int_equal(access(path, F_OK), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_migrations_idempotent, setup,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
    cmocka_unit_test_setup_teardown(test_empty_item, setup, teardown),
    cmocka_unit_test_setup_teardown(test_list_paging, setup, teardown),
    cmocka_unit_test_setup_teardown(test_duplicates, setup, teardown),
    cmocka_unit_test_setup_teardown(test_delete_orphans, setup, teardown),
    cmocka_unit_test_setup_teardown(test_idempotency_ttl, setup, teardown),
    cmocka_unit_test_setup_teardown(test_concurrent_inserts, setup,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_crowd_inserts, setup, teardown),
    cmocka_unit_test_setup_teardown(test_group_conflicts, setup, teardown),
    cmocka_unit_test(test_bad_urls),
    cmocka_unit_test_setup_teardown(test_relative_path, setup, teardown),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
