/*
 * common_test.c - error table, ObjectIds, UTF-8 and size parsing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mfu_err.h"
#include "mfu_util.h"

static void test_err_table(void **state)
{
  (void)state;
  assert_int_equal(mfu_err_status(MFU_E_LIMIT_FILE), 413);
  assert_string_equal(mfu_err_slug(MFU_E_LIMIT_FILE), "file-too-large");
  assert_string_equal(mfu_err_title(MFU_E_LIMIT_FILE), "File too large");
  assert_int_equal(mfu_err_status(MFU_E_NOSPACE), 507);
  assert_int_equal(mfu_err_status(MFU_E_TYPE_MISMATCH), 422);
  assert_int_equal(mfu_err_status(-12345), 500);
  assert_string_equal(mfu_strerror(-12345), "unknown error");
}

static void test_oid_sorts_by_time_and_counts(void **state)
{
  struct mfu_oid_gen g;
  char a[25], b[25], c[25];
  (void)state;
  assert_int_equal(mfu_oid_gen_init(&g), MFU_OK);
  mfu_oid_next(&g, 0x6571d2a4, a);
  mfu_oid_next(&g, 0x6571d2a4, b);
  mfu_oid_next(&g, 0x6571d2a5, c);
  assert_true(mfu_oid_valid(a, strlen(a)));
  assert_memory_equal(a, "6571d2a4", 8);
  assert_true(strcmp(a, b) != 0);
  assert_memory_equal(a, b, 18);     /* same time and random part */
  assert_true(strcmp(b, c) < 0);     /* later second sorts after */
  assert_false(mfu_oid_valid("6571D2A4c3f1e2b0a1000001", 24));
  assert_false(mfu_oid_valid("6571d2a4c3f1e2b0a100000", 23));
}

static void test_sha256_hex_valid(void **state)
{
  const char *ok =
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
  (void)state;
  assert_true(mfu_sha256_hex_valid(ok, 64));
  assert_false(mfu_sha256_hex_valid(ok, 63));
  assert_false(mfu_sha256_hex_valid("../etc/passwd", 13));
}

static void test_utf8(void **state)
{
  static const struct { const char *s; size_t n; int ok; } v[] = {
    {"plain ascii", 11, 1},
    {"\xe6\x9c\x80\xe5\x96\x9c", 6, 1},            /* 最喜 */
    {"\xf0\x9f\x98\x80", 4, 1},                    /* U+1F600 */
    {"\xc0\xaf", 2, 0},                            /* overlong '/' */
    {"\xe0\x80\xaf", 3, 0},                        /* overlong */
    {"\xed\xa0\x80", 3, 0},                        /* surrogate */
    {"\xf4\x90\x80\x80", 4, 0},                    /* > U+10FFFF */
    {"\xe6\x9c", 2, 0},                            /* truncated */
    {"\x80", 1, 0},                                /* stray continuation */
    {"\xff", 1, 0},
  };
  (void)state;
  for(size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
    assert_int_equal(mfu_utf8_valid(v[i].s, v[i].n), v[i].ok);
}

static void test_size_parse(void **state)
{
  uint64_t v;
  (void)state;
  assert_int_equal(mfu_size_parse("123", &v), MFU_OK);
  assert_int_equal(v, 123);
  assert_int_equal(mfu_size_parse("100M", &v), MFU_OK);
  assert_int_equal(v, 100u << 20);
  assert_int_equal(mfu_size_parse("2GiB", &v), MFU_OK);
  assert_int_equal(v, 2ull << 30);
  assert_int_equal(mfu_size_parse("8kb", &v), MFU_OK);
  assert_int_equal(v, 8192);
  assert_int_equal(mfu_size_parse("", &v), MFU_E_INVAL);
  assert_int_equal(mfu_size_parse("-1", &v), MFU_E_INVAL);
  assert_int_equal(mfu_size_parse("1X", &v), MFU_E_INVAL);
  assert_int_equal(mfu_size_parse("99999999999999999999", &v), MFU_E_INVAL);
  assert_int_equal(mfu_size_parse("99999999999T", &v), MFU_E_INVAL);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_err_table),
    cmocka_unit_test(test_oid_sorts_by_time_and_counts),
    cmocka_unit_test(test_sha256_hex_valid),
    cmocka_unit_test(test_utf8),
    cmocka_unit_test(test_size_parse),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
