/*
 * util.c - ObjectIds, UTF-8 validation and sizes (see mfu_util.h).
 */
#include "mfu_util.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <sys/random.h>

int mfu_oid_gen_init(struct mfu_oid_gen *g)
{
  unsigned char seed[8];
  size_t got = 0;
  while(got < sizeof(seed)) {
    ssize_t n = getrandom(seed + got, sizeof(seed) - got, 0);
    if(n < 0) {
      if(errno == EINTR)
        continue;
      return MFU_E_IO;
    }
    got += (size_t)n;
  }
  memcpy(g->rnd, seed, sizeof(g->rnd));
  atomic_init(&g->counter, ((uint_fast32_t)seed[5] << 16) |
                             ((uint_fast32_t)seed[6] << 8) | seed[7]);
  return MFU_OK;
}

void mfu_hex(const unsigned char *p, size_t n, char *out)
{
  static const char digits[] = "0123456789abcdef";
  for(size_t i = 0; i < n; i++) {
    out[2 * i] = digits[p[i] >> 4];
    out[2 * i + 1] = digits[p[i] & 15];
  }
  out[2 * n] = '\0';
}

void mfu_oid_next(struct mfu_oid_gen *g, int64_t at, char *out)
{
  unsigned char b[12];
  uint32_t secs = (uint32_t)at;
  uint_fast32_t n = atomic_fetch_add(&g->counter, 1) & 0xffffff;

  b[0] = (unsigned char)(secs >> 24);
  b[1] = (unsigned char)(secs >> 16);
  b[2] = (unsigned char)(secs >> 8);
  b[3] = (unsigned char)secs;
  memcpy(b + 4, g->rnd, 5);
  b[9] = (unsigned char)(n >> 16);
  b[10] = (unsigned char)(n >> 8);
  b[11] = (unsigned char)n;
  mfu_hex(b, sizeof(b), out);
}

static int lower_hex(const char *s, size_t len, size_t want)
{
  size_t i;
  if(len != want)
    return 0;
  for(i = 0; i < len; i++) {
    if(!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
      return 0;
  }
  return 1;
}

int mfu_oid_valid(const char *s, size_t len)
{
  return lower_hex(s, len, 24);
}

int mfu_sha256_hex_valid(const char *s, size_t len)
{
  return lower_hex(s, len, 64);
}

int mfu_utf8_valid(const char *str, size_t len)
{
  const unsigned char *s = (const unsigned char *)str;
  size_t i = 0;
  while(i < len) {
    unsigned c = s[i];
    size_t n;
    unsigned lo = 0x80, hi = 0xbf; /* allowed range of the 2nd byte */
    if(c < 0x80) {
      i++;
      continue;
    }
    if(c >= 0xc2 && c <= 0xdf)
      n = 1;
    else if(c >= 0xe0 && c <= 0xef) {
      n = 2;
      if(c == 0xe0)
        lo = 0xa0;          /* overlong */
      else if(c == 0xed)
        hi = 0x9f;          /* surrogates */
    }
    else if(c >= 0xf0 && c <= 0xf4) {
      n = 3;
      if(c == 0xf0)
        lo = 0x90;          /* overlong */
      else if(c == 0xf4)
        hi = 0x8f;          /* above U+10FFFF */
    }
    else
      return 0;
    if(len - i <= n)
      return 0;
    if(s[i + 1] < lo || s[i + 1] > hi)
      return 0;
    for(size_t k = 2; k <= n; k++) {
      if((s[i + k] & 0xc0) != 0x80)
        return 0;
    }
    i += n + 1;
  }
  return 1;
}

int mfu_size_parse(const char *s, uint64_t *out)
{
  uint64_t v = 0;
  unsigned shift = 0;
  const char *p = s;

  if(!isdigit((unsigned char)*p))
    return MFU_E_INVAL;
  for(; isdigit((unsigned char)*p); p++) {
    unsigned d = (unsigned)(*p - '0');
    if(v > (UINT64_MAX - d) / 10)
      return MFU_E_INVAL;
    v = v * 10 + d;
  }
  switch(toupper((unsigned char)*p)) {
  case '\0': break;
  case 'K': shift = 10; break;
  case 'M': shift = 20; break;
  case 'G': shift = 30; break;
  case 'T': shift = 40; break;
  default: return MFU_E_INVAL;
  }
  if(*p) {
    p++;
    if(*p == 'i' || *p == 'I')
      p++;
    if(*p == 'b' || *p == 'B')
      p++;
    if(*p)
      return MFU_E_INVAL;
  }
  if(shift && v > (UINT64_MAX >> shift))
    return MFU_E_INVAL;
  *out = v << shift;
  return MFU_OK;
}
