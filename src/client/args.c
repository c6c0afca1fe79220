/*
 * args.c - the mfu command's arguments and configuration: flags, then the
 * environment (MFU_SERVER, MFU_USER, MFU_TOKEN, ...), then defaults.
 *
 * Group options take several values (`--audios a.mp3 b.mp3`), as the seed
 * sends several files per field, so a hand-written parser: getopt_long
 * takes one value per option.
 */
#include "cli_impl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_impl.h"
#include "mfu_util.h"

static int bad(struct mfu_cli *o, const char *fmt, ...)
  __attribute__((format(printf, 2, 3)));

static int bad(struct mfu_cli *o, const char *fmt, ...)
{
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(o->err, sizeof(o->err), fmt, ap);
  va_end(ap);
  return MFU_CLIENT_E_INVAL;
}

static const struct {
  const char *name;
  enum mfu_cmd cmd;
} commands[] = {
  {"put", MFU_CMD_PUT}, {"get", MFU_CMD_GET},     {"ls", MFU_CMD_LS},
  {"rm", MFU_CMD_RM},   {"fetch", MFU_CMD_FETCH},
};

/* Options that take one value; *slot gets it. */
static const char **value_slot(struct mfu_cli *o, const char *name)
{
  if(!strcmp(name, "--server"))
    return &o->server;
  if(!strcmp(name, "--user"))
    return &o->user;
  if(!strcmp(name, "--token"))
    return &o->token;
  if(!strcmp(name, "--text"))
    return &o->text;
  if(!strcmp(name, "--text-file"))
    return &o->text_file;
  if(!strcmp(name, "--output") || !strcmp(name, "-o"))
    return &o->output;
  if(!strcmp(name, "--idempotency-key"))
    return &o->key;
  return NULL;
}

static int flag(struct mfu_cli *o, const char *a)
{
  if(!strcmp(a, "--json"))
    o->json = 1;
  else if(!strcmp(a, "--quiet") || !strcmp(a, "-q"))
    o->quiet = 1;
  else if(!strcmp(a, "--verbose") || !strcmp(a, "-v"))
    o->verbose = 1;
  else if(!strcmp(a, "--duration-from-name"))
    o->from_name = 1;
  else if(!strcmp(a, "--help") || !strcmp(a, "-h"))
    o->help = 1;
  else if(!strcmp(a, "--version") || !strcmp(a, "-V"))
    o->version = 1;
  else
    return 0;
  return 1;
}

static int number(struct mfu_cli *o, const char *opt, const char *s,
                  long max, long *out)
{
  char *end;
  long v;

  errno = 0;
  v = strtol(s, &end, 10);
  if(errno || end == s || *end || v < 0 || v > max)
    return bad(o, "%s: \"%s\" is not a number from 0 to %ld", opt, s, max);
  *out = v;
  return MFU_CLIENT_OK;
}

static int group_of(const char *a, enum mfu_group *g)
{
  if(!strcmp(a, "--images"))
    *g = MFU_GROUP_IMAGES;
  else if(!strcmp(a, "--audios"))
    *g = MFU_GROUP_AUDIOS;
  else if(!strcmp(a, "--videos"))
    *g = MFU_GROUP_VIDEOS;
  else
    return 0;
  return 1;
}

static int add_file(struct mfu_cli *o, enum mfu_group g, const char *arg)
{
  struct mfu_file_arg *a;

  a = realloc(o->files, (o->nfiles + 1) * sizeof(*a));
  if(!a)
    return MFU_CLIENT_E_NOMEM;
  o->files = a;
  memset(&a[o->nfiles], 0, sizeof(*a));
  a[o->nfiles].group = g;
  a[o->nfiles].arg = arg;
  a[o->nfiles].duration = MFU_DURATION_NONE;
  o->nfiles++;
  return MFU_CLIENT_OK;
}

static int positional(struct mfu_cli *o, const char *a)
{
  size_t i;

  if(o->cmd == MFU_CMD_NONE) {
    for(i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
      if(!strcmp(a, commands[i].name)) {
        o->cmd = commands[i].cmd;
        return MFU_CLIENT_OK;
      }
    }
    if(!strcmp(a, "help")) {
      o->help = 1;
      return MFU_CLIENT_OK;
    }
    return bad(o, "unknown command \"%s\"", a);
  }
  if(o->npos == sizeof(o->pos) / sizeof(o->pos[0]))
    return bad(o, "too many arguments");
  o->pos[o->npos++] = a;
  return MFU_CLIENT_OK;
}

/* Split "--opt=value" into name and value; name is copied into buf. */
static const char *split_eq(const char *a, char *buf, size_t n,
                            const char **value)
{
  const char *eq = strchr(a, '=');

  *value = NULL;
  if(strncmp(a, "--", 2) || !eq || (size_t)(eq - a) >= n)
    return a;
  memcpy(buf, a, (size_t)(eq - a));
  buf[eq - a] = '\0';
  *value = eq + 1;
  return buf;
}

int mfu_cli_parse(struct mfu_cli *o, int argc, char **argv)
{
  int i;
  int rc;
  int rest = 0;         /* after "--": everything is positional */

  memset(o, 0, sizeof(*o));
  o->retries = -1;
  o->retry_delay = -1;
  o->limit = -1;
  for(i = 1; i < argc; i++) {
    char buf[32];
    const char *a = argv[i];
    const char *v;
    const char **slot;
    enum mfu_group g;
    const char *name;

    if(rest || a[0] != '-' || !a[1]) {
      rc = positional(o, a);
      if(rc)
        return rc;
      continue;
    }
    if(!strcmp(a, "--")) {
      rest = 1;
      continue;
    }
    name = split_eq(a, buf, sizeof(buf), &v);
    if(!v && flag(o, name))
      continue;
    if(group_of(name, &g)) {
      if(v) {
        rc = add_file(o, g, v);
        if(rc)
          return rc;
        continue;
      }
      /* Every following argument up to the next option is a file. */
      if(i + 1 >= argc || argv[i + 1][0] == '-')
        return bad(o, "%s needs at least one file", name);
      while(i + 1 < argc && (argv[i + 1][0] != '-' || !argv[i + 1][1])) {
        rc = add_file(o, g, argv[++i]);
        if(rc)
          return rc;
      }
      continue;
    }
    if(!v) {
      if(i + 1 >= argc)
        return bad(o, "%s needs a value", name);
      v = argv[++i];
    }
    slot = value_slot(o, name);
    if(slot) {
      *slot = v;
      continue;
    }
    if(!strcmp(name, "--retries"))
      rc = number(o, name, v, 100, &o->retries);
    else if(!strcmp(name, "--retry-delay"))
      rc = number(o, name, v, MFU_CLI_RETRY_CAP, &o->retry_delay);
    else if(!strcmp(name, "--limit"))
      rc = number(o, name, v, 1000000, &o->limit);
    else
      return bad(o, "unknown option \"%s\"", name);
    if(rc)
      return rc;
  }
  return MFU_CLIENT_OK;
}

int mfu_cli_file_spec(struct mfu_file_arg *f, int from_name, char *err,
                      size_t errlen)
{
  const char *s = f->arg;
  const char *colon = strchr(s, ':');
  size_t digits = strspn(s, "0123456789");

  f->path = s;
  f->duration = MFU_DURATION_NONE;
  f->name = NULL;
  if(digits && colon == s + digits) {
    if(from_name) {
      snprintf(err, errlen, "%s: SECONDS:PATH and --duration-from-name "
               "do not mix", s);
      return MFU_CLIENT_E_INVAL;
    }
    if(!colon[1] || digits > 18) {
      snprintf(err, errlen, "%s: expected SECONDS:PATH", s);
      return MFU_CLIENT_E_INVAL;
    }
    f->duration = strtoll(s, NULL, 10);
    f->path = colon + 1;
  }
  else if(from_name) {
    const char *rest;
    if(mfu_name_split_duration(mfu_basename(s), &f->duration, &rest)) {
      snprintf(err, errlen, "%s: --duration-from-name wants names like "
               "234_name.mp3", s);
      return MFU_CLIENT_E_INVAL;
    }
    f->name = rest;
  }
  if(!mfu_name_ok(f->name ? f->name : mfu_basename(f->path))) {
    snprintf(err, errlen, "%s: the file name must be UTF-8 without control "
             "characters", f->path);
    return MFU_CLIENT_E_INVAL;
  }
  return MFU_CLIENT_OK;
}

static int from_env(struct mfu_cli *o, char *(*get)(const char *),
                    const char *var, long max, long *out)
{
  const char *s = get(var);
  if(*out >= 0 || !s || !*s)
    return MFU_CLIENT_OK;
  return number(o, var, s, max, out);
}

static const char *env_or(char *(*get)(const char *), const char *flag,
                          const char *var, const char *dflt)
{
  const char *s;
  if(flag)
    return flag;
  s = get(var);
  return s && *s ? s : dflt;
}

static int check_args(struct mfu_cli *o)
{
  static const char *const need[] = {
    [MFU_CMD_GET] = "get ID", [MFU_CMD_RM] = "rm ID",
    [MFU_CMD_FETCH] = "fetch ID|SHA256[.EXT]",
  };
  size_t want = o->cmd == MFU_CMD_PUT || o->cmd == MFU_CMD_LS ? 0 : 1;

  if(o->npos != want)
    return want ? bad(o, "usage: mfu %s", need[o->cmd])
                : bad(o, "unexpected argument \"%s\"", o->pos[0]);
  if(o->cmd != MFU_CMD_PUT &&
     (o->nfiles || o->text || o->text_file || o->from_name || o->key))
    return bad(o, "--text, --images, --audios, --videos, "
               "--duration-from-name and --idempotency-key go with put");
  if(o->output && o->cmd != MFU_CMD_FETCH)
    return bad(o, "--output goes with fetch");
  if(o->text && o->text_file)
    return bad(o, "--text and --text-file do not mix");
  if(o->cmd == MFU_CMD_PUT && !o->text && !o->text_file && !o->nfiles)
    return bad(o, "put needs a text or at least one file");
  if(o->cmd == MFU_CMD_FETCH && !mfu_cli_fetch_kind(o->pos[0]))
    return bad(o, "fetch: \"%s\" is neither an item id (24 hex digits) nor "
               "a file (64 hex digits, optional .ext)", o->pos[0]);
  return MFU_CLIENT_OK;
}

int mfu_cli_finish(struct mfu_cli *o, char *(*get)(const char *))
{
  size_t i;
  int rc;

  if(o->help || o->version)
    return MFU_CLIENT_OK;
  if(o->cmd == MFU_CMD_NONE)
    return bad(o, "no command given");
  o->server = env_or(get, o->server, "MFU_SERVER", MFU_DEFAULT_SERVER);
  o->user = env_or(get, o->user, "MFU_USER", NULL);
  o->token = env_or(get, o->token, "MFU_TOKEN", NULL);
  rc = from_env(o, get, "MFU_RETRIES", 100, &o->retries);
  if(!rc)
    rc = from_env(o, get, "MFU_RETRY_DELAY", MFU_CLI_RETRY_CAP,
                  &o->retry_delay);
  if(rc)
    return rc;
  if(o->retries < 0)
    o->retries = MFU_CLI_RETRIES;
  if(o->retry_delay < 0)
    o->retry_delay = MFU_CLI_RETRY_DELAY;
  if(o->limit < 0)
    o->limit = MFU_CLI_LIMIT;
  rc = check_args(o);
  if(rc)
    return rc;
  for(i = 0; i < o->nfiles; i++) {
    rc = mfu_cli_file_spec(&o->files[i], o->from_name, o->err,
                           sizeof(o->err));
    if(rc)
      return rc;
  }
  return MFU_CLIENT_OK;
}

void mfu_cli_free(struct mfu_cli *o)
{
  free(o->files);
  o->files = NULL;
  o->nfiles = 0;
}

enum mfu_fetch_kind mfu_cli_fetch_kind(const char *arg)
{
  size_t len = strlen(arg);
  const char *dot = strchr(arg, '.');
  size_t i;

  if(mfu_oid_valid(arg, len))
    return MFU_FETCH_ITEM;
  if(!mfu_sha256_hex_valid(arg, dot ? (size_t)(dot - arg) : len))
    return MFU_FETCH_BAD;
  if(!dot)
    return MFU_FETCH_FILE;
  /* The extension becomes part of a URL path and a local file name. */
  if(len - 65 < 1 || len - 65 > 10)
    return MFU_FETCH_BAD;
  for(i = 65; i < len; i++) {
    char c = arg[i];
    if(!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9')))
      return MFU_FETCH_BAD;
  }
  return MFU_FETCH_FILE;
}
