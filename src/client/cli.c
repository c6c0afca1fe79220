/*
 * cli.c - mfu, the command-line client: put, get, ls, rm, fetch over
 * libmfu.  Exit statuses tell a script what failed (see enum mfu_exit and
 * mfu(1)): usage, an unreadable input, a rejection, or no server.
 */
#include "cli_impl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>

#include "client_impl.h"

static const char usage[] =
  "Usage: mfu [OPTIONS] COMMAND [ARGS]\n"
  "\n"
  "Upload a text and groups of files to an mfu server as one item, and\n"
  "get, list, delete and download items.\n"
  "\n"
  "Commands:\n"
  "  put [--text TEXT | --text-file FILE] [--images FILE...]\n"
  "      [--audios FILE...] [--videos FILE...]\n"
  "                         upload one item; print its id\n"
  "  get ID                 print an item's record (JSON)\n"
  "  ls                     list the user's items, newest first\n"
  "  rm ID                  delete an item\n"
  "  fetch ID|SHA256[.EXT]  download an item's files, or one file\n"
  "\n"
  "Options:\n"
  "  --server URL           server (MFU_SERVER; default " MFU_DEFAULT_SERVER
  ")\n"
  "  --user NAME            user name, sent as ?username= (MFU_USER)\n"
  "  --token TOKEN          bearer token (MFU_TOKEN)\n"
  "  --text TEXT            the item's text (UTF-8)\n"
  "  --text-file FILE       read the item's text from FILE\n"
  "  --images FILE...       image files; FILE may be SECONDS:PATH\n"
  "  --audios FILE...       audio files; FILE may be SECONDS:PATH\n"
  "  --videos FILE...       video files; FILE may be SECONDS:PATH\n"
  "  --duration-from-name   file names already carry SECONDS_ (234_a.mp3)\n"
  "  --idempotency-key KEY  send KEY instead of a fresh random one\n"
  "  --json                 put: print the whole record; ls: JSON array\n"
  "  --limit N              ls: show at most N items (0: all; default 20)\n"
  "  -o, --output PATH      fetch: the directory or file to write\n"
  "  --retries N            retries after a failure\n"
  "                         (MFU_RETRIES; default 3)\n"
  "  --retry-delay MS       first pause before a retry\n"
  "                         (MFU_RETRY_DELAY; default 200)\n"
  "  -q, --quiet            no progress bar\n"
  "  -v, --verbose          show the HTTP exchange on stderr\n"
  "  -h, --help             show this help\n"
  "  -V, --version          show the version\n"
  "\n"
  "Exit status: 0 ok, 1 other failure, 2 usage, 3 unreadable input file,\n"
  "4 rejected by the server, 5 server unreachable or failing.\n"
  "See mfu(1).\n";

struct ctx {
  struct mfu_cli *o;
  struct mfu_client *c;
  struct mfu_bar bar;
  int show_bar;
};

static int exit_for(int rc)
{
  switch(rc) {
  case MFU_CLIENT_OK:
    return MFU_EXIT_OK;
  case MFU_CLIENT_E_INVAL:
    return MFU_EXIT_USAGE;
  case MFU_CLIENT_E_FILE:
    return MFU_EXIT_FILE;
  case MFU_CLIENT_E_REJECTED:
    return MFU_EXIT_REJECTED;
  case MFU_CLIENT_E_NETWORK:
  case MFU_CLIENT_E_SERVER:
  case MFU_CLIENT_E_PROTOCOL:
    return MFU_EXIT_NETWORK;
  case MFU_CLIENT_E_CANCELLED:
    return MFU_EXIT_CANCELLED;
  default:
    return MFU_EXIT_FAIL;
  }
}

/* One line on stderr that says what failed and, for a rejection, the
 * server's own words and code. */
static int report(struct ctx *x, int rc)
{
  struct mfu_client *c = x->c;
  const char *detail = mfu_client_err_detail(c);
  const char *code = mfu_client_err_code(c);

  if(!rc)
    return MFU_EXIT_OK;
  if(!detail[0])
    detail = mfu_client_strerror(rc);
  if(rc == MFU_CLIENT_E_REJECTED)
    fprintf(stderr, "mfu: rejected by the server (HTTP %ld%s%s): %s\n",
            mfu_client_err_status(c), code[0] ? ", " : "", code, detail);
  else if(rc == MFU_CLIENT_E_NETWORK)
    fprintf(stderr, "mfu: cannot reach the server at %s: %s\n",
            x->o->server, detail);
  else if(rc == MFU_CLIENT_E_SERVER)
    fprintf(stderr, "mfu: the server at %s failed (HTTP %ld): %s\n",
            x->o->server, mfu_client_err_status(c), detail);
  else
    fprintf(stderr, "mfu: %s\n", detail);
  return exit_for(rc);
}

static void bar_start(struct ctx *x, const char *label)
{
  if(!x->show_bar)
    return;
  mfu_bar_init(&x->bar, STDERR_FILENO, label);
  mfu_client_set_progress(x->c, mfu_bar_update, &x->bar);
}

static void bar_stop(struct ctx *x)
{
  if(!x->show_bar)
    return;
  mfu_bar_finish(&x->bar);
  mfu_client_set_progress(x->c, NULL, NULL);
}

static void print_json(const json_t *j)
{
  json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
  fputc('\n', stdout);
}

static int build_upload(struct ctx *x, struct mfu_upload *u)
{
  struct mfu_cli *o = x->o;
  size_t i;
  int rc = MFU_CLIENT_OK;

  if(o->text)
    rc = mfu_upload_set_text(u, o->text, strlen(o->text));
  if(rc) {
    fprintf(stderr, "mfu: --text is not valid UTF-8\n");
    return MFU_EXIT_USAGE;
  }
  if(o->text_file && mfu_upload_set_text_file(u, o->text_file))
    return MFU_EXIT_FAIL;
  if(o->key && mfu_upload_set_idempotency_key(u, o->key)) {
    fprintf(stderr, "mfu: --idempotency-key: visible ASCII, at most "
            "128 characters\n");
    return MFU_EXIT_USAGE;
  }
  for(i = 0; i < o->nfiles; i++) {
    const struct mfu_file_arg *f = &o->files[i];
    rc = mfu_upload_add_file(u, f->group, f->path, f->duration, f->name);
    if(rc) {
      fprintf(stderr, "mfu: %s: %s\n", f->arg, mfu_client_strerror(rc));
      return exit_for(rc);
    }
  }
  return MFU_EXIT_OK;
}

static int cmd_put(struct ctx *x)
{
  struct mfu_upload *u = mfu_upload_new();
  json_t *rec = NULL;
  int ex;
  int rc;

  if(!u)
    return MFU_EXIT_FAIL;
  ex = build_upload(x, u);
  if(ex) {
    mfu_upload_free(u);
    return ex;
  }
  bar_start(x, NULL);
  rc = mfu_client_put(x->c, u, &rec);
  bar_stop(x);
  mfu_upload_free(u);
  if(rc)
    return report(x, rc);
  if(x->o->json)
    print_json(rec);
  else
    printf("%s\n", json_string_value(json_object_get(rec, "id")));
  json_decref(rec);
  return MFU_EXIT_OK;
}

static int cmd_get(struct ctx *x)
{
  json_t *rec;
  int rc = mfu_client_get(x->c, x->o->pos[0], &rec);

  if(rc)
    return report(x, rc);
  print_json(rec);
  json_decref(rec);
  return MFU_EXIT_OK;
}

static size_t count(const json_t *item, const char *group)
{
  return json_array_size(json_object_get(item, group));
}

static void print_item_line(const json_t *item)
{
  const char *id = json_string_value(json_object_get(item, "id"));
  const char *at = json_string_value(json_object_get(item, "created_at"));
  const char *text = json_string_value(json_object_get(item, "text"));
  size_t n = text ? strcspn(text, "\r\n") : 0;

  /* Cut the text on a character boundary: it is UTF-8. */
  if(n > 60) {
    n = 60;
    while(n && ((unsigned char)text[n] & 0xc0) == 0x80)
      n--;
  }
  printf("%s  %s  %zu images  %zu audios  %zu videos  %.*s\n",
         id ? id : "?", at ? at : "?", count(item, "images"),
         count(item, "audios"), count(item, "videos"), (int)n,
         text ? text : "");
}

static int cmd_ls(struct ctx *x)
{
  long want = x->o->limit;
  long shown = 0;
  char after[130] = "";
  json_t *all = json_array();
  int rc = MFU_CLIENT_OK;

  if(!all)
    return MFU_EXIT_FAIL;
  while(!want || shown < want) {
    unsigned page_size = 100;
    json_t *page;
    json_t *items;
    json_t *next;
    size_t i;

    if(want && want - shown < 100)
      page_size = (unsigned)(want - shown);
    rc = mfu_client_list(x->c, page_size, after[0] ? after : NULL, &page);
    if(rc)
      break;
    items = json_object_get(page, "items");
    for(i = 0; i < json_array_size(items) && (!want || shown < want); i++) {
      json_t *it = json_array_get(items, i);
      if(x->o->json)
        json_array_append(all, it);
      else
        print_item_line(it);
      shown++;
    }
    next = json_object_get(page, "next");
    if(json_is_string(next) && json_array_size(items))
      snprintf(after, sizeof(after), "%s", json_string_value(next));
    else
      after[0] = '\0';
    json_decref(page);
    if(!after[0])
      break;
  }
  if(!rc && x->o->json)
    print_json(all);
  json_decref(all);
  return report(x, rc);
}

static int cmd_rm(struct ctx *x)
{
  return report(x, mfu_client_delete(x->c, x->o->pos[0]));
}

static int download(struct ctx *x, const char *url, const char *path,
                    const char *label)
{
  int rc;

  bar_start(x, label);
  rc = mfu_client_download(x->c, url, path);
  bar_stop(x);
  return rc;
}

static int make_dir(const char *path)
{
  if(mkdir(path, 0755) && errno != EEXIST) {
    fprintf(stderr, "mfu: %s: %s\n", path, strerror(errno));
    return -1;
  }
  return 0;
}

static int write_text(const char *dir, const char *text)
{
  char *path;
  FILE *f;
  int ok;

  if(asprintf(&path, "%s/text.txt", dir) < 0)
    return MFU_EXIT_FAIL;
  f = fopen(path, "w");
  ok = f && fputs(text, f) >= 0;
  if(f && fclose(f))
    ok = 0;
  if(!ok)
    fprintf(stderr, "mfu: %s: %s\n", path, strerror(errno));
  else
    printf("%s\n", path);
  free(path);
  return ok ? MFU_EXIT_OK : MFU_EXIT_FAIL;
}

/* Files land in DIR/GROUP/N-NAME: the index keeps apart the files of one
 * group that share a name (the seed sends one mp3 three times). */
static int fetch_group(struct ctx *x, const char *dir, const json_t *rec,
                       const char *group)
{
  const json_t *files = json_object_get(rec, group);
  char *gdir;
  size_t i;
  int ex = MFU_EXIT_OK;

  if(!json_array_size(files))
    return MFU_EXIT_OK;
  if(asprintf(&gdir, "%s/%s", dir, group) < 0)
    return MFU_EXIT_FAIL;
  if(make_dir(gdir)) {
    free(gdir);
    return MFU_EXIT_FAIL;
  }
  for(i = 0; i < json_array_size(files) && !ex; i++) {
    const json_t *f = json_array_get(files, i);
    const char *url = json_string_value(json_object_get(f, "url"));
    const char *name = json_string_value(json_object_get(f, "name"));
    char *path;
    if(!name || !mfu_name_ok(name))
      name = "file";
    if(!url) {
      fprintf(stderr, "mfu: %s[%zu] has no url\n", group, i);
      ex = MFU_EXIT_NETWORK;
      break;
    }
    if(asprintf(&path, "%s/%zu-%s", gdir, i, name) < 0) {
      ex = MFU_EXIT_FAIL;
      break;
    }
    ex = report(x, download(x, url, path, name));
    if(!ex)
      printf("%s\n", path);
    free(path);
  }
  free(gdir);
  return ex;
}

static int fetch_item(struct ctx *x, const char *id)
{
  static const char *const groups[] = {"images", "audios", "videos"};
  const char *dir = x->o->output ? x->o->output : id;
  const char *text;
  json_t *rec;
  size_t i;
  int ex = MFU_EXIT_OK;
  int rc = mfu_client_get(x->c, id, &rec);

  if(rc)
    return report(x, rc);
  if(make_dir(dir)) {
    json_decref(rec);
    return MFU_EXIT_FAIL;
  }
  text = json_string_value(json_object_get(rec, "text"));
  if(text && text[0])
    ex = write_text(dir, text);
  for(i = 0; i < 3 && !ex; i++)
    ex = fetch_group(x, dir, rec, groups[i]);
  json_decref(rec);
  return ex;
}

static int cmd_fetch(struct ctx *x)
{
  const char *arg = x->o->pos[0];
  const char *out = x->o->output ? x->o->output : arg;
  char url[128];
  int ex;

  if(mfu_cli_fetch_kind(arg) == MFU_FETCH_ITEM)
    return fetch_item(x, arg);
  snprintf(url, sizeof(url), "/files/%s", arg);
  ex = report(x, download(x, url, out, arg));
  if(!ex)
    printf("%s\n", out);
  return ex;
}

static int run(struct mfu_cli *o)
{
  struct ctx x;
  int ex;

  memset(&x, 0, sizeof(x));
  x.o = o;
  x.c = mfu_client_new(o->server);
  if(!x.c) {
    fprintf(stderr, "mfu: --server: \"%s\" is not an http:// or https:// "
            "URL\n", o->server);
    return MFU_EXIT_USAGE;
  }
  if(mfu_client_set_user(x.c, o->user) ||
     mfu_client_set_token(x.c, o->token)) {
    fprintf(stderr, "mfu: the user name or token holds control "
            "characters\n");
    mfu_client_free(x.c);
    return MFU_EXIT_USAGE;
  }
  mfu_client_set_retry(x.c, (unsigned)o->retries + 1,
                       (unsigned)o->retry_delay, MFU_CLI_RETRY_CAP);
  mfu_client_set_verbose(x.c, o->verbose);
  x.show_bar = !o->quiet && !o->verbose && isatty(STDERR_FILENO);
  switch(o->cmd) {
  case MFU_CMD_PUT:
    ex = cmd_put(&x);
    break;
  case MFU_CMD_GET:
    ex = cmd_get(&x);
    break;
  case MFU_CMD_LS:
    ex = cmd_ls(&x);
    break;
  case MFU_CMD_RM:
    ex = cmd_rm(&x);
    break;
  case MFU_CMD_FETCH:
    ex = cmd_fetch(&x);
    break;
  default:
    ex = MFU_EXIT_USAGE;
  }
  mfu_client_free(x.c);
  if(fflush(stdout) && !ex) {
    fprintf(stderr, "mfu: stdout: %s\n", strerror(errno));
    ex = MFU_EXIT_FAIL;
  }
  return ex;
}

int main(int argc, char **argv)
{
  struct mfu_cli o;
  int rc;
  int ex;

  rc = mfu_cli_parse(&o, argc, argv);
  if(!rc)
    rc = mfu_cli_finish(&o, getenv);
  if(rc) {
    fprintf(stderr, "mfu: %s\nTry 'mfu --help'.\n",
            o.err[0] ? o.err : mfu_client_strerror(rc));
    mfu_cli_free(&o);
    return MFU_EXIT_USAGE;
  }
  if(o.help) {
    fputs(usage, stdout);
    mfu_cli_free(&o);
    return MFU_EXIT_OK;
  }
  if(o.version) {
    printf("mfu %s (%s)\n", MFU_VERSION, curl_version());
    mfu_cli_free(&o);
    return MFU_EXIT_OK;
  }
  if(curl_global_init(CURL_GLOBAL_DEFAULT)) {
    fprintf(stderr, "mfu: libcurl failed to start\n");
    mfu_cli_free(&o);
    return MFU_EXIT_FAIL;
  }
  ex = run(&o);
  curl_global_cleanup();
  mfu_cli_free(&o);
  return ex;
}
