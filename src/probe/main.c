/*
 * main.c - mfu-probe: one probe worker (see mfu_probe.h).  Started by mfud,
 * never by people.  Reads requests on stdin, answers on stdout, exits at
 * end of input or when its parent dies.
 */
#include <curl/curl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "mfu_media.h"
#include "mfu_store.h"
#include "mfu_util.h"

#ifndef __has_feature
#define __has_feature(x) 0
#endif
#if defined(__SANITIZE_ADDRESS__) || __has_feature(address_sanitizer)
#define SANITIZED 1
#else
#define SANITIZED 0
#endif

/* A sequential store reader, reopened on a seek (probes seek rarely). */
struct blob {
  struct mfu_store *store;
  const char *sha256;
  struct mfu_store_reader *rd;
  uint64_t pos;
};

static int read_at(void *cls, uint64_t off, void *buf, size_t cap,
                   size_t *n)
{
  struct blob *b = cls;
  int rc;
  if(!b->rd || off != b->pos) {
    if(b->rd)
      mfu_store_reader_close(b->rd);
    b->rd = NULL;
    if((rc = mfu_store_read_open(b->store, b->sha256, off, UINT64_MAX,
                                 &b->rd)))
      return rc;
    b->pos = off;
  }
  rc = mfu_store_read(b->rd, buf, cap, n);
  if(!rc)
    b->pos += *n;
  return rc;
}

/* What a hostile file can make a demuxer do is bounded here too, not only
 * by the parent's timeout.  No PR_SET_PDEATHSIG: it fires when the *thread*
 * that spawned us ends - a connection thread of mfud - which killed the
 * worker after every request.  A server that dies closes our stdin, and
 * the end of input ends us. */
static void limit_self(void)
{
  struct rlimit as = {1ull << 30, 1ull << 30};
  if(!SANITIZED)      /* ASan reserves terabytes of address space */
    setrlimit(RLIMIT_AS, &as);
}

static int probe_one(struct mfu_media *m, struct mfu_store *s,
                     const char *line)
{
  char group[16], sha[MFU_SHA256_HEX], type[MFU_MEDIA_CTYPE_MAX];
  uint64_t size;
  unsigned timeout;
  struct mfu_media_info info;
  struct blob b = {s, sha, NULL, 0};
  struct mfu_media_source src = {read_at, &b, 0, NULL};
  int rc, n;

  n = sscanf(line, "%15s %64s %" SCNu64 " %u %127s", group, sha, &size,
             &timeout, type);
  if(n < 4 || !mfu_sha256_hex_valid(sha, strlen(sha)))
    return MFU_E_INVAL;
  src.size = size;
  src.type = n == 5 ? type : NULL;
  memset(&info, 0, sizeof(info));
  rc = mfu_media_probe(m, group, &src, timeout, &info);
  if(b.rd)
    mfu_store_reader_close(b.rd);
  printf("%d %d %.6f %u %u %s\n", rc, rc ? 0 : info.known,
         rc ? -1.0 : info.duration, info.width, info.height,
         info.codec[0] ? info.codec : "-");
  return fflush(stdout) ? MFU_E_IO : MFU_OK;
}

int main(int argc, char **argv)
{
  struct mfu_media *m;
  struct mfu_store *s;
  char line[256];
  int rc;

  if(argc != 3 || strcmp(argv[1], "--store")) {
    fprintf(stderr, "usage: mfu-probe --store URL (started by mfud)\n");
    return 2;
  }
  limit_self();
  if(curl_global_init(CURL_GLOBAL_DEFAULT) ||
     mfu_media_new(NULL, &m) != MFU_OK)
    return 1;
  if((rc = mfu_store_open(argv[2], &s))) {
    fprintf(stderr, "mfu-probe: cannot open store: %s\n", mfu_strerror(rc));
    return 1;
  }
  while(fgets(line, sizeof(line), stdin)) {
    if(probe_one(m, s, line) == MFU_E_IO)
      break;
  }
  mfu_store_close(s);
  mfu_media_free(m);
  curl_global_cleanup();
  return 0;
}
