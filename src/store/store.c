/*
 * store.c - pick a store backend by URL scheme and forward every call to it.
 *
 * The backends know nothing of URLs beyond what follows their scheme, and
 * the callers know nothing of backends: this file is the only place where
 * the two meet.  A backend that is not built in (S3 needs store_s3.c)
 * answers MFU_E_INVAL with a message on stderr, so a misconfigured server
 * fails at start-up, not on its first upload.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_impl.h"

static int has_prefix(const char *s, const char *prefix, const char **rest)
{
  size_t n = strlen(prefix);

  if(strncmp(s, prefix, n))
    return 0;
  *rest = s + n;
  return 1;
}

int mfu_store_open(const char *url, struct mfu_store **out)
{
  const char *rest;

  *out = NULL;
  if(!url)
    return MFU_E_INVAL;
  if(has_prefix(url, "file://", &rest))
    return mfu_store_fs_open(rest, out);
  if(has_prefix(url, "s3://", &rest)) {
#ifdef MFU_HAVE_S3
    return mfu_store_s3_open(rest, out);
#else
    fprintf(stderr, "mfu: store %s: this build has no S3 support\n", url);
    return MFU_E_INVAL;
#endif
  }
  fprintf(stderr, "mfu: store %s: expected file://DIR or s3://BUCKET\n",
          url);
  return MFU_E_INVAL;
}

void mfu_store_close(struct mfu_store *s)
{
  if(s)
    s->ops->close(s);
}

int mfu_store_ping(struct mfu_store *s)
{
  return s->ops->ping(s);
}

int mfu_store_put_begin(struct mfu_store *s, const char *content_type,
                        struct mfu_store_put **out)
{
  *out = NULL;
  return s->ops->put_begin(s, content_type, out);
}

int mfu_store_put_write(struct mfu_store_put *w, const void *buf, size_t len)
{
  if(!len)
    return MFU_OK;
  return w->store->ops->put_write(w, buf, len);
}

int mfu_store_put_commit(struct mfu_store_put *w, char *sha256_hex,
                         uint64_t *size, int *created)
{
  return w->store->ops->put_commit(w, sha256_hex, size, created);
}

void mfu_store_put_abort(struct mfu_store_put *w)
{
  if(w)
    w->store->ops->put_abort(w);
}

struct mfu_store_batch {
  struct mfu_store *s;
  size_t n, cap;
  struct mfu_store_put **puts; /* sealed; NULL where committed at once */
  int *created;                /* of the ones committed at once */
};

int mfu_store_batch_new(struct mfu_store *s, struct mfu_store_batch **out)
{
  struct mfu_store_batch *b = calloc(1, sizeof(*b));

  *out = NULL;
  if(!b)
    return MFU_E_NOMEM;
  b->s = s;
  *out = b;
  return MFU_OK;
}

static int batch_grow(struct mfu_store_batch *b)
{
  size_t cap = b->cap ? b->cap * 2 : 16;
  struct mfu_store_put **p = realloc(b->puts, cap * sizeof(*p));
  int *c;

  if(p)
    b->puts = p;
  c = p ? realloc(b->created, cap * sizeof(*c)) : NULL;
  if(!c)
    return MFU_E_NOMEM;
  b->created = c;
  b->cap = cap;
  return MFU_OK;
}

int mfu_store_batch_add(struct mfu_store_batch *b, struct mfu_store_put *w,
                        char *sha256_hex, uint64_t *size)
{
  const struct store_ops *ops = b->s->ops;
  int rc;

  if(b->n == b->cap && (rc = batch_grow(b))) {
    mfu_store_put_abort(w);
    return rc;
  }
  b->puts[b->n] = NULL;
  b->created[b->n] = 0;
  if(ops->put_seal) {
    rc = ops->put_seal(w, sha256_hex, size);
    if(!rc)
      b->puts[b->n] = w;
  }
  else
    rc = ops->put_commit(w, sha256_hex, size, &b->created[b->n]);
  if(!rc)
    b->n++;
  return rc;
}

int mfu_store_sync(struct mfu_store *s)
{
  return s->ops->sync ? s->ops->sync(s) : MFU_OK;
}

size_t mfu_store_batch_count(const struct mfu_store_batch *b)
{
  return b->n;
}

int mfu_store_batch_publish(struct mfu_store_batch *b, int *created,
                            unsigned flags)
{
  int rc = MFU_OK;

  if(b->n && b->s->ops->publish)
    rc = b->s->ops->publish(b->s, b->puts, b->n, created, flags);
  else
    memcpy(created, b->created, b->n * sizeof(*created));
  b->n = 0;
  return rc;
}

void mfu_store_batch_abort(struct mfu_store_batch *b, int *created)
{
  for(size_t i = 0; i < b->n; i++) {
    mfu_store_put_abort(b->puts[i]);
    created[i] = b->puts[i] ? 0 : b->created[i];
  }
  b->n = 0;
}

void mfu_store_batch_free(struct mfu_store_batch *b)
{
  if(!b)
    return;
  for(size_t i = 0; i < b->n; i++)
    mfu_store_put_abort(b->puts[i]);
  free(b->puts);
  free(b->created);
  free(b);
}

/* Every address that reaches a backend is 64 lower-case hex digits, so no
 * backend can be walked out of its directory or bucket prefix. */
static int valid_hex(const char *h)
{
  size_t i;

  if(!h)
    return 0;
  for(i = 0; i < 64; i++) {
    if(!((h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'f')))
      return 0;
  }
  return h[64] == '\0';
}

int mfu_store_stat(struct mfu_store *s, const char *sha256_hex,
                   struct mfu_store_stat *st)
{
  if(!valid_hex(sha256_hex))
    return MFU_E_INVAL;
  return s->ops->stat(s, sha256_hex, st);
}

int mfu_store_read_open(struct mfu_store *s, const char *sha256_hex,
                        uint64_t offset, uint64_t len,
                        struct mfu_store_reader **out)
{
  *out = NULL;
  if(!valid_hex(sha256_hex))
    return MFU_E_INVAL;
  return s->ops->read_open(s, sha256_hex, offset, len, out);
}

int mfu_store_read(struct mfu_store_reader *r, void *buf, size_t cap,
                   size_t *n)
{
  *n = 0;
  if(!cap)
    return MFU_OK;
  return r->store->ops->read(r, buf, cap, n);
}

void mfu_store_reader_close(struct mfu_store_reader *r)
{
  if(r)
    r->store->ops->reader_close(r);
}

int mfu_store_delete(struct mfu_store *s, const char *sha256_hex)
{
  if(!valid_hex(sha256_hex))
    return MFU_E_INVAL;
  return s->ops->del(s, sha256_hex);
}

int mfu_store_list(struct mfu_store *s,
                   int (*fn)(void *cls, const char *sha256_hex,
                             const struct mfu_store_stat *st),
                   void *cls)
{
  return s->ops->list(s, fn, cls);
}

int mfu_store_sweep_tmp(struct mfu_store *s, time_t max_age,
                        unsigned *removed)
{
  unsigned dummy;

  if(!removed)
    removed = &dummy;
  *removed = 0;
  return s->ops->sweep_tmp(s, max_age, removed);
}
