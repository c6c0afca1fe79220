/*
 * catalog_test.c - the SQLite catalog against a temporary database file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "mfu_catalog.h"

static void test_bad_urls(void **state)
{
  struct mfu_catalog *c;

  (void)state;
  assert_int_equal(mfu_catalog_open("mysql://x", &c), MFU_E_INVAL);
  assert_null(c);
  assert_string_equal(mfu_group_name(MFU_GROUP_AUDIOS), "audios");
  assert_null(mfu_group_name(MFU_GROUP_COUNT));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_bad_urls),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
