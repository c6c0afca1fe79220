/*
 * catalog_check.c - mfu-catalog-check, the same scenario run against any
 * catalog URL, so both backends are held to one behaviour:
 *
 *   mfu-catalog-check URL check          every operation, with asserts
 *   mfu-catalog-check URL load USER N T  N inserts from T threads at once
 *   mfu-catalog-check URL count USER     how many items USER has
 *   mfu-catalog-check URL ping           ping; then, per stdin line, again
 *   mfu-catalog-check URL version        the schema version
 *
 * The integration tests start a real PostgreSQL and run this; it prints
 * "ok" lines and exits 0, or names the first check that failed and exits 1.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mfu_catalog.h"
#include "mfu_util.h"

#define CHECK(cond, what)                                             \
  do {                                                                \
    if(!(cond)) {                                                     \
      fprintf(stderr, "FAILED line %d: %s\n", __LINE__, what);        \
      exit(1);                                                        \
    }                                                                 \
    printf("ok %s\n", what);                                          \
  } while(0)

static const char *const H1 =
  "1111111111111111111111111111111111111111111111111111111111111111";
static const char *const H2 =
  "2222222222222222222222222222222222222222222222222222222222222222";

static void file(struct mfu_file *f, enum mfu_group g, unsigned idx,
                 const char *name, const char *hex)
{
  memset(f, 0, sizeof(*f));
  f->group = g;
  f->index = idx;
  f->name = (char *)name;
  f->duration = -1;
  f->duration_probed = -1;
  f->content_type = (char *)"audio/mpeg";
  f->size = 1234;
  f->ext = (char *)".mp3";
  snprintf(f->sha256, sizeof(f->sha256), "%s", hex);
}

static void item(struct mfu_item *it, struct mfu_oid_gen *g,
                 const char *user, struct mfu_file *files, size_t n)
{
  memset(it, 0, sizeof(*it));
  mfu_oid_next(g, (int64_t)time(NULL), it->id);
  it->username = (char *)user;
  it->text = (char *)"最喜小儿无赖，溪头卧剥莲蓬。";
  it->created_at = (int64_t)time(NULL);
  it->files = files;
  it->nfiles = n;
}

static void check_roundtrip(struct mfu_catalog *c, struct mfu_oid_gen *g)
{
  struct mfu_file fs[3];
  struct mfu_item a, *got = NULL;

  file(&fs[0], MFU_GROUP_IMAGES, 0, "picture001.png", H1);
  fs[0].content_type = (char *)"image/png";
  fs[0].width = 640;
  fs[0].height = 480;
  file(&fs[1], MFU_GROUP_AUDIOS, 0, "清平乐·村居.mp3", H2);
  fs[1].duration = 234;
  fs[1].duration_probed = 233.5;
  fs[1].codec = (char *)"mp3";
  file(&fs[2], MFU_GROUP_AUDIOS, 1, "清平乐·村居.mp3", H2);
  item(&a, g, "user1", fs, 3);
  CHECK(mfu_catalog_item_insert(c, &a) == MFU_OK, "insert");
  CHECK(mfu_catalog_item_get(c, a.id, &got) == MFU_OK, "get");
  CHECK(!strcmp(got->username, "user1") && !strcmp(got->text, a.text) &&
        got->created_at == a.created_at && got->nfiles == 3, "get fields");
  CHECK(got->files[0].group == MFU_GROUP_IMAGES &&
        got->files[0].width == 640 && got->files[0].duration == -1 &&
        got->files[0].duration_probed < 0 && !got->files[0].codec &&
        !strcmp(got->files[0].content_type, "image/png"), "null columns");
  CHECK(!strcmp(got->files[1].name, "清平乐·村居.mp3") &&
        got->files[1].duration == 234 &&
        got->files[1].duration_probed == 233.5 &&
        !strcmp(got->files[1].codec, "mp3") &&
        !strcmp(got->files[2].sha256, H2) && got->files[2].index == 1 &&
        got->files[1].size == 1234 && !strcmp(got->files[1].ext, ".mp3"),
        "file fields");
  mfu_item_free(got);
  CHECK(mfu_catalog_item_insert(c, &a) == MFU_E_EXISTS, "duplicate id");
}

static void check_idem_and_delete(struct mfu_catalog *c,
                                  struct mfu_oid_gen *g)
{
  struct mfu_file fa[2], fb[1];
  struct mfu_item a, b, *got = NULL;
  char id[MFU_ID_HEX], type[64], **orph = NULL;
  size_t norph = 0;
  uint64_t refs = 0;

  file(&fa[0], MFU_GROUP_VIDEOS, 0, "a.mp4", H1);
  file(&fa[1], MFU_GROUP_VIDEOS, 1, "b.mp4",
       "3333333333333333333333333333333333333333333333333333333333333333");
  item(&a, g, "user2", fa, 2);
  a.idem_key = (char *)"key-1";
  CHECK(mfu_catalog_item_insert(c, &a) == MFU_OK, "insert with key");
  CHECK(mfu_catalog_idem_get(c, "user2", "key-1", 3600, id) == MFU_OK &&
        !strcmp(id, a.id), "idempotency key found");
  CHECK(mfu_catalog_idem_get(c, "user3", "key-1", 3600, id) ==
        MFU_E_NOTFOUND, "key belongs to its user");
  file(&fb[0], MFU_GROUP_IMAGES, 0, "c.png",
       "4444444444444444444444444444444444444444444444444444444444444444");
  item(&b, g, "user2", fb, 1);
  b.idem_key = (char *)"key-1";
  CHECK(mfu_catalog_item_insert(c, &b) == MFU_E_EXISTS, "duplicate key");
  CHECK(mfu_catalog_item_get(c, b.id, &got) == MFU_E_NOTFOUND,
        "failed insert wrote nothing");
  CHECK(mfu_catalog_blob_refs(c, fb[0].sha256, &refs) == MFU_OK &&
        refs == 0, "no rows of the failed insert");
  CHECK(mfu_catalog_blob_refs(c, H1, &refs) == MFU_OK && refs == 2,
        "blob refs");
  CHECK(mfu_catalog_blob_type(c, fa[1].sha256, type, sizeof(type)) ==
        MFU_OK && !strcmp(type, "audio/mpeg"), "blob type");
  CHECK(mfu_catalog_item_delete(c, a.id, &orph, &norph) == MFU_OK &&
        norph == 1 && !strcmp(orph[0], fa[1].sha256),
        "delete returns only unshared blobs");
  mfu_catalog_strings_free(orph, norph);
  CHECK(mfu_catalog_idem_get(c, "user2", "key-1", 3600, id) ==
        MFU_E_NOTFOUND, "key goes with its item");
  CHECK(mfu_catalog_item_delete(c, a.id, &orph, &norph) == MFU_E_NOTFOUND,
        "delete twice");
  CHECK(mfu_catalog_blob_refs(c, H1, &refs) == MFU_OK && refs == 1,
        "shared blob still referenced");
}

static void check_list(struct mfu_catalog *c, struct mfu_oid_gen *g)
{
  struct mfu_item its[5], **v = NULL;
  char ids[5][MFU_ID_HEX];
  size_t n = 0;
  int i;

  for(i = 0; i < 5; i++) {
    item(&its[i], g, "lister", NULL, 0);
    strcpy(ids[i], its[i].id);
    CHECK(mfu_catalog_item_insert(c, &its[i]) == MFU_OK, "insert for list");
  }
  CHECK(mfu_catalog_item_list(c, "lister", NULL, 2, &v, &n) == MFU_OK &&
        n == 2 && !strcmp(v[0]->id, ids[4]) && !strcmp(v[1]->id, ids[3]),
        "first page newest first");
  mfu_item_list_free(v, n);
  CHECK(mfu_catalog_item_list(c, "lister", ids[3], 10, &v, &n) == MFU_OK &&
        n == 3 && !strcmp(v[0]->id, ids[2]) && !strcmp(v[2]->id, ids[0]),
        "next page after an id");
  mfu_item_list_free(v, n);
  CHECK(mfu_catalog_item_list(c, "nobody", NULL, 10, &v, &n) == MFU_OK &&
        n == 0, "empty list");
  mfu_item_list_free(v, n);
}

/* Users and tokens; names are fresh so the check may run again on one
 * database. */
static void check_tokens(struct mfu_catalog *c, struct mfu_oid_gen *g)
{
  char user[40], other[40], h1[65], h2[65], who[80], **names = NULL;
  struct mfu_token *t = NULL;
  size_t n = 0, i;
  int64_t id1 = 0, id2 = 0;
  int found = 0;

  mfu_oid_next(g, (int64_t)time(NULL), who);
  snprintf(user, sizeof(user), "tok-%.24s", who);
  snprintf(other, sizeof(other), "none-%.24s", who);
  snprintf(h1, sizeof(h1), "%.24s%.24s%.16s", who, who, who);
  memcpy(h2, h1, sizeof(h2));
  h2[0] = h2[0] == 'f' ? 'e' : 'f';
  CHECK(mfu_catalog_user_add(c, user) == MFU_OK, "user add");
  CHECK(mfu_catalog_user_add(c, user) == MFU_E_EXISTS, "user add twice");
  CHECK(mfu_catalog_user_list(c, &names, &n) == MFU_OK && n >= 1,
        "user list");
  for(i = 0; i < n; i++)
    found |= !strcmp(names[i], user);
  mfu_catalog_strings_free(names, n);
  CHECK(found, "user listed");
  CHECK(mfu_catalog_token_add(c, other, h1, "x", &id1) == MFU_E_NOTFOUND,
        "token of an unknown user");
  CHECK(mfu_catalog_token_add(c, user, h1, "laptop", &id1) == MFU_OK &&
        id1 > 0, "token add");
  CHECK(mfu_catalog_token_add(c, user, h1, "again", &id2) == MFU_E_EXISTS,
        "token hash is unique");
  CHECK(mfu_catalog_token_add(c, user, h2, NULL, &id2) == MFU_OK &&
        id2 > id1, "second token");
  CHECK(mfu_catalog_token_user(c, h1, who, sizeof(who)) == MFU_OK &&
        !strcmp(who, user), "token finds its user");
  CHECK(mfu_catalog_token_list(c, user, &t, &n) == MFU_OK && n == 2 &&
        t[0].id == id1 && !strcmp(t[0].label, "laptop") &&
        !strcmp(t[1].label, "") && !t[0].revoked_at, "token list");
  mfu_token_list_free(t, n);
  CHECK(mfu_catalog_token_revoke(c, id1) == MFU_OK, "revoke");
  CHECK(mfu_catalog_token_revoke(c, id1) == MFU_OK, "revoke twice");
  CHECK(mfu_catalog_token_revoke(c, id2 + 1000000) == MFU_E_NOTFOUND,
        "revoke an unknown id");
  CHECK(mfu_catalog_token_user(c, h1, who, sizeof(who)) == MFU_E_NOTFOUND,
        "revoked token finds nobody");
  CHECK(mfu_catalog_token_user(c, h2, who, sizeof(who)) == MFU_OK,
        "other token still live");
  CHECK(mfu_catalog_token_list(c, NULL, &t, &n) == MFU_OK && n >= 2,
        "all tokens");
  for(i = 0; i < n; i++) {
    if(t[i].id == id1)
      found = t[i].revoked_at > 0 ? 2 : 0;
  }
  mfu_token_list_free(t, n);
  CHECK(found == 2, "revoked_at listed");
}

struct load {
  struct mfu_catalog *c;
  struct mfu_oid_gen *g;
  const char *user;
  int n, failed;
};

static void *load_thread(void *cls)
{
  struct load *l = cls;
  struct mfu_file f;
  struct mfu_item it;
  int i;

  for(i = 0; i < l->n; i++) {
    file(&f, MFU_GROUP_AUDIOS, 0, "x.mp3", H1);
    item(&it, l->g, l->user, &f, 1);
    if(mfu_catalog_item_insert(l->c, &it))
      l->failed++;
  }
  return NULL;
}

static int load(struct mfu_catalog *c, struct mfu_oid_gen *g,
                const char *user, int n, int threads)
{
  pthread_t t[64];
  struct load l[64];
  int i, failed = 0;

  if(threads < 1 || threads > 64)
    return 2;
  for(i = 0; i < threads; i++) {
    l[i] = (struct load){c, g, user, n / threads + (i < n % threads), 0};
    pthread_create(&t[i], NULL, load_thread, &l[i]);
  }
  for(i = 0; i < threads; i++) {
    pthread_join(t[i], NULL);
    failed += l[i].failed;
  }
  printf("inserted %d failed %d\n", n - failed, failed);
  return failed ? 1 : 0;
}

static int count(struct mfu_catalog *c, const char *user)
{
  struct mfu_item **v = NULL;
  size_t n = 0;
  int rc = mfu_catalog_item_list(c, user, NULL, 1000000, &v, &n);

  mfu_item_list_free(v, n);
  if(rc)
    return 1;
  printf("%zu\n", n);
  return 0;
}

static int ping_loop(struct mfu_catalog *c)
{
  char line[64];

  printf("%s\n", mfu_err_slug(mfu_catalog_ping(c)));
  fflush(stdout);
  while(fgets(line, sizeof(line), stdin)) {
    printf("%s\n", mfu_err_slug(mfu_catalog_ping(c)));
    fflush(stdout);
  }
  return 0;
}

int main(int argc, char **argv)
{
  struct mfu_catalog *c;
  struct mfu_oid_gen g;
  int rc = 0, v = 0;

  if(argc < 3) {
    fprintf(stderr, "usage: mfu-catalog-check URL check|load|count|ping|"
            "version ...\n");
    return 2;
  }
  if(mfu_oid_gen_init(&g))
    return 1;
  rc = mfu_catalog_open(argv[1], &c);
  if(rc) {
    fprintf(stderr, "open: %s\n", mfu_strerror(rc));
    return 1;
  }
  if(!strcmp(argv[2], "check")) {
    CHECK(mfu_catalog_ping(c) == MFU_OK, "ping");
    CHECK(mfu_catalog_schema_version(c, &v) == MFU_OK && v >= 1,
          "schema version");
    check_roundtrip(c, &g);
    check_idem_and_delete(c, &g);
    check_list(c, &g);
    check_tokens(c, &g);
    rc = 0;
  }
  else if(!strcmp(argv[2], "load") && argc == 6)
    rc = load(c, &g, argv[3], atoi(argv[4]), atoi(argv[5]));
  else if(!strcmp(argv[2], "count") && argc == 4)
    rc = count(c, argv[3]);
  else if(!strcmp(argv[2], "ping"))
    rc = ping_loop(c);
  else if(!strcmp(argv[2], "version")) {
    rc = mfu_catalog_schema_version(c, &v) ? 1 : 0;
    printf("%d\n", v);
  }
  else
    rc = 2;
  mfu_catalog_close(c);
  return rc;
}
