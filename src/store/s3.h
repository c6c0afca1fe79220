/*
 * s3.h - signed HTTP requests to an S3-compatible service (private to the
 * S3 store).
 *
 * libcurl signs every request with AWS Signature Version 4
 * (CURLOPT_AWS_SIGV4).  libcurl 7.88 signs what it is given: the query
 * exactly as written (so callers pass it sorted and percent-encoded, a
 * bare sub-resource as "uploads="), and it neither computes nor sends
 * x-amz-content-sha256, so every request carries one from the caller: the
 * body's SHA-256 or UNSIGNED-PAYLOAD.
 */
#ifndef MFU_S3_H
#define MFU_S3_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <curl/curl.h>

#define S3_POOL 8          /* idle easy handles kept for reuse */
#define S3_XML_MAX (8u << 20) /* cap on a response body we keep */

/* The sha256 of no bytes: the payload hash of every bodiless request. */
#define S3_EMPTY_SHA256 \
  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

struct s3_conf {
  char *bucket;
  char *endpoint;       /* scheme://host[:port], no trailing slash */
  char *region;
  int path_style;
  char *base;           /* URL that a key is appended to, ends with '/' */
  char *sigv4;          /* "aws:amz:REGION:s3" */
  char *userpwd;        /* "KEY:SECRET" */
  char *token_hdr;      /* "x-amz-security-token: ..." or NULL */
  int tls;              /* endpoint is https */
  long connect_timeout; /* seconds */
  long low_speed_time;  /* seconds below 1 byte/s before giving up */
  uint64_t part_size;   /* multipart part and in-memory buffer size */
  uint64_t copy_max;    /* largest single CopyObject (S3: 5 GiB) */
  pthread_mutex_t lock; /* guards pool */
  CURL *pool[S3_POOL];
  unsigned npool;
};

/* A growing byte buffer. */
struct s3_buf {
  char *p;
  size_t len, cap;
};

/* One request and what came back. */
struct s3_req {
  const char *method;       /* GET HEAD PUT POST DELETE */
  const char *key;          /* object key (safe characters) or NULL */
  const char *query;        /* sorted, encoded, or NULL */
  const char *payload_sha;  /* NULL means S3_EMPTY_SHA256 */
  const char *content_type;
  const char *copy_source;  /* x-amz-copy-source value */
  const char *copy_range;   /* x-amz-copy-source-range value */
  const void *body;         /* PUT/POST body in memory */
  size_t body_len;
  int self_sign;            /* sign here, not in libcurl (see s3_http.c) */

  long status;
  struct s3_buf resp;       /* response body, up to S3_XML_MAX */
  uint64_t content_length;
  time_t last_modified;
  char etag[80];
};

/* Parse the rest of "s3://BUCKET?..." and the AWS_* environment. */
int s3_conf_init(struct s3_conf *c, const char *rest);
void s3_conf_free(struct s3_conf *c);

/* Take an easy handle from the pool (or a new one); give it back. */
CURL *s3_easy_get(struct s3_conf *c);
void s3_easy_put(struct s3_conf *c, CURL *e);

/* The full URL of key (NULL: the bucket) with query; malloc'd. */
char *s3_url(const struct s3_conf *c, const char *key, const char *query);

/*
 * Set the options every request shares on e: URL, signing, credentials,
 * timeouts, and the headers in *hdrs (caller frees it after the transfer).
 * MFU_OK or MFU_E_NOMEM.
 */
int s3_easy_setup(struct s3_conf *c, CURL *e, const char *method,
                  const char *key, const char *query, const char *payload_sha,
                  struct curl_slist **hdrs, char **url);

/*
 * Run r to its end.  MFU_OK means an HTTP answer came (r->status); a
 * transport failure is MFU_E_UNAVAILABLE.  Free r with s3_req_free.
 */
int s3_perform(struct s3_conf *c, struct s3_req *r);
void s3_req_free(struct s3_req *r);

/* Map an HTTP answer to an mfu code (2xx -> MFU_OK); logs failures. */
int s3_status_rc(const struct s3_req *r, const char *what);

/* A CURLcode of a failed transfer as an mfu code. */
int s3_curl_rc(CURLcode cc);

/* Append; MFU_OK or MFU_E_NOMEM. */
int s3_buf_add(struct s3_buf *b, const void *p, size_t n);

/*
 * Find the text of the first <tag>...</tag> at or after *pos in [x, end),
 * entity-decoded into a malloc'd string (*out), and move *pos past it.
 * MFU_OK, MFU_E_NOTFOUND, MFU_E_NOMEM.
 */
int s3_xml_next(const char *x, size_t len, size_t *pos, const char *tag,
                char **out);

/* Bounds [*b, *e) of the next <tag>...</tag> element's inner text from
 * *pos; moves *pos past it.  0 when there is none. */
int s3_xml_elem(const char *x, size_t len, size_t *pos, const char *tag,
                size_t *b, size_t *e);

/* "2026-11-24T03:00:00.000Z" -> Unix seconds; -1 when malformed. */
time_t s3_iso_time(const char *s);

/* Percent-encode s as SigV4 wants (RFC 3986 unreserved kept). */
char *s3_uri_encode(const char *s);

#endif
