/*
 * names.c - filename rules (see mfu_names.h).
 *
 * The original filename never reaches a filesystem path: blobs are named by
 * their hash.  Cleaning exists for the people and programs that read the
 * record: a name with a bidi override can disguise "gpj.exe" as "exe.jpg",
 * control characters break terminals and logs.
 */
#include "mfu_names.h"

#include <ctype.h>
#include <string.h>

#include "mfu_util.h"

int mfu_name_duration(const char *name, size_t len, int64_t *duration,
                      size_t *rest_off)
{
  size_t i = 0;
  int64_t v = 0;
  while(i < len && i < 10 && name[i] >= '0' && name[i] <= '9') {
    v = v * 10 + (name[i] - '0');
    i++;
  }
  if(i == 0 || i > 9 || i >= len || name[i] != '_' || i + 1 == len)
    return 0;
  *duration = v;
  *rest_off = i + 1;
  return 1;
}

/* Length of the UTF-8 sequence at s (already validated). */
static size_t seq_len(unsigned char c)
{
  if(c < 0x80)
    return 1;
  if(c < 0xe0)
    return 2;
  if(c < 0xf0)
    return 3;
  return 4;
}

static int dropped(const unsigned char *s, size_t n)
{
  if(n == 1)
    return s[0] < 0x20 || s[0] == 0x7f;
  if(n == 2)
    return s[0] == 0xc2 && s[1] < 0xa0; /* C1 controls U+0080-U+009F */
  if(n == 3 && s[0] == 0xe2 && s[1] == 0x80)
    return s[2] >= 0xaa && s[2] <= 0xae; /* U+202A-U+202E */
  if(n == 3 && s[0] == 0xe2 && s[1] == 0x81)
    return s[2] >= 0xa6 && s[2] <= 0xa9; /* U+2066-U+2069 */
  return 0;
}

int mfu_name_clean(const char *name, size_t len, char *out)
{
  const unsigned char *s = (const unsigned char *)name;
  size_t i, start = 0, o = 0, first, last;

  if(!mfu_utf8_valid(name, len))
    return MFU_E_TEXT_UTF8;
  for(i = 0; i < len; i++) {
    if(s[i] == '/' || s[i] == '\\')
      start = i + 1;
  }
  for(i = start; i < len;) {
    size_t n = seq_len(s[i]);
    if(!dropped(s + i, n)) {
      if(o + n > MFU_NAME_MAX)
        break;
      memcpy(out + o, s + i, n);
      o += n;
    }
    i += n;
  }
  /* Leading dots would hide the file on Unix and ".." must never be a
   * name; trailing dots and spaces are stripped by Windows. */
  for(first = 0; first < o && (out[first] == ' ' || out[first] == '.');)
    first++;
  for(last = o; last > first && (out[last - 1] == ' ' || out[last - 1] == '.');)
    last--;
  memmove(out, out + first, last - first);
  out[last - first] = '\0';
  return last > first ? MFU_OK : MFU_E_FILENAME;
}

void mfu_name_ext(const char *name, char *out)
{
  const char *dot = strrchr(name, '.');
  size_t n, i;
  out[0] = '\0';
  if(!dot || dot == name)
    return;
  n = strlen(dot + 1);
  if(n < 1 || n > 10)
    return;
  for(i = 0; i < n; i++) {
    if(!isalnum((unsigned char)dot[1 + i]))
      return;
  }
  out[0] = '.';
  for(i = 0; i < n; i++)
    out[1 + i] = (char)tolower((unsigned char)dot[1 + i]);
  out[1 + n] = '\0';
}
