/*
 * media_test.c - sniffing, allow-lists and probing on real media that
 * Debian's ffmpeg makes at test time, plus truncated and garbage files.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mfu_media.h"

static char dir[] = "/tmp/mfu_media_XXXXXX";

struct blob {
  unsigned char *data;
  size_t len;
  int fail_at_end; /* read_at fails when a read reaches the last byte */
  unsigned reads;
};

/* Run an ffmpeg that writes dir/name; the test stops if it fails. */
static void make(const char *name, const char *args)
{
  char cmd[1024];
  snprintf(cmd, sizeof(cmd),
           "ffmpeg -nostdin -hide_banner -loglevel error -y %s '%s/%s'",
           args, dir, name);
  if(system(cmd) != 0) {
    fprintf(stderr, "failed: %s\n", cmd);
    exit(1);
  }
}

static struct blob load(const char *name)
{
  struct blob b = {NULL, 0, 0, 0};
  char path[512];
  FILE *f;
  long n;

  snprintf(path, sizeof(path), "%s/%s", dir, name);
  f = fopen(path, "rb");
  assert_non_null(f);
  assert_int_equal(fseek(f, 0, SEEK_END), 0);
  n = ftell(f);
  assert_true(n > 0);
  rewind(f);
  b.data = malloc((size_t)n);
  assert_non_null(b.data);
  assert_int_equal(fread(b.data, 1, (size_t)n, f), (size_t)n);
  fclose(f);
  b.len = (size_t)n;
  return b;
}

static int read_at(void *cls, uint64_t off, void *buf, size_t cap,
                   size_t *n)
{
  struct blob *b = cls;
  size_t k = 0;
  b->reads++;
  if(off < b->len) {
    k = b->len - (size_t)off;
    if(k > cap)
      k = cap;
  }
  if(b->fail_at_end && off + k >= b->len)
    return MFU_E_UNAVAILABLE;
  memcpy(buf, b->data + off, k);
  *n = k;
  return MFU_OK;
}

static int probe(struct mfu_media *m, const char *group, struct blob *b,
                 unsigned timeout_ms, struct mfu_media_info *info)
{
  struct mfu_media_source src = {read_at, b, b->len, NULL};
  return mfu_media_probe(m, group, &src, timeout_ms, info);
}

static int setup_files(void **state)
{
  (void)state;
  if(!mkdtemp(dir))
    return -1;
  make("t.mp3", "-f lavfi -i sine=frequency=440:duration=3");
  make("noid3.mp3", "-f lavfi -i sine=frequency=440:duration=3 "
       "-write_id3v2 0");
  make("t.mp4", "-f lavfi -i testsrc=size=320x240:rate=25:duration=2 "
       "-pix_fmt yuv420p");
  make("av.mp4", "-f lavfi -i testsrc=size=160x120:rate=25:duration=2 "
       "-f lavfi -i sine=duration=2 -pix_fmt yuv420p -shortest");
  make("t.m4a", "-f lavfi -i sine=duration=2 -c:a aac");
  make("t.png", "-f lavfi -i testsrc=size=64x48 -frames:v 1");
  make("t.jpg", "-f lavfi -i testsrc=size=64x48 -frames:v 1");
  make("t.gif", "-f lavfi -i testsrc=size=64x48:duration=1");
  make("t.wav", "-f lavfi -i sine=duration=2");
  make("t.ogg", "-f lavfi -i sine=duration=2 -c:a libvorbis");
  make("t.webm", "-f lavfi -i testsrc=size=160x120:duration=1 "
       "-c:v libvpx");
  return 0;
}

static int teardown_files(void **state)
{
  char cmd[256];
  (void)state;
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
  return system(cmd) ? -1 : 0;
}

static int setup_media(void **state)
{
  struct mfu_media *m;
  if(mfu_media_new(NULL, &m))
    return -1;
  *state = m;
  return 0;
}

static int teardown_media(void **state)
{
  mfu_media_free(*state);
  return 0;
}

static void sniff_file(struct mfu_media *m, const char *name,
                       const char *want)
{
  struct blob b = load(name);
  char ct[MFU_MEDIA_CTYPE_MAX];
  size_t len = b.len < MFU_MEDIA_SNIFF_LEN ? b.len : MFU_MEDIA_SNIFF_LEN;
  assert_int_equal(mfu_media_sniff(m, b.data, len, ct, sizeof(ct)), MFU_OK);
  if(strcmp(ct, want))
    fail_msg("%s sniffed as %s, want %s", name, ct, want);
  free(b.data);
}

static void test_sniff_types(void **state)
{
  struct mfu_media *m = *state;
  sniff_file(m, "t.mp3", "audio/mpeg");
  sniff_file(m, "noid3.mp3", "audio/mpeg");
  sniff_file(m, "t.mp4", "video/mp4");
  sniff_file(m, "t.m4a", "audio/mp4");
  sniff_file(m, "t.png", "image/png");
  sniff_file(m, "t.jpg", "image/jpeg");
  sniff_file(m, "t.gif", "image/gif");
  sniff_file(m, "t.wav", "audio/x-wav");
  sniff_file(m, "t.ogg", "audio/ogg");
  sniff_file(m, "t.webm", "video/webm");
}

static void test_sniff_edges(void **state)
{
  struct mfu_media *m = *state;
  char ct[MFU_MEDIA_CTYPE_MAX];
  unsigned char junk[4096];
  const char svg[] = "<?xml version=\"1.0\"?>\n"
    "<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script>"
    "</svg>\n";
  size_t i;
  uint32_t x = 12345;

  for(i = 0; i < sizeof(junk); i++) {
    x = x * 1103515245u + 12345u;
    junk[i] = (unsigned char)(x >> 16);
  }
  assert_int_equal(mfu_media_sniff(m, junk, sizeof(junk), ct, sizeof(ct)),
                   MFU_OK);
  assert_string_equal(ct, "application/octet-stream");
  assert_int_equal(mfu_media_sniff(m, NULL, 0, ct, sizeof(ct)), MFU_OK);
  assert_string_equal(ct, "application/x-empty");
  assert_int_equal(mfu_media_sniff(m, svg, sizeof(svg) - 1, ct, sizeof(ct)),
                   MFU_OK);
  assert_string_equal(ct, "image/svg+xml");
  assert_int_equal(mfu_media_sniff(m, junk, sizeof(junk), ct, 4),
                   MFU_E_INVAL);
  assert_int_equal(mfu_media_sniff(m, NULL, 5, ct, sizeof(ct)),
                   MFU_E_INVAL);
}

static void test_group_allows(void **state)
{
  struct mfu_media *m = *state;
  assert_int_equal(mfu_media_group_allows(m, "images", "image/png"), MFU_OK);
  assert_int_equal(mfu_media_group_allows(m, "images", "IMAGE/JPEG"),
                   MFU_OK);
  assert_int_equal(mfu_media_group_allows(m, "audios", "audio/mpeg"),
                   MFU_OK);
  assert_int_equal(mfu_media_group_allows(m, "audios",
                                          "audio/ogg; codecs=opus"), MFU_OK);
  assert_int_equal(mfu_media_group_allows(m, "audios", "video/mp4"), MFU_OK);
  assert_int_equal(mfu_media_group_allows(m, "videos", "video/mp4"), MFU_OK);
  assert_int_equal(mfu_media_group_allows(m, "videos", "video/x-msvideo"),
                   MFU_OK);
  assert_int_equal(mfu_media_group_allows(m, "audios", "image/png"),
                   MFU_E_TYPE_MISMATCH);
  assert_int_equal(mfu_media_group_allows(m, "videos", "audio/mpeg"),
                   MFU_E_TYPE_MISMATCH);
  assert_int_equal(mfu_media_group_allows(m, "images",
                                          "application/octet-stream"),
                   MFU_E_TYPE_MISMATCH);
  assert_int_equal(mfu_media_group_allows(m, "images", "image/svg+xml"),
                   MFU_E_TYPE_FORBIDDEN);
  assert_int_equal(mfu_media_group_allows(m, "images", "image/"),
                   MFU_E_TYPE_FORBIDDEN);
  assert_int_equal(mfu_media_group_allows(m, "text", "text/plain"),
                   MFU_E_INVAL);
  assert_int_equal(mfu_media_group_allows(m, NULL, "image/png"),
                   MFU_E_INVAL);
}

static void test_policy(void **state)
{
  struct mfu_media_policy pol = {"image/png, image/*", "audio/mpeg",
                                 "Video/MP4"};
  struct mfu_media_policy bad = {"image", NULL, NULL};
  const char *const invalid[] = {"image", "/png", "image/", "*/*",
                                 "image/p*g", "image/png,,image/gif",
                                 "image/p g\x01", "im\"age/png"};
  struct mfu_media *m;
  size_t i;
  (void)state;

  assert_int_equal(mfu_media_new(&pol, &m), MFU_OK);
  assert_int_equal(mfu_media_group_allows(m, "images", "image/svg+xml"),
                   MFU_OK);
  assert_int_equal(mfu_media_group_allows(m, "audios", "audio/mpeg"),
                   MFU_OK);
  assert_int_equal(mfu_media_group_allows(m, "audios", "audio/ogg"),
                   MFU_E_TYPE_FORBIDDEN);
  assert_int_equal(mfu_media_group_allows(m, "audios", "video/mp4"),
                   MFU_E_TYPE_MISMATCH);
  assert_int_equal(mfu_media_group_allows(m, "videos", "video/mp4"), MFU_OK);
  assert_int_equal(mfu_media_group_allows(m, "videos", "video/webm"),
                   MFU_E_TYPE_FORBIDDEN);
  mfu_media_free(m);

  pol.images = "";  /* an empty list closes the group */
  assert_int_equal(mfu_media_new(&pol, &m), MFU_OK);
  assert_int_equal(mfu_media_group_allows(m, "images", "image/png"),
                   MFU_E_TYPE_FORBIDDEN);
  mfu_media_free(m);

  for(i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
    bad.images = invalid[i];
    m = (struct mfu_media *)&bad;
    if(mfu_media_new(&bad, &m) != MFU_E_INVAL)
      fail_msg("policy \"%s\" accepted", invalid[i]);
    assert_null(m);
  }
  assert_int_equal(mfu_media_new(NULL, NULL), MFU_E_INVAL);
  mfu_media_free(NULL);
}

static void near(double got, double want, const char *what)
{
  if(fabs(got - want) > 0.2)
    fail_msg("%s: duration %.3f, want %.1f +- 0.2", what, got, want);
}

static void test_probe_audio(void **state)
{
  struct mfu_media *m = *state;
  struct mfu_media_info info;
  struct blob b = load("t.mp3");

  assert_int_equal(probe(m, "audios", &b, 5000, &info), MFU_OK);
  assert_int_equal(info.known, 1);
  near(info.duration, 3.0, "t.mp3");
  assert_string_equal(info.codec, "mp3");
  assert_string_equal(info.format, "mp3");
  assert_true(info.has_audio);
  assert_false(info.has_video);
  assert_int_equal(info.width, 0);
  free(b.data);

  b = load("noid3.mp3");
  assert_int_equal(probe(m, "audios", &b, 5000, &info), MFU_OK);
  near(info.duration, 3.0, "noid3.mp3");
  free(b.data);

  b = load("t.m4a");
  assert_int_equal(probe(m, "audios", &b, 5000, &info), MFU_OK);
  near(info.duration, 2.0, "t.m4a");
  assert_string_equal(info.codec, "aac");
  assert_string_equal(info.format, "mov");
  free(b.data);

  b = load("t.ogg");
  assert_int_equal(probe(m, "audios", &b, 5000, &info), MFU_OK);
  near(info.duration, 2.0, "t.ogg");
  assert_string_equal(info.codec, "vorbis");
  free(b.data);

  b = load("t.wav");
  assert_int_equal(probe(m, "audios", &b, 5000, &info), MFU_OK);
  near(info.duration, 2.0, "t.wav");
  free(b.data);
}

static void test_probe_video(void **state)
{
  struct mfu_media *m = *state;
  struct mfu_media_info info;
  struct blob b = load("t.mp4");

  assert_int_equal(probe(m, "videos", &b, 5000, &info), MFU_OK);
  assert_int_equal(info.known, 1);
  near(info.duration, 2.0, "t.mp4");
  assert_int_equal(info.width, 320);
  assert_int_equal(info.height, 240);
  assert_string_equal(info.codec, "h264");
  assert_true(info.has_video);
  assert_false(info.has_audio);
  /* no sound in it: not an audio */
  assert_int_equal(probe(m, "audios", &b, 5000, &info), MFU_E_TYPE_MISMATCH);
  assert_int_equal(info.known, 0);
  assert_true(info.duration < 0);
  free(b.data);

  b = load("av.mp4");
  assert_int_equal(probe(m, "videos", &b, 5000, &info), MFU_OK);
  assert_string_equal(info.codec, "h264");
  assert_true(info.has_audio && info.has_video);
  assert_int_equal(probe(m, "audios", &b, 5000, &info), MFU_OK);
  assert_string_equal(info.codec, "aac");
  assert_int_equal(info.width, 160);
  free(b.data);

  b = load("t.webm");
  assert_int_equal(probe(m, "videos", &b, 5000, &info), MFU_OK);
  assert_string_equal(info.codec, "vp8");
  assert_string_equal(info.format, "matroska");
  near(info.duration, 1.0, "t.webm");
  free(b.data);
}

static void test_probe_image(void **state)
{
  struct mfu_media *m = *state;
  struct mfu_media_info info;
  const char *const names[] = {"t.png", "t.jpg", "t.gif"};
  const char *const codecs[] = {"png", "mjpeg", "gif"};
  size_t i;

  for(i = 0; i < 3; i++) {
    struct blob b = load(names[i]);
    assert_int_equal(probe(m, "images", &b, 5000, &info), MFU_OK);
    assert_int_equal(info.known, 1);
    assert_int_equal(info.width, 64);
    assert_int_equal(info.height, 48);
    assert_string_equal(info.codec, codecs[i]);
    assert_true(info.duration < 0);
    /* a picture is not a sound */
    assert_int_equal(probe(m, "audios", &b, 5000, &info),
                     MFU_E_TYPE_MISMATCH);
    free(b.data);
  }
}

/* The sniffed type picks the demuxer: the same facts, and bytes that are
 * not what the hint says do not open. */
static void test_probe_image_hint(void **state)
{
  struct mfu_media *m = *state;
  struct mfu_media_info info;
  const char *const names[] = {"t.png", "t.jpg", "t.gif"};
  const char *const types[] = {"image/png", "image/jpeg", "image/gif"};
  const char *const codecs[] = {"png", "mjpeg", "gif"};

  for(size_t i = 0; i < 3; i++) {
    struct blob b = load(names[i]);
    struct mfu_media_source src = {read_at, &b, b.len, types[i]};
    assert_int_equal(mfu_media_probe(m, "images", &src, 5000, &info),
                     MFU_OK);
    assert_int_equal(info.known, 1);
    assert_int_equal(info.width, 64);
    assert_int_equal(info.height, 48);
    assert_string_equal(info.codec, codecs[i]);
    assert_string_equal(info.format, i == 2 ? "gif" : i ? "jpeg_pipe"
                                                        : "png_pipe");
    src.type = types[(i + 1) % 3];
    assert_int_equal(mfu_media_probe(m, "images", &src, 5000, &info),
                     MFU_E_TYPE_MISMATCH);
    src.type = "image/x-unheard-of";   /* no hint: all demuxers */
    assert_int_equal(mfu_media_probe(m, "images", &src, 5000, &info),
                     MFU_OK);
    assert_string_equal(info.codec, codecs[i]);
    free(b.data);
  }
}

/* PNG and JPEG go straight to their decoder: bytes after the picture are
 * ignored, a cut picture is judged as through the demuxer, the store's
 * error is returned. */
static void test_probe_image_direct(void **state)
{
  struct mfu_media *m = *state;
  struct mfu_media_info info;
  const char *const names[] = {"t.png", "t.jpg"};
  const char *const types[] = {"image/png", "image/jpeg"};

  for(size_t i = 0; i < 2; i++) {
    struct blob b = load(names[i]);
    struct blob tail = {malloc(b.len + 100), b.len + 100, 0, 0};
    struct mfu_media_source src = {read_at, &tail, tail.len, types[i]};
    assert_non_null(tail.data);
    memcpy(tail.data, b.data, b.len);
    memset(tail.data + b.len, 'x', 100);
    assert_int_equal(mfu_media_probe(m, "images", &src, 5000, &info),
                     MFU_OK);
    assert_int_equal(info.width, 64);
    assert_int_equal(info.height, 48);
    src.cls = &b;
    src.size = b.len = b.len / 2;
    {
      /* as the demuxer path judges it: a cut PNG is refused, a cut JPEG
       * (its decoder fills in the rest) is kept */
      struct mfu_media_source nohint = {read_at, &b, b.len, NULL};
      int rc = mfu_media_probe(m, "images", &src, 5000, &info);
      assert_int_equal(rc, i ? MFU_OK : MFU_E_TYPE_MISMATCH);
      assert_int_equal(mfu_media_probe(m, "images", &nohint, 5000, &info),
                       rc);
    }
    b.fail_at_end = 1;
    assert_int_equal(mfu_media_probe(m, "images", &src, 5000, &info),
                     MFU_E_UNAVAILABLE);
    free(tail.data);
    free(b.data);
  }
}

static void test_probe_mismatch(void **state)
{
  struct mfu_media *m = *state;
  struct mfu_media_info info;
  struct blob b = load("t.mp3");
  unsigned char junk[20000];
  struct blob g = {junk, sizeof(junk), 0, 0};
  size_t i;
  uint32_t x = 777;

  assert_int_equal(probe(m, "videos", &b, 5000, &info), MFU_E_TYPE_MISMATCH);
  assert_int_equal(probe(m, "images", &b, 5000, &info), MFU_E_TYPE_MISMATCH);
  free(b.data);

  for(i = 0; i < sizeof(junk); i++) {
    x = x * 1103515245u + 12345u;
    junk[i] = (unsigned char)(x >> 16);
  }
  assert_int_equal(probe(m, "images", &g, 5000, &info), MFU_E_TYPE_MISMATCH);
  assert_int_equal(probe(m, "audios", &g, 5000, &info), MFU_E_TYPE_MISMATCH);
  assert_int_equal(probe(m, "videos", &g, 5000, &info), MFU_E_TYPE_MISMATCH);
  g.len = 0;
  assert_int_equal(probe(m, "videos", &g, 5000, &info), MFU_E_TYPE_MISMATCH);
  assert_int_equal(probe(m, "sounds", &g, 5000, &info), MFU_E_INVAL);
}

/* Every prefix length class of every file: no crash, no leak, a sane
 * answer (ASan and UBSan watch the rest). */
static void test_probe_truncated(void **state)
{
  struct mfu_media *m = *state;
  const char *const names[] = {"t.mp3", "t.mp4", "t.png", "t.jpg",
                               "t.ogg", "t.webm", "av.mp4"};
  const char *const groups[] = {"audios", "videos", "images", "images",
                                "audios", "videos", "videos"};
  size_t i, k;

  for(i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
    struct blob b = load(names[i]);
    size_t full = b.len;
    const size_t cuts[] = {1, 16, 100, 1000, full / 3, full / 2,
                           full - 100, full - 1};
    for(k = 0; k < sizeof(cuts) / sizeof(cuts[0]); k++) {
      struct mfu_media_info info;
      int rc;
      if(cuts[k] >= full)
        continue;
      b.len = cuts[k];
      rc = probe(m, groups[i], &b, 5000, &info);
      if(rc != MFU_OK && rc != MFU_E_TYPE_MISMATCH)
        fail_msg("%s cut at %zu: rc %d", names[i], cuts[k], rc);
      if(rc == MFU_OK && info.known && info.duration > 10)
        fail_msg("%s cut at %zu: duration %f", names[i], cuts[k],
                 info.duration);
    }
    free(b.data);
  }
}

static void test_probe_read_error(void **state)
{
  struct mfu_media *m = *state;
  struct mfu_media_info info;
  struct blob b = load("t.mp4");  /* its index is at the end */

  b.fail_at_end = 1;
  assert_int_equal(probe(m, "videos", &b, 5000, &info), MFU_E_UNAVAILABLE);
  assert_int_equal(info.known, 0);
  free(b.data);
}

static void test_probe_timeout(void **state)
{
  struct mfu_media *m = *state;
  struct mfu_media_info info;
  struct blob b = load("t.mp4");

  /* No time at all: not an error, just nothing known. */
  assert_int_equal(probe(m, "videos", &b, 0, &info), MFU_OK);
  assert_int_equal(info.known, 0);
  assert_true(info.duration < 0);
  assert_int_equal(info.width, 0);
  assert_string_equal(info.codec, "");
  free(b.data);
}

struct sniffer {
  struct mfu_media *m;
  struct blob *b;
  int bad;
};

static void *sniff_loop(void *arg)
{
  struct sniffer *s = arg;
  char ct[MFU_MEDIA_CTYPE_MAX];
  int i;
  for(i = 0; i < 200; i++) {
    const struct blob *b = &s->b[i % 2];
    if(mfu_media_sniff(s->m, b->data, b->len, ct, sizeof(ct)) ||
       strcmp(ct, i % 2 ? "image/png" : "audio/mpeg"))
      s->bad++;
  }
  return NULL;
}

/* One struct mfu_media, many threads: the handle pool must keep each
 * answer to its caller. */
static void test_threads(void **state)
{
  struct mfu_media *m = *state;
  struct blob b[2];
  struct sniffer s[6];
  pthread_t t[6];
  size_t i;

  b[0] = load("t.mp3");
  b[1] = load("t.png");
  if(b[0].len > MFU_MEDIA_SNIFF_LEN)
    b[0].len = MFU_MEDIA_SNIFF_LEN;
  for(i = 0; i < 6; i++) {
    s[i].m = m;
    s[i].b = b;
    s[i].bad = 0;
    assert_int_equal(pthread_create(&t[i], NULL, sniff_loop, &s[i]), 0);
  }
  for(i = 0; i < 6; i++) {
    pthread_join(t[i], NULL);
    assert_int_equal(s[i].bad, 0);
  }
  free(b[0].data);
  free(b[1].data);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_sniff_types, setup_media,
                                    teardown_media),
    cmocka_unit_test_setup_teardown(test_sniff_edges, setup_media,
                                    teardown_media),
    cmocka_unit_test_setup_teardown(test_group_allows, setup_media,
                                    teardown_media),
    cmocka_unit_test(test_policy),
    cmocka_unit_test_setup_teardown(test_probe_audio, setup_media,
                                    teardown_media),
    cmocka_unit_test_setup_teardown(test_probe_video, setup_media,
                                    teardown_media),
    cmocka_unit_test_setup_teardown(test_probe_image, setup_media,
                                    teardown_media),
    cmocka_unit_test_setup_teardown(test_probe_image_hint, setup_media,
                                    teardown_media),
    cmocka_unit_test_setup_teardown(test_probe_image_direct, setup_media,
                                    teardown_media),
    cmocka_unit_test_setup_teardown(test_probe_mismatch, setup_media,
                                    teardown_media),
    cmocka_unit_test_setup_teardown(test_probe_truncated, setup_media,
                                    teardown_media),
    cmocka_unit_test_setup_teardown(test_probe_read_error, setup_media,
                                    teardown_media),
    cmocka_unit_test_setup_teardown(test_probe_timeout, setup_media,
                                    teardown_media),
    cmocka_unit_test_setup_teardown(test_threads, setup_media,
                                    teardown_media),
  };
  return cmocka_run_group_tests(tests, setup_files, teardown_files);
}
