/*
 * http_test.c - the server's pure parts: filename rules, Range, flags.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mfu_auth.h"
#include "mfu_http.h"
#include "mfu_names.h"
#include "mfu_range.h"

static void test_duration_prefix(void **state)
{
  static const struct { const char *in; int ok; int64_t d; const char *rest; }
  v[] = {
    {"234_\xe6\xb8\x85.mp3", 1, 234, "\xe6\xb8\x85.mp3"},
    {"123_picture001.png", 1, 123, "picture001.png"},
    {"0_a", 1, 0, "a"},
    {"123456789_a", 1, 123456789, "a"},
    {"1234567890_a", 0, 0, NULL},     /* ten digits: not a prefix */
    {"12_", 0, 0, NULL},              /* nothing after the prefix */
    {"_a.png", 0, 0, NULL},
    {"12a_b", 0, 0, NULL},
    {"explain_text", 0, 0, NULL},
    {"picture.png", 0, 0, NULL},
    {"-1_a", 0, 0, NULL},
  };
  (void)state;
  for(size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
    int64_t d = -7;
    size_t off = 0;
    int ok = mfu_name_duration(v[i].in, strlen(v[i].in), &d, &off);
    assert_int_equal(ok, v[i].ok);
    if(ok) {
      assert_int_equal(d, v[i].d);
      assert_string_equal(v[i].in + off, v[i].rest);
    }
  }
}

static void check_clean(const char *in, size_t len, int rc, const char *out)
{
  char buf[MFU_NAME_MAX + 1];
  assert_int_equal(mfu_name_clean(in, len, buf), rc);
  if(rc == MFU_OK)
    assert_string_equal(buf, out);
}

static void test_name_clean(void **state)
{
  char longname[400];
  char buf[MFU_NAME_MAX + 1];
  (void)state;
  check_clean("a.png", 5, MFU_OK, "a.png");
  check_clean("../../etc/passwd", 16, MFU_OK, "passwd");
  check_clean("C:\\Users\\x\\evil.png", 19, MFU_OK, "evil.png");
  check_clean("a\x01\x1b[31mb.png", 12, MFU_OK, "a[31mb.png");
  check_clean("a\0b.png", 7, MFU_OK, "ab.png");
  /* U+202E RIGHT-TO-LEFT OVERRIDE hides the real extension */
  check_clean("x\xe2\x80\xaegnp.exe", 12, MFU_OK, "xgnp.exe");
  check_clean("\xc2\x85next", 6, MFU_OK, "next");  /* C1 control */
  check_clean("..", 2, MFU_E_FILENAME, NULL);
  check_clean("dir/", 4, MFU_E_FILENAME, NULL);
  check_clean(" .hidden. ", 10, MFU_OK, "hidden");
  check_clean("bad\xff.png", 8, MFU_E_TEXT_UTF8, NULL);
  check_clean("\xe6\xb8\x85\xe5\xb9\xb3\xe4\xb9\x90.mp3", 13, MFU_OK,
              "\xe6\xb8\x85\xe5\xb9\xb3\xe4\xb9\x90.mp3");
  /* capped at a character boundary: 3-byte characters, 255 = 85 * 3 */
  for(int i = 0; i < 130; i++)
    memcpy(longname + 3 * i, "\xe6\xb8\x85", 3);
  assert_int_equal(mfu_name_clean(longname, 390, buf), MFU_OK);
  assert_int_equal(strlen(buf), 255);
  memcpy(longname, "a", 1);    /* now starts with stray continuations */
  assert_int_equal(mfu_name_clean(longname, 390, buf), MFU_E_TEXT_UTF8);
}

static void test_name_ext(void **state)
{
  char ext[12];
  (void)state;
  mfu_name_ext("a.PNG", ext);
  assert_string_equal(ext, ".png");
  mfu_name_ext("archive.tar.gz", ext);
  assert_string_equal(ext, ".gz");
  mfu_name_ext("noext", ext);
  assert_string_equal(ext, "");
  mfu_name_ext(".bashrc", ext);
  assert_string_equal(ext, "");
  mfu_name_ext("x.verylongextension", ext);
  assert_string_equal(ext, "");
  mfu_name_ext("x.p-g", ext);
  assert_string_equal(ext, "");
}

static void range(const char *h, uint64_t size, int rc, uint64_t start,
                  uint64_t len)
{
  uint64_t s = 99, l = 99;
  assert_int_equal(mfu_range_parse(h, strlen(h), size, &s, &l), rc);
  if(rc == 1) {
    assert_int_equal(s, start);
    assert_int_equal(l, len);
  }
}

static void test_range(void **state)
{
  (void)state;
  range("bytes=0-99", 1000, 1, 0, 100);
  range("bytes=100-", 1000, 1, 100, 900);
  range("bytes=-100", 1000, 1, 900, 100);
  range("bytes=-5000", 1000, 1, 0, 1000);
  range("bytes=900-5000", 1000, 1, 900, 100);
  range("bytes=1000-", 1000, MFU_E_RANGE, 0, 0);
  range("bytes=-0", 1000, MFU_E_RANGE, 0, 0);
  range("bytes=0-0", 0, MFU_E_RANGE, 0, 0);
  range("bytes=5-1", 1000, 0, 0, 0);          /* invalid: ignored */
  range("bytes=0-1,5-6", 1000, 0, 0, 0);      /* several: whole */
  range("items=0-1", 1000, 0, 0, 0);
  range("bytes=-", 1000, 0, 0, 0);
  range("bytes=99999999999999999999-", 1000, 0, 0, 0);
}

static void test_config_defaults_and_flags(void **state)
{
  struct mfu_config cfg;
  char *argv[] = {"--listen=0.0.0.0:9000", "--max-file", "10M", "--quiet"};
  (void)state;
  unsetenv("MFU_LISTEN");
  unsetenv("MFU_AUTH");
  setenv("MFU_MAX_TEXT", "2K", 1);
  assert_int_equal(mfu_config_parse(&cfg, 0, NULL, stderr), MFU_OK);
  assert_string_equal(cfg.listen, "127.0.0.1:8134");
  assert_string_equal(cfg.store, "file://./data/blobs");
  assert_string_equal(cfg.catalog, "sqlite://./data/mfu.db");
  assert_int_equal(cfg.auth, MFU_AUTH_NONE);       /* loopback */
  assert_int_equal(cfg.max_text, 2048);
  assert_int_equal(cfg.probe_workers, 0);          /* one per CPU */
  assert_int_equal(mfu_config_parse(&cfg, 4, argv, stderr), MFU_OK);
  assert_int_equal(cfg.auth, MFU_AUTH_TOKEN);      /* not loopback */
  assert_int_equal(cfg.max_file, 10u << 20);
  assert_true(cfg.quiet);
  unsetenv("MFU_MAX_TEXT");
}

static void test_config_errors(void **state)
{
  struct mfu_config cfg;
  char *bad1[] = {"--nope"};
  char *bad2[] = {"--max-file", "lots"};
  char *bad3[] = {"--auth", "maybe"};
  char *bad4[] = {"--max-parts"};
  char *bad5[] = {"--max-header", "100"};
  char *bad6[] = {"--probe-workers", "100000"};
  FILE *null = fopen("/dev/null", "w");
  (void)state;
  assert_int_equal(mfu_config_parse(&cfg, 1, bad1, null), MFU_E_INVAL);
  assert_int_equal(mfu_config_parse(&cfg, 2, bad2, null), MFU_E_INVAL);
  assert_int_equal(mfu_config_parse(&cfg, 2, bad3, null), MFU_E_INVAL);
  assert_int_equal(mfu_config_parse(&cfg, 1, bad4, null), MFU_E_INVAL);
  assert_int_equal(mfu_config_parse(&cfg, 2, bad5, null), MFU_E_INVAL);
  assert_int_equal(mfu_config_parse(&cfg, 2, bad6, null), MFU_E_INVAL);
  fclose(null);
}

static void test_bearer(void **state)
{
  static const char tok[] = "mfu_8107CWfEAM8xLsPx65y78llg0ATtXl73bOme75WkoUs";
  const char *t;
  size_t n;
  char v[128];
  (void)state;
  snprintf(v, sizeof(v), "Bearer %s", tok);
  assert_int_equal(mfu_auth_bearer(v, strlen(v), &t, &n), MFU_OK);
  assert_int_equal(n, strlen(tok));
  assert_memory_equal(t, tok, n);
  assert_true(mfu_auth_token_shape(t, n));
  snprintf(v, sizeof(v), "bEARER   %s \t", tok);
  assert_int_equal(mfu_auth_bearer(v, strlen(v), &t, &n), MFU_OK);
  assert_int_equal(n, strlen(tok));
  assert_int_equal(mfu_auth_bearer("Basic eDp5", 10, &t, &n), MFU_E_AUTH);
  assert_int_equal(mfu_auth_bearer("Bearer", 6, &t, &n), MFU_E_AUTH);
  assert_int_equal(mfu_auth_bearer("Bearer ", 7, &t, &n), MFU_E_AUTH);
  assert_int_equal(mfu_auth_bearer("Bearer a b", 10, &t, &n), MFU_E_AUTH);
  assert_int_equal(mfu_auth_bearer("Bearer a,b", 10, &t, &n), MFU_E_AUTH);
  assert_int_equal(mfu_auth_bearer("Bearer\ta", 8, &t, &n), MFU_E_AUTH);
  assert_int_equal(mfu_auth_bearer("Bearer ab==", 11, &t, &n), MFU_OK);
  assert_int_equal(n, 4);
  assert_false(mfu_auth_token_shape("mfu_abc", 7));
  /* a last character with low bits set is no encoding of 32 bytes */
  assert_false(mfu_auth_token_shape(
    "mfu_8107CWfEAM8xLsPx65y78llg0ATtXl73bOme75WkoUt", 47));
}

static void test_base64url(void **state)
{
  char out[64];
  (void)state;
  assert_int_equal(mfu_base64url((const unsigned char *)"", 0, out), 0);
  assert_int_equal(mfu_base64url((const unsigned char *)"f", 1, out), 2);
  assert_string_equal(out, "Zg");
  assert_int_equal(mfu_base64url((const unsigned char *)"fo", 2, out), 3);
  assert_string_equal(out, "Zm8");
  assert_int_equal(mfu_base64url((const unsigned char *)"foo", 3, out), 4);
  assert_string_equal(out, "Zm9v");
  assert_int_equal(mfu_base64url((const unsigned char *)"\xfb\xff", 2,
                                 out), 3);
  assert_string_equal(out, "-_8");
}

static void test_config_words(void **state)
{
  struct mfu_config cfg;
  char *argv[] = {"add", "--catalog", "sqlite://x.db", "alice", "--quiet"};
  char *words[5];
  size_t n = 0;
  (void)state;
  assert_int_equal(mfu_config_parse_words(&cfg, 5, argv, words, &n, stderr),
                   MFU_OK);
  assert_int_equal(n, 2);
  assert_string_equal(words[0], "add");
  assert_string_equal(words[1], "alice");
  assert_string_equal(cfg.catalog, "sqlite://x.db");
  assert_int_equal(cfg.max_query, 4096);
  assert_int_equal(cfg.max_conns_per_ip, 64);
  assert_int_equal(cfg.min_rate, 1024);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_duration_prefix),
    cmocka_unit_test(test_name_clean),
    cmocka_unit_test(test_name_ext),
    cmocka_unit_test(test_range),
    cmocka_unit_test(test_config_defaults_and_flags),
    cmocka_unit_test(test_config_errors),
    cmocka_unit_test(test_bearer),
    cmocka_unit_test(test_base64url),
    cmocka_unit_test(test_config_words),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
