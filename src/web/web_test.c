/*
 * web_test.c - the embedded files are exactly the files of web/, with
 * the right types and ETags, and nothing else is found.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mfu_web.h"

static void test_matches_dir(void **state)
{
  const char *dir = getenv("MFU_WEB_DIR");
  DIR *d;
  struct dirent *e;
  size_t seen = 0;
  (void)state;

  assert_non_null(dir);
  d = opendir(dir);
  assert_non_null(d);
  while((e = readdir(d))) {
    char path[1024];
    const unsigned char *data;
    const char *ct;
    size_t len;
    unsigned char *want;
    FILE *f;

    if(e->d_name[0] == '.')
      continue;
    if(mfu_web_asset(e->d_name, &data, &len, &ct) != MFU_OK)
      fail_msg("web/%s is not embedded", e->d_name);
    snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
    f = fopen(path, "rb");
    assert_non_null(f);
    want = malloc(len + 1);
    assert_non_null(want);
    assert_int_equal(fread(want, 1, len + 1, f), len);
    fclose(f);
    assert_memory_equal(want, data, len);
    free(want);
    seen++;
  }
  closedir(d);
  assert_int_equal(seen, mfu_web_asset_count());
}

static void type_of(const char *name, const char *want)
{
  const unsigned char *data;
  const char *ct;
  size_t len;
  assert_int_equal(mfu_web_asset(name, &data, &len, &ct), MFU_OK);
  assert_string_equal(ct, want);
  assert_true(len > 0);
}

static void test_types(void **state)
{
  (void)state;
  type_of("index.html", "text/html; charset=utf-8");
  type_of("item.html", "text/html; charset=utf-8");
  type_of("list.html", "text/html; charset=utf-8");
  type_of("app.css", "text/css; charset=utf-8");
  type_of("upload.js", "text/javascript; charset=utf-8");
  type_of("favicon.svg", "image/svg+xml");
}

static void test_etags(void **state)
{
  const char *a, *b;
  size_t i;
  (void)state;

  for(i = 0; i < mfu_web_asset_count(); i++) {
    const char *name = mfu_web_asset_name(i);
    assert_non_null(name);
    if(i)
      assert_true(strcmp(mfu_web_asset_name(i - 1), name) < 0);
    assert_int_equal(mfu_web_asset_etag(name, &a), MFU_OK);
    /* strong: a quoted string, no W/ (RFC 9110 section 8.8.3) */
    assert_int_equal(strlen(a), 34);
    assert_true(a[0] == '"' && a[33] == '"');
  }
  assert_null(mfu_web_asset_name(i));
  assert_int_equal(mfu_web_asset_etag("index.html", &a), MFU_OK);
  assert_int_equal(mfu_web_asset_etag("item.html", &b), MFU_OK);
  assert_string_not_equal(a, b);
}

static void test_not_found(void **state)
{
  const char *const names[] = {"", "index", "INDEX.HTML", "/index.html",
                               "index.html/", "../web/index.html",
                               "../meson.build", "index.html\n", "."};
  const unsigned char *data;
  const char *ct;
  size_t len, i;
  (void)state;

  for(i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
    if(mfu_web_asset(names[i], &data, &len, &ct) != MFU_E_NOTFOUND)
      fail_msg("\"%s\" was found", names[i]);
  }
  assert_int_equal(mfu_web_asset(NULL, &data, &len, &ct), MFU_E_INVAL);
  assert_int_equal(mfu_web_asset_etag("nope", &ct), MFU_E_NOTFOUND);
  assert_int_equal(mfu_web_asset_etag(NULL, &ct), MFU_E_INVAL);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_matches_dir),
    cmocka_unit_test(test_types),
    cmocka_unit_test(test_etags),
    cmocka_unit_test(test_not_found),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
