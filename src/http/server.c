/*
 * server.c - libmicrohttpd glue: start/stop, routing, responses, access log.
 *
 * Threading: one thread per connection (MHD_USE_THREAD_PER_CONNECTION).
 * Every stage after the socket blocks on purpose - writes and fsyncs to the
 * store, SQLite transactions, S3 requests - and a blocked connection thread
 * is also the simplest backpressure: a slow disk slows its own client only.
 * Measured on 2 cores, a 1 GiB upload through a thread-per-connection
 * daemon with a 256 KiB connection buffer arrives at 1.7-2.3 GB/s, versus
 * 0.75 GB/s with MHD's default 32 KiB.  --max-conns bounds the threads.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "http_impl.h"
#include "mfu_media.h"
#include "mfu_probe.h"

#define CONN_MEMORY (256 * 1024)

void problem_set(struct problem *p, int rc, const char *field, long index,
                 int64_t limit, const char *fmt, ...)
{
  va_list ap;
  p->rc = rc;
  p->field = field;
  p->index = index;
  p->limit = limit;
  va_start(ap, fmt);
  vsnprintf(p->detail, sizeof(p->detail), fmt, ap);
  va_end(ap);
}

static enum MHD_Result queue(struct request *req, struct MHD_Connection *conn,
                             unsigned status, struct MHD_Response *resp)
{
  enum MHD_Result r;
  if(!resp)
    return MHD_NO;
  req->status = status;
  r = MHD_queue_response(conn, status, resp);
  MHD_destroy_response(resp);
  return r;
}

static struct MHD_Response *text_response(char *text, const char *ctype)
{
  struct MHD_Response *resp;
  if(!text)
    return NULL;
  resp = MHD_create_response_from_buffer(strlen(text), text,
                                         MHD_RESPMEM_MUST_FREE);
  if(!resp) {
    free(text);
    return NULL;
  }
  MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
  MHD_add_response_header(resp, "Cache-Control", "no-store");
  return resp;
}

enum MHD_Result respond_empty(struct request *req,
                              struct MHD_Connection *conn, unsigned status,
                              const char *header, const char *value)
{
  struct MHD_Response *resp =
    MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
  if(resp && header)
    MHD_add_response_header(resp, header, value);
  return queue(req, conn, status, resp);
}

enum MHD_Result respond_text(struct request *req, struct MHD_Connection *conn,
                             unsigned status, char *text, const char *ctype)
{
  return queue(req, conn, status, text_response(text, ctype));
}

enum MHD_Result respond_json(struct request *req, struct MHD_Connection *conn,
                             unsigned status, json_t *body)
{
  char *text = body ? json_dumps(body, JSON_COMPACT)
                    : NULL;
  json_decref(body);
  return queue(req, conn, status,
               text_response(text, "application/json; charset=utf-8"));
}

enum MHD_Result respond_problem(struct request *req,
                                struct MHD_Connection *conn,
                                const struct problem *p)
{
  unsigned status = mfu_err_status(p->rc);
  char type[96];
  json_t *o;
  char *text;
  struct MHD_Response *resp;

  snprintf(type, sizeof(type), "/errors/%s", mfu_err_slug(p->rc));
  o = json_pack("{s:s, s:s, s:i, s:s, s:s}", "type", type, "title",
                mfu_err_title(p->rc), "status", (int)status, "detail",
                p->detail[0] ? p->detail : mfu_strerror(p->rc), "code",
                mfu_err_slug(p->rc));
  if(o && p->field)
    json_object_set_new(o, "field", json_string(p->field));
  if(o && p->index >= 0)
    json_object_set_new(o, "index", json_integer(p->index));
  if(o && p->limit >= 0)
    json_object_set_new(o, "limit", json_integer(p->limit));
  text = o ? json_dumps(o, JSON_COMPACT) : NULL;
  json_decref(o);
  resp = text_response(text, "application/problem+json");
  if(resp && status == 405) {
    const char *allow = req->route == R_UPLOAD ? "POST"
                        : req->route == R_ITEM ? "GET, DELETE"
                        : req->route == R_FILE ? "GET, HEAD"
                                               : "GET";
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
  }
  if(resp && status == 503)
    MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, "1");
  if(resp && req->close)
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
  /* RFC 6750 section 3: a 401 names the scheme (and why, for a token
   * that was sent but is not good). */
  if(resp && status == 401)
    MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                            MHD_lookup_connection_value(
                              conn, MHD_HEADER_KIND,
                              MHD_HTTP_HEADER_AUTHORIZATION)
                              ? "Bearer realm=\"mfu\", "
                                "error=\"invalid_token\""
                              : "Bearer realm=\"mfu\"");
  return queue(req, conn, status, resp);
}

enum MHD_Result respond_error(struct request *req,
                              struct MHD_Connection *conn, int rc,
                              const char *fmt, ...)
{
  struct problem p;
  va_list ap;
  p.rc = rc;
  p.field = NULL;
  p.index = -1;
  p.limit = -1;
  va_start(ap, fmt);
  vsnprintf(p.detail, sizeof(p.detail), fmt, ap);
  va_end(ap);
  return respond_problem(req, conn, &p);
}

/* Match url against the routes; the {id} part goes to req->arg. */
static enum route route_of(const char *url, char *arg, size_t cap)
{
  static const struct { const char *prefix; enum route r; int exact; } t[] = {
    {"/item_explain", R_UPLOAD, 1}, {"/v1/items", R_LIST, 1},
    {"/v1/items/", R_ITEM, 0},      {"/item_explain/", R_ITEM, 0},
    {"/files/", R_FILE, 0},         {"/healthz", R_HEALTH, 1},
    {"/metrics", R_METRICS, 1},     {"/", R_PAGE, 1},
    {"/items/", R_PAGE_ITEM, 0},    {"/users/", R_PAGE_USER, 0},
    {"/static/", R_STATIC, 0},
  };
  for(size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
    size_t n = strlen(t[i].prefix);
    if(strncmp(url, t[i].prefix, n))
      continue;
    if(t[i].exact && url[n] == '\0')
      return t[i].r;
    if(!t[i].exact && url[n] && !strchr(url + n, '/') &&
       strlen(url + n) < cap) {
      strcpy(arg, url + n);
      return t[i].r;
    }
  }
  return R_NONE;
}

static enum MHD_Result health(struct request *req,
                              struct MHD_Connection *conn)
{
  int s = mfu_store_ping(req->srv->store);
  int c = mfu_catalog_ping(req->srv->catalog);
  json_t *o = json_pack("{s:s, s:s, s:s}", "status",
                        (s || c) ? "unavailable" : "ok", "store",
                        s ? mfu_strerror(s) : "ok", "catalog",
                        c ? mfu_strerror(c) : "ok");
  return respond_json(req, conn, (s || c) ? 503 : 200, o);
}

static int method_ok(enum route r, const char *m)
{
  switch(r) {
  case R_UPLOAD: return !strcmp(m, "POST");
  case R_ITEM: return !strcmp(m, "GET") || !strcmp(m, "DELETE");
  case R_LIST: return !strcmp(m, "GET") || !strcmp(m, "POST");
  case R_FILE: return !strcmp(m, "GET") || !strcmp(m, "HEAD");
  default: return !strcmp(m, "GET") || !strcmp(m, "HEAD");
  }
}

/* What the header fields of a request add up to. */
struct head_scan {
  size_t bytes;             /* as sent: name ": " value CRLF */
  unsigned content_length;  /* how many Content-Length fields */
  int transfer_encoding;    /* a Transfer-Encoding field was sent */
  int te_chunked;           /* ... and it is exactly "chunked" */
  int host;
  const char *bad;          /* a field name or value that is not allowed */
};

/* RFC 9110 section 5.6.2: a field name is a token. */
static int token_ok(const char *s, size_t n)
{
  static const char extra[] = "!#$%&'*+-.^_`|~";
  if(!n)
    return 0;
  for(size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if(!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
         (c >= 'A' && c <= 'Z') || (c && strchr(extra, c))))
      return 0;
  }
  return 1;
}

static enum MHD_Result scan_field(void *cls, enum MHD_ValueKind kind,
                                  const char *key, size_t key_size,
                                  const char *value, size_t value_size)
{
  struct head_scan *h = cls;
  (void)kind;
  h->bytes += key_size + value_size + 4;
  if(!h->bad && !token_ok(key, key_size))
    h->bad = "a header field name that is not a token";
  /* RFC 9110 section 5.5: NUL, CR and LF are never part of a value. */
  if(!h->bad && value && (strlen(value) != value_size ||
                          strpbrk(value, "\r\n")))
    h->bad = "a NUL, CR or LF in a header field value";
  if(!strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH))
    h->content_length++;
  else if(!strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING)) {
    h->te_chunked = !h->transfer_encoding && value &&
                    !strcasecmp(value, "chunked");
    h->transfer_encoding = 1;
  }
  else if(!strcasecmp(key, MHD_HTTP_HEADER_HOST))
    h->host = 1;
  return MHD_YES;
}

struct query_scan {
  size_t bytes;
  int nul;                  /* a decoded %00: the C string would lie */
};

static enum MHD_Result sum_arg(void *cls, enum MHD_ValueKind kind,
                               const char *key, size_t key_size,
                               const char *value, size_t value_size)
{
  struct query_scan *q = cls;
  (void)kind;
  q->bytes += key_size + value_size + 2;
  if(strlen(key) != key_size || (value && strlen(value) != value_size))
    q->nul = 1;
  return MHD_YES;
}

/*
 * The checks every request passes before it is routed.  libmicrohttpd
 * has parsed the head; what it lets through and the RFCs do not is
 * refused here, and the header block's own limit is checked well below
 * the connection memory at which libmicrohttpd would answer itself.
 * Framing errors - the ones request smuggling is built on (RFC 9112
 * section 6.1 and 6.3) - also close the connection after the answer.
 */
static int check_head(struct request *req, struct MHD_Connection *conn,
                      const char *version, struct problem *p)
{
  const struct mfu_config *cfg = req->srv->cfg;
  struct head_scan h = {0};
  struct query_scan q = {0};

  MHD_get_connection_values_n(conn, MHD_HEADER_KIND, scan_field, &h);
  MHD_get_connection_values_n(conn, MHD_GET_ARGUMENT_KIND, sum_arg, &q);
  req->close = 1;
  if(h.bytes > cfg->max_request_header) {
    problem_set(p, MFU_E_HEADERS_TOO_LARGE, NULL, -1,
                (int64_t)cfg->max_request_header,
                "the request header fields are %zu bytes; the limit is "
                "%llu", h.bytes,
                (unsigned long long)cfg->max_request_header);
    return p->rc;
  }
  if(q.bytes > cfg->max_query) {
    problem_set(p, MFU_E_LIMIT_QUERY, NULL, -1, (int64_t)cfg->max_query,
                "the query string is about %zu bytes; the limit is %llu",
                q.bytes, (unsigned long long)cfg->max_query);
    return p->rc;
  }
  if(h.bad)
    problem_set(p, MFU_E_INVAL, NULL, -1, -1, "the request has %s", h.bad);
  else if(q.nul)
    problem_set(p, MFU_E_INVAL, NULL, -1, -1,
                "the query string has an encoded NUL (%%00)");
  else if(h.content_length > 1)
    problem_set(p, MFU_E_INVAL, NULL, -1, -1,
                "the request has %u Content-Length fields (RFC 9112 "
                "section 6.3)", h.content_length);
  else if(h.transfer_encoding && h.content_length)
    problem_set(p, MFU_E_INVAL, NULL, -1, -1,
                "the request has both Transfer-Encoding and Content-Length "
                "(RFC 9112 section 6.1)");
  else if(h.transfer_encoding && !h.te_chunked)
    problem_set(p, MFU_E_INVAL, NULL, -1, -1,
                "the only Transfer-Encoding taken is chunked");
  else if(!h.host && !strcmp(version, MHD_HTTP_VERSION_1_1))
    problem_set(p, MFU_E_INVAL, NULL, -1, -1,
                "an HTTP/1.1 request needs a Host field (RFC 9112 section "
                "3.2)");
  else {
    req->close = 0;
    return MFU_OK;
  }
  return p->rc;
}

/* Whether the request announces a body. */
static int has_body(struct MHD_Connection *conn)
{
  const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                               "Content-Length");
  return (cl && strcmp(cl, "0")) ||
         MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                     "Transfer-Encoding");
}

/* The first call for a request: route it, start an upload or answer. */
static enum MHD_Result begin(struct request *req, struct MHD_Connection *conn,
                             const char *url, const char *method,
                             const char *version)
{
  struct problem p;
  if(check_head(req, conn, version, &p))
    return respond_problem(req, conn, &p);
  req->route = route_of(url, req->arg, sizeof(req->arg));
  if(req->route == R_LIST && !strcmp(method, "POST"))
    req->route = R_UPLOAD;
  if(req->route == R_NONE)
    return respond_error(req, conn, MFU_E_NOTFOUND, "no route for %s", url);
  if(!method_ok(req->route, method))
    return respond_error(req, conn, MFU_E_METHOD,
                         "%s is not allowed on %s", method, url);
  switch(req->route) {
  case R_UPLOAD:
    if(upload_begin(req, conn, &p))
      return respond_problem(req, conn, &p);
    return MHD_YES;
  case R_ITEM:
    return !strcmp(method, "DELETE") ? items_delete(req, conn)
                                     : items_get(req, conn);
  case R_LIST: return items_list(req, conn);
  case R_FILE: return files_get(req, conn, !strcmp(method, "HEAD"));
  case R_HEALTH: return health(req, conn);
  case R_METRICS: return metrics_get(req, conn);
  case R_PAGE: return pages_get(req, conn, "index.html");
  case R_PAGE_ITEM: return pages_get(req, conn, "item.html");
  case R_PAGE_USER: return pages_get(req, conn, "list.html");
  case R_STATIC: return pages_get(req, conn, req->arg);
  default: return MHD_NO;
  }
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version,
                                  const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
  struct request *req = *con_cls;
  struct mfu_server *srv = cls;
  size_t n = *upload_data_size;
  enum MHD_Result r;
  if(!req) {
    req = calloc(1, sizeof(*req));
    if(!req)
      return MHD_NO;
    req->srv = srv;
    req->method = method;
    req->wc = watch_of(conn);
    clock_gettime(CLOCK_MONOTONIC, &req->t0);
    snprintf(req->path, sizeof(req->path), "%s", url);
    *con_cls = req;
    watch_phase(&srv->watch, req->wc, has_body(conn) ? W_BODY : W_OTHER);
    return begin(req, conn, url, method, version);
  }
  if(!n) {                    /* the body is complete: answer */
    watch_phase(&srv->watch, req->wc, W_OTHER);
    return req->up && !req->status ? upload_finish(req, conn) : MHD_YES;
  }
  watch_busy(req->wc, 1, n);
  if(req->status || !req->up) {     /* answered already; drop the body */
    *upload_data_size = 0;
    r = MHD_YES;
  }
  else
    r = upload_feed(req, conn, upload_data, upload_data_size);
  watch_busy(req->wc, 0, 0);
  return r;
}

static void on_completed(void *cls, struct MHD_Connection *conn,
                         void **con_cls, enum MHD_RequestTerminationCode toe)
{
  struct mfu_server *srv = cls;
  struct request *req = *con_cls;
  struct timespec t1;
  const union MHD_ConnectionInfo *ci;
  char addr[INET6_ADDRSTRLEN] = "-";
  double secs;
  unsigned st;

  if(!req)
    return;
  watch_phase(&srv->watch, req->wc, W_HEADERS);  /* kept alive: next one */
  if(req->up)
    upload_free(req->up);   /* aborts anything not committed */
  st = req->status ? req->status : 0;
  metrics_request(&srv->metrics, req);
  if(!srv->cfg->quiet) {
    clock_gettime(CLOCK_MONOTONIC, &t1);
    secs = (double)(t1.tv_sec - req->t0.tv_sec) +
           (double)(t1.tv_nsec - req->t0.tv_nsec) / 1e9;
    ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if(ci && ci->client_addr)
      getnameinfo(ci->client_addr,
                  ci->client_addr->sa_family == AF_INET6
                    ? sizeof(struct sockaddr_in6)
                    : sizeof(struct sockaddr_in),
                  addr, sizeof(addr), NULL, 0, NI_NUMERICHOST);
    fprintf(stderr, "%s \"%s %s\" %u %llu %.3fs%s\n", addr, req->method,
            req->path, st, (unsigned long long)req->body_bytes, secs,
            toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " aborted");
  }
  free(req);
  *con_cls = NULL;
}

/* Split "HOST:PORT" ("[v6]:PORT") into a socket address. */
static int listen_addr(const char *listen, struct sockaddr_storage *ss,
                       socklen_t *len)
{
  char host[256];
  const char *colon = strrchr(listen, ':');
  struct addrinfo hints = {0}, *res = NULL;
  size_t hl;
  if(!colon || !colon[1])
    return MFU_E_INVAL;
  hl = (size_t)(colon - listen);
  if(hl >= sizeof(host))
    return MFU_E_INVAL;
  memcpy(host, listen, hl);
  host[hl] = '\0';
  if(hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
    memmove(host, host + 1, hl - 2);
    host[hl - 2] = '\0';
  }
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  if(getaddrinfo(host[0] ? host : NULL, colon + 1, &hints, &res) || !res)
    return MFU_E_INVAL;
  memcpy(ss, res->ai_addr, res->ai_addrlen);
  *len = res->ai_addrlen;
  freeaddrinfo(res);
  return MFU_OK;
}

static void file_base(struct mfu_server *srv)
{
  const struct mfu_config *cfg = srv->cfg;
  if(cfg->public_url) {
    size_t n = strlen(cfg->public_url);
    while(n && cfg->public_url[n - 1] == '/')
      n--;
    snprintf(srv->file_base, sizeof(srv->file_base), "%.*s/", (int)n,
             cfg->public_url);
    srv->file_base_is_store = 1;
  }
  else
    snprintf(srv->file_base, sizeof(srv->file_base), "http://%s/files/",
             cfg->listen);
}

/* Probing is CPU work (a small PNG is mostly its decode), so one worker
 * per CPU by default; workers start on first use, so an idle server
 * holds none. */
static unsigned probe_workers(const struct mfu_config *cfg)
{
  long n = (long)cfg->probe_workers;
  if(!n)
    n = sysconf(_SC_NPROCESSORS_ONLN);
  return n < 1 ? 1 : n > MFU_PROBE_WORKERS_MAX ? MFU_PROBE_WORKERS_MAX
                                                : (unsigned)n;
}

static int start_probes(struct mfu_server *srv)
{
  char cmd[4096];
  int rc = mfu_probe_locate(MFU_LIBEXECDIR, cmd, sizeof(cmd));
  if(rc) {
    fprintf(stderr, "mfud: cannot find the mfu-probe program (tried beside "
                    "mfud and in %s; set MFU_PROBE)\n", MFU_LIBEXECDIR);
    return rc;
  }
  rc = mfu_probe_pool_new(cmd, srv->cfg->store, probe_workers(srv->cfg),
                          &srv->probes);
  if(rc)
    fprintf(stderr, "mfud: cannot start probes: %s\n", mfu_strerror(rc));
  return rc;
}

int mfu_server_start(const struct mfu_config *cfg, struct mfu_server **out)
{
  struct mfu_server *srv = calloc(1, sizeof(*srv));
  struct sockaddr_storage ss;
  socklen_t sslen;
  int rc, watching = 0;

  if(!srv)
    return MFU_E_NOMEM;
  srv->cfg = cfg;
  file_base(srv);
  pages_csp(cfg->public_url, srv->csp, sizeof(srv->csp));
  srv->shared_catalog = strncmp(cfg->catalog, "sqlite:", 7) != 0;
  if((rc = pending_init(&srv->pending)) ||
     (rc = mfu_oid_gen_init(&srv->oid)))
    goto fail_early;
  if(listen_addr(cfg->listen, &ss, &sslen)) {
    fprintf(stderr, "mfud: cannot use listen address '%s'\n", cfg->listen);
    rc = MFU_E_INVAL;
    goto fail;
  }
  {
    struct mfu_media_policy pol = {cfg->allow_images, cfg->allow_audios,
                                   cfg->allow_videos};
    if((rc = mfu_media_new(&pol, &srv->media))) {
      fprintf(stderr, "mfud: bad type allow-list or no libmagic database: "
                      "%s\n", mfu_strerror(rc));
      goto fail;
    }
  }
  if((rc = start_probes(srv)))
    goto fail;
  if((rc = watch_start(&srv->watch, (unsigned)cfg->timeout, cfg->min_rate)))
    goto fail;
  watching = 1;
  if((rc = mfu_store_open(cfg->store, &srv->store))) {
    fprintf(stderr, "mfud: cannot open store %s: %s\n", cfg->store,
            mfu_strerror(rc));
    goto fail;
  }
  if((rc = mfu_catalog_open(cfg->catalog, &srv->catalog))) {
    fprintf(stderr, "mfud: cannot open catalog %s: %s\n", cfg->catalog,
            mfu_strerror(rc));
    goto fail;
  }
  srv->daemon = MHD_start_daemon(
    MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
      MHD_USE_POLL | MHD_USE_ERROR_LOG,
    0, NULL, NULL, on_request, srv,
    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONN_MEMORY,
    MHD_OPTION_CONNECTION_LIMIT, (unsigned)cfg->max_conns,
    MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)cfg->max_conns_per_ip,
    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)cfg->timeout,
    MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
    MHD_OPTION_NOTIFY_CONNECTION, watch_notify, srv,
    MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u,
    MHD_OPTION_END);
  (void)sslen;
  if(!srv->daemon) {
    fprintf(stderr, "mfud: cannot listen on %s: %s\n", cfg->listen,
            strerror(errno));
    rc = MFU_E_IO;
    goto fail;
  }
  *out = srv;
  return MFU_OK;
fail:
  if(watching)
    watch_stop(&srv->watch);
  if(srv->catalog)
    mfu_catalog_close(srv->catalog);
  if(srv->store)
    mfu_store_close(srv->store);
  mfu_media_free(srv->media);
  mfu_probe_pool_free(srv->probes);
  pending_destroy(&srv->pending);
fail_early:
  free(srv);
  return rc;
}

void mfu_server_stop(struct mfu_server *srv)
{
  if(!srv)
    return;
  MHD_stop_daemon(srv->daemon);
  watch_stop(&srv->watch);
  mfu_catalog_close(srv->catalog);
  mfu_store_close(srv->store);
  mfu_media_free(srv->media);
  mfu_probe_pool_free(srv->probes);
  pending_destroy(&srv->pending);
  free(srv);
}
