/*
 * fuzz_bearer.c - the Authorization header (mfu_auth.h) on any bytes.
 *
 * An accepted token lies inside the value after "Bearer " and is made of
 * b64token characters; a value that has a token's shape is 47 bytes of
 * "mfu_" and base64url.  The first 32 input bytes, encoded as mfud
 * encodes its random bytes, must always make a well-shaped token that the
 * header parser gives back unchanged.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mfu_auth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char *v = malloc(size ? size : 1);
  char tok[MFU_TOKEN_LEN + 1], hdr[MFU_TOKEN_LEN + 16];
  const char *t;
  size_t n;

  if(!v)
    return 0;
  memcpy(v, data, size);
  if(mfu_auth_bearer(v, size, &t, &n) == MFU_OK) {
    if(t < v + 7 || t + n > v + size || n == 0 ||
       strncasecmp(v, "bearer ", 7))
      abort();
    for(size_t i = 0; i < n; i++) {
      if(!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                 "0123456789-._~+/=", t[i]) || !t[i])
        abort();
    }
    if(mfu_auth_token_shape(t, n) &&
       (n != MFU_TOKEN_LEN || memcmp(t, MFU_TOKEN_PREFIX, 4)))
      abort();
  }
  if(size >= MFU_TOKEN_RANDOM) {
    memcpy(tok, MFU_TOKEN_PREFIX, 4);
    if(mfu_base64url(data, MFU_TOKEN_RANDOM, tok + 4) != 43 ||
       !mfu_auth_token_shape(tok, MFU_TOKEN_LEN))
      abort();
    memcpy(hdr, "Bearer ", 7);
    memcpy(hdr + 7, tok, MFU_TOKEN_LEN);
    if(mfu_auth_bearer(hdr, 7 + MFU_TOKEN_LEN, &t, &n) || n != MFU_TOKEN_LEN
       || memcmp(t, tok, n))
      abort();
  }
  free(v);
  return 0;
}
