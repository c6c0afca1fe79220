/*
 * mfu_multipart.h - streaming multipart/form-data parser (RFC 7578, RFC 2046
 * section 5.1, RFC 2231/5987 filename*).
 *
 * Bytes in, callbacks out.  The caller owns every byte of memory: the parser
 * struct (call mfu_multipart_init) and the part-header buffer.  Nothing is
 * allocated, file data is never copied: data callbacks get spans into the
 * caller's buffer, except for at most MFU_MULTIPART_DELIM_MAX - 1 bytes
 * held back across a feed boundary (they may be the start of a delimiter),
 * which are delivered from the parser struct.  Memory does not grow with
 * the body: the struct is fixed and the header buffer is the caller's.
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
 * mfu_multipart_errmsg() a sentence.  The offset is that of the offending
 * byte for syntax and limit errors, of the start of the header line for a
 * bad header, of the start of the part's headers for MFU_E_MP_PARTS, of the
 * byte after the blank line for a part without Content-Disposition, and the
 * body length for MFU_E_MP_TRUNCATED.  A callback that returns non-zero
 * stops the parser with that code, which execute() returns.
 *
 * What is accepted (the rest is MFU_E_MP_SYNTAX and friends):
 *   - CRLF line endings as RFC 2046 requires.  Bare LF is rejected: no
 *     browser, curl or Python requests produces it, and lenient line endings
 *     are where multipart parsers disagree (smuggling).  A bare CR in part
 *     data is data.
 *   - A preamble before the first delimiter and an epilogue after the close
 *     delimiter's CRLF are skipped; the first delimiter may open the body
 *     without a CRLF.  Transport padding (spaces/tabs) after a delimiter is
 *     allowed.  After a delimiter only "--", padding and CRLF may follow:
 *     "\r\n--boundaryX" is an error, not data, since RFC 2046 section
 *     5.1.1 forbids the boundary inside a part.
 *   - Every part must have exactly one Content-Disposition: form-data with
 *     a name parameter (RFC 7578 section 4.2); the name may be empty.  A
 *     missing header, another disposition type or no name is
 *     MFU_E_MP_DISPOSITION.  At most one Content-Type (else MFU_E_MP_SYNTAX);
 *     its value is delivered as sent, without parameters parsed.
 *   - Parameter names are case-insensitive; values are tokens or quoted
 *     strings (backslash escapes honoured, raw UTF-8 kept as is); no
 *     whitespace around '='; a trailing ';' is allowed; unknown parameters
 *     are ignored.  A duplicate name, filename or filename* is
 *     MFU_E_MP_DISPOSITION (which one wins is how smuggling starts).
 *   - filename="..." is delivered as sent after unquoting: Chromium's %22
 *     and %0D%0A are NOT decoded (RFC 7578 section 4.2 leaves that open and
 *     decoding would change a filename really containing "%22").
 *   - filename*=UTF-8'lang'percent-encoded (RFC 5987/8187) wins over
 *     filename=; another charset, a quoted value, bad percent-encoding,
 *     invalid UTF-8 or %00 is MFU_E_MP_ENCODING; so is a malformed quoted
 *     string.
 *   - Obsolete header line folding (continuation lines) is rejected as
 *     RFC 7230 section 3.2.4 deprecates it and no client sends it; so are
 *     control characters (but HTAB) in header lines and whitespace before
 *     the colon.
 *   - Headers other than Content-Disposition and Content-Type are checked
 *     for syntax and skipped (their bytes are not kept).
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
  uint64_t _pos;            /* bytes consumed before the current feed */
  uint64_t _errpos;
  uint64_t _line_pos;       /* body offset of the current header line */
  uint64_t _disp_pos;       /* body offset of Content-Disposition */
  struct mfu_multipart_limits _lim;
  int _state;
  int _err;
  const char *_errmsg;
  unsigned _have;           /* which part headers/parameters were seen */
  size_t _match;            /* bytes of the delimiter matched so far */
  size_t _delim_len;        /* 4 + boundary length */
  /* The current part's decoded values: offsets and lengths in _hdr. */
  size_t _name_off, _name_len;
  size_t _fname_off, _fname_len;
  size_t _ctype_off, _ctype_len;
  /* "\r\n--" boundary.  A partial match held back across feeds is a
   * prefix of it, so the held bytes are delivered from here. */
  char _delim[MFU_MULTIPART_DELIM_MAX];
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
 * part that are kept, i.e. Content-Disposition, Content-Type and the line
 * being read; MFU_E_MP_HEADER_LINE when it is exceeded); at least 256
 * bytes.  Returns MFU_OK, MFU_E_MP_BOUNDARY (boundary not 1-70 RFC 2046
 * bchars, or ending in a space) or MFU_E_INVAL (hdr NULL or too small).
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
