/*
 * mfu_http.h - mfud, the upload server: configuration, start, stop, gc.
 *
 * main() fills a struct mfu_config (mfu_config_parse), opens a server on it
 * and runs until a signal; `mfud gc` runs mfu_gc on the same configuration.
 */
#ifndef MFU_HTTP_H
#define MFU_HTTP_H

#include <stdint.h>
#include <stdio.h>

#include "mfu_err.h"

enum mfu_auth { MFU_AUTH_DEFAULT = 0, MFU_AUTH_NONE, MFU_AUTH_TOKEN };

#define MFU_PROBE_WORKERS_MAX 256

/* Everything mfud can be told.  Strings point into argv/environ or are
 * static: the config owns no memory. */
struct mfu_config {
  const char *listen;       /* "HOST:PORT" */
  const char *store;        /* store URL */
  const char *catalog;      /* catalog URL */
  const char *public_url;   /* base of file URLs in records; NULL = ours */
  enum mfu_auth auth;
  uint64_t max_body;        /* bytes of one request body */
  uint64_t max_file;        /* bytes of one file */
  uint64_t max_text;        /* bytes of the text field */
  uint64_t max_parts;       /* parts in one body */
  uint64_t max_header;      /* bytes of one part's headers */
  uint64_t max_part_headers; /* header lines in one part */
  uint64_t max_request_header; /* bytes of the request's header block */
  uint64_t max_query;       /* bytes of the query string */
  uint64_t max_conns;       /* connections at once */
  uint64_t max_conns_per_ip; /* connections from one address; 0 = any */
  uint64_t timeout;         /* seconds a connection may stay idle, and
                               that its request headers may take */
  uint64_t min_rate;        /* bytes/s a body averages per --timeout */
  uint64_t idem_ttl;        /* seconds an Idempotency-Key is remembered */
  uint64_t gc_grace;        /* seconds before gc may take an unused blob */
  uint64_t probe_timeout;   /* milliseconds one media probe may take */
  uint64_t probe_workers;   /* mfu-probe processes; 0 = one per CPU */
  const char *allow_images; /* sniffed types each group takes (mfu_media) */
  const char *allow_audios;
  const char *allow_videos;
  int quiet;                /* no access log */
};

/*
 * Parse argv (after the subcommand) and the MFU_* environment into cfg.
 * Flags win over the environment, which wins over the defaults.  On a
 * usage error writes a message to err and returns MFU_E_INVAL; --help and
 * --version are the caller's (see mfu_config_usage).
 */
int mfu_config_parse(struct mfu_config *cfg, int argc, char **argv,
                     FILE *err);

/*
 * As mfu_config_parse, but words that are neither options nor an option's
 * value go to words (room for argc pointers), counted in *nwords, instead
 * of being an error: a subcommand's arguments may come before or after
 * the options.
 */
int mfu_config_parse_words(struct mfu_config *cfg, int argc, char **argv,
                           char **words, size_t *nwords, FILE *err);

/* Print the usage text of mfud. */
void mfu_config_usage(FILE *out);

struct mfu_server;

/* Open the store and catalog of cfg and start listening.  cfg must outlive
 * the server.  Errors are printed to stderr with their cause. */
int mfu_server_start(const struct mfu_config *cfg, struct mfu_server **out);

/* Stop accepting, abort uploads in flight (nothing partial is kept), wait
 * for the connection threads, and free everything. */
void mfu_server_stop(struct mfu_server *srv);

/*
 * Remove what a crash or a failed request can leave: temporary files older
 * than the grace period and blobs that no catalog row references and that
 * are older than the grace period.  Safe while servers run.  Prints a
 * summary to out.
 */
int mfu_gc(const struct mfu_config *cfg, FILE *out);

/*
 * `mfud user ...` and `mfud token ...` on the catalog of cfg: cmd is
 * "user" or "token", args the words after it ("add", NAME), label the
 * --label of a new token (NULL = none).  A new token is printed to out,
 * once; messages go to err.  MFU_E_INVAL for a usage error.
 */
int mfu_admin(const struct mfu_config *cfg, const char *cmd, char **args,
              size_t nargs, const char *label, FILE *out, FILE *err);

#endif
