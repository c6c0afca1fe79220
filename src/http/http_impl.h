/*
 * http_impl.h - what the files of mfud share (not an interface: only
 * src/http includes it).
 */
#ifndef MFU_HTTP_IMPL_H
#define MFU_HTTP_IMPL_H

#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>

#include "mfu_catalog.h"
#include "mfu_http.h"
#include "mfu_store.h"
#include "mfu_util.h"

/* Blobs that uploads in flight have stored but not yet recorded in the
 * catalog.  A blob may be deleted only when it is neither referenced by a
 * row nor pending here; both checks and the delete happen under mu. */
struct pending {
  pthread_mutex_t mu;
  struct pending_entry *head;
};

#define METRIC_ROUTES 12                /* enum route values */
#define METRIC_CLASSES 6                /* 1xx..5xx, none (aborted) */
#define METRIC_BUCKETS 11               /* upload duration histogram */

struct metrics {
  atomic_uint_fast64_t requests[METRIC_ROUTES][METRIC_CLASSES];
  atomic_uint_fast64_t upload_seconds[METRIC_BUCKETS]; /* cumulative le */
  atomic_uint_fast64_t upload_count;
  atomic_uint_fast64_t upload_micros;   /* sum, in microseconds */
  atomic_uint_fast64_t bytes_in;
  atomic_uint_fast64_t uploads_ok;
  atomic_uint_fast64_t uploads_failed;
  atomic_uint_fast64_t files_stored;
  atomic_uint_fast64_t bytes_stored;
  atomic_int_fast64_t in_flight;
  atomic_uint_fast64_t store_errors;
  atomic_uint_fast64_t catalog_errors;
};

/* Slow clients (watch.c).  One watch_conn per connection, found through
 * libmicrohttpd's socket context. */
enum watch_phase { W_HEADERS, W_BODY, W_OTHER, W_DEAD };

struct watch_conn;

struct watch {
  pthread_mutex_t mu;       /* owns head and every entry's phase/since */
  pthread_cond_t cv;
  pthread_t thread;
  int stop;
  struct watch_conn *head;
  unsigned timeout;         /* seconds: header deadline, rate window */
  uint64_t min_rate;        /* bytes per second; 0 = no rate check */
  atomic_uint_fast64_t closed;  /* connections closed for slowness */
};

struct mfu_server {
  const struct mfu_config *cfg;
  struct mfu_store *store;
  struct mfu_catalog *catalog;
  struct mfu_media *media;          /* sniffing (libmagic) */
  struct mfu_probe_pool *probes;    /* probing, in mfu-probe workers */
  struct MHD_Daemon *daemon;
  struct mfu_oid_gen oid;
  struct pending pending;
  struct metrics metrics;
  struct watch watch;
  char file_base[512];      /* URL prefix of file links in records */
  int file_base_is_store;   /* 1: base + store key; 0: base + sha + ext */
  char csp[512];            /* Content-Security-Policy of the pages */
  int shared_catalog;       /* other nodes may write it (PostgreSQL) */
};

enum route {
  R_NONE = 0,
  R_UPLOAD,       /* POST /item_explain, POST /v1/items */
  R_ITEM,         /* GET/DELETE /v1/items/{id}, GET /item_explain/{id} */
  R_LIST,         /* GET /v1/items */
  R_FILE,         /* GET/HEAD /files/{sha256}{.ext} */
  R_HEALTH,
  R_METRICS,
  R_PAGE,         /* GET / */
  R_PAGE_ITEM,    /* GET /items/{id} */
  R_PAGE_USER,    /* GET /users/{name} */
  R_STATIC,       /* GET /static/{name} */
};

struct upload;

/* One request; lives from the first call of the access handler to the
 * completion callback. */
struct request {
  struct mfu_server *srv;
  enum route route;
  const char *method;
  char path[256];           /* for the access log; truncated */
  char arg[80];             /* the {id} or {sha256}{.ext} of the route */
  unsigned status;
  uint64_t body_bytes;
  struct timespec t0;
  struct upload *up;        /* R_UPLOAD only */
  struct watch_conn *wc;    /* NULL if the connection is not watched */
  int close;                /* answer with Connection: close */
};

/* Problem details to answer with (RFC 9457); field/index/limit optional. */
struct problem {
  int rc;
  char detail[512];
  const char *field;        /* static storage */
  long index;               /* -1 = none */
  int64_t limit;            /* -1 = none */
};

void problem_set(struct problem *p, int rc, const char *field, long index,
                 int64_t limit, const char *fmt, ...)
  __attribute__((format(printf, 6, 7)));

/* Queue responses; they set req->status.  Return MHD_YES/MHD_NO. */
enum MHD_Result respond_problem(struct request *req,
                                struct MHD_Connection *conn,
                                const struct problem *p);
enum MHD_Result respond_error(struct request *req,
                              struct MHD_Connection *conn, int rc,
                              const char *fmt, ...)
  __attribute__((format(printf, 4, 5)));
/* No body; header may be NULL (304, 204, 416). */
enum MHD_Result respond_empty(struct request *req,
                              struct MHD_Connection *conn, unsigned status,
                              const char *header, const char *value);
/* Takes ownership of text (malloc'd, NUL-terminated). */
enum MHD_Result respond_text(struct request *req, struct MHD_Connection *conn,
                             unsigned status, char *text, const char *ctype);
/* Takes ownership of body. */
enum MHD_Result respond_json(struct request *req, struct MHD_Connection *conn,
                             unsigned status, json_t *body);

/* Record JSON of an item, with file URLs; NULL on allocation failure. */
json_t *item_json(struct mfu_server *srv, const struct mfu_item *item);

/* upload.c */
int upload_begin(struct request *req, struct MHD_Connection *conn,
                 struct problem *p);
enum MHD_Result upload_feed(struct request *req, struct MHD_Connection *conn,
                            const char *data, size_t *size);
enum MHD_Result upload_finish(struct request *req,
                              struct MHD_Connection *conn);
void upload_free(struct upload *up);

/* items.c */
enum MHD_Result items_get(struct request *req, struct MHD_Connection *conn);
enum MHD_Result items_list(struct request *req, struct MHD_Connection *conn);
enum MHD_Result items_delete(struct request *req,
                             struct MHD_Connection *conn);

/* files.c */
enum MHD_Result files_get(struct request *req, struct MHD_Connection *conn,
                          int head);

/* metrics.c: count a finished request; answer GET /metrics */
void metrics_request(struct metrics *m, const struct request *req);
enum MHD_Result metrics_get(struct request *req, struct MHD_Connection *conn);

/* pages.c: an embedded web file by name; the pages' policy, which lets
 * images and players load from --public-url's origin too */
void pages_csp(const char *public_url, char *out, size_t cap);
enum MHD_Result pages_get(struct request *req, struct MHD_Connection *conn,
                          const char *name);

/* auth.c: the user of a request that carries "Authorization: Bearer T",
 * into username (cap bytes); MFU_E_AUTH (401) with p filled when the
 * header is missing, malformed, or the token unknown or revoked. */
int auth_user(struct request *req, struct MHD_Connection *conn,
              struct problem *p, char *username, size_t cap);
/* Who a request acts for.  --auth none: the username parameter claimed
 * (MFU_E_USERNAME if missing or malformed).  --auth token: the token's
 * user (auth_user); a claimed username that differs is MFU_E_FORBIDDEN. */
int auth_request_user(struct request *req, struct MHD_Connection *conn,
                      struct problem *p, const char *claimed,
                      char *username, size_t cap);

/* watch.c */
int watch_start(struct watch *w, unsigned timeout, uint64_t min_rate);
/* After the daemon has stopped. */
void watch_stop(struct watch *w);
/* MHD_OPTION_NOTIFY_CONNECTION callback; cls is the server. */
void watch_notify(void *cls, struct MHD_Connection *conn, void **ctx,
                  enum MHD_ConnectionNotificationCode code);
struct watch_conn *watch_of(struct MHD_Connection *conn);
void watch_phase(struct watch *w, struct watch_conn *wc,
                 enum watch_phase phase);
/* Around the handling of a body chunk of bytes bytes. */
void watch_busy(struct watch_conn *wc, int busy, uint64_t bytes);

/* pending.c */
int pending_init(struct pending *p);
void pending_destroy(struct pending *p);
int pending_add(struct pending *p, const char *sha256);
void pending_release(struct pending *p, const char *sha256);
/* Delete the blob if no row references it and no upload holds it. */
int blob_delete_if_unused(struct mfu_server *srv, const char *sha256);

#endif
