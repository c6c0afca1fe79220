/*
 * cli_impl.h - the parts of the mfu command that are pure functions
 * (argument parsing, configuration, the progress line), so the unit tests
 * reach them without a terminal or a server.
 */
#ifndef MFU_CLI_IMPL_H
#define MFU_CLI_IMPL_H

#include <stddef.h>

#include "mfu/mfu.h"

/* Exit statuses, as the man page lists them. */
enum mfu_exit {
  MFU_EXIT_OK = 0,
  MFU_EXIT_FAIL = 1,       /* anything else: a local write, no memory */
  MFU_EXIT_USAGE = 2,
  MFU_EXIT_FILE = 3,       /* an input file cannot be read; nothing sent */
  MFU_EXIT_REJECTED = 4,   /* the server answered 4xx */
  MFU_EXIT_NETWORK = 5,    /* no server, or 5xx, after the retries */
  MFU_EXIT_CANCELLED = 130,
};

enum mfu_cmd {
  MFU_CMD_NONE = 0,
  MFU_CMD_PUT,
  MFU_CMD_GET,
  MFU_CMD_LS,
  MFU_CMD_RM,
  MFU_CMD_FETCH,
};

struct mfu_file_arg {
  enum mfu_group group;
  const char *arg;        /* as given: "PATH" or "SECONDS:PATH" */
  const char *path;       /* filled by mfu_cli_finish() */
  long long duration;     /* MFU_DURATION_NONE or seconds */
  const char *name;       /* display name; NULL: basename of path */
};

struct mfu_cli {
  enum mfu_cmd cmd;
  int help;
  int version;
  const char *server;
  const char *user;
  const char *token;
  const char *text;
  const char *text_file;
  const char *output;
  const char *key;
  int json;
  int quiet;
  int verbose;
  int from_name;
  long retries;           /* after the first attempt; -1: unset */
  long retry_delay;       /* ms; -1: unset */
  long limit;             /* -1: unset */
  struct mfu_file_arg *files;
  size_t nfiles;
  const char *pos[4];     /* positional arguments after the command */
  size_t npos;
  char err[512];          /* why parsing failed, for the user */
};

/* Defaults when neither a flag nor the environment says otherwise. */
#define MFU_CLI_RETRIES 3
#define MFU_CLI_RETRY_DELAY 200
#define MFU_CLI_RETRY_CAP 5000
#define MFU_CLI_LIMIT 20

/*
 * Parse argv (argv[0] is the program).  Options may come before or after
 * the command.  MFU_CLIENT_OK, or MFU_CLIENT_E_INVAL with o->err set, or
 * _E_NOMEM.  o keeps pointers into argv; free with mfu_cli_free().
 */
int mfu_cli_parse(struct mfu_cli *o, int argc, char **argv);

/*
 * Fill what flags left unset from the environment through get (MFU_SERVER,
 * MFU_USER, MFU_TOKEN, MFU_RETRIES, MFU_RETRY_DELAY), then the defaults;
 * then check the command's arguments and split file arguments.  get may
 * be getenv.  MFU_CLIENT_OK or MFU_CLIENT_E_INVAL with o->err.
 */
int mfu_cli_finish(struct mfu_cli *o, char *(*get)(const char *));

/*
 * Split one file argument.  from_name: the basename must be
 * "SECONDS_NAME" and is sent unchanged.  Otherwise "SECONDS:PATH" gives a
 * duration and PATH is sent under its basename; anything else is a plain
 * path.  MFU_CLIENT_OK or MFU_CLIENT_E_INVAL with err.
 */
int mfu_cli_file_spec(struct mfu_file_arg *f, int from_name, char *err,
                      size_t errlen);

void mfu_cli_free(struct mfu_cli *o);

/* What kind of thing `mfu fetch` was given. */
enum mfu_fetch_kind {
  MFU_FETCH_BAD = 0,
  MFU_FETCH_ITEM,         /* 24 hex digits */
  MFU_FETCH_FILE,         /* 64 hex digits, optional ".ext" */
};
enum mfu_fetch_kind mfu_cli_fetch_kind(const char *arg);

/* ---- progress.c ---- */

struct mfu_bar {
  int fd;                 /* where to draw; a terminal */
  double start;           /* seconds, monotonic */
  double last_draw;
  double rate;            /* bytes/s, smoothed */
  double rate_at;
  uint64_t rate_bytes;
  int width;              /* terminal columns */
  int drawn;
  int done;               /* the 100% state has been drawn */
  const char *label;      /* download: the file's name */
};

/* Start a bar on fd (a terminal). */
void mfu_bar_init(struct mfu_bar *b, int fd, const char *label);

/* An mfu_progress_cb: cls is the struct mfu_bar; draws at most 10 times a
 * second.  Never cancels. */
int mfu_bar_update(const struct mfu_progress *p, void *cls);

/* Draw the final state and end the line. */
void mfu_bar_finish(struct mfu_bar *b);

/*
 * The bar's text for p into out (NUL-ended, at most n bytes, about width
 * columns): file n/m, its name and percentage, the total percentage, a
 * bar, the rate and the time left.  elapsed in seconds, rate in bytes/s.
 */
size_t mfu_bar_format(char *out, size_t n, const struct mfu_progress *p,
                      const char *label, double rate, int width);

/* "1.5 MiB" style into out; returns out. */
char *mfu_human_bytes(char *out, size_t n, double bytes);

#endif
