/*
 * fuzz_content_type.c - mfu_multipart_boundary() on any Content-Type.
 *
 * Besides not crashing: an accepted boundary is 1-70 characters that
 * mfu_multipart_init() takes, and it survives a round trip through a
 * quoted Content-Type written back from it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mfu_multipart.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char out[MFU_MULTIPART_BOUNDARY_MAX + 1], again[sizeof(out)];
  char ct[2 * sizeof(out) + 40], hdr[256];
  struct mfu_multipart p;
  size_t len, len2, i, n;
  int rc;

  rc = mfu_multipart_boundary((const char *)data, size, out, &len);
  if(rc == MFU_E_MP_BOUNDARY || rc == MFU_E_MEDIA_TYPE)
    return 0;
  if(rc != MFU_OK || len < 1 || len > MFU_MULTIPART_BOUNDARY_MAX ||
     out[len] != '\0' || strlen(out) != len)
    abort();
  if(mfu_multipart_init(&p, out, len, NULL, NULL, NULL, hdr, sizeof(hdr)))
    abort();
  n = (size_t)snprintf(ct, sizeof(ct), "multipart/form-data; boundary=\"");
  for(i = 0; i < len; i++) {
    if(out[i] == '"' || out[i] == '\\')
      ct[n++] = '\\';
    ct[n++] = out[i];
  }
  ct[n++] = '"';
  if(mfu_multipart_boundary(ct, n, again, &len2) || len2 != len ||
     memcmp(again, out, len))
    abort();
  return 0;
}
