/*
 * fuzz_util.c - mfu_utf8_valid() against a reference decoder written from
 * RFC 3629 section 4's table, and the id and hash validators against
 * their one-line definitions; mfu_size_parse must not crash and must
 * agree with a reparse of what it returns.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mfu_util.h"

/* RFC 3629 section 4, UTF8-char, byte ranges as written there. */
static int in(unsigned char c, unsigned lo, unsigned hi)
{
  return c >= lo && c <= hi;
}

static int ref_utf8(const unsigned char *s, size_t n)
{
  size_t i = 0;
  while(i < n) {
    unsigned char c = s[i];
    size_t k;
    if(c <= 0x7f) {
      i++;
      continue;
    }
    if(in(c, 0xc2, 0xdf))
      k = 1;
    else if(in(c, 0xe0, 0xef))
      k = 2;
    else if(in(c, 0xf0, 0xf4))
      k = 3;
    else
      return 0;
    if(n - i <= k)             /* k continuation bytes must follow */
      return 0;
    /* the second byte's range depends on the first */
    if(c == 0xe0 && !in(s[i + 1], 0xa0, 0xbf))
      return 0;
    if(c == 0xed && !in(s[i + 1], 0x80, 0x9f))
      return 0;
    if(c == 0xf0 && !in(s[i + 1], 0x90, 0xbf))
      return 0;
    if(c == 0xf4 && !in(s[i + 1], 0x80, 0x8f))
      return 0;
    for(size_t j = 1; j <= k; j++) {
      if(!in(s[i + j], 0x80, 0xbf))
        return 0;
    }
    i += k + 1;
  }
  return 1;
}

static int ref_hex(const char *s, size_t n, size_t want)
{
  if(n != want)
    return 0;
  for(size_t i = 0; i < n; i++) {
    if(!strchr("0123456789abcdef", s[i]) || !s[i])
      return 0;
  }
  return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char *s = malloc(size + 1), again[32];
  uint64_t v, w;

  if(!s)
    return 0;
  memcpy(s, data, size);
  s[size] = '\0';
  if(mfu_utf8_valid(s, size) != ref_utf8(data, size))
    abort();
  if(mfu_oid_valid(s, size) != ref_hex(s, size, 24))
    abort();
  if(mfu_sha256_hex_valid(s, size) != ref_hex(s, size, 64))
    abort();
  if(mfu_size_parse(s, &v) == MFU_OK) {
    snprintf(again, sizeof(again), "%llu", (unsigned long long)v);
    if(mfu_size_parse(again, &w) != MFU_OK || w != v)
      abort();
  }
  free(s);
  return 0;
}
