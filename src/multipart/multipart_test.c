/*
 * multipart_test.c - unit tests of the multipart parser.
 *
 * Every body is parsed whole, in 1-byte feeds and split in two at every
 * byte, each feed copied into a buffer of exactly its size (so a read past
 * a span trips ASan); the callback traces must be identical.  The fixtures
 * in testdata/ are the bytes Python requests, curl and Chromium really
 * send (testdata/capture.py); their expected traces were written by the
 * capture script from what it sent, not by this parser.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mfu_multipart.h"

/* ---------------------------------------------------------------- */
/* A trace of the callbacks.                                        */

enum { AB_NONE, AB_BEGIN, AB_DATA, AB_END, AB_BODY_END };

struct rec {
  char *t;
  size_t len, cap;
  const char *feed;          /* the span being fed, for the no-copy check */
  size_t feed_len;
  const struct mfu_multipart *p;
  int abort_at;
  int in_part;
};

static void put(struct rec *r, const void *s, size_t n)
{
  if(r->len + n + 1 > r->cap) {
    r->cap = (r->len + n + 1) * 2;
    r->t = realloc(r->t, r->cap);
    assert_non_null(r->t);
  }
  memcpy(r->t + r->len, s, n);
  r->len += n;
  r->t[r->len] = '\0';
}

static void puts_(struct rec *r, const char *s)
{
  put(r, s, strlen(s));
}

static int on_begin(void *cls, const struct mfu_multipart_part *part)
{
  struct rec *r = cls;
  assert_false(r->in_part);
  r->in_part = 1;
  assert_int_equal(strlen(part->name), part->name_len);
  if(part->filename)
    assert_int_equal(strlen(part->filename), part->filename_len);
  if(part->content_type)
    assert_int_equal(strlen(part->content_type), part->content_type_len);
  puts_(r, "[B ");
  put(r, part->name, part->name_len);
  puts_(r, "|");
  puts_(r, part->filename ? part->filename : "-");
  puts_(r, "|");
  puts_(r, part->content_type ? part->content_type : "-");
  puts_(r, "]");
  return r->abort_at == AB_BEGIN ? -77 : 0;
}

static int on_data(void *cls, const char *at, size_t len)
{
  struct rec *r = cls;
  const char *own = (const char *)r->p;
  assert_true(r->in_part);
  assert_true(len > 0);
  /* No copy: a span is inside the caller's feed, or (held-back delimiter
   * prefix) inside the parser struct, at most a delimiter long. */
  if(!(at >= r->feed && at + len <= r->feed + r->feed_len)) {
    assert_true(at >= own && at + len <= own + sizeof(*r->p));
    assert_true(len < MFU_MULTIPART_DELIM_MAX);
  }
  put(r, at, len);
  return r->abort_at == AB_DATA ? -78 : 0;
}

static int on_end(void *cls)
{
  struct rec *r = cls;
  assert_true(r->in_part);
  r->in_part = 0;
  puts_(r, "[E]");
  return r->abort_at == AB_END ? -79 : 0;
}

static int on_body_end(void *cls)
{
  struct rec *r = cls;
  assert_false(r->in_part);
  puts_(r, "[Z]");
  return r->abort_at == AB_BODY_END ? -80 : 0;
}

static const struct mfu_multipart_callbacks cbs = {
  on_begin, on_data, on_end, on_body_end};

/* ---------------------------------------------------------------- */
/* Running one body with a given list of feed sizes.                */

struct result {
  int rc;
  uint64_t errpos;
  char *trace;
  size_t tlen;
};

struct sample {
  const char *body;
  size_t len;
  const char *boundary;
  const struct mfu_multipart_limits *lim;
  int abort_at;
  size_t hdr_cap;
};

/* Feed the body in spans that end at cuts[0..ncuts) then at the end. */
static struct result run(const struct sample *s, const size_t *cuts,
                         size_t ncuts)
{
  struct mfu_multipart p;
  struct rec r = {0};
  struct result res;
  char hdr[16384];
  size_t from = 0, k;
  int rc;

  r.p = &p;
  r.abort_at = s->abort_at;
  put(&r, "", 0);
  rc = mfu_multipart_init(&p, s->boundary, strlen(s->boundary), s->lim,
                          &cbs, &r, hdr,
                          s->hdr_cap ? s->hdr_cap : sizeof(hdr));
  assert_int_equal(rc, MFU_OK);
  for(k = 0; k <= ncuts && !rc; k++) {
    size_t to = k < ncuts ? cuts[k] : s->len;
    size_t n = to - from;
    char *span = malloc(n ? n : 1);
    assert_non_null(span);
    memcpy(span, s->body + from, n);
    r.feed = span;
    r.feed_len = n;
    rc = mfu_multipart_execute(&p, span, n);
    free(span);
    from = to;
  }
  if(!rc)
    rc = mfu_multipart_finish(&p);
  /* Errors are sticky. */
  assert_int_equal(mfu_multipart_finish(&p), rc);
  if(rc) {
    assert_int_equal(mfu_multipart_execute(&p, "--b\r\n", 5), rc);
    assert_true(mfu_multipart_errmsg(&p)[0] != '\0');
    assert_true(mfu_multipart_errpos(&p) <= s->len);
  }
  else
    assert_string_equal(mfu_multipart_errmsg(&p), "");
  res.rc = rc;
  res.errpos = rc ? mfu_multipart_errpos(&p) : 0;
  res.trace = r.t;
  res.tlen = r.len;
  return res;
}

static void same(const struct result *a, const struct result *b,
                 const char *how, size_t at)
{
  if(a->rc != b->rc || a->errpos != b->errpos || a->tlen != b->tlen ||
     memcmp(a->trace, b->trace, a->tlen))
    fail_msg("%s at %zu: rc %d/%d errpos %llu/%llu\n%s\n---\n%s", how, at,
             a->rc, b->rc, (unsigned long long)a->errpos,
             (unsigned long long)b->errpos, a->trace, b->trace);
}

/* Parse s whole, in 1-byte feeds and split at every byte; all runs must
 * agree.  Returns the whole-body result (caller frees trace). */
static struct result check_all(const struct sample *s)
{
  struct result whole = run(s, NULL, 0), other;
  size_t *cuts = malloc((s->len + 1) * sizeof(*cuts));
  size_t i;

  assert_non_null(cuts);
  for(i = 0; i < s->len; i++)
    cuts[i] = i + 1;
  other = run(s, cuts, s->len ? s->len - 1 : 0);
  if(s->abort_at != AB_DATA)
    same(&whole, &other, "1-byte feeds", 0);
  free(other.trace);
  for(i = 0; i <= s->len; i++) {
    other = run(s, &i, 1);
    if(s->abort_at != AB_DATA)
      same(&whole, &other, "split", i);
    free(other.trace);
  }
  free(cuts);
  return whole;
}

static void expect(const char *body, const char *boundary, int rc,
                   uint64_t errpos, const char *trace)
{
  struct sample s = {body, strlen(body), boundary, NULL, AB_NONE, 0};
  struct result r = check_all(&s);
  if(r.rc != rc || (rc && r.errpos != errpos))
    fail_msg("%s: rc %d errpos %llu, want %d at %llu; trace %s", body, r.rc,
             (unsigned long long)r.errpos, rc, (unsigned long long)errpos,
             r.trace);
  if(trace)
    assert_string_equal(r.trace, trace);
  free(r.trace);
}

/* ---------------------------------------------------------------- */
/* Fixtures captured from real clients.                             */

static char *slurp(const char *name, const char *ext, size_t *len)
{
  const char *dir = getenv("MFU_TESTDATA");
  char path[4096];
  FILE *f;
  char *buf;
  long n;

  assert_non_null(dir);
  snprintf(path, sizeof(path), "%s/%s.%s", dir, name, ext);
  f = fopen(path, "rb");
  if(!f)
    fail_msg("cannot open %s", path);
  assert_int_equal(fseek(f, 0, SEEK_END), 0);
  n = ftell(f);
  assert_true(n >= 0);
  rewind(f);
  buf = malloc((size_t)n + 1);
  assert_non_null(buf);
  assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
  buf[n] = '\0';
  fclose(f);
  *len = (size_t)n;
  return buf;
}

static void fixture(const char *name)
{
  size_t blen, clen, tlen, elen;
  char *body = slurp(name, "body", &blen);
  char *ctype = slurp(name, "ctype", &clen);
  char *want = slurp(name, "trace", &tlen);
  char boundary[MFU_MULTIPART_BOUNDARY_MAX + 1];
  struct sample s = {body, blen, boundary, NULL, AB_NONE, 0};
  struct result r;

  assert_int_equal(mfu_multipart_boundary(ctype, clen, boundary, &elen),
                   MFU_OK);
  assert_int_equal(elen, strlen(boundary));
  r = check_all(&s);
  assert_int_equal(r.rc, MFU_OK);
  assert_int_equal(r.tlen, tlen);
  assert_memory_equal(r.trace, want, tlen);
  free(r.trace);
  free(body);
  free(ctype);
  free(want);
}

static void test_fixture_requests(void **state)
{
  (void)state;
  fixture("requests");
}

static void test_fixture_curl(void **state)
{
  (void)state;
  fixture("curl");
}

static void test_fixture_chromium(void **state)
{
  (void)state;
  fixture("chromium");
}

/* ---------------------------------------------------------------- */
/* What is accepted.                                                */

#define CD "Content-Disposition: form-data; "

static void test_basic(void **state)
{
  (void)state;
  expect("--b\r\n" CD "name=\"a\"\r\n\r\nhello\r\n--b--\r\n", "b", MFU_OK,
         0, "[B a|-|-]hello[E][Z]");
  /* No CRLF after the close delimiter. */
  expect("--b\r\n" CD "name=a\r\n\r\nhello\r\n--b--", "b", MFU_OK, 0,
         "[B a|-|-]hello[E][Z]");
  /* Two parts, one with a file and a type, one empty with an empty name. */
  expect("--b\r\n" CD "name=\"f\"; filename=\"x.bin\"\r\n"
         "Content-Type: application/octet-stream\r\n\r\n"
         "\x01\x02\r\n--b\r\n" CD "name=\"\"\r\n\r\n\r\n--b--\r\n", "b",
         MFU_OK, 0,
         "[B f|x.bin|application/octet-stream]\x01\x02[E][B |-|-][E][Z]");
}

static void test_preamble_epilogue_padding(void **state)
{
  (void)state;
  expect("preamble --b\r\n\r\n--b \t\r\n" CD "name=a\r\n\r\nx\r\n--b-- \t\r\n"
         "epilogue\r\n--b\r\nnot a part", "b", MFU_OK, 0, "[B a|-|-]x[E][Z]");
  /* A CRLF before the first delimiter is an empty preamble. */
  expect("\r\n--b\r\n" CD "name=a\r\n\r\nx\r\n--b--", "b", MFU_OK, 0,
         "[B a|-|-]x[E][Z]");
}

static void test_near_delimiters(void **state)
{
  (void)state;
  /* Prefixes of the delimiter inside data, and a CR right before it. */
  expect("--bound\r\n" CD "name=a\r\n\r\n"
         "1\r\n-2\r\n--3\r\n--boun4--bound\r\r\n--bou\r\r\n--bound--", "bound",
         MFU_OK, 0,
         "[B a|-|-]1\r\n-2\r\n--3\r\n--boun4--bound\r\r\n--bou\r[E][Z]");
  /* The dashes of a boundary made of dashes. */
  expect("------\r\n" CD "name=a\r\n\r\n-\r\n---\r\n-----\r\n------"
         "--", "----", MFU_OK, 0, "[B a|-|-]-\r\n---\r\n-----[E][Z]");
}

static void test_header_forms(void **state)
{
  (void)state;
  /* Case-insensitive names, other headers and parameters ignored, a
   * trailing ';', OWS around the value. */
  expect("--b\r\nCONTENT-DISPOSITION:Form-Data;NAME=x; FileName=y.txt;"
         " foo=\"bar\";  \r\ncontent-type:  text/plain; charset=utf-8 \r\n"
         "X-Other: 1\r\nContent-Transfer-Encoding: binary\r\n\r\nd\r\n--b--",
         "b", MFU_OK, 0, "[B x|y.txt|text/plain; charset=utf-8]d[E][Z]");
  /* Backslash escapes are undone; Chromium's %22 and raw UTF-8 are kept. */
  expect("--b\r\n" CD "name=\"a\\\"b\\\\\"; filename=\"%22\xe6\xb8\x85"
         "\\x.txt\"\r\n\r\n\r\n--b--", "b", MFU_OK, 0,
         "[B a\"b\\|%22\xe6\xb8\x85x.txt|-][E][Z]");
  /* RFC 5987 filename* wins over filename, in either order. */
  expect("--b\r\n" CD "name=f; filename*=UTF-8''%E6%B8%85%20x.txt; "
         "filename=\"fallback.txt\"\r\n\r\n\r\n--b\r\n" CD "name=g; "
         "filename=a; filename*=utf-8'zh-CN'%e6%b8%85\r\n\r\n\r\n--b--", "b",
         MFU_OK, 0, "[B f|\xe6\xb8\x85 x.txt|-][E][B g|\xe6\xb8\x85|-][E][Z]");
  /* A nested multipart body is data. */
  expect("--b\r\n" CD "name=m\r\nContent-Type: multipart/mixed; boundary=c"
         "\r\n\r\n--c\r\n\r\nx\r\n--c--\r\n--b--", "b", MFU_OK, 0,
         "[B m|-|multipart/mixed; boundary=c]--c\r\n\r\nx\r\n--c--[E][Z]");
}

static void test_boundary_chars(void **state)
{
  (void)state;
  expect("--a'()+_,-./:=? z\r\n" CD "name=a\r\n\r\nx\r\n"
         "--a'()+_,-./:=? z--", "a'()+_,-./:=? z", MFU_OK, 0,
         "[B a|-|-]x[E][Z]");
}

static void test_limits_default(void **state)
{
  struct mfu_multipart_limits lim;
  (void)state;
  mfu_multipart_limits_default(&lim);
  assert_int_equal(lim.max_header_line, 8192);
  assert_int_equal(lim.max_headers, 16);
  assert_int_equal(lim.max_parts, 10000);
}

static void test_init(void **state)
{
  struct mfu_multipart p;
  char hdr[256];
  char b71[72];
  (void)state;
  memset(b71, 'x', 71);
  b71[71] = '\0';
  assert_int_equal(mfu_multipart_init(&p, "b", 1, NULL, NULL, NULL, hdr, 256),
                   MFU_OK);
  /* With no callbacks the body is still checked. */
  assert_int_equal(mfu_multipart_execute(&p, "--b\r\n\r\n", 7),
                   MFU_E_MP_DISPOSITION);
  assert_int_equal(mfu_multipart_init(&p, "b", 1, NULL, NULL, NULL, hdr, 255),
                   MFU_E_INVAL);
  assert_int_equal(mfu_multipart_init(&p, "", 0, NULL, NULL, NULL, hdr, 256),
                   MFU_E_MP_BOUNDARY);
  assert_int_equal(mfu_multipart_init(&p, b71, 71, NULL, NULL, NULL, hdr,
                                      256), MFU_E_MP_BOUNDARY);
  assert_int_equal(mfu_multipart_init(&p, b71, 70, NULL, NULL, NULL, hdr,
                                      256), MFU_OK);
  assert_int_equal(mfu_multipart_init(&p, "a\rb", 3, NULL, NULL, NULL, hdr,
                                      256), MFU_E_MP_BOUNDARY);
  assert_int_equal(mfu_multipart_init(&p, "ab ", 3, NULL, NULL, NULL, hdr,
                                      256), MFU_E_MP_BOUNDARY);
}

/* ---------------------------------------------------------------- */
/* One test per error code, with its position.                      */

static uint64_t off(const char *body, const char *needle)
{
  const char *at = strstr(body, needle);
  assert_non_null(at);
  return (uint64_t)(at - body);
}

static void test_err_syntax(void **state)
{
  const char *b;
  (void)state;
  b = "--b\r\n" CD "name=a\n\r\n";
  expect(b, "b", MFU_E_MP_SYNTAX, off(b, "a\n") + 1, NULL);
  b = "--b\r\n" CD "name=a\rX\r\n";
  expect(b, "b", MFU_E_MP_SYNTAX, off(b, "X"), NULL);
  b = "--b\n" CD "name=a\r\n\r\n";
  expect(b, "b", MFU_E_MP_SYNTAX, 3, NULL);
  b = "--b\r\n" CD "name=a\r\n\r\nx\r\n--bX\r\n";
  expect(b, "b", MFU_E_MP_SYNTAX, off(b, "X"), NULL);
  b = "--b\r\n" CD "name=a\r\n\r\nx\r\n--b -\r\n";
  expect(b, "b", MFU_E_MP_SYNTAX, off(b, " -") + 1, NULL);
  b = "--b\r\n" CD "name=a\r\n\r\nx\r\n--b-X";
  expect(b, "b", MFU_E_MP_SYNTAX, off(b, "X"), NULL);
  b = "--b\r\n" CD "name=a\r\n\r\nx\r\n--b--X";
  expect(b, "b", MFU_E_MP_SYNTAX, off(b, "X"), NULL);
  b = "--b\r\n" CD "name=a\r\n\r\nx\r\n--b--\rX";
  expect(b, "b", MFU_E_MP_SYNTAX, off(b, "X"), NULL);
  /* "--b" followed by more bchars is not data (RFC 2046 section 5.1.1). */
  b = "--b\r\n" CD "name=a\r\n\r\nx\r\n--bb\r\n--b--";
  expect(b, "b", MFU_E_MP_SYNTAX, off(b, "bb") + 1, NULL);
  /* Folded (continuation) line. */
  b = "--b\r\nContent-Disposition: form-data;\r\n name=a\r\n\r\n";
  expect(b, "b", MFU_E_MP_SYNTAX, off(b, " name"), NULL);
  /* No colon, space before the colon, empty name. */
  b = "--b\r\n" CD "name=a\r\nX-No-Colon\r\n\r\n";
  expect(b, "b", MFU_E_MP_SYNTAX, off(b, "X-"), NULL);
  b = "--b\r\nContent-Disposition : form-data; name=a\r\n\r\n";
  expect(b, "b", MFU_E_MP_SYNTAX, 5, NULL);
  b = "--b\r\n" CD "name=a\r\n: x\r\n\r\n";
  expect(b, "b", MFU_E_MP_SYNTAX, off(b, ": x"), NULL);
  /* Control character in a value. */
  b = "--b\r\n" CD "name=\"a\x01\"\r\n\r\n";
  expect(b, "b", MFU_E_MP_SYNTAX, off(b, "\x01"), NULL);
  /* Duplicate or empty Content-Type. */
  b = "--b\r\n" CD "name=a\r\nContent-Type: a/b\r\nContent-Type: a/b\r\n\r\n";
  expect(b, "b", MFU_E_MP_SYNTAX, off(b, "Content-Type: a/b\r\nC") + 19,
         NULL);
  b = "--b\r\n" CD "name=a\r\nContent-Type:  \r\n\r\n";
  expect(b, "b", MFU_E_MP_SYNTAX, off(b, "Content-Type"), NULL);
}

static void test_err_header_line(void **state)
{
  struct mfu_multipart_limits lim = {20, 16, 100};
  const char *b = "--b\r\nX-Long: 0123456789abcdef\r\n" CD "name=a\r\n\r\n";
  struct sample s = {b, strlen(b), "b", &lim, AB_NONE, 0};
  struct result r;
  char big[600];
  (void)state;

  r = check_all(&s);
  assert_int_equal(r.rc, MFU_E_MP_HEADER_LINE);
  assert_int_equal(r.errpos, 5 + 20);
  free(r.trace);
  /* A line of exactly the limit passes. */
  lim.max_header_line = 38;
  r = check_all(&s);
  assert_int_equal(r.rc, MFU_E_MP_TRUNCATED);
  free(r.trace);
  /* The header buffer (256 bytes here) is the other bound. */
  snprintf(big, sizeof(big), "--b\r\n" CD "name=a; x=\"%0300d\"\r\n\r\n", 0);
  s.body = big;
  s.len = strlen(big);
  s.lim = NULL;
  s.hdr_cap = 256;
  r = check_all(&s);
  assert_int_equal(r.rc, MFU_E_MP_HEADER_LINE);
  assert_int_equal(r.errpos, 5 + 255);
  free(r.trace);
}

static void test_err_headers(void **state)
{
  struct mfu_multipart_limits lim = {8192, 2, 100};
  const char *b = "--b\r\n" CD "name=a\r\nX-A: 1\r\nX-B: 2\r\n\r\n";
  struct sample s = {b, strlen(b), "b", &lim, AB_NONE, 0};
  struct result r;
  (void)state;

  r = check_all(&s);
  assert_int_equal(r.rc, MFU_E_MP_HEADERS);
  assert_int_equal(r.errpos, off(b, "X-B"));
  free(r.trace);
  lim.max_headers = 3;
  r = check_all(&s);
  assert_int_equal(r.rc, MFU_E_MP_TRUNCATED);
  assert_string_equal(r.trace, "[B a|-|-]");
  free(r.trace);
}

static void test_err_parts(void **state)
{
  struct mfu_multipart_limits lim = {8192, 16, 2};
  const char *b = "--b\r\n" CD "name=a\r\n\r\n1\r\n--b\r\n" CD "name=b\r\n\r\n"
                  "2\r\n--b\r\n" CD "name=c\r\n\r\n3\r\n--b--";
  struct sample s = {b, strlen(b), "b", &lim, AB_NONE, 0};
  struct result r;
  (void)state;

  r = check_all(&s);
  assert_int_equal(r.rc, MFU_E_MP_PARTS);
  assert_int_equal(r.errpos, off(b, CD "name=c"));
  assert_string_equal(r.trace, "[B a|-|-]1[E][B b|-|-]2[E]");
  free(r.trace);
  lim.max_parts = 3;
  r = check_all(&s);
  assert_int_equal(r.rc, MFU_OK);
  free(r.trace);
}

static void test_err_truncated(void **state)
{
  const char *b;
  (void)state;
  expect("", "b", MFU_E_MP_TRUNCATED, 0, "");
  expect("preamble only", "b", MFU_E_MP_TRUNCATED, 13, "");
  b = "--b\r\n" CD "name=a\r\n";
  expect(b, "b", MFU_E_MP_TRUNCATED, strlen(b), "");
  /* The held-back "\r\n--" is not delivered: it may be the delimiter. */
  b = "--b\r\n" CD "name=a\r\n\r\nabc\r\n--";
  expect(b, "b", MFU_E_MP_TRUNCATED, strlen(b), "[B a|-|-]abc");
  b = "--b\r\n" CD "name=a\r\n\r\nabc\r\n--b";
  expect(b, "b", MFU_E_MP_TRUNCATED, strlen(b), "[B a|-|-]abc[E]");
  b = "--b\r\n" CD "name=a\r\n\r\nabc\r\n--b--\r";
  expect(b, "b", MFU_E_MP_TRUNCATED, strlen(b), "[B a|-|-]abc[E][Z]");
}

static void test_err_disposition(void **state)
{
  const char *b;
  (void)state;
  b = "--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b--";
  expect(b, "b", MFU_E_MP_DISPOSITION, off(b, "\r\n\r\n") + 4, "");
  b = "--b\r\nContent-Disposition: attachment; name=a\r\n\r\n";
  expect(b, "b", MFU_E_MP_DISPOSITION, 5, "");
  b = "--b\r\nContent-Disposition: form-data\r\n\r\n";
  expect(b, "b", MFU_E_MP_DISPOSITION, 5, "");
  b = "--b\r\nContent-Disposition: form-data; filename=x\r\n\r\n";
  expect(b, "b", MFU_E_MP_DISPOSITION, 5, "");
  b = "--b\r\n" CD "name=a; NAME=b\r\n\r\n";
  expect(b, "b", MFU_E_MP_DISPOSITION, 5, "");
  b = "--b\r\n" CD "name=a; filename=x; filename=y\r\n\r\n";
  expect(b, "b", MFU_E_MP_DISPOSITION, 5, "");
  b = "--b\r\n" CD "name=a\r\n" CD "name=a\r\n\r\n";
  expect(b, "b", MFU_E_MP_DISPOSITION, off(b, "a\r\nC") + 3, "");
  b = "--b\r\n" CD "name =a\r\n\r\n";
  expect(b, "b", MFU_E_MP_DISPOSITION, 5, "");
  b = "--b\r\n" CD "name=\r\n\r\n";
  expect(b, "b", MFU_E_MP_DISPOSITION, 5, "");
  b = "--b\r\n" CD "name=a b\r\n\r\n";
  expect(b, "b", MFU_E_MP_DISPOSITION, 5, "");
  b = "--b\r\n" CD "name=\xe6\xb8\x85\r\n\r\n";
  expect(b, "b", MFU_E_MP_DISPOSITION, 5, "");
}

static void test_err_encoding(void **state)
{
  static const char *bad[] = {
    "filename*=ISO-8859-1''x.txt",
    "filename*=x.txt",
    "filename*=UTF-8'x.txt",
    "filename*=UTF-8''%ZZ.txt",
    "filename*=UTF-8''%E6%B8",
    "filename*=UTF-8''%00",
    "filename*=UTF-8''%FF",
    "filename*=UTF-8''%C0%AF",
    "filename*=UTF-8''a*b",
    "filename*=\"UTF-8''x\"",
    "filename=\"unterminated",
    "filename=\"x\\",
  };
  char b[256];
  size_t i;
  (void)state;
  for(i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    snprintf(b, sizeof(b), "--b\r\n" CD "name=a; %s\r\n\r\n", bad[i]);
    expect(b, "b", MFU_E_MP_ENCODING, 5, "");
  }
}

static void abort_case(int at, int rc, uint64_t errpos, const char *trace)
{
  const char *b = "--b\r\n" CD "name=a\r\n\r\nxyz\r\n--b--\r\n";
  struct sample s = {b, strlen(b), "b", NULL, at, 0};
  struct result r = check_all(&s);
  assert_int_equal(r.rc, rc);
  assert_int_equal(r.errpos, errpos);
  assert_string_equal(r.trace, trace);
  free(r.trace);
}

static void test_err_callback(void **state)
{
  const char *b = "--b\r\n" CD "name=a\r\n\r\nxyz\r\n--b--\r\n";
  (void)state;
  abort_case(AB_BEGIN, -77, off(b, "xyz"), "[B a|-|-]");
  abort_case(AB_DATA, -78, off(b, "xyz"), "[B a|-|-]xyz");
  abort_case(AB_END, -79, off(b, "--\r\n"), "[B a|-|-]xyz[E]");
  abort_case(AB_BODY_END, -80, off(b, "\r\n--b--") + 7,
             "[B a|-|-]xyz[E][Z]");
}

/* ---------------------------------------------------------------- */
/* The request's Content-Type.                                      */

static void test_boundary_param(void **state)
{
  static const struct {
    const char *ct;
    int rc;
    const char *want;
  } t[] = {
    {"multipart/form-data; boundary=abc", MFU_OK, "abc"},
    {"multipart/form-data;boundary=abc", MFU_OK, "abc"},
    {"Multipart/Form-Data; BOUNDARY=abc", MFU_OK, "abc"},
    {"multipart/form-data; charset=utf-8; boundary=abc", MFU_OK, "abc"},
    {"multipart/form-data; boundary=abc; charset=\"utf-8\"", MFU_OK, "abc"},
    {" multipart/form-data ; boundary=abc ;\t", MFU_OK, "abc"},
    {"multipart/form-data; boundary=\"a b:c/d?\"", MFU_OK, "a b:c/d?"},
    {"multipart/form-data; boundary=\" abc\"", MFU_OK, " abc"},
    {"multipart/form-data; boundary=\"a\\bc\"", MFU_OK, "abc"},
    {"multipart/form-data; boundary=----WebKitFormBoundaryFoXF2s2FrnQfYX",
     MFU_OK, "----WebKitFormBoundaryFoXF2s2FrnQfYX"},
    {"multipart/form-data; boundary=\"abc \"", MFU_E_MP_BOUNDARY, NULL},
    {"multipart/form-data; boundary=ab!c", MFU_E_MP_BOUNDARY, NULL},
    {"multipart/form-data; boundary=a/b", MFU_E_MP_BOUNDARY, NULL},
    {"multipart/form-data; boundary=\"a\\\"b\"", MFU_E_MP_BOUNDARY, NULL},
    {"multipart/form-data; boundary=\"abc", MFU_E_MP_BOUNDARY, NULL},
    {"multipart/form-data; boundary=", MFU_E_MP_BOUNDARY, NULL},
    {"multipart/form-data; boundary=\"\"", MFU_E_MP_BOUNDARY, NULL},
    {"multipart/form-data; boundary = a", MFU_E_MP_BOUNDARY, NULL},
    {"multipart/form-data boundary=a", MFU_E_MP_BOUNDARY, NULL},
    {"multipart/form-data;; boundary=a", MFU_E_MP_BOUNDARY, NULL},
    {"multipart/form-data; boundary=a; boundary=a", MFU_E_MP_BOUNDARY, NULL},
    {"multipart/form-data; Boundary=a; boundary=b", MFU_E_MP_BOUNDARY, NULL},
    {"multipart/form-data", MFU_E_MP_BOUNDARY, NULL},
    {"multipart/form-data; charset=utf-8", MFU_E_MP_BOUNDARY, NULL},
    {"multipart/mixed; boundary=abc", MFU_E_MEDIA_TYPE, NULL},
    {"multipart/form-datax; boundary=abc", MFU_E_MEDIA_TYPE, NULL},
    {"application/x-www-form-urlencoded", MFU_E_MEDIA_TYPE, NULL},
    {"multipart", MFU_E_MEDIA_TYPE, NULL},
    {"", MFU_E_MEDIA_TYPE, NULL},
  };
  char out[MFU_MULTIPART_BOUNDARY_MAX + 1], ct[128];
  size_t i, len;
  (void)state;

  for(i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
    int rc = mfu_multipart_boundary(t[i].ct, strlen(t[i].ct), out, &len);
    if(rc != t[i].rc)
      fail_msg("%s: rc %d, want %d", t[i].ct, rc, t[i].rc);
    if(t[i].want) {
      assert_string_equal(out, t[i].want);
      assert_int_equal(len, strlen(t[i].want));
    }
  }
  /* 70 characters is the most, quoted or not. */
  snprintf(ct, sizeof(ct), "multipart/form-data; boundary=%070d", 7);
  assert_int_equal(mfu_multipart_boundary(ct, strlen(ct), out, &len), 0);
  assert_int_equal(len, 70);
  snprintf(ct, sizeof(ct), "multipart/form-data; boundary=\"%070d\"", 7);
  assert_int_equal(mfu_multipart_boundary(ct, strlen(ct), out, &len), 0);
  snprintf(ct, sizeof(ct), "multipart/form-data; boundary=%071d", 7);
  assert_int_equal(mfu_multipart_boundary(ct, strlen(ct), out, &len),
                   MFU_E_MP_BOUNDARY);
  snprintf(ct, sizeof(ct), "multipart/form-data; boundary=\"%071d\"", 7);
  assert_int_equal(mfu_multipart_boundary(ct, strlen(ct), out, &len),
                   MFU_E_MP_BOUNDARY);
  /* Only len bytes are read: no NUL is needed. */
  assert_int_equal(mfu_multipart_boundary("multipart/form-data; boundary=ab"
                                          "cdef", 33, out, &len), 0);
  assert_string_equal(out, "abc");
}

/* ---------------------------------------------------------------- */
/* Bounded memory: a large body through a small header buffer.      */

static int count_data(void *cls, const char *at, size_t len)
{
  (void)at;
  *(uint64_t *)cls += len;
  return 0;
}

static void test_large_body(void **state)
{
  static const struct mfu_multipart_callbacks c = {NULL, count_data, NULL,
                                                   NULL};
  static const char head[] = "--xyz\r\n" CD "name=f; filename=big\r\n\r\n";
  struct mfu_multipart p;
  char hdr[256], chunk[4096];
  uint64_t got = 0;
  size_t i;
  (void)state;

  for(i = 0; i < sizeof(chunk); i++)
    chunk[i] = "\r\n--xy"[i % 6];
  assert_int_equal(mfu_multipart_init(&p, "xyz", 3, NULL, &c, &got, hdr,
                                      sizeof(hdr)), 0);
  assert_int_equal(mfu_multipart_execute(&p, head, sizeof(head) - 1), 0);
  for(i = 0; i < 4096; i++)
    assert_int_equal(mfu_multipart_execute(&p, chunk, sizeof(chunk)), 0);
  assert_int_equal(mfu_multipart_execute(&p, "\r\n--xyz--", 9), 0);
  assert_int_equal(mfu_multipart_finish(&p), 0);
  assert_int_equal(got, (uint64_t)4096 * sizeof(chunk));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_fixture_requests),
    cmocka_unit_test(test_fixture_curl),
    cmocka_unit_test(test_fixture_chromium),
    cmocka_unit_test(test_basic),
    cmocka_unit_test(test_preamble_epilogue_padding),
    cmocka_unit_test(test_near_delimiters),
    cmocka_unit_test(test_header_forms),
    cmocka_unit_test(test_boundary_chars),
    cmocka_unit_test(test_limits_default),
    cmocka_unit_test(test_init),
    cmocka_unit_test(test_err_syntax),
    cmocka_unit_test(test_err_header_line),
    cmocka_unit_test(test_err_headers),
    cmocka_unit_test(test_err_parts),
    cmocka_unit_test(test_err_truncated),
    cmocka_unit_test(test_err_disposition),
    cmocka_unit_test(test_err_encoding),
    cmocka_unit_test(test_err_callback),
    cmocka_unit_test(test_boundary_param),
    cmocka_unit_test(test_large_body),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
