/*
 * upload.c - the upload description and mfu_client_put(): one
 * multipart/form-data POST (RFC 7578) whose file parts libcurl pulls
 * through read callbacks, so no file is ever held in memory.
 *
 * Files are opened and checked before the request starts: a missing or
 * unreadable file must fail the whole upload before the server sees a
 * byte, not halfway through a 1 GiB body.
 */
#include "client_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mfu_util.h"

struct mfu_upload_file {
  enum mfu_group group;
  char *path;
  char *filename;       /* as sent: "<duration>_<name>" or name */
  char *name;           /* display name */
};

struct mfu_upload {
  char *text;
  size_t text_len;
  char *text_path;
  struct mfu_upload_file *files;
  size_t nfiles;
  size_t cap;
  char *key;
};

struct mfu_upload *mfu_upload_new(void)
{
  return calloc(1, sizeof(struct mfu_upload));
}

void mfu_upload_free(struct mfu_upload *u)
{
  size_t i;

  if(!u)
    return;
  for(i = 0; i < u->nfiles; i++) {
    free(u->files[i].path);
    free(u->files[i].filename);
    free(u->files[i].name);
  }
  free(u->files);
  free(u->text);
  free(u->text_path);
  free(u->key);
  free(u);
}

int mfu_upload_set_text(struct mfu_upload *u, const char *text, size_t len)
{
  char *copy;

  if(!u || (!text && len) || !mfu_utf8_valid(text ? text : "", len))
    return MFU_CLIENT_E_INVAL;
  copy = malloc(len + 1);
  if(!copy)
    return MFU_CLIENT_E_NOMEM;
  if(len)
    memcpy(copy, text, len);
  copy[len] = '\0';
  free(u->text);
  free(u->text_path);
  u->text_path = NULL;
  u->text = copy;
  u->text_len = len;
  return MFU_CLIENT_OK;
}

int mfu_upload_set_text_file(struct mfu_upload *u, const char *path)
{
  char *copy;

  if(!u || !path || !path[0])
    return MFU_CLIENT_E_INVAL;
  copy = strdup(path);
  if(!copy)
    return MFU_CLIENT_E_NOMEM;
  free(u->text);
  u->text = NULL;
  u->text_len = 0;
  free(u->text_path);
  u->text_path = copy;
  return MFU_CLIENT_OK;
}

int mfu_upload_add_file(struct mfu_upload *u, enum mfu_group g,
                        const char *path, long long duration,
                        const char *name)
{
  struct mfu_upload_file f;

  if(!u || !path || !path[0] || !mfu_group_name(g) ||
     (duration < 0 && duration != MFU_DURATION_NONE))
    return MFU_CLIENT_E_INVAL;
  if(!name)
    name = mfu_basename(path);
  if(!mfu_name_ok(name))
    return MFU_CLIENT_E_INVAL;
  if(u->nfiles == u->cap) {
    size_t cap = u->cap ? 2 * u->cap : 8;
    struct mfu_upload_file *a = realloc(u->files, cap * sizeof(*a));
    if(!a)
      return MFU_CLIENT_E_NOMEM;
    u->files = a;
    u->cap = cap;
  }
  f.group = g;
  f.path = strdup(path);
  f.name = strdup(name);
  f.filename = mfu_filename_build(duration, name);
  if(!f.path || !f.name || !f.filename) {
    free(f.path);
    free(f.name);
    free(f.filename);
    return MFU_CLIENT_E_NOMEM;
  }
  u->files[u->nfiles++] = f;
  return MFU_CLIENT_OK;
}

int mfu_upload_set_idempotency_key(struct mfu_upload *u, const char *key)
{
  char *copy;

  if(!u || !key || !mfu_header_value_ok(key, MFU_MAX_KEY) || strchr(key, ' '))
    return MFU_CLIENT_E_INVAL;
  copy = strdup(key);
  if(!copy)
    return MFU_CLIENT_E_NOMEM;
  free(u->key);
  u->key = copy;
  return MFU_CLIENT_OK;
}

/* ---- streaming ------------------------------------------------------ */

static size_t src_read(char *buf, size_t size, size_t n, void *arg)
{
  struct mfu_src *s = arg;
  size_t want = size * n;
  ssize_t got;

  if(s->call && s->index < s->call->nfiles)
    s->call->cur = s->index;
  if(s->pos >= s->size)
    return 0;
  if(want > s->size - s->pos)
    want = (size_t)(s->size - s->pos);
  do
    got = read(s->fd, buf, want);
  while(got < 0 && errno == EINTR);
  if(got < 0) {
    s->err = errno;
    return CURL_READFUNC_ABORT;
  }
  if(!got) {
    /* The Content-Length is already promised: a short file cannot be
     * sent honestly, so the request is abandoned. */
    s->err = -1;
    return CURL_READFUNC_ABORT;
  }
  s->pos += (uint64_t)got;
  return (size_t)got;
}

static int src_seek(void *arg, curl_off_t offset, int origin)
{
  struct mfu_src *s = arg;
  off_t to;

  if(origin != SEEK_SET || offset < 0 || (uint64_t)offset > s->size)
    return CURL_SEEKFUNC_CANTSEEK;
  to = lseek(s->fd, (off_t)offset, SEEK_SET);
  if(to < 0)
    return CURL_SEEKFUNC_FAIL;
  s->pos = (uint64_t)offset;
  return CURL_SEEKFUNC_OK;
}

/* Open and check one input; the reason goes to the client's detail. */
static int src_open(struct mfu_client *c, struct mfu_src *s)
{
  struct stat st;

  s->fd = open(s->path, O_RDONLY | O_CLOEXEC);
  if(s->fd < 0)
    return mfu_client_fail(c, MFU_CLIENT_E_FILE, "%s: %s", s->path,
                           strerror(errno));
  if(fstat(s->fd, &st))
    return mfu_client_fail(c, MFU_CLIENT_E_FILE, "%s: %s", s->path,
                           strerror(errno));
  if(!S_ISREG(st.st_mode))
    return mfu_client_fail(c, MFU_CLIENT_E_FILE, "%s: %s", s->path,
                           S_ISDIR(st.st_mode) ? "is a directory"
                                               : "not a regular file");
  /* Reading one byte proves the file is readable (permissions alone do
   * not: root, ACLs, FUSE); pread leaves the offset alone. */
  if(st.st_size > 0) {
    char b;
    if(pread(s->fd, &b, 1, 0) < 0)
      return mfu_client_fail(c, MFU_CLIENT_E_FILE, "%s: %s", s->path,
                             strerror(errno));
  }
  s->size = (uint64_t)st.st_size;
  return MFU_CLIENT_OK;
}

struct put {
  struct mfu_call k;    /* first: the hooks get &put.k */
  const struct mfu_upload *u;
};

static int add_src_part(curl_mime *m, struct mfu_src *s, const char *field,
                        const char *filename, const char *type)
{
  curl_mimepart *part = curl_mime_addpart(m);

  if(!part || curl_mime_name(part, field) ||
     curl_mime_data_cb(part, (curl_off_t)s->size, src_read, src_seek, NULL,
                       s))
    return MFU_CLIENT_E_NOMEM;
  if(filename && curl_mime_filename(part, filename))
    return MFU_CLIENT_E_NOMEM;
  if(type && curl_mime_type(part, type))
    return MFU_CLIENT_E_NOMEM;
  return MFU_CLIENT_OK;
}

/* Build this attempt's body from the start of every file. */
static int put_prepare(struct mfu_call *k)
{
  struct put *p = (struct put *)k;
  const struct mfu_upload *u = p->u;
  size_t i;
  int rc;

  if(k->mime)
    curl_mime_free(k->mime);
  k->mime = curl_mime_init(k->c->h);
  if(!k->mime)
    return MFU_CLIENT_E_NOMEM;
  k->cur = 0;
  for(i = 0; i < k->nsrcs; i++) {
    struct mfu_src *s = &k->srcs[i];
    if(lseek(s->fd, 0, SEEK_SET) < 0)
      return mfu_client_fail(k->c, MFU_CLIENT_E_FILE, "%s: %s", s->path,
                             strerror(errno));
    s->pos = 0;
    s->err = 0;
  }
  if(u->text) {
    curl_mimepart *part = curl_mime_addpart(k->mime);
    if(!part || curl_mime_name(part, "text") ||
       curl_mime_data(part, u->text, u->text_len))
      return MFU_CLIENT_E_NOMEM;
  }
  else if(u->text_path) {
    /* No filename: a plain field, streamed (RFC 7578 §4.2 makes the
     * filename optional). */
    rc = add_src_part(k->mime, &k->srcs[k->nfiles], "text", NULL, NULL);
    if(rc)
      return rc;
  }
  for(i = 0; i < u->nfiles; i++) {
    const struct mfu_upload_file *f = &u->files[i];
    rc = add_src_part(k->mime, &k->srcs[i], mfu_group_name(f->group),
                      f->filename, mfu_type_from_name(f->name));
    if(rc)
      return rc;
  }
  return MFU_CLIENT_OK;
}

static int put_headers(struct mfu_call *k, const struct mfu_upload *u)
{
  char key[33];
  char *h;
  struct curl_slist *l;

  if(!u->key && mfu_random_key(key))
    return MFU_CLIENT_E_NOMEM;
  if(asprintf(&h, "Idempotency-Key: %s", u->key ? u->key : key) < 0)
    return MFU_CLIENT_E_NOMEM;
  l = curl_slist_append(k->headers, h);
  free(h);
  if(!l)
    return MFU_CLIENT_E_NOMEM;
  k->headers = l;
  l = curl_slist_append(k->headers, "Accept: application/json");
  if(!l)
    return MFU_CLIENT_E_NOMEM;
  k->headers = l;
  return MFU_CLIENT_OK;
}

static int open_all(struct mfu_client *c, struct put *p)
{
  const struct mfu_upload *u = p->u;
  struct mfu_call *k = &p->k;
  size_t n = u->nfiles + (u->text_path ? 1 : 0);
  size_t i;
  int rc;

  k->srcs = calloc(n ? n : 1, sizeof(*k->srcs));
  if(!k->srcs)
    return MFU_CLIENT_E_NOMEM;
  for(i = 0; i < n; i++)
    k->srcs[i].fd = -1;
  k->nsrcs = n;
  k->nfiles = u->nfiles;
  for(i = 0; i < n; i++) {
    struct mfu_src *s = &k->srcs[i];
    s->path = i < u->nfiles ? u->files[i].path : u->text_path;
    s->name = i < u->nfiles ? u->files[i].name : NULL;
    s->call = k;
    s->index = i;
    rc = src_open(c, s);
    if(rc)
      return rc;
  }
  return MFU_CLIENT_OK;
}

static void close_all(struct mfu_call *k)
{
  size_t i;

  for(i = 0; i < k->nsrcs; i++) {
    if(k->srcs[i].fd >= 0)
      close(k->srcs[i].fd);
  }
  free(k->srcs);
  k->srcs = NULL;
  k->nsrcs = 0;
}

int mfu_client_put(struct mfu_client *c, const struct mfu_upload *u,
                   json_t **record)
{
  struct put p;
  int rc;

  if(!c || !u || !record)
    return MFU_CLIENT_E_INVAL;
  *record = NULL;
  c->status = 0;
  c->code[0] = '\0';
  rc = mfu_call_init(c, &p.k, "POST", "/v1/items");
  p.u = u;
  if(!rc && c->user)
    rc = mfu_url_add_query(&p.k.url, "username", c->user);
  if(!rc)
    rc = put_headers(&p.k, u);
  if(!rc) {
    /* mfu_call_run() clears the last error: keep a file failure. */
    rc = open_all(c, &p);
    if(rc) {
      close_all(&p.k);
      mfu_call_free(&p.k);
      return rc;
    }
    p.k.prepare = put_prepare;
    rc = mfu_call_run(c, &p.k);
  }
  if(!rc)
    rc = mfu_answer_json(c, &p.k, record);
  close_all(&p.k);
  mfu_call_free(&p.k);
  return rc;
}
