/*
 * fuzz_multipart.c - the streaming parser on any body, split anywhere.
 *
 * Input: 2 bytes seed the feed sizes, 1 byte picks the limits, 1 byte the
 * boundary length, then the boundary, then the body.  The body is parsed
 * whole and again in random spans (each copied to a buffer of exactly its
 * size, so ASan sees any read past a span); the return code, the error
 * offset and a hash of the callback trace must be the same.  The callbacks
 * check the invariants of the API on the way: begin/end pairing, NUL-
 * terminated strings of the stated length, data spans inside the caller's
 * feed or (held-back delimiter prefix) inside the parser struct.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mfu_multipart.h"

struct trace {
  uint64_t hash;
  uint64_t events;
  const char *feed;
  size_t feed_len;
  const struct mfu_multipart *p;
  int in_part;
  int done;
};

static void mix(struct trace *t, const void *s, size_t n)
{
  const unsigned char *c = s;
  size_t i;
  for(i = 0; i < n; i++)
    t->hash = (t->hash ^ c[i]) * 0x100000001b3ULL;
  t->events++;
}

static void check_str(const char *s, size_t n)
{
  if(s && strlen(s) != n)
    abort();
}

static int on_begin(void *cls, const struct mfu_multipart_part *part)
{
  struct trace *t = cls;
  if(t->in_part || t->done || !part->name)
    abort();
  check_str(part->name, part->name_len);
  check_str(part->filename, part->filename_len);
  check_str(part->content_type, part->content_type_len);
  t->in_part = 1;
  mix(t, "B", 1);
  mix(t, part->name, part->name_len + 1);
  mix(t, part->filename ? part->filename : "\1", part->filename_len + 1);
  mix(t, part->content_type ? part->content_type : "\1",
      part->content_type_len + 1);
  mix(t, &part->index, sizeof(part->index));
  return 0;
}

static int on_data(void *cls, const char *at, size_t len)
{
  struct trace *t = cls;
  const char *own = (const char *)t->p;
  if(!t->in_part || !len)
    abort();
  if(!(at >= t->feed && at + len <= t->feed + t->feed_len) &&
     !(at >= own && at + len <= own + sizeof(*t->p) &&
       len < MFU_MULTIPART_DELIM_MAX))
    abort();
  /* Data spans are merged: only the bytes count, not how they were cut. */
  {
    size_t i;
    for(i = 0; i < len; i++)
      t->hash = (t->hash ^ (unsigned char)at[i]) * 0x100000001b3ULL;
  }
  return 0;
}

static int on_end(void *cls)
{
  struct trace *t = cls;
  if(!t->in_part)
    abort();
  t->in_part = 0;
  mix(t, "E", 1);
  return 0;
}

static int on_body_end(void *cls)
{
  struct trace *t = cls;
  if(t->in_part || t->done)
    abort();
  t->done = 1;
  mix(t, "Z", 1);
  return 0;
}

static const struct mfu_multipart_callbacks cbs = {
  on_begin, on_data, on_end, on_body_end};

struct run {
  int rc;
  uint64_t errpos;
  uint64_t hash, events;
};

static uint32_t next(uint32_t *s)
{
  *s ^= *s << 13;
  *s ^= *s >> 17;
  *s ^= *s << 5;
  return *s;
}

/* seed 0: one span; otherwise random spans up to maxspan bytes. */
static struct run parse(const char *b, size_t blen, const char *body,
                        size_t len, const struct mfu_multipart_limits *lim,
                        size_t hdr_cap, uint32_t seed, size_t maxspan)
{
  static char hdr[65536];
  struct mfu_multipart p;
  struct trace t = {0xcbf29ce484222325ULL, 0, NULL, 0, &p, 0, 0};
  struct run r;
  size_t at = 0;
  int rc;

  if(mfu_multipart_init(&p, b, blen, lim, &cbs, &t, hdr, hdr_cap))
    abort();
  do {
    size_t n = seed ? 1 + next(&seed) % maxspan : len;
    char *span;
    if(n > len - at)
      n = len - at;
    span = malloc(n ? n : 1);
    if(!span)
      abort();
    memcpy(span, body + at, n);
    t.feed = span;
    t.feed_len = n;
    rc = mfu_multipart_execute(&p, span, n);
    free(span);
    at += n;
  } while(!rc && at < len);
  if(!rc)
    rc = mfu_multipart_finish(&p);
  if(rc && (mfu_multipart_errpos(&p) > len || !*mfu_multipart_errmsg(&p)))
    abort();
  if(!rc && !t.done)
    abort();
  if(mfu_multipart_finish(&p) != rc)
    abort();
  r.rc = rc;
  r.errpos = rc ? mfu_multipart_errpos(&p) : 0;
  r.hash = t.hash;
  r.events = t.events;
  return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct mfu_multipart_limits lim;
  const struct mfu_multipart_limits *limp = NULL;
  struct run whole, split;
  uint32_t seed;
  size_t blen, hdr_cap = 65536, maxspan;
  const char *b, *body;

  if(size < 5)
    return 0;
  seed = (uint32_t)data[0] << 8 | data[1] | 0x10000u;
  if(!(data[2] & 0x80)) {
    /* Small limits, so the fuzzer reaches every limit error. */
    lim.max_header_line = 16 + (data[2] & 0x0f) * 16u;
    lim.max_headers = 1 + ((data[2] >> 4) & 3);
    lim.max_parts = 1 + ((data[2] >> 6) & 1) * 3;
    limp = &lim;
    hdr_cap = 256;
  }
  blen = data[3];
  if(blen < 1 || blen > MFU_MULTIPART_BOUNDARY_MAX || size < 4 + blen)
    return 0;
  b = (const char *)data + 4;
  body = b + blen;
  {
    char hdr[256];
    struct mfu_multipart p;
    if(mfu_multipart_init(&p, b, blen, NULL, NULL, NULL, hdr, sizeof(hdr)))
      return 0;
  }
  size -= 4 + blen;
  maxspan = 1 + (data[0] % 4 == 0 ? 1 : data[1] % (2 * blen + 8));
  whole = parse(b, blen, body, size, limp, hdr_cap, 0, 0);
  split = parse(b, blen, body, size, limp, hdr_cap, seed, maxspan);
  if(whole.rc != split.rc || whole.errpos != split.errpos ||
     whole.hash != split.hash || whole.events != split.events)
    abort();
  return 0;
}
