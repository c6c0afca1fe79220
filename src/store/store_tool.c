/*
 * store_tool.c - mfu-store, an operator's tool for a blob store:
 *
 *   mfu-store URL ping
 *   mfu-store URL put FILE|- [CONTENT-TYPE]   prints "<sha256> <size> <0|1>"
 *   mfu-store URL get SHA256 [OFFSET [LEN]]   bytes to stdout
 *   mfu-store URL stat SHA256                 prints "<size> <mtime>"
 *   mfu-store URL ls                          "<sha256> <size>" per blob
 *   mfu-store URL rm SHA256
 *   mfu-store URL sweep MAX-AGE-SECONDS       prints what went
 *
 * URL is what mfud takes with --store (file://DIR, s3://BUCKET?...).  It
 * goes through the same store code as mfud, so it also serves the tests.
 * Exit status: 0, 1 on a store error (its message on stderr), 2 on usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "mfu_store.h"

#define CHUNK (64 * 1024)

static int fail(const char *what, int rc)
{
  fprintf(stderr, "mfu-store: %s: %s\n", what, mfu_strerror(rc));
  return 1;
}

static int cmd_put(struct mfu_store *s, const char *path, const char *type)
{
  FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
  struct mfu_store_put *w;
  char hex[MFU_SHA256_HEX];
  uint64_t size;
  int created, rc;
  static char buf[CHUNK];
  size_t n;

  if(!f) {
    perror(path);
    return 1;
  }
  rc = mfu_store_put_begin(s, type, &w);
  if(rc)
    return fail("put", rc);
  while((n = fread(buf, 1, sizeof(buf), f)) > 0) {
    rc = mfu_store_put_write(w, buf, n);
    if(rc) {
      mfu_store_put_abort(w);
      return fail("put", rc);
    }
  }
  if(ferror(f)) {
    mfu_store_put_abort(w);
    perror(path);
    return 1;
  }
  if(f != stdin)
    fclose(f);
  rc = mfu_store_put_commit(w, hex, &size, &created);
  if(rc)
    return fail("put", rc);
  printf("%s %llu %d\n", hex, (unsigned long long)size, created);
  return 0;
}

static int cmd_get(struct mfu_store *s, const char *hex, uint64_t off,
                   uint64_t len)
{
  struct mfu_store_reader *r;
  static char buf[CHUNK];
  size_t n;
  int rc = mfu_store_read_open(s, hex, off, len, &r);

  if(rc)
    return fail("get", rc);
  while(!(rc = mfu_store_read(r, buf, sizeof(buf), &n)) && n) {
    if(fwrite(buf, 1, n, stdout) != n) {
      rc = MFU_E_IO;
      break;
    }
  }
  mfu_store_reader_close(r);
  return rc ? fail("get", rc) : 0;
}

static int print_blob(void *cls, const char *hex,
                      const struct mfu_store_stat *st)
{
  (void)cls;
  printf("%s %llu\n", hex, (unsigned long long)st->size);
  return 0;
}

static int run(struct mfu_store *s, int argc, char **argv)
{
  const char *cmd = argv[2];
  struct mfu_store_stat st;
  unsigned removed;
  int rc;

  if(!strcmp(cmd, "ping"))
    return (rc = mfu_store_ping(s)) ? fail("ping", rc) : 0;
  if(!strcmp(cmd, "put") && argc >= 4)
    return cmd_put(s, argv[3], argc > 4 ? argv[4] : NULL);
  if(!strcmp(cmd, "get") && argc >= 4)
    return cmd_get(s, argv[3],
                   argc > 4 ? strtoull(argv[4], NULL, 10) : 0,
                   argc > 5 ? strtoull(argv[5], NULL, 10) : UINT64_MAX);
  if(!strcmp(cmd, "stat") && argc == 4) {
    rc = mfu_store_stat(s, argv[3], &st);
    if(rc)
      return fail("stat", rc);
    printf("%llu %lld\n", (unsigned long long)st.size, (long long)st.mtime);
    return 0;
  }
  if(!strcmp(cmd, "ls"))
    return (rc = mfu_store_list(s, print_blob, NULL)) ? fail("ls", rc) : 0;
  if(!strcmp(cmd, "rm") && argc == 4)
    return (rc = mfu_store_delete(s, argv[3])) ? fail("rm", rc) : 0;
  if(!strcmp(cmd, "sweep") && argc == 4) {
    rc = mfu_store_sweep_tmp(s, (time_t)strtoll(argv[3], NULL, 10),
                             &removed);
    if(rc)
      return fail("sweep", rc);
    printf("%u\n", removed);
    return 0;
  }
  fprintf(stderr, "mfu-store: bad command (see the top of store_tool.c)\n");
  return 2;
}

int main(int argc, char **argv)
{
  struct mfu_store *s;
  int rc;

  if(argc < 3) {
    fprintf(stderr, "usage: mfu-store URL ping|put|get|stat|ls|rm|sweep "
            "...\n");
    return 2;
  }
  if(curl_global_init(CURL_GLOBAL_DEFAULT))
    return 1;
  rc = mfu_store_open(argv[1], &s);
  if(rc) {
    curl_global_cleanup();
    return fail(argv[1], rc);
  }
  rc = run(s, argc, argv);
  mfu_store_close(s);
  curl_global_cleanup();
  return rc;
}
