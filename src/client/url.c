/*
 * url.c - the pure helpers of libmfu: URLs, filenames with the seed's
 * duration prefix, backoff.  No I/O here except the random key, so the unit
 * tests can pin every case.
 */
#include "client_impl.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "mfu_util.h"

int mfu_url_join(const char *base, const char *path, char **out)
{
  size_t bl = strlen(base);
  size_t pl = strlen(path);
  char *s;

  while(bl && base[bl - 1] == '/')
    bl--;
  s = malloc(bl + pl + 2);
  if(!s)
    return MFU_CLIENT_E_NOMEM;
  memcpy(s, base, bl);
  if(path[0] != '/')
    s[bl++] = '/';
  memcpy(s + bl, path, pl + 1);
  *out = s;
  return MFU_CLIENT_OK;
}

static int unreserved(unsigned char c)
{
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
         c == '~';
}

int mfu_url_add_query(char **url, const char *key, const char *value)
{
  static const char hex[] = "0123456789ABCDEF";
  size_t ul = strlen(*url);
  size_t kl = strlen(key);
  size_t vl = strlen(value);
  char *s;
  char *p;
  size_t i;

  s = realloc(*url, ul + 1 + kl + 1 + 3 * vl + 1);
  if(!s)
    return MFU_CLIENT_E_NOMEM;
  *url = s;
  p = s + ul;
  *p++ = strchr(s, '?') ? '&' : '?';
  memcpy(p, key, kl);
  p += kl;
  *p++ = '=';
  for(i = 0; i < vl; i++) {
    unsigned char c = (unsigned char)value[i];
    if(unreserved(c))
      *p++ = (char)c;
    else {
      *p++ = '%';
      *p++ = hex[c >> 4];
      *p++ = hex[c & 15];
    }
  }
  *p = '\0';
  return MFU_CLIENT_OK;
}

int mfu_url_base(const char *in, char **out)
{
  size_t len;
  size_t i;
  char *s;

  if(strncasecmp(in, "http://", 7) && strncasecmp(in, "https://", 8))
    return MFU_CLIENT_E_INVAL;
  len = strlen(in);
  for(i = 0; i < len; i++) {
    unsigned char c = (unsigned char)in[i];
    if(c <= ' ' || c == 0x7f || c == '?' || c == '#')
      return MFU_CLIENT_E_INVAL;
  }
  while(len && in[len - 1] == '/')
    len--;
  if(len <= 8 && !strncasecmp(in, "https://", 8))
    return MFU_CLIENT_E_INVAL;
  if(len <= 7)
    return MFU_CLIENT_E_INVAL;
  s = strndup(in, len);
  if(!s)
    return MFU_CLIENT_E_NOMEM;
  *out = s;
  return MFU_CLIENT_OK;
}

char *mfu_filename_build(long long duration, const char *name)
{
  char *s;
  int n;

  if(duration < 0)
    return strdup(name);
  n = asprintf(&s, "%lld_%s", duration, name);
  return n < 0 ? NULL : s;
}

int mfu_name_split_duration(const char *name, long long *duration,
                            const char **rest)
{
  long long v = 0;
  size_t i = 0;

  while(name[i] >= '0' && name[i] <= '9') {
    int d = name[i] - '0';
    if(v > (LLONG_MAX - d) / 10)
      return MFU_CLIENT_E_INVAL;
    v = v * 10 + d;
    i++;
  }
  if(!i || name[i] != '_' || !name[i + 1])
    return MFU_CLIENT_E_INVAL;
  *duration = v;
  *rest = name + i + 1;
  return MFU_CLIENT_OK;
}

const char *mfu_basename(const char *path)
{
  const char *s = strrchr(path, '/');
  return s ? s + 1 : path;
}

int mfu_name_ok(const char *name)
{
  size_t len = strlen(name);
  size_t i;

  if(!len || !mfu_utf8_valid(name, len))
    return 0;
  if(!strcmp(name, ".") || !strcmp(name, ".."))
    return 0;
  for(i = 0; i < len; i++) {
    unsigned char c = (unsigned char)name[i];
    if(c < 0x20 || c == 0x7f || c == '/')
      return 0;
  }
  return 1;
}

const char *mfu_type_from_name(const char *name)
{
  /* Only a hint for the part's Content-Type: the server sniffs the bytes
   * and records what they are, whatever we declare. */
  static const struct {
    const char *ext;
    const char *type;
  } map[] = {
    {"png", "image/png"},   {"jpg", "image/jpeg"},  {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},   {"webp", "image/webp"}, {"avif", "image/avif"},
    {"mp3", "audio/mpeg"},  {"m4a", "audio/mp4"},   {"wav", "audio/wav"},
    {"ogg", "audio/ogg"},   {"oga", "audio/ogg"},   {"flac", "audio/flac"},
    {"opus", "audio/ogg"},  {"mp4", "video/mp4"},   {"m4v", "video/mp4"},
    {"webm", "video/webm"}, {"mov", "video/quicktime"},
    {"mkv", "video/x-matroska"},                    {"txt", "text/plain"},
  };
  const char *dot = strrchr(name, '.');
  size_t i;

  if(!dot || dot == name)
    return NULL;
  for(i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
    if(!strcasecmp(dot + 1, map[i].ext))
      return map[i].type;
  }
  return NULL;
}

unsigned mfu_backoff_ms(unsigned attempt, unsigned base_ms, unsigned cap_ms,
                        uint64_t rnd)
{
  uint64_t d = base_ms;
  unsigned i;
  uint64_t half;

  for(i = 1; i < attempt && d < cap_ms; i++)
    d *= 2;
  if(d > cap_ms)
    d = cap_ms;
  /* "Equal jitter": never less than half the step, so attempts stay
   * spread out, and never in lock-step with other clients. */
  half = d / 2;
  return (unsigned)(half + (d - half ? rnd % (d - half + 1) : 0));
}

uint64_t mfu_rand_next(uint64_t *state)
{
  uint64_t x = *state;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  *state = x;
  return x * 0x2545F4914F6CDD1DULL;
}

int mfu_random_key(char out[33])
{
  static const char hex[] = "0123456789abcdef";
  unsigned char b[16];
  size_t got = 0;
  size_t i;

  while(got < sizeof(b)) {
    ssize_t n = getrandom(b + got, sizeof(b) - got, 0);
    if(n < 0) {
      if(errno == EINTR)
        continue;
      return MFU_CLIENT_E_NOMEM;
    }
    got += (size_t)n;
  }
  for(i = 0; i < sizeof(b); i++) {
    out[2 * i] = hex[b[i] >> 4];
    out[2 * i + 1] = hex[b[i] & 15];
  }
  out[32] = '\0';
  return MFU_CLIENT_OK;
}

int mfu_header_value_ok(const char *s, size_t max)
{
  size_t len = strlen(s);
  size_t i;

  if(!len || len > max || s[0] == ' ' || s[len - 1] == ' ')
    return 0;
  for(i = 0; i < len; i++) {
    if(s[i] < 0x20 || s[i] > 0x7e)
      return 0;
  }
  return 1;
}
