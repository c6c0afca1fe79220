/*
 * download.c - mfu_client_download(): GET a file into a local path,
 * resuming a partial one with a Range request (RFC 9110 §14.2).  Blobs are
 * content-addressed and never change, so the bytes already on disk are a
 * prefix of the answer and no If-Range validator is needed.
 */
#include "client_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

struct dl {
  struct mfu_call k;    /* first: the hooks get &dl.k */
  const char *path;
};

static int add_header(struct curl_slist **l, const char *fmt, const char *v)
{
  char *h;
  struct curl_slist *n;

  if(asprintf(&h, fmt, v) < 0)
    return MFU_CLIENT_E_NOMEM;
  n = curl_slist_append(*l, h);
  free(h);
  if(!n)
    return MFU_CLIENT_E_NOMEM;
  *l = n;
  return MFU_CLIENT_OK;
}

/* Each attempt starts where the file ends now, so a retry after a broken
 * transfer keeps what already arrived. */
static int dl_prepare(struct mfu_call *k)
{
  struct dl *d = (struct dl *)k;
  struct mfu_client *c = k->c;
  struct stat st;
  char range[40];
  off_t end;
  int rc = MFU_CLIENT_OK;

  if(fstat(k->out_fd, &st))
    return mfu_client_fail(c, MFU_CLIENT_E_OUTPUT, "%s: %s", d->path,
                           strerror(errno));
  end = lseek(k->out_fd, 0, SEEK_END);
  if(end < 0)
    return mfu_client_fail(c, MFU_CLIENT_E_OUTPUT, "%s: %s", d->path,
                           strerror(errno));
  k->out_base = (uint64_t)st.st_size;
  curl_slist_free_all(k->headers);
  k->headers = NULL;
  /* The record's url may point at a CDN or a bucket (--public-url): the
   * token is for our server only. */
  if(c->token && !strncmp(k->url, c->base, strlen(c->base)) &&
     (k->url[strlen(c->base)] == '/' || !k->url[strlen(c->base)]))
    rc = add_header(&k->headers, "Authorization: Bearer %s", c->token);
  if(!rc && k->out_base) {
    snprintf(range, sizeof(range), "%llu-",
             (unsigned long long)k->out_base);
    rc = add_header(&k->headers, "Range: bytes=%s", range);
  }
  return rc;
}

/* After a 416 the local file is as long as the resource or longer: ask
 * for its length to tell which. */
static int remote_size(struct mfu_client *c, const char *url, int64_t *len)
{
  struct mfu_call k;
  curl_off_t cl = -1;
  int rc;

  rc = mfu_call_init(c, &k, "HEAD", "/");
  if(!rc) {
    free(k.url);
    k.url = strdup(url);
    if(!k.url)
      rc = MFU_CLIENT_E_NOMEM;
  }
  if(!rc)
    rc = mfu_call_run(c, &k);
  if(!rc)
    curl_easy_getinfo(c->h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
  *len = cl;
  mfu_call_free(&k);
  return rc;
}

static int full_url(struct mfu_client *c, const char *url, char **out)
{
  if(!strncasecmp(url, "http://", 7) || !strncasecmp(url, "https://", 8)) {
    *out = strdup(url);
    return *out ? MFU_CLIENT_OK : MFU_CLIENT_E_NOMEM;
  }
  if(url[0] != '/')
    return MFU_CLIENT_E_INVAL;
  return mfu_url_join(c->base, url, out);
}

static int fetch(struct mfu_client *c, struct dl *d, const char *url)
{
  int64_t len;
  int rc;

  rc = mfu_call_run(c, &d->k);
  if(rc || c->status != 416)
    return rc;
  rc = remote_size(c, url, &len);
  if(rc)
    return rc;
  if(len >= 0 && (uint64_t)len == d->k.out_base)
    return MFU_CLIENT_OK;
  /* Longer than the resource: not a prefix of it, start over. */
  if(ftruncate(d->k.out_fd, 0))
    return mfu_client_fail(c, MFU_CLIENT_E_OUTPUT, "%s: %s", d->path,
                           strerror(errno));
  rc = mfu_call_run(c, &d->k);
  if(!rc && c->status == 416)
    rc = mfu_client_fail(c, MFU_CLIENT_E_PROTOCOL,
                         "%s: 416 to a request without Range", url);
  return rc;
}

int mfu_client_download(struct mfu_client *c, const char *url,
                        const char *path)
{
  struct dl d;
  struct stat st;
  int created;
  int rc;

  if(!c || !url || !path || !path[0])
    return MFU_CLIENT_E_INVAL;
  c->status = 0;
  c->code[0] = '\0';
  memset(&d, 0, sizeof(d));
  d.k.out_fd = -1;
  d.path = path;
  rc = mfu_call_init(c, &d.k, "GET", "/");
  if(rc)
    return rc;
  free(d.k.url);
  d.k.url = NULL;
  rc = full_url(c, url, &d.k.url);
  if(rc) {
    mfu_call_free(&d.k);
    return mfu_client_fail(c, rc, "bad URL \"%s\"", url);
  }
  created = stat(path, &st) != 0;
  d.k.out_fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if(d.k.out_fd < 0) {
    rc = mfu_client_fail(c, MFU_CLIENT_E_OUTPUT, "%s: %s", path,
                         strerror(errno));
    mfu_call_free(&d.k);
    return rc;
  }
  d.k.prepare = dl_prepare;
  rc = fetch(c, &d, d.k.url);
  if(!rc && fsync(d.k.out_fd) && errno != EINVAL)
    rc = mfu_client_fail(c, MFU_CLIENT_E_OUTPUT, "%s: %s", path,
                         strerror(errno));
  if(close(d.k.out_fd) && !rc)
    rc = mfu_client_fail(c, MFU_CLIENT_E_OUTPUT, "%s: %s", path,
                         strerror(errno));
  /* Leave no empty file behind for a 404; keep a partial one to resume. */
  if(rc && created && !stat(path, &st) && st.st_size == 0)
    unlink(path);
  d.k.out_fd = -1;
  mfu_call_free(&d.k);
  return rc;
}
