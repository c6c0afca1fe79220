/*
 * client_test.c - unit tests of libmfu's and mfu's pure parts: URLs,
 * seed-style filenames, backoff, argument parsing and configuration order,
 * the progress line.  The network side is tested against a real mfud in
 * tests/test_client.py.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli_impl.h"
#include "client_impl.h"

static void test_url_join(void **state)
{
  char *s;
  (void)state;
  assert_int_equal(mfu_url_join("http://h:1", "/v1/items", &s), 0);
  assert_string_equal(s, "http://h:1/v1/items");
  free(s);
  assert_int_equal(mfu_url_join("http://h:1//", "/x", &s), 0);
  assert_string_equal(s, "http://h:1/x");
  free(s);
  assert_int_equal(mfu_url_join("http://h:1", "x", &s), 0);
  assert_string_equal(s, "http://h:1/x");
  free(s);
}

static void test_url_query_escapes(void **state)
{
  char *s = strdup("http://h/v1/items");
  (void)state;
  assert_int_equal(mfu_url_add_query(&s, "username", "user1"), 0);
  assert_string_equal(s, "http://h/v1/items?username=user1");
  assert_int_equal(mfu_url_add_query(&s, "after", "a b&c=d/é~"), 0);
  assert_string_equal(s, "http://h/v1/items?username=user1"
                         "&after=a%20b%26c%3Dd%2F%C3%A9~");
  free(s);
}

static void test_url_base(void **state)
{
  char *s;
  (void)state;
  assert_int_equal(mfu_url_base("http://127.0.0.1:8134/", &s), 0);
  assert_string_equal(s, "http://127.0.0.1:8134");
  free(s);
  assert_int_equal(mfu_url_base("HTTPS://example.com", &s), 0);
  free(s);
  assert_int_equal(mfu_url_base("ftp://h", &s), MFU_CLIENT_E_INVAL);
  assert_int_equal(mfu_url_base("http://", &s), MFU_CLIENT_E_INVAL);
  assert_int_equal(mfu_url_base("http://h/?q", &s), MFU_CLIENT_E_INVAL);
  assert_int_equal(mfu_url_base("http://h x", &s), MFU_CLIENT_E_INVAL);
  assert_int_equal(mfu_url_base("127.0.0.1:8134", &s), MFU_CLIENT_E_INVAL);
}

static void test_filename_prefix(void **state)
{
  char *s;
  (void)state;
  s = mfu_filename_build(234, "清平乐·村居.mp3");
  assert_string_equal(s, "234_清平乐·村居.mp3");
  free(s);
  s = mfu_filename_build(0, "a.png");
  assert_string_equal(s, "0_a.png");
  free(s);
  s = mfu_filename_build(MFU_DURATION_NONE, "a.png");
  assert_string_equal(s, "a.png");
  free(s);
}

static void test_name_split_duration(void **state)
{
  long long d = -7;
  const char *rest = NULL;
  (void)state;
  assert_int_equal(mfu_name_split_duration("234_清平乐·村居.mp3", &d, &rest),
                   0);
  assert_int_equal(d, 234);
  assert_string_equal(rest, "清平乐·村居.mp3");
  assert_int_equal(mfu_name_split_duration("0_x", &d, &rest), 0);
  assert_int_equal(d, 0);
  assert_int_equal(mfu_name_split_duration("x.mp3", &d, &rest),
                   MFU_CLIENT_E_INVAL);
  assert_int_equal(mfu_name_split_duration("_x.mp3", &d, &rest),
                   MFU_CLIENT_E_INVAL);
  assert_int_equal(mfu_name_split_duration("12_", &d, &rest),
                   MFU_CLIENT_E_INVAL);
  assert_int_equal(mfu_name_split_duration("12x_a", &d, &rest),
                   MFU_CLIENT_E_INVAL);
  assert_int_equal(mfu_name_split_duration("99999999999999999999_a", &d,
                                           &rest), MFU_CLIENT_E_INVAL);
}

static void test_names(void **state)
{
  (void)state;
  assert_string_equal(mfu_basename("/a/b/c.png"), "c.png");
  assert_string_equal(mfu_basename("c.png"), "c.png");
  assert_true(mfu_name_ok("清平乐·村居.jpeg"));
  assert_false(mfu_name_ok(""));
  assert_false(mfu_name_ok(".."));
  assert_false(mfu_name_ok("a/b"));
  assert_false(mfu_name_ok("a\nb"));
  assert_false(mfu_name_ok("\xff\xfe.png"));
  assert_false(mfu_name_ok("\xe6\xb8.png"));   /* cut multi-byte char */
  assert_string_equal(mfu_type_from_name("a.MP3"), "audio/mpeg");
  assert_string_equal(mfu_type_from_name("b.jpeg"), "image/jpeg");
  assert_null(mfu_type_from_name("noext"));
  assert_null(mfu_type_from_name(".mp3"));
}

static void test_backoff_bounds(void **state)
{
  unsigned a;
  (void)state;
  for(a = 1; a < 40; a++) {
    unsigned d = 200;
    unsigned i;
    for(i = 1; i < a && d < 5000; i++)
      d *= 2;
    if(d > 5000)
      d = 5000;
    assert_int_equal(mfu_backoff_ms(a, 200, 5000, 0), d / 2);
    assert_true(mfu_backoff_ms(a, 200, 5000, UINT64_MAX) <= d);
    assert_true(mfu_backoff_ms(a, 200, 5000, 12345) >= d / 2);
  }
  assert_int_equal(mfu_backoff_ms(1, 0, 0, 99), 0);
  assert_true(mfu_backoff_ms(1000, 200, 5000, 7) <= 5000);
}

static void test_jitter_spreads(void **state)
{
  uint64_t rng = 42;
  unsigned lo = ~0u;
  unsigned hi = 0;
  int i;
  (void)state;
  for(i = 0; i < 1000; i++) {
    unsigned d = mfu_backoff_ms(3, 200, 5000, mfu_rand_next(&rng));
    lo = d < lo ? d : lo;
    hi = d > hi ? d : hi;
  }
  assert_true(lo >= 400 && lo < 450);
  assert_true(hi <= 800 && hi > 750);
}

static void test_random_key(void **state)
{
  char a[33];
  char b[33];
  (void)state;
  assert_int_equal(mfu_random_key(a), 0);
  assert_int_equal(mfu_random_key(b), 0);
  assert_int_equal(strlen(a), 32);
  assert_int_equal(strspn(a, "0123456789abcdef"), 32);
  assert_string_not_equal(a, b);
  assert_true(mfu_header_value_ok(a, 255));
  assert_false(mfu_header_value_ok("a\r\nb", 255));
  assert_false(mfu_header_value_ok("", 255));
  assert_false(mfu_header_value_ok(" a", 255));
  assert_false(mfu_header_value_ok("abc", 2));
}

static void test_client_handle(void **state)
{
  struct mfu_client *c;
  (void)state;
  assert_null(mfu_client_new("localhost:8134"));
  c = mfu_client_new(NULL);
  assert_non_null(c);
  assert_string_equal(c->base, MFU_DEFAULT_SERVER);
  assert_int_equal(mfu_client_set_retry(c, 0, 1, 2), MFU_CLIENT_E_INVAL);
  assert_int_equal(mfu_client_set_retry(c, 3, 10, 5), MFU_CLIENT_E_INVAL);
  assert_int_equal(mfu_client_set_retry(c, 3, 10, 50), 0);
  assert_int_equal(mfu_client_set_user(c, "bad\nname"), MFU_CLIENT_E_INVAL);
  assert_int_equal(mfu_client_set_user(c, "user1"), 0);
  assert_int_equal(mfu_client_set_user(c, NULL), 0);
  assert_string_equal(mfu_client_err_detail(c), "");
  assert_string_equal(mfu_client_strerror(MFU_CLIENT_E_FILE),
                      "cannot read a local file");
  mfu_client_free(c);
  mfu_client_free(NULL);
}

static void test_upload_builder(void **state)
{
  struct mfu_upload *u = mfu_upload_new();
  (void)state;
  assert_non_null(u);
  assert_int_equal(mfu_upload_set_text(u, "最喜", strlen("最喜")), 0);
  assert_int_equal(mfu_upload_set_text(u, "\xc3", 1), MFU_CLIENT_E_INVAL);
  assert_int_equal(mfu_upload_add_file(u, MFU_GROUP_AUDIOS, "/x/a.mp3", 234,
                                       NULL), 0);
  assert_int_equal(mfu_upload_add_file(u, (enum mfu_group)7, "a", -1, NULL),
                   MFU_CLIENT_E_INVAL);
  assert_int_equal(mfu_upload_add_file(u, MFU_GROUP_IMAGES, "a", -5, NULL),
                   MFU_CLIENT_E_INVAL);
  assert_int_equal(mfu_upload_add_file(u, MFU_GROUP_IMAGES, "a", -1, "a/b"),
                   MFU_CLIENT_E_INVAL);
  assert_int_equal(mfu_upload_set_idempotency_key(u, "k\n"),
                   MFU_CLIENT_E_INVAL);
  assert_int_equal(mfu_upload_set_idempotency_key(u, "a b"),
                   MFU_CLIENT_E_INVAL);
  {
    char key[130];
    memset(key, 'k', 129);
    key[129] = '\0';
    assert_int_equal(mfu_upload_set_idempotency_key(u, key),
                     MFU_CLIENT_E_INVAL);
    key[128] = '\0';
    assert_int_equal(mfu_upload_set_idempotency_key(u, key), 0);
  }
  assert_int_equal(mfu_upload_set_idempotency_key(u, "key-1"), 0);
  mfu_upload_free(u);
}

/* A missing file fails the put before any connection: the server address
 * below has nothing listening, so a network attempt would say NETWORK. */
static void test_put_checks_files_first(void **state)
{
  struct mfu_client *c = mfu_client_new("http://127.0.0.1:9");
  struct mfu_upload *u = mfu_upload_new();
  json_t *rec = (json_t *)1;
  (void)state;
  assert_int_equal(mfu_client_set_retry(c, 1, 0, 0), 0);
  assert_int_equal(mfu_upload_add_file(u, MFU_GROUP_IMAGES,
                                       "/nonexistent/a.png", -1, NULL), 0);
  assert_int_equal(mfu_client_put(c, u, &rec), MFU_CLIENT_E_FILE);
  assert_null(rec);
  assert_non_null(strstr(mfu_client_err_detail(c), "/nonexistent/a.png"));
  assert_int_equal(mfu_client_err_status(c), 0);
  mfu_upload_free(u);
  mfu_client_free(c);
}

static int cancel_now(const struct mfu_progress *p, void *cls)
{
  int *calls = cls;
  (void)p;
  (*calls)++;
  return 1;
}

/* A listener that never accepts: the kernel completes the handshake, so
 * the request starts and only a cancel can end it early. */
static void test_cancel(void **state)
{
  struct sockaddr_in a;
  socklen_t alen = sizeof(a);
  int s = socket(AF_INET, SOCK_STREAM, 0);
  char url[64];
  struct mfu_client *c;
  struct mfu_upload *u = mfu_upload_new();
  json_t *rec = NULL;
  int calls = 0;
  (void)state;
  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
  assert_int_equal(listen(s, 4), 0);
  assert_int_equal(getsockname(s, (struct sockaddr *)&a, &alen), 0);
  snprintf(url, sizeof(url), "http://127.0.0.1:%u", ntohs(a.sin_port));
  c = mfu_client_new(url);
  assert_non_null(c);
  assert_int_equal(mfu_client_set_retry(c, 1, 0, 0), 0);
  assert_int_equal(mfu_upload_set_text(u, "t", 1), 0);

  assert_int_equal(mfu_client_set_progress(c, cancel_now, &calls), 0);
  assert_int_equal(mfu_client_put(c, u, &rec), MFU_CLIENT_E_CANCELLED);
  assert_true(calls >= 1);
  assert_null(rec);

  assert_int_equal(mfu_client_set_progress(c, NULL, NULL), 0);
  mfu_client_cancel(c);
  assert_int_equal(mfu_client_put(c, u, &rec), MFU_CLIENT_E_CANCELLED);
  assert_int_equal(atomic_load(&c->cancel), 0);   /* cleared on return */
  mfu_upload_free(u);
  mfu_client_free(c);
  close(s);
}

/* ---- the command's arguments ---- */

static const char *env_server;
static const char *env_user;
static const char *env_retries;

static char *fake_env(const char *name)
{
  if(!strcmp(name, "MFU_SERVER"))
    return (char *)env_server;
  if(!strcmp(name, "MFU_USER"))
    return (char *)env_user;
  if(!strcmp(name, "MFU_RETRIES"))
    return (char *)env_retries;
  return NULL;
}

/* Split line on spaces into argv inside buf (which must outlive o). */
static int parse(struct mfu_cli *o, char buf[512], const char *line)
{
  char *argv[32];
  char *save = NULL;
  int argc = 0;
  int rc;

  assert_true(strlen(line) < 512);
  strcpy(buf, line);
  argv[argc++] = "mfu";
  for(char *t = strtok_r(buf, " ", &save); t; t = strtok_r(NULL, " ", &save))
    argv[argc++] = t;
  rc = mfu_cli_parse(o, argc, argv);
  if(!rc)
    rc = mfu_cli_finish(o, fake_env);
  return rc;
}

static int setup_env(void **state)
{
  (void)state;
  env_server = env_user = env_retries = NULL;
  return 0;
}

static void test_cli_put_groups(void **state)
{
  struct mfu_cli o;
  char b[512];
  (void)state;
  assert_int_equal(parse(&o, b, "put --text hi --images a.png 12:b.jpg "
                             "--audios x.mp3 --videos=v.mp4 --json"), 0);
  assert_int_equal(o.cmd, MFU_CMD_PUT);
  assert_string_equal(o.text, "hi");
  assert_true(o.json);
  assert_int_equal(o.nfiles, 4);
  assert_int_equal(o.files[0].group, MFU_GROUP_IMAGES);
  assert_string_equal(o.files[0].path, "a.png");
  assert_int_equal(o.files[0].duration, MFU_DURATION_NONE);
  assert_string_equal(o.files[1].path, "b.jpg");
  assert_int_equal(o.files[1].duration, 12);
  assert_int_equal(o.files[2].group, MFU_GROUP_AUDIOS);
  assert_int_equal(o.files[3].group, MFU_GROUP_VIDEOS);
  assert_string_equal(o.files[3].path, "v.mp4");
  mfu_cli_free(&o);
}

static void test_cli_duration_from_name(void **state)
{
  struct mfu_cli o;
  char b[512];
  (void)state;
  assert_int_equal(parse(&o, b, "put --audios dir/234_清平乐·村居.mp3 "
                             "--duration-from-name"), 0);
  assert_int_equal(o.files[0].duration, 234);
  assert_string_equal(o.files[0].name, "清平乐·村居.mp3");
  mfu_cli_free(&o);
  assert_int_equal(parse(&o, b, "put --duration-from-name --audios x.mp3"),
                   MFU_CLIENT_E_INVAL);
  assert_non_null(strstr(o.err, "234_name"));
  mfu_cli_free(&o);
  assert_int_equal(parse(&o, b, "put --duration-from-name --audios 3:1_x.mp3"),
                   MFU_CLIENT_E_INVAL);
  mfu_cli_free(&o);
}

static void test_cli_usage_errors(void **state)
{
  struct mfu_cli o;
  char b[512];
  (void)state;
  assert_int_equal(parse(&o, b, ""), MFU_CLIENT_E_INVAL);
  mfu_cli_free(&o);
  assert_int_equal(parse(&o, b, "frob"), MFU_CLIENT_E_INVAL);
  mfu_cli_free(&o);
  assert_int_equal(parse(&o, b, "put --images"), MFU_CLIENT_E_INVAL);
  mfu_cli_free(&o);
  assert_int_equal(parse(&o, b, "put --images --json"), MFU_CLIENT_E_INVAL);
  mfu_cli_free(&o);
  assert_int_equal(parse(&o, b, "put"), MFU_CLIENT_E_INVAL);
  mfu_cli_free(&o);
  assert_int_equal(parse(&o, b, "put --text a --text-file b"),
                   MFU_CLIENT_E_INVAL);
  mfu_cli_free(&o);
  assert_int_equal(parse(&o, b, "get"), MFU_CLIENT_E_INVAL);
  mfu_cli_free(&o);
  assert_int_equal(parse(&o, b, "get a b"), MFU_CLIENT_E_INVAL);
  mfu_cli_free(&o);
  assert_int_equal(parse(&o, b, "ls --images a.png"), MFU_CLIENT_E_INVAL);
  mfu_cli_free(&o);
  assert_int_equal(parse(&o, b, "ls --limit x"), MFU_CLIENT_E_INVAL);
  mfu_cli_free(&o);
  assert_int_equal(parse(&o, b, "ls --bogus"), MFU_CLIENT_E_INVAL);
  assert_non_null(strstr(o.err, "--bogus"));
  mfu_cli_free(&o);
  assert_int_equal(parse(&o, b, "fetch nothex"), MFU_CLIENT_E_INVAL);
  mfu_cli_free(&o);
  assert_int_equal(parse(&o, b, "put --text x --images 5:"),
                   MFU_CLIENT_E_INVAL);
  mfu_cli_free(&o);
  assert_int_equal(parse(&o, b, "--help"), 0);
  assert_true(o.help);
  mfu_cli_free(&o);
}

static void test_cli_config_order(void **state)
{
  struct mfu_cli o;
  char b[512];
  (void)state;
  assert_int_equal(parse(&o, b, "ls"), 0);
  assert_string_equal(o.server, MFU_DEFAULT_SERVER);
  assert_null(o.user);
  assert_int_equal(o.retries, MFU_CLI_RETRIES);
  assert_int_equal(o.limit, MFU_CLI_LIMIT);
  mfu_cli_free(&o);
  env_server = "http://env:1";
  env_user = "envuser";
  env_retries = "7";
  assert_int_equal(parse(&o, b, "ls"), 0);
  assert_string_equal(o.server, "http://env:1");
  assert_string_equal(o.user, "envuser");
  assert_int_equal(o.retries, 7);
  mfu_cli_free(&o);
  assert_int_equal(parse(&o, b, "--server http://flag:2 ls --user u "
                             "--retries=0 --limit 0"), 0);
  assert_string_equal(o.server, "http://flag:2");
  assert_string_equal(o.user, "u");
  assert_int_equal(o.retries, 0);
  assert_int_equal(o.limit, 0);
  mfu_cli_free(&o);
  env_retries = "lots";
  assert_int_equal(parse(&o, b, "ls"), MFU_CLIENT_E_INVAL);
  assert_non_null(strstr(o.err, "MFU_RETRIES"));
  mfu_cli_free(&o);
}

static void test_cli_fetch_kind(void **state)
{
  const char *sha =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
  char buf[100];
  (void)state;
  assert_int_equal(mfu_cli_fetch_kind("6571d2a4c3f1e2b0a1000001"),
                   MFU_FETCH_ITEM);
  assert_int_equal(mfu_cli_fetch_kind(sha), MFU_FETCH_FILE);
  snprintf(buf, sizeof(buf), "%s.mp3", sha);
  assert_int_equal(mfu_cli_fetch_kind(buf), MFU_FETCH_FILE);
  snprintf(buf, sizeof(buf), "%s.", sha);
  assert_int_equal(mfu_cli_fetch_kind(buf), MFU_FETCH_BAD);
  snprintf(buf, sizeof(buf), "%s./x", sha);
  assert_int_equal(mfu_cli_fetch_kind(buf), MFU_FETCH_BAD);
  assert_int_equal(mfu_cli_fetch_kind("6571D2A4C3F1E2B0A1000001"),
                   MFU_FETCH_BAD);
  assert_int_equal(mfu_cli_fetch_kind("../etc/passwd"), MFU_FETCH_BAD);
}

static void test_bar_format(void **state)
{
  struct mfu_progress p = {0};
  char line[256];
  (void)state;
  p.sent = 50;
  p.total = 200;
  p.file = 1;
  p.file_count = 7;
  p.file_name = "清平乐·村居.mp3";
  p.file_sent = 30;
  p.file_size = 40;
  mfu_bar_format(line, sizeof(line), &p, NULL, 10.0, 80);
  assert_non_null(strstr(line, "[2/7] 清平乐·村居.mp3  75% | total  25%"));
  assert_non_null(strstr(line, "ETA 0:15"));
  assert_non_null(strstr(line, "[##"));
  p.file_count = 0;
  mfu_bar_format(line, sizeof(line), &p, "x.bin", 2048.0, 80);
  assert_non_null(strstr(line, "x.bin  25%"));
  assert_non_null(strstr(line, "2.0 KiB/s"));
  p.sent = p.total;
  mfu_bar_format(line, sizeof(line), &p, "x.bin", 0, 80);
  assert_non_null(strstr(line, "100%"));
  assert_null(strchr(line, '>'));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_url_join),
    cmocka_unit_test(test_url_query_escapes),
    cmocka_unit_test(test_url_base),
    cmocka_unit_test(test_filename_prefix),
    cmocka_unit_test(test_name_split_duration),
    cmocka_unit_test(test_names),
    cmocka_unit_test(test_backoff_bounds),
    cmocka_unit_test(test_jitter_spreads),
    cmocka_unit_test(test_random_key),
    cmocka_unit_test(test_client_handle),
    cmocka_unit_test(test_upload_builder),
    cmocka_unit_test(test_put_checks_files_first),
    cmocka_unit_test(test_cancel),
    cmocka_unit_test_setup(test_cli_put_groups, setup_env),
    cmocka_unit_test_setup(test_cli_duration_from_name, setup_env),
    cmocka_unit_test_setup(test_cli_usage_errors, setup_env),
    cmocka_unit_test_setup(test_cli_config_order, setup_env),
    cmocka_unit_test(test_cli_fetch_kind),
    cmocka_unit_test(test_bar_format),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
