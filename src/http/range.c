/*
 * range.c - single byte ranges (see mfu_range.h).
 */
#include "mfu_range.h"

#include <string.h>

/* Digits at s[*i..]; 0 if none or on overflow. */
static int number(const char *s, size_t len, size_t *i, uint64_t *v)
{
  size_t start = *i;
  *v = 0;
  while(*i < len && s[*i] >= '0' && s[*i] <= '9') {
    unsigned d = (unsigned)(s[*i] - '0');
    if(*v > (UINT64_MAX - d) / 10)
      return 0;
    *v = *v * 10 + d;
    (*i)++;
  }
  return *i > start;
}

int mfu_range_parse(const char *s, size_t len, uint64_t size,
                    uint64_t *start, uint64_t *out_len)
{
  size_t i = 6;
  uint64_t a, b;
  int has_a, has_b;

  if(len < 7 || strncmp(s, "bytes=", 6))
    return 0;
  while(i < len && (s[i] == ' ' || s[i] == '\t'))
    i++;
  has_a = number(s, len, &i, &a);
  if(i >= len || s[i] != '-')
    return 0;
  i++;
  has_b = number(s, len, &i, &b);
  while(i < len && (s[i] == ' ' || s[i] == '\t'))
    i++;
  if(i != len || (!has_a && !has_b))
    return 0;                 /* several ranges or junk: serve it whole */
  if(!has_a) {                /* suffix: the last b bytes */
    if(b == 0)
      return MFU_E_RANGE;
    if(size == 0)
      return MFU_E_RANGE;
    *out_len = b < size ? b : size;
    *start = size - *out_len;
    return 1;
  }
  if(has_b && b < a)
    return 0;
  if(a >= size)
    return MFU_E_RANGE;
  if(!has_b || b >= size)
    b = size - 1;
  *start = a;
  *out_len = b - a + 1;
  return 1;
}
