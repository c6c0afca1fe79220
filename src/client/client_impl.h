/*
 * client_impl.h - what the files of libmfu share, and the pure helpers the
 * unit tests reach.  Not installed; hidden from the shared library.
 */
#ifndef MFU_CLIENT_IMPL_H
#define MFU_CLIENT_IMPL_H

#include <stdatomic.h>
#include <stdint.h>

#include <curl/curl.h>

#include "mfu/mfu.h"

/* Answers we keep in memory (records, pages, problems) are small; a server
 * that sends more than this is not the one the API describes. */
#define MFU_MAX_ANSWER (16u << 20)

/* The longest Idempotency-Key mfud accepts (DESIGN.md, HTTP API). */
#define MFU_MAX_KEY 128

struct mfu_client {
  char *base;           /* server URL, no trailing slash */
  char *user;
  char *token;
  unsigned max_attempts;
  unsigned base_ms;
  unsigned cap_ms;
  unsigned connect_ms;
  int verbose;
  mfu_progress_cb progress;
  void *progress_cls;
  atomic_int cancel;
  uint64_t rng;         /* xorshift state for backoff jitter */
  CURL *h;              /* kept across calls for connection reuse */
  long status;          /* last error: HTTP status, problem code, detail */
  char code[64];
  char *detail;
  char errbuf[CURL_ERROR_SIZE];
};

/* One input stream of an upload: a file, or the text read from a file. */
struct mfu_src {
  const char *path;
  const char *name;     /* display name; NULL for the text */
  int fd;
  uint64_t size;
  uint64_t pos;
  int err;              /* errno of a failed read, or -1 if it shrank */
  struct mfu_call *call;
  size_t index;         /* position among the files, for progress */
};

/*
 * One API call: how to (re)build the request for each attempt and where
 * the answer goes.  The retry loop in libmfu.c drives it.
 */
struct mfu_call {
  const char *method;
  char *url;
  struct curl_slist *headers;
  int (*prepare)(struct mfu_call *k);   /* before each attempt */
  void (*cleanup)(struct mfu_call *k);  /* after each attempt */
  curl_mime *mime;
  /* answer body kept in memory: JSON, or a problem when out is set */
  char *buf;
  size_t len;
  size_t cap;
  /* download target */
  int out_fd;
  uint64_t out_base;    /* bytes already in the file when asked */
  int out_started;
  int out_err;
  long status_seen;
  /* upload progress */
  struct mfu_src *srcs;
  size_t nsrcs;
  size_t nfiles;
  size_t cur;           /* index of the file being read, or nfiles */
  unsigned attempt;      /* 1-based, set by mfu_call_run() */
  struct mfu_client *c;
};

/* libmfu.c */
int mfu_call_run(struct mfu_client *c, struct mfu_call *k);
void mfu_call_free(struct mfu_call *k);
int mfu_call_init(struct mfu_client *c, struct mfu_call *k,
                  const char *method, const char *path);
int mfu_client_fail(struct mfu_client *c, int rc, const char *fmt, ...)
  __attribute__((format(printf, 3, 4)));
int mfu_answer_json(struct mfu_client *c, struct mfu_call *k, json_t **out);

/* url.c: pure helpers */

/*
 * Join base (no trailing slash needed) and path (starting with '/') into a
 * new heap string at *out; free().  MFU_CLIENT_E_NOMEM.
 */
int mfu_url_join(const char *base, const char *path, char **out);

/*
 * Append "?key=value" (or "&key=value" when *url has a query) to the heap
 * string *url, percent-encoding value per RFC 3986 §2.3 (everything but
 * unreserved characters).  *url is reallocated.
 */
int mfu_url_add_query(char **url, const char *key, const char *value);

/* Base URL check and normalisation: http(s)://, trailing '/' removed. */
int mfu_url_base(const char *in, char **out);

/*
 * The filename sent for a file: "<duration>_<name>" (the seed's
 * convention), or name when duration is MFU_DURATION_NONE.  Heap; free().
 */
char *mfu_filename_build(long long duration, const char *name);

/*
 * Split a seed-style name "<digits>_<rest>": MFU_CLIENT_OK with *duration
 * and *rest (pointing into name) when name has such a prefix and a
 * non-empty rest, MFU_CLIENT_E_INVAL otherwise.
 */
int mfu_name_split_duration(const char *name, long long *duration,
                            const char **rest);

/* The last path component of path ("a/b.png" -> "b.png"), into path. */
const char *mfu_basename(const char *path);

/* 1 if name is usable as a sent filename: non-empty UTF-8, no '/', no
 * control characters. */
int mfu_name_ok(const char *name);

/* A media type guessed from name's extension, or NULL. */
const char *mfu_type_from_name(const char *name);

/*
 * Backoff before attempt+1 (attempt >= 1): d = min(cap, base * 2^(attempt
 * - 1)), result in [d/2, d] drawn from rnd.
 */
unsigned mfu_backoff_ms(unsigned attempt, unsigned base_ms, unsigned cap_ms,
                        uint64_t rnd);

/* Next value of a xorshift64* generator. */
uint64_t mfu_rand_next(uint64_t *state);

/* 32 lower-case hex digits from the kernel's random source, NUL-ended.
 * MFU_CLIENT_OK or MFU_CLIENT_E_NOMEM (no randomness). */
int mfu_random_key(char out[33]);

/* 1 if s is printable ASCII without spaces at its ends, 1..max bytes. */
int mfu_header_value_ok(const char *s, size_t max);

#endif
