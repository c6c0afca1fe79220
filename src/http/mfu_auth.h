/*
 * mfu_auth.h - API tokens as bytes: the Authorization header (RFC 6750
 * section 2.1, RFC 9110 section 11.6.2) and the shape of the tokens mfud
 * makes.  Pure functions over untrusted bytes, fuzzed; the catalog lookup
 * and the HTTP answers are in auth.c.
 *
 * A token is "mfu_" and 43 base64url characters (32 random bytes, RFC 4648
 * section 5, no padding).  The prefix lets secret scanners and people
 * recognise one; the catalog keeps only its SHA-256.
 */
#ifndef MFU_AUTH_H
#define MFU_AUTH_H

#include <stddef.h>

#include "mfu_err.h"

#define MFU_TOKEN_PREFIX "mfu_"
#define MFU_TOKEN_RANDOM 32                  /* bytes of randomness */
#define MFU_TOKEN_LEN (4 + 43)               /* characters, no NUL */
#define MFU_USERNAME_MAX 64

/* 1 if u is 1 to MFU_USERNAME_MAX ASCII letters, digits, '.', '_', '-'. */
int mfu_username_ok(const char *u);

/*
 * Find the token in an Authorization header value: the scheme "Bearer"
 * (case-insensitive), one or more spaces, then a b64token (RFC 6750:
 * ALPHA DIGIT - . _ ~ + / then any '='), then optional spaces or tabs.
 * On MFU_OK *tok and *tok_len point into value.  MFU_E_AUTH for another
 * scheme, an empty token, a comma-separated list or any other byte.
 */
int mfu_auth_bearer(const char *value, size_t len, const char **tok,
                    size_t *tok_len);

/* 1 if [tok, tok+len) has the shape of a token mfud makes, else 0. */
int mfu_auth_token_shape(const char *tok, size_t len);

/*
 * Encode n bytes as base64url without padding into out, which has room
 * for (4 * n + 2) / 3 + 1 bytes; returns the length written (without the
 * NUL that follows).
 */
size_t mfu_base64url(const unsigned char *in, size_t n, char *out);

#endif
