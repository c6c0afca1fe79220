/*
 * s3_http.c - configuration, signed requests and minimal XML reading for
 * the S3 store.
 *
 * Each request takes a libcurl easy handle from a small locked pool and
 * gives it back, so a server keeps its connections to the service alive
 * (libcurl keeps them with the handle) without sharing a handle between
 * threads.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "mfu_err.h"
#include "mfu_util.h"
#include "s3.h"

#define MIB (1024u * 1024u)

static char *dupn(const char *s, size_t n)
{
  char *p = malloc(n + 1);

  if(p) {
    memcpy(p, s, n);
    p[n] = '\0';
  }
  return p;
}

static int hexval(int ch)
{
  if(ch >= '0' && ch <= '9')
    return ch - '0';
  ch = tolower(ch);
  if(ch >= 'a' && ch <= 'f')
    return ch - 'a' + 10;
  return -1;
}

/* Percent-decode [s, s+n) into a new string; NULL on bad escapes. */
static char *pct_decode(const char *s, size_t n)
{
  char *out = malloc(n + 1);
  size_t i, j = 0;

  if(!out)
    return NULL;
  for(i = 0; i < n; i++) {
    if(s[i] == '%') {
      int hi = i + 2 < n ? hexval((unsigned char)s[i + 1]) : -1;
      int lo = i + 2 < n ? hexval((unsigned char)s[i + 2]) : -1;

      if(hi < 0 || lo < 0) {
        free(out);
        return NULL;
      }
      out[j++] = (char)(hi * 16 + lo);
      i += 2;
    }
    else
      out[j++] = s[i];
  }
  out[j] = '\0';
  return out;
}

char *s3_uri_encode(const char *s)
{
  static const char hex[] = "0123456789ABCDEF";
  size_t n = strlen(s);
  char *out = malloc(3 * n + 1);
  char *o = out;

  if(!out)
    return NULL;
  for(; *s; s++) {
    unsigned char ch = (unsigned char)*s;

    /* RFC 3986 section 2.3 unreserved characters stay as they are */
    if(isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~')
      *o++ = (char)ch;
    else {
      *o++ = '%';
      *o++ = hex[ch >> 4];
      *o++ = hex[ch & 15];
    }
  }
  *o = '\0';
  return out;
}

static int valid_bucket(const char *b, size_t n)
{
  size_t i;

  if(n < 3 || n > 63)
    return 0;
  for(i = 0; i < n; i++) {
    if(!isalnum((unsigned char)b[i]) && b[i] != '.' && b[i] != '-' &&
       b[i] != '_')
      return 0;
  }
  return 1;
}

static int set_param(struct s3_conf *c, const char *name, char *val)
{
  uint64_t v;

  if(!strcmp(name, "endpoint")) {
    size_t n = strlen(val);

    while(n && val[n - 1] == '/')
      val[--n] = '\0';
    if(strncmp(val, "http://", 7) && strncmp(val, "https://", 8))
      return MFU_E_INVAL;
    free(c->endpoint);
    c->endpoint = val;
    return MFU_OK;
  }
  if(!strcmp(name, "region")) {
    free(c->region);
    c->region = val;
    return val[0] ? MFU_OK : MFU_E_INVAL;
  }
  if(!strcmp(name, "path_style"))
    c->path_style = !strcmp(val, "1") || !strcmp(val, "true");
  else if(!strcmp(name, "part_size")) {
    /* S3 refuses parts under 5 MiB except the last */
    if(mfu_size_parse(val, &v) || v < 5 * MIB || v > 5ull * 1024 * MIB)
      goto bad;
    c->part_size = v;
  }
  else if(!strcmp(name, "copy_max")) {
    if(mfu_size_parse(val, &v) || v < 5 * MIB || v > 5ull * 1024 * MIB)
      goto bad;
    c->copy_max = v;
  }
  else if(!strcmp(name, "timeout")) {
    if(mfu_size_parse(val, &v) || v == 0 || v > 3600)
      goto bad;
    c->connect_timeout = (long)v;
    c->low_speed_time = (long)v;
  }
  else
    goto bad;
  free(val);
  return MFU_OK;
bad:
  free(val);
  return MFU_E_INVAL;
}

static int parse_query(struct s3_conf *c, const char *q)
{
  while(*q) {
    size_t n = strcspn(q, "&");
    const char *eq = memchr(q, '=', n);
    char *name, *val;
    int rc;

    if(!eq)
      return MFU_E_INVAL;
    name = pct_decode(q, (size_t)(eq - q));
    val = pct_decode(eq + 1, n - (size_t)(eq - q) - 1);
    if(!name || !val) {
      free(name);
      free(val);
      return MFU_E_INVAL;
    }
    rc = set_param(c, name, val); /* takes val */
    if(rc)
      fprintf(stderr, "mfu: s3 store: bad parameter %s\n", name);
    free(name);
    if(rc)
      return rc;
    q += n;
    if(*q == '&')
      q++;
  }
  return MFU_OK;
}

static int build_base(struct s3_conf *c)
{
  const char *host = strstr(c->endpoint, "://") + 3;
  size_t n = strlen(c->endpoint) + strlen(c->bucket) + 4;

  c->base = malloc(n);
  if(!c->base)
    return MFU_E_NOMEM;
  if(c->path_style)
    snprintf(c->base, n, "%s/%s/", c->endpoint, c->bucket);
  else
    snprintf(c->base, n, "%.*s%s.%s/", (int)(host - c->endpoint),
             c->endpoint, c->bucket, host);
  c->tls = !strncmp(c->endpoint, "https://", 8);
  return MFU_OK;
}

static int set_credentials(struct s3_conf *c)
{
  const char *key = getenv("AWS_ACCESS_KEY_ID");
  const char *secret = getenv("AWS_SECRET_ACCESS_KEY");
  const char *token = getenv("AWS_SESSION_TOKEN");
  size_t n;

  if(!key || !*key || !secret || !*secret || strchr(key, ':')) {
    fprintf(stderr, "mfu: s3 store: set AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY\n");
    return MFU_E_INVAL;
  }
  n = strlen(key) + strlen(secret) + 2;
  c->userpwd = malloc(n);
  if(!c->userpwd)
    return MFU_E_NOMEM;
  snprintf(c->userpwd, n, "%s:%s", key, secret);
  if(token && *token) {
    n = strlen(token) + 32;
    c->token_hdr = malloc(n);
    if(!c->token_hdr)
      return MFU_E_NOMEM;
    snprintf(c->token_hdr, n, "x-amz-security-token: %s", token);
  }
  n = strlen(c->region) + 16;
  c->sigv4 = malloc(n);
  if(!c->sigv4)
    return MFU_E_NOMEM;
  snprintf(c->sigv4, n, "aws:amz:%s:s3", c->region);
  return MFU_OK;
}

int s3_conf_init(struct s3_conf *c, const char *rest)
{
  size_t blen = strcspn(rest, "?");
  int rc;

  memset(c, 0, sizeof(*c));
  c->part_size = 8 * MIB;
  c->copy_max = 5ull * 1024 * MIB;
  c->connect_timeout = 10;
  c->low_speed_time = 60;
  if(pthread_mutex_init(&c->lock, NULL))
    return MFU_E_NOMEM;
  if(!valid_bucket(rest, blen)) {
    fprintf(stderr, "mfu: s3 store: bad bucket name\n");
    return MFU_E_INVAL;
  }
  c->bucket = dupn(rest, blen);
  c->region = strdup("us-east-1");
  if(!c->bucket || !c->region)
    return MFU_E_NOMEM;
  if(rest[blen] == '?') {
    rc = parse_query(c, rest + blen + 1);
    if(rc)
      return rc;
  }
  if(!c->endpoint) {
    size_t n = strlen(c->region) + 32;

    c->endpoint = malloc(n);
    if(!c->endpoint)
      return MFU_E_NOMEM;
    snprintf(c->endpoint, n, "https://s3.%s.amazonaws.com", c->region);
  }
  rc = build_base(c);
  if(rc)
    return rc;
  return set_credentials(c);
}

void s3_conf_free(struct s3_conf *c)
{
  unsigned i;

  for(i = 0; i < c->npool; i++)
    curl_easy_cleanup(c->pool[i]);
  pthread_mutex_destroy(&c->lock);
  free(c->bucket);
  free(c->endpoint);
  free(c->region);
  free(c->base);
  free(c->sigv4);
  free(c->userpwd);
  free(c->token_hdr);
}

CURL *s3_easy_get(struct s3_conf *c)
{
  CURL *e = NULL;

  pthread_mutex_lock(&c->lock);
  if(c->npool)
    e = c->pool[--c->npool];
  pthread_mutex_unlock(&c->lock);
  return e ? e : curl_easy_init();
}

void s3_easy_put(struct s3_conf *c, CURL *e)
{
  if(!e)
    return;
  curl_easy_reset(e); /* keeps the handle's live connections */
  pthread_mutex_lock(&c->lock);
  if(c->npool < S3_POOL) {
    c->pool[c->npool++] = e;
    e = NULL;
  }
  pthread_mutex_unlock(&c->lock);
  if(e)
    curl_easy_cleanup(e);
}

char *s3_url(const struct s3_conf *c, const char *key, const char *query)
{
  size_t n = strlen(c->base) + (key ? strlen(key) : 0) +
             (query ? strlen(query) : 0) + 2;
  char *u = malloc(n);

  if(u)
    snprintf(u, n, "%s%s%s%s", c->base, key ? key : "", query ? "?" : "",
             query ? query : "");
  return u;
}

static int add_header(struct curl_slist **l, const char *h)
{
  struct curl_slist *n = curl_slist_append(*l, h);

  if(!n)
    return MFU_E_NOMEM;
  *l = n;
  return MFU_OK;
}

int s3_easy_setup(struct s3_conf *c, CURL *e, const char *method,
                  const char *key, const char *query, const char *payload_sha,
                  struct curl_slist **hdrs, char **url)
{
  char h[128];

  *url = s3_url(c, key, query);
  if(!*url)
    return MFU_E_NOMEM;
  snprintf(h, sizeof(h), "x-amz-content-sha256: %s",
           payload_sha ? payload_sha : S3_EMPTY_SHA256);
  /* no "Expect:" here to skip 100-continue: libcurl 7.88 would sign that
   * empty header and then not send it */
  if(add_header(hdrs, h) ||
     (c->token_hdr && add_header(hdrs, c->token_hdr)))
    return MFU_E_NOMEM;
  curl_easy_setopt(e, CURLOPT_URL, *url);
  curl_easy_setopt(e, CURLOPT_AWS_SIGV4, c->sigv4);
  curl_easy_setopt(e, CURLOPT_USERPWD, c->userpwd);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, c->connect_timeout);
  curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, c->low_speed_time);
  curl_easy_setopt(e, CURLOPT_FILETIME, 1L);
  if(!strcmp(method, "HEAD"))
    curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
  else if(!strcmp(method, "PUT"))
    curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
  else if(!strcmp(method, "POST"))
    curl_easy_setopt(e, CURLOPT_POST, 1L);
  else if(strcmp(method, "GET"))
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
  return MFU_OK;
}

int s3_buf_add(struct s3_buf *b, const void *p, size_t n)
{
  if(b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    char *q;

    while(cap < b->len + n + 1)
      cap *= 2;
    q = realloc(b->p, cap);
    if(!q)
      return MFU_E_NOMEM;
    b->p = q;
    b->cap = cap;
  }
  memcpy(b->p + b->len, p, n);
  b->len += n;
  b->p[b->len] = '\0';
  return MFU_OK;
}

static size_t on_body(char *p, size_t size, size_t n, void *cls)
{
  struct s3_req *r = cls;

  n *= size;
  if(r->resp.len + n > S3_XML_MAX || s3_buf_add(&r->resp, p, n))
    return 0;
  return n;
}

static size_t on_header(char *p, size_t size, size_t n, void *cls)
{
  struct s3_req *r = cls;
  size_t len = n * size;

  if(len > 5 && !strncasecmp(p, "etag:", 5)) {
    const char *v = p + 5;
    size_t vl = len - 5;

    while(vl && (*v == ' ' || *v == '\t')) {
      v++;
      vl--;
    }
    while(vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
      vl--;
    if(vl < sizeof(r->etag)) {
      memcpy(r->etag, v, vl);
      r->etag[vl] = '\0';
    }
  }
  return len;
}

struct body_src {
  const char *p;
  size_t len, off;
};

static size_t on_read(char *buf, size_t size, size_t n, void *cls)
{
  struct body_src *src = cls;
  size_t want = size * n;

  if(want > src->len - src->off)
    want = src->len - src->off;
  memcpy(buf, src->p + src->off, want);
  src->off += want;
  return want;
}

static int on_seek(void *cls, curl_off_t offset, int origin)
{
  struct body_src *src = cls;

  if(origin != SEEK_SET || offset < 0 || (size_t)offset > src->len)
    return CURL_SEEKFUNC_CANTSEEK;
  src->off = (size_t)offset;
  return CURL_SEEKFUNC_OK;
}

int s3_curl_rc(CURLcode cc)
{
  switch(cc) {
  case CURLE_OK:
    return MFU_OK;
  case CURLE_OUT_OF_MEMORY:
    return MFU_E_NOMEM;
  case CURLE_WRITE_ERROR:
  case CURLE_READ_ERROR:
  case CURLE_ABORTED_BY_CALLBACK:
    return MFU_E_IO;
  default:
    /* refused, reset, timed out, unresolvable, TLS failure: the service
     * cannot be reached, which a client sees as 503 */
    return MFU_E_UNAVAILABLE;
  }
}

static void hmac(const void *key, size_t klen, const char *msg,
                 unsigned char *out)
{
  unsigned int n = 32;

  HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)msg,
       strlen(msg), out, &n);
}

/*
 * libcurl 7.88 orders the canonical headers by whole "name:value" line, so
 * x-amz-copy-source-range sorts before x-amz-copy-source ('-' < ':') and
 * the service computes another signature.  Requests with that header are
 * signed here instead, following the SigV4 steps of the AWS General
 * Reference ("Create a signed AWS API request"): canonical request, string
 * to sign, derived key.  Adds Host, x-amz-date and Authorization.
 */
static int self_sign(struct s3_conf *c, const struct s3_req *r,
                     const char *url, struct curl_slist **hdrs)
{
  const char *host = strstr(url, "://") + 3;
  const char *path = strchr(host, '/');
  const char *secret = strchr(c->userpwd, ':') + 1;
  const char *token = c->token_hdr ? c->token_hdr + 22 : NULL;
  size_t cap = 4096 + strlen(url) + (token ? strlen(token) : 0);
  char *creq = malloc(cap), *sts = malloc(cap);
  char date[17], day[9], sha[65], sig[65], kbuf[256], h[1400];
  unsigned char md[32], k[32];
  time_t now = time(NULL);
  struct tm tm;
  int rc = MFU_E_NOMEM;

  if(!creq || !sts || strlen(secret) > sizeof(kbuf) - 5)
    goto out;
  gmtime_r(&now, &tm);
  strftime(date, sizeof(date), "%Y%m%dT%H%M%SZ", &tm);
  memcpy(day, date, 8);
  day[8] = '\0';
  snprintf(creq, cap, "%s\n%.*s\n%s\nhost:%.*s\n"
           "x-amz-content-sha256:%s\n"
           "x-amz-copy-source:%s\nx-amz-copy-source-range:%s\n"
           "x-amz-date:%s\n%s%s%s\nhost;x-amz-content-sha256;"
           "x-amz-copy-source;x-amz-copy-source-range;x-amz-date%s\n%s",
           r->method, (int)strcspn(path, "?"), path,
           r->query ? r->query : "", (int)(path - host), host,
           S3_EMPTY_SHA256, r->copy_source, r->copy_range, date,
           token ? "x-amz-security-token:" : "", token ? token : "",
           token ? "\n" : "", token ? ";x-amz-security-token" : "",
           S3_EMPTY_SHA256);
  EVP_Digest(creq, strlen(creq), md, NULL, EVP_sha256(), NULL);
  mfu_hex(md, 32, sha);
  snprintf(sts, cap, "AWS4-HMAC-SHA256\n%s\n%s/%s/s3/aws4_request\n%s",
           date, day, c->region, sha);
  snprintf(kbuf, sizeof(kbuf), "AWS4%s", secret);
  hmac(kbuf, strlen(kbuf), day, k);
  hmac(k, 32, c->region, k);
  hmac(k, 32, "s3", k);
  hmac(k, 32, "aws4_request", k);
  hmac(k, 32, sts, md);
  mfu_hex(md, 32, sig);
  rc = MFU_OK;
  snprintf(h, sizeof(h), "Host: %.*s", (int)(path - host), host);
  if(add_header(hdrs, h))
    rc = MFU_E_NOMEM;
  snprintf(h, sizeof(h), "x-amz-date: %s", date);
  if(add_header(hdrs, h))
    rc = MFU_E_NOMEM;
  snprintf(h, sizeof(h), "Authorization: AWS4-HMAC-SHA256 Credential=%.*s/"
           "%s/%s/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;"
           "x-amz-copy-source;x-amz-copy-source-range;x-amz-date%s, "
           "Signature=%s", (int)(secret - 1 - c->userpwd), c->userpwd, day,
           c->region, token ? ";x-amz-security-token" : "", sig);
  if(add_header(hdrs, h))
    rc = MFU_E_NOMEM;
out:
  OPENSSL_cleanse(kbuf, sizeof(kbuf));
  free(creq);
  free(sts);
  return rc;
}

int s3_perform(struct s3_conf *c, struct s3_req *r)
{
  CURL *e = s3_easy_get(c);
  struct curl_slist *hdrs = NULL;
  struct body_src src = {r->body, r->body_len, 0};
  char h[1200];
  char *url = NULL;
  curl_off_t v;
  CURLcode cc;
  int rc;

  if(!e)
    return MFU_E_NOMEM;
  rc = s3_easy_setup(c, e, r->method, r->key, r->query, r->payload_sha,
                     &hdrs, &url);
  if(!rc && r->content_type) {
    snprintf(h, sizeof(h), "Content-Type: %s", r->content_type);
    rc = add_header(&hdrs, h);
  }
  if(!rc && r->copy_source) {
    snprintf(h, sizeof(h), "x-amz-copy-source: %s", r->copy_source);
    rc = add_header(&hdrs, h);
  }
  if(!rc && r->copy_range) {
    snprintf(h, sizeof(h), "x-amz-copy-source-range: %s", r->copy_range);
    rc = add_header(&hdrs, h);
  }
  if(!rc && r->self_sign) {
    curl_easy_setopt(e, CURLOPT_AWS_SIGV4, NULL);
    curl_easy_setopt(e, CURLOPT_USERPWD, NULL);
    rc = self_sign(c, r, url, &hdrs);
  }
  if(rc)
    goto out;
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
  if(!strcmp(r->method, "PUT")) {
    curl_easy_setopt(e, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(e, CURLOPT_READDATA, &src);
    curl_easy_setopt(e, CURLOPT_SEEKFUNCTION, on_seek);
    curl_easy_setopt(e, CURLOPT_SEEKDATA, &src);
    curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)r->body_len);
  }
  else if(!strcmp(r->method, "POST")) {
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body ? r->body : "");
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
                     (curl_off_t)r->body_len);
  }
  cc = curl_easy_perform(e);
  rc = s3_curl_rc(cc);
  if(rc) {
    fprintf(stderr, "mfu: s3 %s %s: %s\n", r->method, url,
            curl_easy_strerror(cc));
    goto out;
  }
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &r->status);
  if(!curl_easy_getinfo(e, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &v) && v >= 0)
    r->content_length = (uint64_t)v;
  if(!curl_easy_getinfo(e, CURLINFO_FILETIME_T, &v) && v >= 0)
    r->last_modified = (time_t)v;
out:
  curl_slist_free_all(hdrs);
  free(url);
  s3_easy_put(c, e);
  return rc;
}

void s3_req_free(struct s3_req *r)
{
  free(r->resp.p);
  r->resp.p = NULL;
}

int s3_status_rc(const struct s3_req *r, const char *what)
{
  char *code = NULL;
  size_t pos = 0;
  int rc;

  if(r->status >= 200 && r->status < 300 &&
     !(r->resp.len && strstr(r->resp.p, "<Error>")))
    return MFU_OK;
  if(r->status == 404)
    return MFU_E_NOTFOUND;
  if(r->resp.len)
    s3_xml_next(r->resp.p, r->resp.len, &pos, "Code", &code);
  if(r->status == 507 || (code && !strcmp(code, "EntityTooLarge")))
    rc = MFU_E_NOSPACE;
  else if(r->status >= 500 || r->status == 403 || r->status == 401 ||
          (code && (!strcmp(code, "SlowDown") ||
                    !strcmp(code, "RequestTimeout"))))
    /* the service is down, overloaded, or refuses our credentials: in
     * every case the operator must act, and the client may retry later */
    rc = MFU_E_UNAVAILABLE;
  else
    rc = MFU_E_IO;
  fprintf(stderr, "mfu: s3 %s: HTTP %ld %s\n", what, r->status,
          code ? code : "");
  free(code);
  return rc;
}

int s3_xml_elem(const char *x, size_t len, size_t *pos, const char *tag,
                size_t *b, size_t *e)
{
  char open[64], close[64];
  size_t ol, cl, i;

  ol = (size_t)snprintf(open, sizeof(open), "<%s>", tag);
  cl = (size_t)snprintf(close, sizeof(close), "</%s>", tag);
  for(i = *pos; i + ol <= len; i++) {
    if(x[i] == '<' && !memcmp(x + i, open, ol)) {
      size_t j;

      for(j = i + ol; j + cl <= len; j++) {
        if(x[j] == '<' && !memcmp(x + j, close, cl)) {
          *b = i + ol;
          *e = j;
          *pos = j + cl;
          return 1;
        }
      }
      return 0;
    }
  }
  return 0;
}

/* Undo the five predefined XML entities and decimal/hex references
 * (XML 1.0 section 4.6 and 4.1) for ASCII. */
static char *xml_text(const char *s, size_t n)
{
  static const struct {
    const char *ent;
    char ch;
  } ents[] = {{"&lt;", '<'}, {"&gt;", '>'}, {"&amp;", '&'},
              {"&apos;", '\''}, {"&quot;", '"'}};
  char *out = malloc(n + 1);
  size_t i, j = 0, k;

  if(!out)
    return NULL;
  for(i = 0; i < n; i++) {
    if(s[i] == '&') {
      for(k = 0; k < sizeof(ents) / sizeof(ents[0]); k++) {
        size_t el = strlen(ents[k].ent);

        if(i + el <= n && !memcmp(s + i, ents[k].ent, el)) {
          out[j++] = ents[k].ch;
          i += el - 1;
          break;
        }
      }
      if(k < sizeof(ents) / sizeof(ents[0]))
        continue;
      if(i + 3 < n && s[i + 1] == '#') {
        const char *semi = memchr(s + i, ';', n - i);
        long v = s[i + 2] == 'x' ? strtol(s + i + 3, NULL, 16) :
                                   strtol(s + i + 2, NULL, 10);

        if(semi && v > 0 && v < 128) {
          out[j++] = (char)v;
          i = (size_t)(semi - s);
          continue;
        }
      }
    }
    out[j++] = s[i];
  }
  out[j] = '\0';
  return out;
}

int s3_xml_next(const char *x, size_t len, size_t *pos, const char *tag,
                char **out)
{
  size_t b, e;

  *out = NULL;
  if(!s3_xml_elem(x, len, pos, tag, &b, &e))
    return MFU_E_NOTFOUND;
  *out = xml_text(x + b, e - b);
  return *out ? MFU_OK : MFU_E_NOMEM;
}

time_t s3_iso_time(const char *s)
{
  struct tm tm;
  int n = 0;

  memset(&tm, 0, sizeof(tm));
  if(sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon,
            &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6)
    return -1;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return timegm(&tm);
}
