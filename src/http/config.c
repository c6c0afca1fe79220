/*
 * config.c - mfud's flags, their MFU_* environment twins and defaults.
 *
 * One table drives parsing, the environment and --help, so a new option is
 * one line and cannot be documented in one place and forgotten in another.
 */
#include "mfu_http.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "mfu_util.h"

enum kind { K_STR, K_SIZE, K_NUM, K_AUTH, K_FLAG };

struct option_def {
  const char *name;  /* without the leading "--" */
  const char *env;
  enum kind kind;
  size_t off;
  const char *def;   /* default, as text; NULL = none */
  const char *arg;   /* placeholder in --help */
  const char *help;
};

#define OFF(f) offsetof(struct mfu_config, f)

static const struct option_def options[] = {
  {"listen", "MFU_LISTEN", K_STR, OFF(listen), "127.0.0.1:8134", "HOST:PORT",
   "address to serve on"},
  {"store", "MFU_STORE", K_STR, OFF(store), "file://./data/blobs", "URL",
   "blob store: file://DIR or s3://BUCKET?endpoint=URL&region=R"},
  {"catalog", "MFU_CATALOG", K_STR, OFF(catalog), "sqlite://./data/mfu.db",
   "URL", "catalog: sqlite://PATH or postgresql://..."},
  {"public-url", "MFU_PUBLIC_URL", K_STR, OFF(public_url), NULL, "URL",
   "base of file URLs in records (a CDN or bucket); default: this server"},
  {"auth", "MFU_AUTH", K_AUTH, OFF(auth), NULL, "none|token",
   "token is the default on a non-loopback address"},
  {"max-body", "MFU_MAX_BODY", K_SIZE, OFF(max_body), "4G", "SIZE",
   "largest request body"},
  {"max-file", "MFU_MAX_FILE", K_SIZE, OFF(max_file), "2G", "SIZE",
   "largest single file"},
  {"max-text", "MFU_MAX_TEXT", K_SIZE, OFF(max_text), "1M", "SIZE",
   "largest text field"},
  {"max-parts", "MFU_MAX_PARTS", K_NUM, OFF(max_parts), "1000", "N",
   "most parts (files and text) in one request"},
  {"max-header", "MFU_MAX_HEADER", K_SIZE, OFF(max_header), "8K", "SIZE",
   "largest header block of one part"},
  {"max-part-headers", "MFU_MAX_PART_HEADERS", K_NUM, OFF(max_part_headers),
   "16", "N", "most header lines in one part"},
  {"max-request-header", "MFU_MAX_REQUEST_HEADER", K_SIZE,
   OFF(max_request_header), "16K", "SIZE",
   "largest request header block (431 beyond)"},
  {"max-query", "MFU_MAX_QUERY", K_SIZE, OFF(max_query), "4K", "SIZE",
   "longest query string (414 beyond)"},
  {"max-conns", "MFU_MAX_CONNS", K_NUM, OFF(max_conns), "256", "N",
   "most connections at once"},
  {"max-conns-per-ip", "MFU_MAX_CONNS_PER_IP", K_NUM, OFF(max_conns_per_ip),
   "64", "N", "most connections from one address; 0 = no limit (behind a "
   "proxy)"},
  {"timeout", "MFU_TIMEOUT", K_NUM, OFF(timeout), "60", "SECONDS",
   "close a connection idle this long, or whose request headers take "
   "longer"},
  {"min-rate", "MFU_MIN_RATE", K_SIZE, OFF(min_rate), "1K", "SIZE",
   "bytes per second a body must average over each --timeout; 0 = off"},
  {"idempotency-ttl", "MFU_IDEMPOTENCY_TTL", K_NUM, OFF(idem_ttl), "86400",
   "SECONDS", "how long a repeated Idempotency-Key returns the first item"},
  {"gc-grace", "MFU_GC_GRACE", K_NUM, OFF(gc_grace), "3600", "SECONDS",
   "gc leaves unreferenced blobs younger than this"},
  {"probe-timeout", "MFU_PROBE_TIMEOUT", K_NUM, OFF(probe_timeout), "5000",
   "MS", "longest media probe of one file; slower files keep null fields"},
  {"probe-workers", "MFU_PROBE_WORKERS", K_NUM, OFF(probe_workers), "0",
   "N", "mfu-probe processes at most; 0 = one per CPU"},
  {"allow-images", "MFU_ALLOW_IMAGES", K_STR, OFF(allow_images), NULL,
   "TYPES", "sniffed types images takes (image/png,image/*,...)"},
  {"allow-audios", "MFU_ALLOW_AUDIOS", K_STR, OFF(allow_audios), NULL,
   "TYPES", "sniffed types audios takes"},
  {"allow-videos", "MFU_ALLOW_VIDEOS", K_STR, OFF(allow_videos), NULL,
   "TYPES", "sniffed types videos takes"},
  {"quiet", "MFU_QUIET", K_FLAG, OFF(quiet), NULL, NULL,
   "no access log"},
};

#define NOPTIONS (sizeof(options) / sizeof(options[0]))

static int set_value(struct mfu_config *cfg, const struct option_def *o,
                     const char *v, const char *from, FILE *err)
{
  char *p = (char *)cfg + o->off;
  uint64_t n;
  switch(o->kind) {
  case K_STR:
    *(const char **)p = v;
    return MFU_OK;
  case K_FLAG:
    if(!strcmp(v, "1") || !strcmp(v, "true") || !strcmp(v, "yes"))
      *(int *)p = 1;
    else if(!strcmp(v, "0") || !strcmp(v, "false") || !strcmp(v, "no"))
      *(int *)p = 0;
    else
      break;
    return MFU_OK;
  case K_AUTH:
    if(!strcmp(v, "none"))
      *(enum mfu_auth *)p = MFU_AUTH_NONE;
    else if(!strcmp(v, "token"))
      *(enum mfu_auth *)p = MFU_AUTH_TOKEN;
    else
      break;
    return MFU_OK;
  case K_SIZE:
  case K_NUM:
    if(mfu_size_parse(v, &n) != MFU_OK)
      break;
    if(o->kind == K_NUM && strspn(v, "0123456789") != strlen(v))
      break;
    *(uint64_t *)p = n;
    return MFU_OK;
  }
  fprintf(err, "mfud: invalid value '%s' for %s\n", v, from);
  return MFU_E_INVAL;
}

static const struct option_def *find(const char *name, size_t len)
{
  for(size_t i = 0; i < NOPTIONS; i++) {
    if(strlen(options[i].name) == len && !memcmp(options[i].name, name, len))
      return &options[i];
  }
  return NULL;
}

static int parse_args(struct mfu_config *cfg, int argc, char **argv,
                      char **words, size_t *nwords, FILE *err)
{
  for(int i = 0; i < argc; i++) {
    const char *a = argv[i], *eq, *v;
    const struct option_def *o;
    size_t len;
    if((strncmp(a, "--", 2) || !a[2]) && words) {
      words[(*nwords)++] = argv[i];
      continue;
    }
    if(strncmp(a, "--", 2) || !a[2]) {
      fprintf(err, "mfud: unexpected argument '%s' (see mfud --help)\n", a);
      return MFU_E_INVAL;
    }
    eq = strchr(a + 2, '=');
    len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
    o = find(a + 2, len);
    if(!o) {
      fprintf(err, "mfud: unknown option '%s' (see mfud --help)\n", a);
      return MFU_E_INVAL;
    }
    if(o->kind == K_FLAG && !eq)
      v = "1";
    else if(eq)
      v = eq + 1;
    else if(i + 1 < argc)
      v = argv[++i];
    else {
      fprintf(err, "mfud: option '--%s' needs a value\n", o->name);
      return MFU_E_INVAL;
    }
    if(set_value(cfg, o, v, a, err))
      return MFU_E_INVAL;
  }
  return MFU_OK;
}

static int loopback(const char *listen)
{
  return !strncmp(listen, "127.", 4) || !strncmp(listen, "localhost:", 10) ||
         !strncmp(listen, "[::1]:", 6);
}

int mfu_config_parse(struct mfu_config *cfg, int argc, char **argv,
                     FILE *err)
{
  return mfu_config_parse_words(cfg, argc, argv, NULL, NULL, err);
}

int mfu_config_parse_words(struct mfu_config *cfg, int argc, char **argv,
                           char **words, size_t *nwords, FILE *err)
{
  size_t i;
  memset(cfg, 0, sizeof(*cfg));
  for(i = 0; i < NOPTIONS; i++) {
    const char *v = getenv(options[i].env);
    if(options[i].def && set_value(cfg, &options[i], options[i].def,
                                   options[i].name, err))
      return MFU_E_INTERNAL;
    if(v && *v && set_value(cfg, &options[i], v, options[i].env, err))
      return MFU_E_INVAL;
  }
  if(nwords)
    *nwords = 0;
  if(parse_args(cfg, argc, argv, words, nwords, err))
    return MFU_E_INVAL;
  if(cfg->auth == MFU_AUTH_DEFAULT)
    cfg->auth = loopback(cfg->listen) ? MFU_AUTH_NONE : MFU_AUTH_TOKEN;
  if(cfg->max_parts == 0 || cfg->max_conns == 0) {
    fprintf(err, "mfud: --max-parts and --max-conns must be at least 1\n");
    return MFU_E_INVAL;
  }
  if(cfg->max_part_headers == 0) {
    fprintf(err, "mfud: --max-part-headers must be at least 1\n");
    return MFU_E_INVAL;
  }
  if(cfg->max_request_header < 1024 || cfg->max_request_header > 128 * 1024) {
    fprintf(err, "mfud: --max-request-header must be 1K to 128K\n");
    return MFU_E_INVAL;
  }
  if(cfg->max_query > 64 * 1024) {
    fprintf(err, "mfud: --max-query must be at most 64K\n");
    return MFU_E_INVAL;
  }
  if(cfg->max_header < 256) {
    fprintf(err, "mfud: --max-header must be at least 256 bytes\n");
    return MFU_E_INVAL;
  }
  if(cfg->probe_workers > MFU_PROBE_WORKERS_MAX) {
    fprintf(err, "mfud: --probe-workers must be at most %d\n",
            MFU_PROBE_WORKERS_MAX);
    return MFU_E_INVAL;
  }
  return MFU_OK;
}

void mfu_config_usage(FILE *out)
{
  fputs("Usage: mfud [serve] [OPTIONS]     serve uploads (the default)\n"
        "       mfud gc [OPTIONS]        remove what crashes left behind\n"
        "       mfud user add NAME [--label L]   add a user, print a token\n"
        "       mfud user list\n"
        "       mfud token add NAME [--label L]  print a new token of NAME\n"
        "       mfud token list [NAME]\n"
        "       mfud token revoke ID\n"
        "       mfud --help | --version\n\n"
        "Options (each also read from the environment variable shown):\n",
        out);
  for(size_t i = 0; i < NOPTIONS; i++) {
    const struct option_def *o = &options[i];
    char left[64];
    snprintf(left, sizeof(left), "--%s%s%s", o->name, o->arg ? " " : "",
             o->arg ? o->arg : "");
    fprintf(out, "  %-30s %s\n  %-30s [%s%s%s]\n", left, o->help, "",
            o->env, o->def ? ", default " : "", o->def ? o->def : "");
  }
  fputs("\nSizes take K, M, G or T (powers of 1024).  With no options mfud\n"
        "serves on 127.0.0.1:8134 with its files and SQLite under ./data.\n",
        out);
}
