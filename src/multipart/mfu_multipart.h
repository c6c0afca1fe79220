/*
 * mfu_multipart.h - streaming multipart/form-data parser (RFC 7578, RFC 2046
 * section 5.1, RFC 2231/5987 filename*).
 *
 * Bytes in, callbacks out.  The caller owns every byte of memory: the parser
 * struct (zero it or call mfu_multipart_init) and the part-header buffer.
 * Nothing is allocated, file data is never copied: data callbacks get spans
 * into the caller's buffer, except for at most boundary-length bytes held
 * back across a feed boundary (they may be the start of a delimiter), which
 * are delivered from the parser's own small buffer.
 *
 * Usage:
 *   char boundary[MFU_MULTIPART_BOUNDARY_MAX + 1]; size_t blen;
 *   rc = mfu_multipart_boundary(ct, strlen(ct), boundary, &blen);
 *   struct mfu_multipart p;
 *   rc = mfu_multipart_init(&p, boundary, blen, &limits, &cbs, cls,
 *                           hdrbuf, sizeof(hdrbuf));
 *   while(more) rc = mfu_multipart_execute(&p, buf, len);
 *   rc = mfu_multipart_finish(&p);
 *
 * Errors are sticky (llhttp): after the first error every call returns the
 * same code; mfu_multipart_errpos() gives the byte offset in the body and
 * mfu_multipart_errmsg() a sentence.  A callback that returns non-zero stops
 * the parser with that code, which execute() returns.
 *
 * What is accepted (the rest is MFU_E_MP_SYNTAX and friends):
 *   - CRLF line endings as RFC 2046 requires.  Bare LF is rejected: no
 *     browser, curl or Python requests produces it, and lenient line endings
 *     are where multipart parsers disagree (smuggling).
 *   - A preamble before the first delimiter and an epilogue after the close
 *     delimiter are skipped.  Transport padding (spaces/tabs) after a
 *     delimiter is allowed.
 *   - Every part must have Content-Disposition: form-data with a name
 *     parameter (RFC 7578 section 4.2); the name may be empty.  A missing
 *     header, another disposition type or no name is
 *     MFU_E_MP_DISPOSITION.
 *   - Parameter names are case-insensitive; values are tokens or quoted
 *     strings (backslash escapes honoured).  A duplicate parameter is
 *     MFU_E_MP_DISPOSITION (which one wins is how smuggling starts).
 *   - filename*=UTF-8''percent-encoded (RFC 5987) wins over filename=;
 *     other charsets than UTF-8 are MFU_E_MP_ENCODING.
 *   - Obsolete header line folding (continuation lines) is rejected as
 *     RFC 7230 section 3.2.4 deprecates it and no client sends it.
 *   - Headers other than Content-Disposition and Content-Type are skipped.
 *   - Nested multipart/mixed parts are data like any other part.
 */
#ifndef MFU_MULTIPART_H
#define MFU_MULTIPART_H

#include <stddef.h>
#include <stdint.h>

#include "mfu_err.h"

/* RFC 2046 section 5.1.1: a boundary is 1 to 70 characters. */
#define MFU_MULTIPART_BOUNDARY_MAX 70

/* Bytes of the delimiter "\r\n--" + boundary; the held-back buffer size. */
#define MFU_MULTIPART_DELIM_MAX (MFU_MULTIPART_BOUNDARY_MAX + 4)

struct mfu_multipart_limits {
  size_t max_header_line; /* bytes of one part header line, without CRLF */
  size_t max_headers;     /* header lines in one part */
  size_t max_parts;       /* parts in the body */
};

/* Defaults that no honest client comes near: 8 KiB lines, 16 headers,
 * 10000 parts.  Fill a limits struct with them. */
void mfu_multipart_limits_default(struct mfu_multipart_limits *lim);

/* What a part says about itself.  All strings are NUL-terminated, decoded
 * (quoted-string unescaped, filename* percent-decoded) and point into the
 * caller's header buffer: valid only during on_part_begin. */
struct mfu_multipart_part {
  const char *name;         /* field name; "" if empty */
  size_t name_len;
  const char *filename;     /* NULL if the part has no filename parameter */
  size_t filename_len;
  const char *content_type; /* declared Content-Type; NULL if absent */
  size_t content_type_len;
  size_t index;             /* 0-based position of the part in the body */
};

/* Callbacks; any may be NULL.  Return 0 to go on, or a negative mfu_err
 * code to stop the parser with that code. */
struct mfu_multipart_callbacks {
  int (*on_part_begin)(void *cls, const struct mfu_multipart_part *part);
  /* A span of the part's body; called any number of times per part. */
  int (*on_part_data)(void *cls, const char *at, size_t len);
  int (*on_part_end)(void *cls);
  /* The close delimiter was seen; later bytes are epilogue. */
  int (*on_body_end)(void *cls);
};

/* The parser.  Fields starting with an underscore are private. */
struct mfu_multipart {
  const struct mfu_multipart_callbacks *_cb;
  void *_cls;
  char *_hdr;               /* caller's part-header buffer */
  size_t _hdr_cap;
  size_t _hdr_len;
  size_t _line_start;       /* offset of the current header line in _hdr */
  size_t _nheaders;
  size_t _nparts;
  uint64_t _pos;            /* bytes consumed so far */
  uint64_t _errpos;
  struct mfu_multipart_limits _lim;
  int _state;
  int _err;
  const char *_errmsg;
  size_t _match;            /* bytes of the delimiter matched so far */
  size_t _held;             /* bytes in _hold not yet delivered */
  size_t _delim_len;        /* 4 + boundary length */
  char _delim[MFU_MULTIPART_DELIM_MAX]; /* "\r\n--" boundary */
  char _hold[MFU_MULTIPART_DELIM_MAX];
  unsigned char _skip[256]; /* Horspool shift table for _delim */
};

/*
 * Extract the boundary parameter of a Content-Type header value
 * ("multipart/form-data; boundary=..."); the type is matched
 * case-insensitively, parameters in any order, the value quoted or not.
 * Writes the boundary and a NUL into out (MFU_MULTIPART_BOUNDARY_MAX + 1
 * bytes) and its length to *out_len.
 * Returns MFU_OK, MFU_E_MP_BOUNDARY (no, empty, over-long or invalid
 * boundary, or a duplicate boundary parameter) or MFU_E_MEDIA_TYPE (not
 * multipart/form-data).
 */
int mfu_multipart_boundary(const char *content_type, size_t len, char *out,
                           size_t *out_len);

/*
 * Prepare p for one body.  boundary is copied; limits may be NULL for the
 * defaults; cbs and cls must outlive the parser.  hdr is the caller's
 * buffer for one part's headers (its size bounds all header bytes of a
 * part; MFU_E_MP_HEADER_LINE when it is exceeded); at least 256 bytes.
 * Returns MFU_OK or MFU_E_MP_BOUNDARY.
 */
int mfu_multipart_init(struct mfu_multipart *p, const char *boundary,
                       size_t boundary_len,
                       const struct mfu_multipart_limits *limits,
                       const struct mfu_multipart_callbacks *cbs, void *cls,
                       char *hdr, size_t hdr_cap);

/*
 * Feed the next len bytes of the body (any split, len may be 0).  Returns
 * MFU_OK when all were consumed, else the (sticky) error code.
 */
int mfu_multipart_execute(struct mfu_multipart *p, const char *buf,
                          size_t len);

/*
 * The body has ended.  Returns MFU_OK if the close delimiter was seen,
 * MFU_E_MP_TRUNCATED if not, or the sticky error.
 */
int mfu_multipart_finish(struct mfu_multipart *p);

/* Byte offset in the body where the error was detected. */
uint64_t mfu_multipart_errpos(const struct mfu_multipart *p);

/* A sentence about the error ("header line longer than 8192 bytes");
 * static storage; "" when there is none. */
const char *mfu_multipart_errmsg(const struct mfu_multipart *p);

#endif
