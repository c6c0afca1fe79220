/*
 * fuzz_names.c - the filename rules (mfu_names.h) on any bytes.
 *
 * A cleaned name must be valid UTF-8 of at most MFU_NAME_MAX bytes with
 * no path separator, no C0/C1 control, no bidi override or isolate, no
 * leading or trailing dot or space, and cleaning it again must not change
 * it.  The duration prefix and the extension are checked against their
 * definitions.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mfu_names.h"
#include "mfu_util.h"

static void check_clean(const char *out)
{
  const unsigned char *s = (const unsigned char *)out;
  size_t n = strlen(out), i;
  char again[MFU_NAME_MAX + 1];

  if(n == 0 || n > MFU_NAME_MAX || !mfu_utf8_valid(out, n))
    abort();
  if(out[0] == '.' || out[0] == ' ' || out[n - 1] == '.' ||
     out[n - 1] == ' ')
    abort();
  for(i = 0; i < n; i++) {
    if(s[i] < 0x20 || s[i] == 0x7f || s[i] == '/' || s[i] == '\\')
      abort();
    if(s[i] == 0xc2 && i + 1 < n && s[i + 1] < 0xa0)
      abort();
    if(s[i] == 0xe2 && i + 2 < n &&
       ((s[i + 1] == 0x80 && s[i + 2] >= 0xaa && s[i + 2] <= 0xae) ||
        (s[i + 1] == 0x81 && s[i + 2] >= 0xa6 && s[i + 2] <= 0xa9)))
      abort();
  }
  if(mfu_name_clean(out, n, again) || strcmp(again, out))
    abort();
}

static void check_ext(const char *name)
{
  char ext[12];
  size_t n;

  mfu_name_ext(name, ext);
  n = strlen(ext);
  if(n == 0)
    return;
  if(n < 2 || n > 11 || ext[0] != '.')
    abort();
  for(size_t i = 1; i < n; i++) {
    if(!(isdigit((unsigned char)ext[i]) || islower((unsigned char)ext[i])))
      abort();
  }
  if(strcasecmp(strrchr(name, '.'), ext))
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char *in = malloc(size ? size : 1), out[MFU_NAME_MAX + 1];
  int64_t dur = -1;
  size_t off = 0;
  int rc;

  if(!in)
    return 0;
  memcpy(in, data, size);
  if(mfu_name_duration(in, size, &dur, &off)) {
    if(off < 2 || off > 10 || off >= size || in[off - 1] != '_' ||
       dur < 0 || dur > 999999999)
      abort();
  }
  rc = mfu_name_clean(in, size, out);
  if(rc == MFU_OK) {
    check_clean(out);
    check_ext(out);
  }
  else if(rc != MFU_E_FILENAME && rc != MFU_E_TEXT_UTF8)
    abort();
  if((rc == MFU_E_TEXT_UTF8) == mfu_utf8_valid(in, size))
    abort();
  free(in);
  return 0;
}
