/*
 * multipart.c - the streaming multipart/form-data parser: the request's
 * boundary parameter, the delimiter search and the part headers.
 *
 * The delimiter search relies on one fact: the delimiter "\r\n--boundary"
 * holds a single CR, at its start (RFC 2046 bchars exclude CR).  So a
 * partial match never overlaps a later one, the bytes held back at the end
 * of a feed are exactly a prefix of the delimiter, and confirming a
 * candidate costs no more than the bytes it matches: the work is linear in
 * the body whatever it holds (no quadratic case for a hostile body).  On
 * x86-64 candidates are found 64 bytes at a time with SSE2 or AVX2, which
 * reads a 1 GiB body about as fast as memory delivers it.
 */
#include "mfu_multipart.h"

#include <string.h>
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define MP_X86 1
#endif

#include "mp_impl.h"

enum state {
  S_PREAMBLE,     /* before the first delimiter; bytes are dropped */
  S_DELIM_TAIL,   /* just after a delimiter: "--", padding or CRLF */
  S_PADDING,      /* transport padding after a delimiter */
  S_DELIM_LF,     /* CR seen after a delimiter */
  S_HEADER,       /* in a part header line */
  S_HEADER_LF,    /* CR seen in the headers */
  S_DATA,         /* in a part body */
  S_CLOSE_DASH,   /* "-" seen after a delimiter */
  S_CLOSE_PAD,    /* after the close delimiter */
  S_CLOSE_LF,     /* CR seen after the close delimiter */
  S_EPILOGUE,     /* after the close delimiter's CRLF; bytes are dropped */
};

/* Bits of _have. */
#define HAVE_DISP 1u
#define HAVE_TYPE 2u
#define HAVE_FNAME 4u
#define HAVE_NAME 8u

void mfu_multipart_limits_default(struct mfu_multipart_limits *lim)
{
  lim->max_header_line = 8192;
  lim->max_headers = 16;
  lim->max_parts = 10000;
}

/* ---------------------------------------------------------------- */
/* The boundary parameter of the request (RFC 2046 section 5.1.1).  */

/* bcharsnospace, plus the space allowed anywhere but last. */
static int is_bchar(unsigned char c)
{
  if((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
     (c >= '0' && c <= '9'))
    return 1;
  return c && strchr("'()+_,-./:=? ", c) != NULL;
}

static int valid_boundary(const char *b, size_t n)
{
  size_t i;
  if(n < 1 || n > MFU_MULTIPART_BOUNDARY_MAX || b[n - 1] == ' ')
    return 0;
  for(i = 0; i < n; i++)
    if(!is_bchar((unsigned char)b[i]))
      return 0;
  return 1;
}

static size_t skip_ows(const char *s, size_t i, size_t n)
{
  while(i < n && (s[i] == ' ' || s[i] == '\t'))
    i++;
  return i;
}

static size_t token_end(const char *s, size_t i, size_t n)
{
  while(i < n && mfu_mp_is_tchar((unsigned char)s[i]))
    i++;
  return i;
}

/* RFC 7231 section 3.1.1.1: media-type = type "/" subtype
 * *( OWS ";" OWS parameter ), parameter = token "=" ( token /
 * quoted-string ). */
int mfu_multipart_boundary(const char *ct, size_t n, char *out,
                           size_t *out_len)
{
  char tmp[MFU_MULTIPART_BOUNDARY_MAX + 1];
  size_t i = skip_ows(ct, 0, n), t = i, blen = 0;
  int found = 0;

  i = token_end(ct, i, n);
  if(i < n && ct[i] == '/')
    i = token_end(ct, i + 1, n);
  if(!mfu_mp_ieq(ct + t, i - t, "multipart/form-data"))
    return MFU_E_MEDIA_TYPE;
  for(;;) {
    size_t k, kend, used, vlen;
    const char *val;

    i = skip_ows(ct, i, n);
    if(i == n)
      break;
    if(ct[i] != ';')
      return MFU_E_MP_BOUNDARY;
    i = skip_ows(ct, i + 1, n);
    if(i == n)
      break;
    k = i;
    kend = token_end(ct, k, n);
    if(kend == k || kend == n || ct[kend] != '=')
      return MFU_E_MP_BOUNDARY;
    i = kend + 1;
    if(i < n && ct[i] == '"') {
      if(mfu_mp_unquote(ct + i, n - i, tmp, sizeof(tmp), &used, &vlen))
        return MFU_E_MP_BOUNDARY;
      val = tmp;
      i += used;
    }
    else {
      val = ct + i;
      i = token_end(ct, i, n);
      vlen = (size_t)(ct + i - val);
    }
    if(!mfu_mp_ieq(ct + k, kend - k, "boundary"))
      continue;
    if(found || !valid_boundary(val, vlen))
      return MFU_E_MP_BOUNDARY;
    memcpy(out, val, vlen);
    blen = vlen;
    found = 1;
  }
  if(!found)
    return MFU_E_MP_BOUNDARY;
  out[blen] = '\0';
  *out_len = blen;
  return MFU_OK;
}

/* ---------------------------------------------------------------- */
/* Setup and errors.                                                */

int mfu_multipart_init(struct mfu_multipart *p, const char *boundary,
                       size_t boundary_len,
                       const struct mfu_multipart_limits *limits,
                       const struct mfu_multipart_callbacks *cbs, void *cls,
                       char *hdr, size_t hdr_cap)
{
  static const struct mfu_multipart_callbacks none;

  memset(p, 0, sizeof(*p));
  if(!hdr || hdr_cap < 256)
    return MFU_E_INVAL;
  if(!boundary || !valid_boundary(boundary, boundary_len))
    return MFU_E_MP_BOUNDARY;
  if(limits)
    p->_lim = *limits;
  else
    mfu_multipart_limits_default(&p->_lim);
  p->_cb = cbs ? cbs : &none;
  p->_cls = cls;
  p->_hdr = hdr;
  p->_hdr_cap = hdr_cap;
  memcpy(p->_delim, "\r\n--", 4);
  memcpy(p->_delim + 4, boundary, boundary_len);
  p->_delim_len = boundary_len + 4;
  /* RFC 2046 section 5.1.1: the CRLF before the first delimiter belongs to
   * it, and it may be missing when there is no preamble.  Start as if a
   * CRLF had just been read. */
  p->_state = S_PREAMBLE;
  p->_match = 2;
  return MFU_OK;
}

uint64_t mfu_multipart_errpos(const struct mfu_multipart *p)
{
  return p->_errpos;
}

const char *mfu_multipart_errmsg(const struct mfu_multipart *p)
{
  return p->_err && p->_errmsg ? p->_errmsg : "";
}

/* Make `code` sticky, at body offset pos. */
static int fail(struct mfu_multipart *p, int code, uint64_t pos,
                const char *msg)
{
  p->_err = code;
  p->_errpos = pos;
  p->_errmsg = msg;
  return code;
}

#define CB_FAIL "stopped by a callback"

/* ---------------------------------------------------------------- */
/* Part headers (RFC 7578 section 4.2, 4.4; RFC 7230 section 3.2).  */

static int is_ctl(unsigned char c)
{
  return (c < 0x20 && c != '\t') || c == 0x7f;
}

/* The line _hdr[_line_start .. _hdr_len) is complete. */
static int header_line(struct mfu_multipart *p)
{
  char *line = p->_hdr + p->_line_start;
  size_t n = p->_hdr_len - p->_line_start, i, v, e;
  uint64_t pos = p->_line_pos;

  if(++p->_nheaders > p->_lim.max_headers)
    return fail(p, MFU_E_MP_HEADERS, pos, "too many part header lines");
  if(line[0] == ' ' || line[0] == '\t')
    return fail(p, MFU_E_MP_SYNTAX, pos,
                "folded part header line (RFC 7230 section 3.2.4)");
  i = token_end(line, 0, n);
  if(!i || i == n || line[i] != ':')
    return fail(p, MFU_E_MP_SYNTAX, pos, "malformed part header line");
  for(v = i + 1; v < n; v++)
    if(is_ctl((unsigned char)line[v]))
      return fail(p, MFU_E_MP_SYNTAX, pos + v,
                  "control character in a part header");
  v = skip_ows(line, i + 1, n);
  e = n;
  while(e > v && (line[e - 1] == ' ' || line[e - 1] == '\t'))
    e--;
  if(mfu_mp_ieq(line, i, "content-disposition")) {
    struct mfu_mp_disposition d;
    const char *msg;
    int rc;
    if(p->_have & HAVE_DISP)
      return fail(p, MFU_E_MP_DISPOSITION, pos,
                  "duplicate Content-Disposition");
    rc = mfu_mp_disposition(line + v, e - v, &d, &msg);
    if(rc)
      return fail(p, rc, pos, msg);
    p->_have |= HAVE_DISP;
    p->_disp_pos = pos;
    if(d.name_off != (size_t)-1) {
      p->_have |= HAVE_NAME;  /* a missing name: see headers_done() */
      p->_name_off = p->_line_start + v + d.name_off;
      p->_name_len = d.name_len;
      p->_hdr[p->_name_off + p->_name_len] = '\0';
    }
    if(d.fname_off != (size_t)-1) {
      p->_have |= HAVE_FNAME;
      p->_fname_off = p->_line_start + v + d.fname_off;
      p->_fname_len = d.fname_len;
      p->_hdr[p->_fname_off + p->_fname_len] = '\0';
    }
  }
  else if(mfu_mp_ieq(line, i, "content-type")) {
    if(p->_have & HAVE_TYPE)
      return fail(p, MFU_E_MP_SYNTAX, pos, "duplicate part Content-Type");
    if(e == v)
      return fail(p, MFU_E_MP_SYNTAX, pos, "empty part Content-Type");
    p->_have |= HAVE_TYPE;
    p->_ctype_off = p->_line_start + v;
    p->_ctype_len = e - v;
    line[e] = '\0';
  }
  else {
    /* RFC 7578 section 4.8: other headers are ignored; drop the bytes. */
    p->_hdr_len = p->_line_start;
    return MFU_OK;
  }
  p->_hdr_len++;            /* keep the line and the NUL after it */
  return MFU_OK;
}

static int headers_done(struct mfu_multipart *p, uint64_t pos)
{
  struct mfu_multipart_part part;
  int rc;

  if(!(p->_have & HAVE_DISP))
    return fail(p, MFU_E_MP_DISPOSITION, pos,
                "part without Content-Disposition");
  if(!(p->_have & HAVE_NAME))
    return fail(p, MFU_E_MP_DISPOSITION, p->_disp_pos,
                "Content-Disposition has no name");
  part.name = p->_hdr + p->_name_off;
  part.name_len = p->_name_len;
  part.filename = p->_have & HAVE_FNAME ? p->_hdr + p->_fname_off : NULL;
  part.filename_len = p->_fname_len;
  part.content_type = p->_have & HAVE_TYPE ? p->_hdr + p->_ctype_off : NULL;
  part.content_type_len = p->_ctype_len;
  part.index = p->_nparts - 1;
  p->_state = S_DATA;
  if(p->_cb->on_part_begin) {
    rc = p->_cb->on_part_begin(p->_cls, &part);
    if(rc)
      return fail(p, rc, pos, CB_FAIL);
  }
  return MFU_OK;
}

static int part_start(struct mfu_multipart *p, uint64_t pos)
{
  if(p->_nparts >= p->_lim.max_parts)
    return fail(p, MFU_E_MP_PARTS, pos, "too many parts");
  p->_nparts++;
  p->_nheaders = 0;
  p->_hdr_len = 0;
  p->_line_start = 0;
  p->_line_pos = pos;
  p->_have = 0;
  p->_name_len = p->_fname_len = p->_ctype_len = 0;
  p->_state = S_HEADER;
  return MFU_OK;
}

/* Header bytes from s; returns the bytes used or sets an error. */
static size_t header_bytes(struct mfu_multipart *p, const char *s,
                           size_t n, uint64_t pos, int *rc)
{
  size_t line = p->_hdr_len - p->_line_start;
  size_t room = p->_hdr_cap - 1 - p->_hdr_len;   /* 1 for the NUL */
  size_t i = 0, m;

  if(line < p->_lim.max_header_line && p->_lim.max_header_line - line < room)
    room = p->_lim.max_header_line - line;
  else if(line >= p->_lim.max_header_line)
    room = 0;
  m = n < room ? n : room;
  while(i < m && s[i] != '\r' && s[i] != '\n')
    i++;
  memcpy(p->_hdr + p->_hdr_len, s, i);
  p->_hdr_len += i;
  if(i == n)
    return n;
  if(s[i] == '\r') {
    p->_state = S_HEADER_LF;
    return i + 1;
  }
  if(s[i] == '\n')
    *rc = fail(p, MFU_E_MP_SYNTAX, pos + i, "bare LF in part headers");
  else
    *rc = fail(p, MFU_E_MP_HEADER_LINE, pos + i,
               "part header line too long");
  return i;
}

/* ---------------------------------------------------------------- */
/* Delimiter search and part data (RFC 2046 section 5.1.1).         */

static int deliver(struct mfu_multipart *p, const char *at, size_t len,
                   uint64_t pos)
{
  int rc;
  if(!len || p->_state != S_DATA || !p->_cb->on_part_data)
    return MFU_OK;
  rc = p->_cb->on_part_data(p->_cls, at, len);
  return rc ? fail(p, rc, pos, CB_FAIL) : MFU_OK;
}

/* A whole delimiter ends at body offset pos. */
static int delimiter(struct mfu_multipart *p, uint64_t pos)
{
  int was_data = p->_state == S_DATA;
  p->_state = S_DELIM_TAIL;
  p->_match = 0;
  if(was_data && p->_cb->on_part_end) {
    int rc = p->_cb->on_part_end(p->_cls);
    if(rc)
      return fail(p, rc, pos, CB_FAIL);
  }
  return MFU_OK;
}

/* The first whole delimiter d[0..dlen) in s[0..end), or NULL: memchr()
 * for the CR, then a compare. */
static const char *find_tail(const char *s, const char *end, const char *d,
                             size_t dlen)
{
  const char *q;
  for(q = s; (size_t)(end - q) >= dlen &&
      (q = memchr(q, '\r', (size_t)(end - q) - dlen + 1)) != NULL; q++)
    if(!memcmp(q, d, dlen))
      return q;
  return NULL;
}

#ifdef MP_X86
/* Bit i of the result: s[i] == '\r', s[i + 1] == '\n' and
 * s[i + dlen - 1] == d[dlen - 1], for i in 0..63. */
#define FILTER(vec, load, cmp, and, mask, width)                           \
  uint64_t m = 0;                                                          \
  int k;                                                                   \
  for(k = 0; k < 64 / (width); k++) {                                      \
    const char *t = s + (width) * k;                                       \
    vec a = cmp(load((const vec *)t), cr);                                 \
    vec b = cmp(load((const vec *)(t + 1)), lf);                           \
    vec c = cmp(load((const vec *)(t + dlen - 1)), last);                  \
    m |= (uint64_t)(uint32_t)mask(and(and(a, b), c)) << ((width) * k);     \
  }

#define CONFIRM                                                            \
  while(m) {                                                               \
    const char *q = s + __builtin_ctzll(m);                                \
    if(!memcmp(q + 2, d + 2, dlen - 3))                                    \
      return q;                                                            \
    m &= m - 1;                                                            \
  }

#ifndef MFU_MP_NO_AVX2
__attribute__((target("avx2")))
static const char *find_avx2(const char *s, const char *end, const char *d,
                             size_t dlen)
{
  const __m256i cr = _mm256_set1_epi8('\r'), lf = _mm256_set1_epi8('\n');
  const __m256i last = _mm256_set1_epi8(d[dlen - 1]);
  while((size_t)(end - s) >= dlen + 64) {
    FILTER(__m256i, _mm256_loadu_si256, _mm256_cmpeq_epi8, _mm256_and_si256,
           _mm256_movemask_epi8, 32)
    CONFIRM
    s += 64;
  }
  return find_tail(s, end, d, dlen);
}
#endif

static const char *find_sse2(const char *s, const char *end, const char *d,
                             size_t dlen)
{
  const __m128i cr = _mm_set1_epi8('\r'), lf = _mm_set1_epi8('\n');
  const __m128i last = _mm_set1_epi8(d[dlen - 1]);
  while((size_t)(end - s) >= dlen + 64) {
    FILTER(__m128i, _mm_loadu_si128, _mm_cmpeq_epi8, _mm_and_si128,
           _mm_movemask_epi8, 16)
    CONFIRM
    s += 64;
  }
  return find_tail(s, end, d, dlen);
}
#undef FILTER
#undef CONFIRM
#endif

/*
 * The first whole delimiter d[0..dlen) in s[0..end), or NULL.
 *
 * 64 positions at a time are filtered on three bytes: the CR and LF that
 * open the delimiter and its last byte (Mula's "SIMD-friendly" substring
 * search); random data passes the filter about once in 2^24 positions.  A
 * hostile body can make at most one position in two a candidate ("\r\n"
 * pairs), each rejected by one short memcmp(): about 1.3 GB/s measured at
 * worst, against 26 GB/s on random data.
 */
static const char *find_delim(const char *s, const char *end, const char *d,
                              size_t dlen)
{
#ifdef MP_X86
#ifndef MFU_MP_NO_AVX2        /* set to test the SSE2 path on any CPU */
  if(__builtin_cpu_supports("avx2"))
    return find_avx2(s, end, d, dlen);
#endif
  return find_sse2(s, end, d, dlen);
#else
  return find_tail(s, end, d, dlen);
#endif
}

/* Part data or preamble in s[0..n) at body offset pos; returns the bytes
 * used. */
static size_t scan(struct mfu_multipart *p, const char *s, size_t n,
                   uint64_t pos, int *rc)
{
  const char *d = p->_delim, *end = s + n, *from = s, *q;
  size_t dlen = p->_delim_len;

  if(p->_match) {
    /* Continue the match held back from the previous feed. */
    size_t m = p->_match;
    while(m < dlen && from < end && *from == d[m]) {
      from++;
      m++;
    }
    if(m == dlen) {
      *rc = delimiter(p, pos + (size_t)(from - s));
      return (size_t)(from - s);
    }
    if(from == end) {
      p->_match = m;
      return n;
    }
    /* Not a delimiter after all: the held bytes are data.  They hold no
     * CR past d[0], so no other match can start inside them. */
    p->_match = 0;
    *rc = deliver(p, d, m, pos);
    if(*rc)
      return (size_t)(from - s);
  }
  q = find_delim(from, end, d, dlen);
  if(q) {
    *rc = deliver(p, from, (size_t)(q - from), pos + (size_t)(from - s));
    if(!*rc)
      *rc = delimiter(p, pos + (size_t)(q + dlen - s));
    return (size_t)(q + dlen - s);
  }
  /* No whole delimiter; only the last dlen - 1 bytes can start one. */
  q = (size_t)(end - from) < dlen ? from : end - (dlen - 1);
  for(; (q = memchr(q, '\r', (size_t)(end - q))) != NULL; q++) {
    if(!memcmp(q, d, (size_t)(end - q))) {
      /* A delimiter may start here: hold it back until the next feed. */
      *rc = deliver(p, from, (size_t)(q - from), pos + (size_t)(from - s));
      p->_match = (size_t)(end - q);
      return n;
    }
  }
  *rc = deliver(p, from, (size_t)(end - from), pos + (size_t)(from - s));
  return n;
}

/* ---------------------------------------------------------------- */
/* One byte of the small states between the parts.                  */

static int is_lwsp(char c)
{
  return c == ' ' || c == '\t';
}

static int step(struct mfu_multipart *p, char c, uint64_t pos)
{
  switch(p->_state) {
  case S_DELIM_TAIL:
    if(c == '-') {
      p->_state = S_CLOSE_DASH;
      return MFU_OK;
    }
    /* FALLTHROUGH */
  case S_PADDING:
    if(is_lwsp(c)) {
      p->_state = S_PADDING;
      return MFU_OK;
    }
    if(c == '\r') {
      p->_state = S_DELIM_LF;
      return MFU_OK;
    }
    /* RFC 2046 section 5.1.1: the boundary must not appear in the data,
     * so "--boundaryX" is an error, not data. */
    return fail(p, MFU_E_MP_SYNTAX, pos, "bad character after a boundary");
  case S_DELIM_LF:
    if(c != '\n')
      return fail(p, MFU_E_MP_SYNTAX, pos, "CR without LF after a boundary");
    return part_start(p, pos + 1);
  case S_HEADER_LF:
    if(c != '\n')
      return fail(p, MFU_E_MP_SYNTAX, pos, "CR without LF in part headers");
    if(p->_hdr_len == p->_line_start)
      return headers_done(p, pos + 1);
    p->_state = S_HEADER;
    if(header_line(p))
      return p->_err;
    p->_line_start = p->_hdr_len;
    p->_line_pos = pos + 1;
    return MFU_OK;
  case S_CLOSE_DASH:
    if(c != '-')
      return fail(p, MFU_E_MP_SYNTAX, pos, "bad character after a boundary");
    p->_state = S_CLOSE_PAD;
    if(p->_cb->on_body_end) {
      int rc = p->_cb->on_body_end(p->_cls);
      if(rc)
        return fail(p, rc, pos + 1, CB_FAIL);
    }
    return MFU_OK;
  case S_CLOSE_PAD:
    if(is_lwsp(c))
      return MFU_OK;
    if(c == '\r') {
      p->_state = S_CLOSE_LF;
      return MFU_OK;
    }
    return fail(p, MFU_E_MP_SYNTAX, pos,
                "bad character after the close boundary");
  case S_CLOSE_LF:
    if(c != '\n')
      return fail(p, MFU_E_MP_SYNTAX, pos,
                  "CR without LF after the close boundary");
    p->_state = S_EPILOGUE;
    return MFU_OK;
  default:
    return fail(p, MFU_E_INTERNAL, pos, "parser in an unknown state");
  }
}

int mfu_multipart_execute(struct mfu_multipart *p, const char *buf,
                          size_t len)
{
  size_t i = 0;
  int rc = MFU_OK;

  if(p->_err)
    return p->_err;
  while(i < len && !rc) {
    uint64_t pos = p->_pos + i;
    switch(p->_state) {
    case S_PREAMBLE:
    case S_DATA:
      i += scan(p, buf + i, len - i, pos, &rc);
      break;
    case S_HEADER:
      i += header_bytes(p, buf + i, len - i, pos, &rc);
      break;
    case S_EPILOGUE:
      i = len;            /* RFC 2046 section 5.1.1: ignored */
      break;
    default:
      rc = step(p, buf[i], pos);
      i++;
      break;
    }
  }
  p->_pos += len;
  return rc;
}

int mfu_multipart_finish(struct mfu_multipart *p)
{
  if(p->_err)
    return p->_err;
  if(p->_state != S_CLOSE_PAD && p->_state != S_EPILOGUE)
    return fail(p, MFU_E_MP_TRUNCATED, p->_pos,
                "body ended before the close boundary");
  return MFU_OK;
}
