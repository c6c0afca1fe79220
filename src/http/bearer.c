/*
 * bearer.c - the Authorization header and token shapes (see mfu_auth.h).
 */
#include "mfu_auth.h"

#include <string.h>

static int b64token_char(unsigned char c)
{
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
         c == '~' || c == '+' || c == '/';
}

static int base64url_char(unsigned char c)
{
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '-' || c == '_';
}

int mfu_auth_bearer(const char *value, size_t len, const char **tok,
                    size_t *tok_len)
{
  static const char scheme[] = "bearer";
  const unsigned char *s = (const unsigned char *)value;
  size_t i, start, end;

  if(len < sizeof(scheme) + 1)
    return MFU_E_AUTH;
  for(i = 0; i < sizeof(scheme) - 1; i++) {
    unsigned char c = s[i];
    if(c >= 'A' && c <= 'Z')
      c = (unsigned char)(c - 'A' + 'a');
    if(c != (unsigned char)scheme[i])
      return MFU_E_AUTH;
  }
  if(s[i] != ' ')
    return MFU_E_AUTH;
  while(i < len && s[i] == ' ')
    i++;
  start = i;
  while(i < len && b64token_char(s[i]))
    i++;
  if(i == start)
    return MFU_E_AUTH;
  while(i < len && s[i] == '=')
    i++;
  end = i;
  while(i < len && (s[i] == ' ' || s[i] == '\t'))
    i++;
  if(i != len)
    return MFU_E_AUTH;
  *tok = value + start;
  *tok_len = end - start;
  return MFU_OK;
}

int mfu_auth_token_shape(const char *tok, size_t len)
{
  size_t i, plen = sizeof(MFU_TOKEN_PREFIX) - 1;

  if(len != MFU_TOKEN_LEN || memcmp(tok, MFU_TOKEN_PREFIX, plen))
    return 0;
  for(i = plen; i < len; i++) {
    if(!base64url_char((unsigned char)tok[i]))
      return 0;
  }
  /* 32 bytes are 256 bits: the last of 43 characters carries 4 bits, so
   * its low 2 bits are 0 in any encoding mfud made. */
  return (strchr("AEIMQUYcgkosw048", tok[len - 1]) != NULL);
}

size_t mfu_base64url(const unsigned char *in, size_t n, char *out)
{
  static const char abc[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  size_t i, o = 0;

  for(i = 0; i + 2 < n; i += 3) {
    unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
    out[o++] = abc[v >> 18];
    out[o++] = abc[(v >> 12) & 63];
    out[o++] = abc[(v >> 6) & 63];
    out[o++] = abc[v & 63];
  }
  if(n - i == 1) {
    unsigned v = (unsigned)in[i] << 16;
    out[o++] = abc[v >> 18];
    out[o++] = abc[(v >> 12) & 63];
  }
  else if(n - i == 2) {
    unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8;
    out[o++] = abc[v >> 18];
    out[o++] = abc[(v >> 12) & 63];
    out[o++] = abc[(v >> 6) & 63];
  }
  out[o] = '\0';
  return o;
}

int mfu_username_ok(const char *u)
{
  size_t n = strlen(u);
  if(n == 0 || n > MFU_USERNAME_MAX)
    return 0;
  return strspn(u, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                   "0123456789._-") == n;
}
