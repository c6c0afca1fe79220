/*
 * upload.c - POST /item_explain and POST /v1/items.
 *
 * Bytes flow one way: libmicrohttpd hands each received span to the
 * multipart parser, whose callbacks feed one sink per part - the text into
 * a capped buffer, each file into the store (which hashes as it writes).
 * The first SNIFF_MAX bytes of a file are held back so its true type is
 * known before anything is stored: a file in the wrong group is refused
 * without touching the store, and the store gets the real Content-Type.
 *
 * Commit protocol (DESIGN.md): every blob is durable (put_commit) before
 * the catalog row that names it; the item is one catalog transaction; the
 * 201 goes out after it.  Any failure first rolls back: the blobs this
 * request created are deleted unless another request holds or references
 * them (pending.c), so a rejected request stores nothing.
 *
 * libmicrohttpd 0.9.75 cannot answer in the middle of a body.  A request
 * that fails mid-body is rolled back at once, then the rest of its body is
 * read and dropped so that the client - which is still sending - gets the
 * problem JSON instead of a reset connection; past --max-body the
 * connection is closed instead.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http_impl.h"
#include "mfu_auth.h"
#include "mfu_media.h"
#include "mfu_multipart.h"
#include "mfu_probe.h"
#include "mfu_names.h"

#define SNIFF_MAX MFU_MEDIA_SNIFF_LEN
#define IDEM_KEY_MAX 128
#define USERNAME_MAX MFU_USERNAME_MAX
/* Files sealed before their batch is published and probed: each holds a
 * descriptor until then (a request has one batch filling and up to RUNS
 * on their way), and 32 files share one sync.  A batch of 8 MiB is
 * published at once too, so that probing its files (a few ms per MiB of
 * picture) overlaps the arrival of the next ones.  With several runs at
 * once, one batch's syncs overlap another's probes. */
#define BATCH_MAX 32
#define BATCH_BYTES (8u << 20)
#define RUNS 3

enum part_kind { P_NONE, P_TEXT, P_FILE };
enum { F_CREATED = 1, F_PENDING = 2 };

/*
 * A sealed batch on its way: its syncs and links (publish), then the
 * probes of its files, on their own thread while the next batch arrives.
 * It holds copies of what it needs, as files[] may move meanwhile; the
 * request's thread reads its results once it has joined it.
 */
struct run {
  pthread_t thr;
  int running;                  /* thr must be joined */
  int cancel;                   /* atomic: the request failed, skip the
                                   probes not yet begun */
  struct mfu_store_batch *batch; /* owned: emptied by the publish */
  struct mfu_probe_pool *pool;
  unsigned timeout_ms;
  size_t first, n;              /* of files[first .. first + n) */
  int *created;                 /* per file, from the publish */
  int publish_rc;
  size_t njobs;                 /* one per distinct (bytes, group) */
  size_t *job_of;               /* file first + i gets jobs[job_of[i]] */
  struct mfu_probe_job *jobs;
  char (*sha)[MFU_SHA256_HEX];
  char (*type)[MFU_MEDIA_CTYPE_MAX];
};

struct upload {
  struct mfu_server *srv;
  const struct mfu_config *cfg;
  struct mfu_multipart mp;
  char *hdr;
  char username[USERNAME_MAX + 1];
  char idem_key[IDEM_KEY_MAX + 1];
  char replay_id[MFU_ID_HEX];   /* set: answer with this earlier item */
  int failed;
  int committed;
  struct problem prob;

  /* the part being received */
  enum part_kind kind;
  struct mfu_store_put *put;
  struct mfu_file cur;
  char declared[128];
  unsigned char sniff[SNIFF_MAX];
  size_t sniff_len;

  /* what has been received */
  char *text;
  size_t text_len;
  int have_text;
  struct mfu_file *files;
  int *flags;                   /* per file: F_CREATED | F_PENDING */
  size_t nfiles;
  size_t cap;
  /* files[published..nfiles) are sealed in batch; the ones before are
   * published, or on their way in runs[] (oldest first). */
  struct mfu_store_batch *batch;
  size_t published;
  uint64_t batch_bytes;         /* sealed since the last publish */
  struct run runs[RUNS];
  unsigned run_first, nruns;
  unsigned count[MFU_GROUP_COUNT];
};

static void file_free_strings(struct mfu_file *f)
{
  free(f->name);
  free(f->content_type);
  free(f->codec);
  free(f->ext);
  f->name = f->content_type = f->codec = f->ext = NULL;
}

static void run_discard(struct upload *up);

/* Forget the sealed files not yet published (a backend without batches
 * has stored them already: mark those created, for deletion).  Without
 * memory for the marks, those are left to gc. */
static void drop_sealed(struct upload *up)
{
  size_t i, n = up->nfiles - up->published;
  int *made = n ? calloc(n, sizeof(*made)) : NULL;

  if(up->batch && made) {
    mfu_store_batch_abort(up->batch, made);
    for(i = 0; i < n; i++) {
      if(made[i])
        up->flags[up->published + i] |= F_CREATED;
    }
  }
  mfu_store_batch_free(up->batch);
  up->batch = NULL;
  free(made);
  up->published = 0;
}

/* Undo everything stored so far; safe to call more than once. */
static void rollback(struct upload *up)
{
  size_t i;
  run_discard(up);
  mfu_store_put_abort(up->put);
  up->put = NULL;
  drop_sealed(up);
  for(i = 0; i < up->nfiles; i++) {
    if(up->flags[i] & F_PENDING)
      pending_release(&up->srv->pending, up->files[i].sha256);
  }
  for(i = 0; i < up->nfiles; i++) {
    if(up->flags[i] & F_CREATED)
      blob_delete_if_unused(up->srv, up->files[i].sha256);
    file_free_strings(&up->files[i]);
  }
  up->nfiles = 0;
}

/* Record the first failure; later ones are consequences of it. */
static int fail(struct upload *up, int rc, long index, int64_t limit,
                const char *field, const char *fmt, ...)
  __attribute__((format(printf, 6, 7)));

static int fail(struct upload *up, int rc, long index, int64_t limit,
                const char *field, const char *fmt, ...)
{
  va_list ap;
  if(!up->failed) {
    up->failed = 1;
    up->prob.rc = rc;
    up->prob.field = field;
    up->prob.index = index;
    up->prob.limit = limit;
    va_start(ap, fmt);
    vsnprintf(up->prob.detail, sizeof(up->prob.detail), fmt, ap);
    va_end(ap);
    atomic_fetch_add(&up->srv->metrics.uploads_failed, 1);
    if(rc == MFU_E_IO || rc == MFU_E_NOSPACE || rc == MFU_E_UNAVAILABLE)
      atomic_fetch_add(&up->srv->metrics.store_errors, 1);
  }
  rollback(up);
  return rc;
}

static const char *group_field(enum mfu_group g)
{
  return mfu_group_name(g);
}

static int group_of(const char *name, enum mfu_group *g)
{
  for(int i = 0; i < MFU_GROUP_COUNT; i++) {
    if(!strcmp(name, mfu_group_name((enum mfu_group)i))) {
      *g = (enum mfu_group)i;
      return 1;
    }
  }
  return 0;
}

static int begin_file(struct upload *up, enum mfu_group g,
                      const struct mfu_multipart_part *part)
{
  char clean[MFU_NAME_MAX + 1], ext[12];
  long idx = (long)up->count[g];
  size_t off = 0;
  int64_t duration = -1;
  int rc;

  if(!part->filename || !part->filename_len)
    return fail(up, MFU_E_FILENAME, idx, -1, group_field(g),
                "%s[%ld] is a file group but the part has no filename",
                group_field(g), idx);
  rc = mfu_name_clean(part->filename, part->filename_len, clean);
  if(rc == MFU_E_TEXT_UTF8)
    return fail(up, rc, idx, -1, group_field(g),
                "%s[%ld]: the filename is not valid UTF-8", group_field(g),
                idx);
  if(rc)
    return fail(up, rc, idx, -1, group_field(g),
                "%s[%ld]: the filename has no usable characters",
                group_field(g), idx);
  mfu_name_duration(clean, strlen(clean), &duration, &off);
  mfu_name_ext(clean + off, ext);
  memset(&up->cur, 0, sizeof(up->cur));
  up->cur.group = g;
  up->cur.index = up->count[g]++;
  up->cur.duration = duration;
  up->cur.duration_probed = -1;
  up->cur.name = strdup(clean + off);
  up->cur.ext = strdup(ext);
  if(!up->cur.name || !up->cur.ext) {
    file_free_strings(&up->cur);
    return fail(up, MFU_E_NOMEM, idx, -1, NULL, "out of memory");
  }
  snprintf(up->declared, sizeof(up->declared), "%s",
           part->content_type ? part->content_type : "");
  up->sniff_len = 0;
  up->kind = P_FILE;
  return MFU_OK;
}

static int on_part_begin(void *cls, const struct mfu_multipart_part *part)
{
  struct upload *up = cls;
  enum mfu_group g;

  if(!strcmp(part->name, "text")) {
    if(up->have_text)
      return fail(up, MFU_E_FIELD_DUPLICATE, -1, -1, "text",
                  "the field \"text\" appears more than once");
    up->have_text = 1;
    up->kind = P_TEXT;
    return MFU_OK;
  }
  if(group_of(part->name, &g))
    return begin_file(up, g, part);
  return fail(up, MFU_E_FIELD_UNKNOWN, -1, -1, NULL,
              "unknown field \"%.64s\"; the fields are text, images, "
              "audios and videos", part->name);
}

static int store_fail(struct upload *up, const struct mfu_file *f, int rc)
{
  return fail(up, rc, (long)f->index, -1, group_field(f->group),
              "%s[%u] \"%s\" could not be stored: %s", group_field(f->group),
              f->index, f->name, mfu_strerror(rc));
}

/* Enough bytes to know the true type (the declared one is a hint we do
 * not need): check the group, open the put, write the held-back bytes. */
static int start_put(struct upload *up)
{
  struct mfu_file *f = &up->cur;
  const char *group = group_field(f->group);
  char type[MFU_MEDIA_CTYPE_MAX];
  int rc;

  rc = mfu_media_sniff(up->srv->media, up->sniff, up->sniff_len, type,
                       sizeof(type));
  if(!rc)
    rc = mfu_media_group_allows(up->srv->media, group, type);
  if(rc == MFU_E_TYPE_MISMATCH || rc == MFU_E_TYPE_FORBIDDEN)
    return fail(up, rc, (long)f->index, -1, group,
                "%s[%u] \"%s\" is %s, which %s %s", group, f->index,
                f->name, type,
                rc == MFU_E_TYPE_MISMATCH ? "does not belong in"
                                          : "is not allowed in",
                group);
  if(rc)
    return fail(up, rc, (long)f->index, -1, group, "%s[%u]: %s", group,
                f->index, mfu_strerror(rc));
  f->content_type = strdup(type);
  if(!f->content_type)
    return fail(up, MFU_E_NOMEM, -1, -1, NULL, "out of memory");
  rc = mfu_store_put_begin(up->srv->store, type, &up->put);
  if(!rc && up->sniff_len)
    rc = mfu_store_put_write(up->put, up->sniff, up->sniff_len);
  return rc ? store_fail(up, &up->cur, rc) : MFU_OK;
}

static int text_data(struct upload *up, const char *at, size_t len)
{
  char *t;
  if(up->text_len + len > up->cfg->max_text)
    return fail(up, MFU_E_LIMIT_TEXT, -1, (int64_t)up->cfg->max_text, "text",
                "the text is larger than the limit of %llu bytes",
                (unsigned long long)up->cfg->max_text);
  t = realloc(up->text, up->text_len + len + 1);
  if(!t)
    return fail(up, MFU_E_NOMEM, -1, -1, NULL, "out of memory");
  memcpy(t + up->text_len, at, len);
  up->text = t;
  up->text_len += len;
  t[up->text_len] = '\0';
  return MFU_OK;
}

static int on_part_data(void *cls, const char *at, size_t len)
{
  struct upload *up = cls;
  struct mfu_file *f = &up->cur;
  int rc;

  if(up->kind == P_TEXT)
    return text_data(up, at, len);
  f->size += len;
  if(f->size > up->cfg->max_file)
    return fail(up, MFU_E_LIMIT_FILE, (long)f->index,
                (int64_t)up->cfg->max_file, group_field(f->group),
                "%s[%u] \"%s\" is larger than the limit of %llu bytes",
                group_field(f->group), f->index, f->name,
                (unsigned long long)up->cfg->max_file);
  if(!up->put) {
    size_t take = SNIFF_MAX - up->sniff_len;
    if(take > len)
      take = len;
    memcpy(up->sniff + up->sniff_len, at, take);
    up->sniff_len += take;
    at += take;
    len -= take;
    if(up->sniff_len < SNIFF_MAX)
      return MFU_OK;
    if((rc = start_put(up)))
      return rc;
  }
  if(len && (rc = mfu_store_put_write(up->put, at, len)))
    return store_fail(up, &up->cur, rc);
  return MFU_OK;
}

/* Room for one more file record. */
static int reserve_file(struct upload *up)
{
  if(up->nfiles == up->cap) {
    size_t cap = up->cap ? up->cap * 2 : 8;
    struct mfu_file *f = realloc(up->files, cap * sizeof(*f));
    int *c;
    if(f)
      up->files = f;
    c = f ? realloc(up->flags, cap * sizeof(*c)) : NULL;
    if(!c)
      return MFU_E_NOMEM;
    up->flags = c;
    up->cap = cap;
  }
  return MFU_OK;
}

/* What the media says of a stored file; a file that is not what its
 * group holds is refused like a content-type lie. */
static int probe_apply(struct upload *up, struct mfu_file *f,
                       const struct mfu_probe_job *job)
{
  const char *group = group_field(f->group);
  const struct mfu_probe_result *info = &job->res;

  if(job->rc == MFU_E_TYPE_MISMATCH)
    return fail(up, job->rc, (long)f->index, -1, group,
                "%s[%u] \"%s\" (%s) is not playable as %s", group,
                f->index, f->name, f->content_type,
                f->group == MFU_GROUP_IMAGES ? "an image"
                : f->group == MFU_GROUP_AUDIOS ? "audio" : "video");
  if(job->rc)
    return store_fail(up, f, job->rc);
  if(!info->known)
    return MFU_OK;
  f->duration_probed = info->duration;
  f->width = (int)info->width;
  f->height = (int)info->height;
  if(info->codec[0] && !(f->codec = strdup(info->codec)))
    return fail(up, MFU_E_NOMEM, -1, -1, NULL, "out of memory");
  return MFU_OK;
}

static void *run_thread(void *arg)
{
  struct run *r = arg;
  r->publish_rc = mfu_store_batch_publish(r->batch, r->created,
                                          MFU_STORE_SYNC_LATER);
  if(!r->publish_rc && !__atomic_load_n(&r->cancel, __ATOMIC_ACQUIRE))
    mfu_probe_run_many(r->pool, r->jobs, r->njobs, r->timeout_ms);
  return NULL;
}

static void run_free(struct run *r)
{
  mfu_store_batch_free(r->batch);
  free(r->created);
  free(r->jobs);
  free(r->job_of);
  free(r->sha);
  free(r->type);
  memset(r, 0, sizeof(*r));
}

/* Wait for a run; the blobs its publish linked are the request's to
 * delete if it fails, published or not. */
static void run_join(struct upload *up, struct run *r)
{
  if(r->running)
    pthread_join(r->thr, NULL);
  r->running = 0;
  for(size_t i = 0; i < r->n && r->created; i++) {
    if(r->created[i])
      up->flags[r->first + i] |= F_CREATED;
  }
}

static struct run *run_oldest(struct upload *up)
{
  return &up->runs[up->run_first];
}

static void run_pop(struct upload *up)
{
  run_free(run_oldest(up));
  up->run_first = (up->run_first + 1) % RUNS;
  up->nruns--;
}

/* Wait for every run and forget what it found; a failed request (a
 * client gone, a bad part) need not wait for probes nobody will read. */
static void run_discard(struct upload *up)
{
  for(unsigned i = 0; i < up->nruns; i++)
    __atomic_store_n(&up->runs[(up->run_first + i) % RUNS].cancel, 1,
                     __ATOMIC_RELEASE);
  while(up->nruns) {
    run_join(up, run_oldest(up));
    run_pop(up);
  }
}

/* The first of files[first..first + i] with the bytes and group of
 * files[first + i]. */
static size_t probe_same(const struct upload *up, size_t first, size_t i)
{
  const struct mfu_file *f = &up->files[first + i];
  for(size_t j = 0; j < i; j++) {
    const struct mfu_file *g = &up->files[first + j];
    if(g->group == f->group && !memcmp(g->sha256, f->sha256, 64))
      return j;
  }
  return i;
}

/* Run r for files[first..nfiles), sealed in batch (which r takes once
 * this succeeds): copies of what it needs, one probe per distinct
 * (bytes, group). */
static int run_prepare(struct upload *up, struct run *r,
                       struct mfu_store_batch *batch, size_t first)
{
  size_t i, n = up->nfiles - first;

  *r = (struct run){.pool = up->srv->probes,
                    .timeout_ms = (unsigned)up->cfg->probe_timeout,
                    .first = first, .n = n};
  r->created = calloc(n, sizeof(*r->created));
  r->job_of = calloc(n, sizeof(*r->job_of));
  r->jobs = calloc(n, sizeof(*r->jobs));
  r->sha = calloc(n, sizeof(*r->sha));
  r->type = calloc(n, sizeof(*r->type));
  if(!r->created || !r->job_of || !r->jobs || !r->sha || !r->type) {
    run_free(r);
    return MFU_E_NOMEM;
  }
  for(i = 0; i < n; i++) {
    const struct mfu_file *f = &up->files[first + i];
    size_t j = probe_same(up, first, i);
    if(j < i) {         /* the same bytes in the same group: same facts */
      r->job_of[i] = r->job_of[j];
      continue;
    }
    j = r->njobs++;
    r->job_of[i] = j;
    memcpy(r->sha[j], f->sha256, MFU_SHA256_HEX);
    r->jobs[j].group = group_field(f->group);
    r->jobs[j].sha256 = r->sha[j];
    r->jobs[j].size = f->size;
    snprintf(r->type[j], sizeof(r->type[j]), "%s", f->content_type);
    r->jobs[j].type = r->type[j];
  }
  r->batch = batch;
  return MFU_OK;
}

/* Wait for the oldest run and record what it did and found. */
static int run_finish(struct upload *up)
{
  struct run *r = run_oldest(up);
  struct mfu_store_stat st;
  size_t i;
  int rc;

  if(!up->nruns)
    return MFU_OK;
  run_join(up, r);
  /* A failure rolls back, which frees every run and empties files[]:
   * return at once. */
  if(r->publish_rc)
    return fail(up, r->publish_rc, -1, -1, NULL,
                "the files could not be stored: %s",
                mfu_strerror(r->publish_rc));
  for(i = 0; i < r->n; i++) {
    /* The bytes were there already: make sure no delete took them
     * before our pending mark. */
    if(!r->created[i] &&
       mfu_store_stat(up->srv->store, up->files[r->first + i].sha256, &st))
      return fail(up, MFU_E_UNAVAILABLE, -1, -1, NULL,
                  "a stored file vanished during the upload; retry");
    rc = probe_apply(up, &up->files[r->first + i], &r->jobs[r->job_of[i]]);
    if(rc)
      return rc;
  }
  run_pop(up);
  return MFU_OK;
}

/* Send the sealed files to their addresses and their probes: on a
 * thread while more files may come, here once the body is all in (or
 * when no thread starts).  The names are made durable once, at the end,
 * by the sync that also covers the names of every batch before. */
static int publish(struct upload *up, int last)
{
  size_t first = up->published;
  struct run *r;
  int rc;

  if(up->nruns == RUNS && (rc = run_finish(up)))
    return rc;
  if(first < up->nfiles) {
    r = &up->runs[(up->run_first + up->nruns) % RUNS];
    if(run_prepare(up, r, up->batch, first))
      return fail(up, MFU_E_NOMEM, -1, -1, NULL, "out of memory");
    up->batch = NULL;
    up->nruns++;
    up->published = up->nfiles;
    up->batch_bytes = 0;
    r->running = !last && !pthread_create(&r->thr, NULL, run_thread, r);
    if(!r->running)
      run_thread(r);
  }
  if(!last)
    return MFU_OK;
  while(up->nruns) {
    if((rc = run_finish(up)))
      return rc;
  }
  if(up->nfiles && (rc = mfu_store_sync(up->srv->store)))
    return fail(up, rc, -1, -1, NULL, "the files could not be stored: %s",
                mfu_strerror(rc));
  return MFU_OK;
}

static int end_file(struct upload *up)
{
  struct mfu_file *f = &up->cur;
  struct mfu_store_batch **b;
  uint64_t size;
  int rc;

  if(!up->put && (rc = start_put(up)))
    return rc;
  b = &up->batch;
  if((!*b && mfu_store_batch_new(up->srv->store, b)) || reserve_file(up))
    return fail(up, MFU_E_NOMEM, -1, -1, NULL, "out of memory");
  rc = mfu_store_batch_add(*b, up->put, f->sha256, &size);
  up->put = NULL;
  if(rc)
    return store_fail(up, f, rc);
  up->files[up->nfiles] = up->cur;
  up->flags[up->nfiles] = 0;
  up->nfiles++;
  memset(&up->cur, 0, sizeof(up->cur));
  /* Pending before the link, so that no delete in this server can take
   * the blob from the moment it has an address. */
  if(pending_add(&up->srv->pending, up->files[up->nfiles - 1].sha256))
    return fail(up, MFU_E_NOMEM, -1, -1, NULL, "out of memory");
  up->flags[up->nfiles - 1] = F_PENDING;
  up->batch_bytes += size;
  if(mfu_store_batch_count(*b) >= BATCH_MAX ||
     up->batch_bytes >= BATCH_BYTES)
    return publish(up, 0);
  return MFU_OK;
}

static int on_part_end(void *cls)
{
  struct upload *up = cls;
  enum part_kind k = up->kind;
  up->kind = P_NONE;
  return k == P_FILE ? end_file(up) : MFU_OK;
}

static const struct mfu_multipart_callbacks callbacks = {
  .on_part_begin = on_part_begin,
  .on_part_data = on_part_data,
  .on_part_end = on_part_end,
};

static int idem_key_ok(const char *k)
{
  size_t n = strlen(k);
  if(n == 0 || n > IDEM_KEY_MAX)
    return 0;
  for(size_t i = 0; i < n; i++) {
    if(k[i] < 0x21 || k[i] > 0x7e)
      return 0;
  }
  return 1;
}

/* Who uploads: the checks that need no body. */
static int check_user(struct request *req, struct MHD_Connection *conn,
                      struct problem *p, char *username)
{
  const char *u = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND,
                                              "username");
  return auth_request_user(req, conn, p, u, username, USERNAME_MAX + 1);
}

static int check_body(struct request *req, struct MHD_Connection *conn,
                      struct problem *p, char *boundary, size_t *blen)
{
  const struct mfu_config *cfg = req->srv->cfg;
  const char *ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                               "Content-Type");
  const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                               "Content-Length");
  int rc;
  if(cl) {
    char *end;
    unsigned long long n = strtoull(cl, &end, 10);
    if(*end == '\0' && n > cfg->max_body) {
      problem_set(p, MFU_E_LIMIT_BODY, NULL, -1, (int64_t)cfg->max_body,
                  "the body is %llu bytes; the limit is %llu", n,
                  (unsigned long long)cfg->max_body);
      return MFU_E_LIMIT_BODY;
    }
  }
  rc = ct ? mfu_multipart_boundary(ct, strlen(ct), boundary, blen)
          : MFU_E_MEDIA_TYPE;
  if(rc == MFU_E_MEDIA_TYPE)
    problem_set(p, rc, NULL, -1, -1,
                "the body must be multipart/form-data, not %.100s",
                ct ? ct : "untyped");
  else if(rc)
    problem_set(p, rc, NULL, -1, -1,
                "the Content-Type has no valid boundary parameter "
                "(1 to 70 characters, RFC 2046)");
  return rc;
}

static int check_idem(struct request *req, struct MHD_Connection *conn,
                      struct problem *p, struct upload *up)
{
  const char *k = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                              "Idempotency-Key");
  int rc;
  if(!k)
    return MFU_OK;
  if(!idem_key_ok(k)) {
    problem_set(p, MFU_E_INVAL, NULL, -1, IDEM_KEY_MAX,
                "the Idempotency-Key must be 1 to %d visible ASCII "
                "characters", IDEM_KEY_MAX);
    return MFU_E_INVAL;
  }
  strcpy(up->idem_key, k);
  rc = mfu_catalog_idem_get(req->srv->catalog, up->username, k,
                            (int64_t)req->srv->cfg->idem_ttl, up->replay_id);
  if(rc == MFU_E_NOTFOUND) {
    up->replay_id[0] = '\0';
    return MFU_OK;
  }
  if(rc)
    problem_set(p, rc, NULL, -1, -1, "the catalog cannot be read: %s",
                mfu_strerror(rc));
  return rc;
}

int upload_begin(struct request *req, struct MHD_Connection *conn,
                 struct problem *p)
{
  const struct mfu_config *cfg = req->srv->cfg;
  char boundary[MFU_MULTIPART_BOUNDARY_MAX + 1];
  struct mfu_multipart_limits lim;
  struct upload *up;
  size_t blen;
  int rc;

  up = calloc(1, sizeof(*up));
  if(!up) {
    problem_set(p, MFU_E_NOMEM, NULL, -1, -1, "out of memory");
    return MFU_E_NOMEM;
  }
  up->srv = req->srv;
  up->cfg = cfg;
  req->up = up;
  atomic_fetch_add(&req->srv->metrics.in_flight, 1);
  if((rc = check_user(req, conn, p, up->username)) ||
     (rc = check_body(req, conn, p, boundary, &blen)) ||
     (rc = check_idem(req, conn, p, up)))
    return rc;
  up->hdr = malloc(cfg->max_header);
  if(!up->hdr) {
    problem_set(p, MFU_E_NOMEM, NULL, -1, -1, "out of memory");
    return MFU_E_NOMEM;
  }
  mfu_multipart_limits_default(&lim);
  lim.max_header_line = cfg->max_header;
  lim.max_parts = cfg->max_parts;
  lim.max_headers = cfg->max_part_headers;
  rc = mfu_multipart_init(&up->mp, boundary, blen, &lim, &callbacks, up,
                          up->hdr, cfg->max_header);
  if(rc)
    problem_set(p, rc, NULL, -1, -1, "bad multipart boundary");
  return rc;
}

/* A parser error that no callback explained yet. */
static void parser_failed(struct upload *up, int rc)
{
  if(up->failed)
    return;
  fail(up, rc, -1, -1, NULL, "%s at byte %llu of the body",
       mfu_multipart_errmsg(&up->mp)[0] ? mfu_multipart_errmsg(&up->mp)
                                        : mfu_strerror(rc),
       (unsigned long long)mfu_multipart_errpos(&up->mp));
  if(rc == MFU_E_MP_PARTS)
    up->prob.limit = (int64_t)up->cfg->max_parts;
}

enum MHD_Result upload_feed(struct request *req, struct MHD_Connection *conn,
                            const char *data, size_t *size)
{
  struct upload *up = req->up;
  size_t n = *size;
  int rc;
  (void)conn;

  *size = 0;
  req->body_bytes += n;
  atomic_fetch_add(&req->srv->metrics.bytes_in, n);
  if(req->body_bytes > up->cfg->max_body) {
    if(up->failed)
      return MHD_NO;    /* drained as far as we go: close */
    fail(up, MFU_E_LIMIT_BODY, -1, (int64_t)up->cfg->max_body, NULL,
         "the body is larger than the limit of %llu bytes",
         (unsigned long long)up->cfg->max_body);
    return MHD_YES;
  }
  if(up->failed || up->replay_id[0])
    return MHD_YES;
  rc = mfu_multipart_execute(&up->mp, data, n);
  if(rc)
    parser_failed(up, rc);
  return MHD_YES;
}

/* Files in record order: by group, then by their index in the group. */
static int by_group(const void *a, const void *b)
{
  const struct mfu_file *x = a, *y = b;
  if(x->group != y->group)
    return x->group < y->group ? -1 : 1;
  return x->index < y->index ? -1 : x->index > y->index;
}

static enum MHD_Result answer_item(struct request *req,
                                   struct MHD_Connection *conn,
                                   const char *id, unsigned status)
{
  struct mfu_item *item = NULL;
  int rc = mfu_catalog_item_get(req->srv->catalog, id, &item);
  json_t *o;
  if(rc)
    return respond_error(req, conn, rc, "item %s cannot be read: %s", id,
                         mfu_strerror(rc));
  o = item_json(req->srv, item);
  mfu_item_free(item);
  return respond_json(req, conn, status, o);
}

/* Everything arrived and was stored: record the item. */
static int commit(struct upload *up, struct mfu_item *item)
{
  struct mfu_server *srv = up->srv;
  int rc;

  if(up->text && !mfu_utf8_valid(up->text, up->text_len))
    return fail(up, MFU_E_TEXT_UTF8, -1, -1, "text",
                "the text is not valid UTF-8");
  if(up->text && memchr(up->text, '\0', up->text_len))
    return fail(up, MFU_E_TEXT_UTF8, -1, -1, "text",
                "the text contains a NUL character");
  if(!up->nfiles && !up->text_len)
    return fail(up, MFU_E_EMPTY, -1, -1, NULL,
                "the upload has neither text nor files");
  if(up->nfiles)
    qsort(up->files, up->nfiles, sizeof(*up->files), by_group);
  memset(item, 0, sizeof(*item));
  item->created_at = (int64_t)time(NULL);
  mfu_oid_next(&srv->oid, item->created_at, item->id);
  item->username = up->username;
  item->text = up->text ? up->text : "";
  item->files = up->files;
  item->nfiles = up->nfiles;
  item->idem_key = up->idem_key[0] ? up->idem_key : NULL;
  rc = mfu_catalog_item_insert(srv->catalog, item);
  if(rc == MFU_E_EXISTS && item->idem_key &&
     mfu_catalog_idem_get(srv->catalog, up->username, up->idem_key,
                          (int64_t)up->cfg->idem_ttl, up->replay_id) == 0) {
    rollback(up);   /* a concurrent retry won; answer with its item */
    return MFU_OK;
  }
  if(rc) {
    atomic_fetch_add(&srv->metrics.catalog_errors, 1);
    return fail(up, rc, -1, -1, NULL, "the item could not be recorded: %s",
                mfu_strerror(rc));
  }
  up->committed = 1;
  for(size_t i = 0; i < up->nfiles; i++) {
    pending_release(&srv->pending, up->files[i].sha256);
    up->flags[i] &= ~F_PENDING;
    atomic_fetch_add(&srv->metrics.bytes_stored, up->files[i].size);
  }
  atomic_fetch_add(&srv->metrics.files_stored, up->nfiles);
  atomic_fetch_add(&srv->metrics.uploads_ok, 1);
  return MFU_OK;
}

enum MHD_Result upload_finish(struct request *req,
                              struct MHD_Connection *conn)
{
  struct upload *up = req->up;
  struct mfu_item item;
  struct MHD_Response *resp;
  char *text;
  json_t *o;
  int rc;

  if(!up->failed && !up->replay_id[0] &&
     (rc = mfu_multipart_finish(&up->mp)))
    parser_failed(up, rc);
  if(!up->failed && !up->replay_id[0] && !publish(up, 1))
    commit(up, &item);
  if(up->failed)
    return respond_problem(req, conn, &up->prob);
  if(up->replay_id[0])
    return answer_item(req, conn, up->replay_id, 200);
  o = item_json(req->srv, &item);
  text = o ? json_dumps(o, JSON_COMPACT) : NULL;
  json_decref(o);
  if(!text)
    return MHD_NO;
  resp = MHD_create_response_from_buffer(strlen(text), text,
                                         MHD_RESPMEM_MUST_FREE);
  if(!resp) {
    free(text);
    return MHD_NO;
  }
  MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                          "application/json; charset=utf-8");
  {
    char loc[64];
    snprintf(loc, sizeof(loc), "/v1/items/%s", item.id);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, loc);
  }
  req->status = 201;
  rc = MHD_queue_response(conn, 201, resp);
  MHD_destroy_response(resp);
  return (enum MHD_Result)rc;
}

void upload_free(struct upload *up)
{
  struct mfu_server *srv = up->srv;
  if(!up->committed)
    rollback(up);
  run_discard(up);
  mfu_store_batch_free(up->batch);
  file_free_strings(&up->cur);
  for(size_t i = 0; i < up->nfiles; i++)
    file_free_strings(&up->files[i]);
  free(up->files);
  free(up->flags);
  free(up->text);
  free(up->hdr);
  free(up);
  atomic_fetch_add(&srv->metrics.in_flight, -1);
}
