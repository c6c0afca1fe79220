/*
 * mp_impl.h - what multipart.c and disposition.c share; not installed.
 *
 * The lexical pieces of RFC 7230 section 3.2.6 (token, quoted-string) are
 * used both for the request's Content-Type and for each part's headers, so
 * they live in one place.
 */
#ifndef MFU_MP_IMPL_H
#define MFU_MP_IMPL_H

#include <stddef.h>

/* RFC 7230 section 3.2.6 tchar. */
int mfu_mp_is_tchar(unsigned char c);

/* Case-insensitive compare of s[0..n) with the NUL-terminated lower-case
 * literal lit; 1 when equal. */
int mfu_mp_ieq(const char *s, size_t n, const char *lit);

/*
 * Decode the quoted-string starting at s[0] == '"' within s[0..n):
 * backslash escapes are honoured, control characters other than HTAB are
 * refused.  The decoded bytes go to out (which may be s + 1: decoding
 * never grows); *used gets the bytes consumed including both quotes and
 * *out_len the decoded length.  Returns 0, or -1 for an unterminated or
 * malformed string.
 */
int mfu_mp_unquote(const char *s, size_t n, char *out, size_t out_cap,
                   size_t *used, size_t *out_len);

/* The result of parsing one Content-Disposition value. */
struct mfu_mp_disposition {
  size_t name_off, name_len;   /* into the value; name_off == (size_t)-1 */
  size_t fname_off, fname_len; /* when the parameter is absent */
};

/*
 * Parse a Content-Disposition field value v[0..n) (RFC 7578 section 4.2,
 * RFC 6266 grammar), decoding name and filename in place inside v.  The
 * caller NUL-terminates afterwards; v[n] must be writable.  A missing
 * name is left to the caller (name_off == (size_t)-1), which reports it
 * once the headers are complete, after a folded line had a chance to be
 * seen.
 * Returns 0, MFU_E_MP_DISPOSITION or MFU_E_MP_ENCODING, with a sentence in
 * *msg.
 */
int mfu_mp_disposition(char *v, size_t n, struct mfu_mp_disposition *d,
                       const char **msg);

#endif
