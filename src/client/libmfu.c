/*
 * libmfu.c - the client handle, the retry loop every call goes through, the
 * answers (records and RFC 9457 problems), and get / list / delete.
 *
 * Every call is a struct mfu_call run by mfu_call_run(): one libcurl easy
 * handle per client (so connections are reused), a prepare hook that
 * rebuilds what an attempt needs (the multipart body, the Range), and a
 * retry policy for what is worth retrying: no connection, a dropped
 * connection, 502/503/504.  Anything else is final.
 */
#include "client_impl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const char *mfu_client_strerror(int rc)
{
  switch(rc) {
  case MFU_CLIENT_OK:
    return "success";
  case MFU_CLIENT_E_NOMEM:
    return "out of memory";
  case MFU_CLIENT_E_INVAL:
    return "invalid argument";
  case MFU_CLIENT_E_FILE:
    return "cannot read a local file";
  case MFU_CLIENT_E_NETWORK:
    return "cannot reach the server";
  case MFU_CLIENT_E_SERVER:
    return "the server failed";
  case MFU_CLIENT_E_REJECTED:
    return "the server rejected the request";
  case MFU_CLIENT_E_PROTOCOL:
    return "unexpected answer from the server";
  case MFU_CLIENT_E_CANCELLED:
    return "cancelled";
  case MFU_CLIENT_E_OUTPUT:
    return "cannot write a local file";
  }
  return "unknown error";
}

const char *mfu_group_name(enum mfu_group g)
{
  switch(g) {
  case MFU_GROUP_IMAGES:
    return "images";
  case MFU_GROUP_AUDIOS:
    return "audios";
  case MFU_GROUP_VIDEOS:
    return "videos";
  }
  return NULL;
}

struct mfu_client *mfu_client_new(const char *base_url)
{
  struct mfu_client *c = calloc(1, sizeof(*c));
  char seed[33];

  if(!c)
    return NULL;
  if(mfu_url_base(base_url ? base_url : MFU_DEFAULT_SERVER, &c->base))
    goto fail;
  c->h = curl_easy_init();
  if(!c->h)
    goto fail;
  c->max_attempts = 4;
  c->base_ms = 200;
  c->cap_ms = 5000;
  c->connect_ms = 10000;
  atomic_init(&c->cancel, 0);
  if(mfu_random_key(seed))
    goto fail;
  c->rng = strtoull(seed + 16, NULL, 16) | 1;
  return c;
fail:
  mfu_client_free(c);
  return NULL;
}

void mfu_client_free(struct mfu_client *c)
{
  if(!c)
    return;
  if(c->h)
    curl_easy_cleanup(c->h);
  free(c->base);
  free(c->user);
  free(c->token);
  free(c->detail);
  free(c);
}

static int set_string(char **dst, const char *s, size_t max)
{
  char *copy = NULL;

  if(s) {
    if(!mfu_header_value_ok(s, max))
      return MFU_CLIENT_E_INVAL;
    copy = strdup(s);
    if(!copy)
      return MFU_CLIENT_E_NOMEM;
  }
  free(*dst);
  *dst = copy;
  return MFU_CLIENT_OK;
}

int mfu_client_set_user(struct mfu_client *c, const char *user)
{
  return c ? set_string(&c->user, user, 256) : MFU_CLIENT_E_INVAL;
}

int mfu_client_set_token(struct mfu_client *c, const char *token)
{
  return c ? set_string(&c->token, token, 4096) : MFU_CLIENT_E_INVAL;
}

int mfu_client_set_retry(struct mfu_client *c, unsigned max_attempts,
                         unsigned base_ms, unsigned cap_ms)
{
  if(!c || !max_attempts || base_ms > cap_ms)
    return MFU_CLIENT_E_INVAL;
  c->max_attempts = max_attempts;
  c->base_ms = base_ms;
  c->cap_ms = cap_ms;
  return MFU_CLIENT_OK;
}

int mfu_client_set_connect_timeout(struct mfu_client *c, unsigned ms)
{
  if(!c)
    return MFU_CLIENT_E_INVAL;
  c->connect_ms = ms;
  return MFU_CLIENT_OK;
}

int mfu_client_set_verbose(struct mfu_client *c, int on)
{
  if(!c)
    return MFU_CLIENT_E_INVAL;
  c->verbose = !!on;
  return MFU_CLIENT_OK;
}

int mfu_client_set_progress(struct mfu_client *c, mfu_progress_cb cb,
                            void *cls)
{
  if(!c)
    return MFU_CLIENT_E_INVAL;
  c->progress = cb;
  c->progress_cls = cls;
  return MFU_CLIENT_OK;
}

void mfu_client_cancel(struct mfu_client *c)
{
  if(c)
    atomic_store(&c->cancel, 1);
}

long mfu_client_err_status(const struct mfu_client *c)
{
  return c ? c->status : 0;
}

const char *mfu_client_err_code(const struct mfu_client *c)
{
  return c ? c->code : "";
}

const char *mfu_client_err_detail(const struct mfu_client *c)
{
  return c && c->detail ? c->detail : "";
}

int mfu_client_fail(struct mfu_client *c, int rc, const char *fmt, ...)
{
  va_list ap;
  char *s = NULL;

  va_start(ap, fmt);
  if(vasprintf(&s, fmt, ap) < 0)
    s = NULL;
  va_end(ap);
  free(c->detail);
  c->detail = s;
  return rc;
}

static void clear_error(struct mfu_client *c)
{
  c->status = 0;
  c->code[0] = '\0';
  free(c->detail);
  c->detail = NULL;
  c->errbuf[0] = '\0';
}

/* ---- the call machinery ------------------------------------------------ */

int mfu_call_init(struct mfu_client *c, struct mfu_call *k,
                  const char *method, const char *path)
{
  int rc;

  memset(k, 0, sizeof(*k));
  k->c = c;
  k->method = method;
  k->out_fd = -1;
  rc = mfu_url_join(c->base, path, &k->url);
  if(rc)
    return rc;
  if(c->token) {
    char *h;
    struct curl_slist *l;
    if(asprintf(&h, "Authorization: Bearer %s", c->token) < 0)
      return MFU_CLIENT_E_NOMEM;
    l = curl_slist_append(k->headers, h);
    free(h);
    if(!l)
      return MFU_CLIENT_E_NOMEM;
    k->headers = l;
  }
  return MFU_CLIENT_OK;
}

void mfu_call_free(struct mfu_call *k)
{
  free(k->url);
  curl_slist_free_all(k->headers);
  if(k->mime)
    curl_mime_free(k->mime);
  free(k->buf);
  memset(k, 0, sizeof(*k));
  k->out_fd = -1;
}

static size_t keep(struct mfu_call *k, const char *p, size_t n)
{
  if(k->len + n > MFU_MAX_ANSWER)
    return 0;
  if(k->len + n + 1 > k->cap) {
    size_t cap = k->cap ? k->cap : 4096;
    char *b;
    while(cap < k->len + n + 1)
      cap *= 2;
    b = realloc(k->buf, cap);
    if(!b)
      return 0;
    k->buf = b;
    k->cap = cap;
  }
  memcpy(k->buf + k->len, p, n);
  k->len += n;
  k->buf[k->len] = '\0';
  return n;
}

static int write_out(struct mfu_call *k, const char *p, size_t n)
{
  if(!k->out_started) {
    /* A 200 to a Range request is the whole resource again (RFC 9110
     * §14.2: the server may ignore Range): start the file over. */
    if(k->status_seen == 200 && k->out_base) {
      if(ftruncate(k->out_fd, 0) || lseek(k->out_fd, 0, SEEK_SET) < 0)
        return -1;
      k->out_base = 0;
    }
    k->out_started = 1;
  }
  while(n) {
    ssize_t w = write(k->out_fd, p, n);
    if(w < 0) {
      if(errno == EINTR)
        continue;
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
  struct mfu_call *k = arg;
  size_t len = size * n;

  curl_easy_getinfo(k->c->h, CURLINFO_RESPONSE_CODE, &k->status_seen);
  if(k->out_fd >= 0 && (k->status_seen == 200 || k->status_seen == 206)) {
    if(write_out(k, p, len)) {
      k->out_err = errno;
      return 0;
    }
    return len;
  }
  return keep(k, p, len) == len ? len : 0;
}

static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow,
                       curl_off_t ultotal, curl_off_t ulnow)
{
  struct mfu_call *k = arg;
  struct mfu_client *c = k->c;
  struct mfu_progress p;

  if(atomic_load(&c->cancel))
    return 1;
  if(!c->progress)
    return 0;
  memset(&p, 0, sizeof(p));
  if(k->nsrcs) {
    p.sent = (uint64_t)ulnow;
    p.total = (uint64_t)ultotal;
    p.file_count = k->nfiles;
    p.file = k->cur;
    if(k->cur < k->nfiles) {
      struct mfu_src *s = &k->srcs[k->cur];
      p.file_name = s->name;
      p.file_sent = s->pos;
      p.file_size = s->size;
    }
  }
  else {
    p.sent = k->out_base + (uint64_t)dlnow;
    p.total = dltotal ? k->out_base + (uint64_t)dltotal : 0;
  }
  return c->progress(&p, c->progress_cls) ? 1 : 0;
}

static int setup(struct mfu_client *c, struct mfu_call *k)
{
  CURL *h = c->h;

  curl_easy_reset(h);
  curl_easy_setopt(h, CURLOPT_URL, k->url);
  curl_easy_setopt(h, CURLOPT_USERAGENT, "mfu/" MFU_VERSION);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, k->headers);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->errbuf);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, k);
  curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(h, CURLOPT_XFERINFODATA, k);
  curl_easy_setopt(h, CURLOPT_VERBOSE, (long)c->verbose);
  if(c->connect_ms)
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)c->connect_ms);
  /* A stalled peer must not hang a client forever: under 1 byte/s for
   * five minutes is a dead connection, and a dead connection is retried. */
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 300L);
  if(k->mime) {
    curl_easy_setopt(h, CURLOPT_MIMEPOST, k->mime);
    /* Bigger reads from the files mean fewer syscalls per GiB; memory
     * stays at this one buffer whatever the file sizes. */
    curl_easy_setopt(h, CURLOPT_UPLOAD_BUFFERSIZE, 512L * 1024);
  }
  else if(!strcmp(k->method, "HEAD"))
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  else if(strcmp(k->method, "GET"))
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, k->method);
  return MFU_CLIENT_OK;
}

static int transient_curl(CURLcode res)
{
  switch(res) {
  case CURLE_COULDNT_CONNECT:
  case CURLE_OPERATION_TIMEDOUT:
  case CURLE_SEND_ERROR:
  case CURLE_RECV_ERROR:
  case CURLE_GOT_NOTHING:
  case CURLE_PARTIAL_FILE:
  case CURLE_SSL_CONNECT_ERROR:
    return 1;
  default:
    return 0;
  }
}

static int transient_status(long status)
{
  return status == 502 || status == 503 || status == 504;
}

static void copy_str(char *dst, size_t cap, const char *s)
{
  size_t n = strlen(s);
  if(n >= cap)
    n = cap - 1;
  memcpy(dst, s, n);
  dst[n] = '\0';
}

/* Keep what the server said about a failure: RFC 9457 §3.1 members
 * `code` (ours) and `detail`, or the body's first line if it is not a
 * problem. */
static void read_problem(struct mfu_client *c, struct mfu_call *k)
{
  json_t *j = NULL;
  const char *detail = NULL;

  c->code[0] = '\0';
  if(k->len)
    j = json_loadb(k->buf, k->len, 0, NULL);
  if(json_is_object(j)) {
    json_t *code = json_object_get(j, "code");
    json_t *d = json_object_get(j, "detail");
    if(!json_is_string(d))
      d = json_object_get(j, "title");
    if(json_is_string(code))
      copy_str(c->code, sizeof(c->code), json_string_value(code));
    if(json_is_string(d))
      detail = json_string_value(d);
  }
  if(detail)
    mfu_client_fail(c, 0, "%s", detail);
  else if(k->len) {
    size_t n = strcspn(k->buf, "\r\n");
    mfu_client_fail(c, 0, "HTTP %ld: %.*s", c->status,
                    (int)(n > 200 ? 200 : n), k->buf);
  }
  else
    mfu_client_fail(c, 0, "HTTP %ld", c->status);
  json_decref(j);
}

static void nap(struct mfu_client *c, unsigned ms)
{
  /* Sleep in slices so a cancel is seen within 50 ms. */
  while(ms && !atomic_load(&c->cancel)) {
    unsigned step = ms < 50 ? ms : 50;
    struct timespec ts = {0, (long)step * 1000000L};
    nanosleep(&ts, NULL);
    ms -= step;
  }
}

static unsigned next_delay(struct mfu_client *c, unsigned attempt)
{
  unsigned d = mfu_backoff_ms(attempt, c->base_ms, c->cap_ms,
                              mfu_rand_next(&c->rng));
  curl_off_t ra = 0;

  /* RFC 9110 §10.2.3: a 503 may say when to come back; honour it within
   * our cap so a client never hangs on a server's word. */
  if(!curl_easy_getinfo(c->h, CURLINFO_RETRY_AFTER, &ra) && ra > 0) {
    uint64_t ms = (uint64_t)ra * 1000;
    if(ms > d)
      d = ms > c->cap_ms ? c->cap_ms : (unsigned)ms;
  }
  return d;
}

/* Turn a finished attempt into a verdict: 0 done, 1 retry, <0 final. */
static int judge(struct mfu_client *c, struct mfu_call *k, CURLcode res)
{
  if(res != CURLE_OK) {
    size_t i;
    for(i = 0; i < k->nsrcs; i++) {
      struct mfu_src *s = &k->srcs[i];
      if(s->err > 0)
        return mfu_client_fail(c, MFU_CLIENT_E_FILE, "%s: %s", s->path,
                               strerror(s->err));
      if(s->err < 0)
        return mfu_client_fail(c, MFU_CLIENT_E_FILE,
                               "%s: file shrank during the upload", s->path);
    }
  }
  if(res == CURLE_ABORTED_BY_CALLBACK || atomic_load(&c->cancel))
    return mfu_client_fail(c, MFU_CLIENT_E_CANCELLED, "cancelled");
  if(res == CURLE_WRITE_ERROR && k->out_err)
    return mfu_client_fail(c, MFU_CLIENT_E_OUTPUT, "cannot write: %s",
                           strerror(k->out_err));
  if(res != CURLE_OK) {
    mfu_client_fail(c, MFU_CLIENT_E_NETWORK, "%s: %s", k->url,
                    c->errbuf[0] ? c->errbuf : curl_easy_strerror(res));
    return transient_curl(res) ? 1 : MFU_CLIENT_E_NETWORK;
  }
  curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &c->status);
  if(c->status >= 200 && c->status < 300)
    return 0;
  read_problem(c, k);
  if(transient_status(c->status))
    return 1;
  if(c->status == 416 && k->out_fd >= 0)
    return 0;   /* the caller checks whether the file was complete */
  if(c->status >= 400 && c->status < 500)
    return MFU_CLIENT_E_REJECTED;
  if(c->status >= 500)
    return MFU_CLIENT_E_SERVER;
  return MFU_CLIENT_E_PROTOCOL;
}

int mfu_call_run(struct mfu_client *c, struct mfu_call *k)
{
  unsigned attempt;
  int rc = MFU_CLIENT_OK;

  clear_error(c);
  for(attempt = 1;; attempt++) {
    CURLcode res;
    k->attempt = attempt;
    k->len = 0;
    k->status_seen = 0;
    k->out_started = 0;
    k->out_err = 0;
    if(k->prepare) {
      rc = k->prepare(k);
      if(rc)
        break;
    }
    setup(c, k);
    res = curl_easy_perform(c->h);
    rc = judge(c, k, res);
    if(k->cleanup)
      k->cleanup(k);
    if(rc != 1)
      break;
    if(attempt >= c->max_attempts) {
      rc = c->status ? MFU_CLIENT_E_SERVER : MFU_CLIENT_E_NETWORK;
      mfu_client_fail(c, rc, "%s (after %u attempt%s)",
                      c->detail ? c->detail : "failed", attempt,
                      attempt == 1 ? "" : "s");
      break;
    }
    {
      unsigned d = next_delay(c, attempt);
      if(c->verbose)
        fprintf(stderr, "* mfu: attempt %u of %u failed (%s); "
                "retrying in %u ms\n", attempt, c->max_attempts,
                c->detail ? c->detail : "?", d);
      nap(c, d);
    }
    if(atomic_load(&c->cancel)) {
      rc = mfu_client_fail(c, MFU_CLIENT_E_CANCELLED, "cancelled");
      break;
    }
    c->status = 0;
    c->code[0] = '\0';
  }
  atomic_store(&c->cancel, 0);
  if(rc && !c->detail)
    mfu_client_fail(c, rc, "%s", mfu_client_strerror(rc));
  return rc;
}

int mfu_answer_json(struct mfu_client *c, struct mfu_call *k, json_t **out)
{
  json_error_t e;
  json_t *j = json_loadb(k->buf ? k->buf : "", k->len, 0, &e);

  if(!json_is_object(j)) {
    json_decref(j);
    return mfu_client_fail(c, MFU_CLIENT_E_PROTOCOL,
                           "answer from %s is not a JSON object: %s", k->url,
                           e.text);
  }
  *out = j;
  return MFU_CLIENT_OK;
}

/* ---- get, list, delete ------------------------------------------------- */

static int id_ok(const char *id)
{
  size_t i;
  if(!id || !id[0] || strlen(id) > 128)
    return 0;
  for(i = 0; id[i]; i++) {
    char ch = id[i];
    if(!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
         (ch >= 'A' && ch <= 'Z')))
      return 0;
  }
  return 1;
}

static int item_call(struct mfu_client *c, struct mfu_call *k,
                     const char *method, const char *id)
{
  char path[160];

  if(!id_ok(id))
    return mfu_client_fail(c, MFU_CLIENT_E_INVAL, "bad item id \"%s\"",
                           id ? id : "(null)");
  snprintf(path, sizeof(path), "/v1/items/%s", id);
  return mfu_call_init(c, k, method, path);
}

int mfu_client_get(struct mfu_client *c, const char *id, json_t **record)
{
  struct mfu_call k;
  int rc;

  if(!c || !record)
    return MFU_CLIENT_E_INVAL;
  *record = NULL;
  clear_error(c);
  rc = item_call(c, &k, "GET", id);
  if(!rc)
    rc = mfu_call_run(c, &k);
  if(!rc)
    rc = mfu_answer_json(c, &k, record);
  mfu_call_free(&k);
  return rc;
}

int mfu_client_list(struct mfu_client *c, unsigned limit, const char *after,
                    json_t **page)
{
  struct mfu_call k;
  char num[16];
  int rc;

  if(!c || !page)
    return MFU_CLIENT_E_INVAL;
  *page = NULL;
  clear_error(c);
  rc = mfu_call_init(c, &k, "GET", "/v1/items");
  if(!rc && c->user)
    rc = mfu_url_add_query(&k.url, "username", c->user);
  if(!rc && limit) {
    snprintf(num, sizeof(num), "%u", limit);
    rc = mfu_url_add_query(&k.url, "limit", num);
  }
  if(!rc && after)
    rc = id_ok(after) ? mfu_url_add_query(&k.url, "after", after)
                      : MFU_CLIENT_E_INVAL;
  if(!rc)
    rc = mfu_call_run(c, &k);
  if(!rc)
    rc = mfu_answer_json(c, &k, page);
  if(!rc && !json_is_array(json_object_get(*page, "items"))) {
    json_decref(*page);
    *page = NULL;
    rc = mfu_client_fail(c, MFU_CLIENT_E_PROTOCOL,
                         "list answer has no \"items\" array");
  }
  mfu_call_free(&k);
  return rc;
}

int mfu_client_delete(struct mfu_client *c, const char *id)
{
  struct mfu_call k;
  int rc;

  if(!c)
    return MFU_CLIENT_E_INVAL;
  clear_error(c);
  rc = item_call(c, &k, "DELETE", id);
  if(!rc && c->user)
    rc = mfu_url_add_query(&k.url, "username", c->user);
  if(!rc)
    rc = mfu_call_run(c, &k);
  /* A retry after a lost 204 finds the item already gone: that is the
   * outcome asked for, not an error. */
  if(rc == MFU_CLIENT_E_REJECTED && c->status == 404 && k.attempt > 1)
    rc = MFU_CLIENT_OK;
  mfu_call_free(&k);
  return rc;
}
