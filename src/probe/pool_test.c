/*
 * pool_test.c - the probe pool against a scripted worker that answers,
 * stalls, dies or talks nonsense on cue (the store address picks which),
 * so every path of the protocol runs without FFmpeg.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "mfu_probe.h"

struct fixture {
  char dir[64];
  char cmd[96];
  struct mfu_probe_pool *pool;
};

/* "dead*" exits, "slow*" stalls past any timeout, "junk*" answers a line
 * that does not parse, "nope*" says the file is not of its group. */
static const char script[] =
  "#!/bin/sh\n"
  "while read group sha size ms type; do\n"
  "  case $sha in\n"
  "    dead*) exit 3 ;;\n"
  "    slow*) exec sleep 30 ;;\n"
  "    junk*) echo 'what?' ;;\n"
  "    nope*) echo '%d 0 -1 0 0 -' ;;\n"
  "    *) echo \"0 1 2.5 $size 480 ${type:-h264}\" ;;\n"
  "  esac\n"
  "done\n";

static int setup(void **state)
{
  struct fixture *f = calloc(1, sizeof(*f));
  FILE *fp;

  strcpy(f->dir, "/tmp/mfu-probe-XXXXXX");
  if(!f || !mkdtemp(f->dir))
    return -1;
  snprintf(f->cmd, sizeof(f->cmd), "%s/worker", f->dir);
  fp = fopen(f->cmd, "w");
  if(!fp)
    return -1;
  fprintf(fp, script, MFU_E_TYPE_MISMATCH);
  fclose(fp);
  chmod(f->cmd, 0755);
  if(mfu_probe_pool_new(f->cmd, "file:///nowhere", 2, &f->pool))
    return -1;
  *state = f;
  return 0;
}

static int teardown(void **state)
{
  struct fixture *f = *state;

  mfu_probe_pool_free(f->pool);
  unlink(f->cmd);
  rmdir(f->dir);
  free(f);
  return 0;
}

static void jobs_for(struct mfu_probe_job *jobs, const char **shas, size_t n)
{
  for(size_t i = 0; i < n; i++) {
    memset(&jobs[i], 0, sizeof(jobs[i]));
    jobs[i].group = "videos";
    jobs[i].sha256 = shas[i];
    jobs[i].size = 100 + i;
  }
}

static void assert_known(const struct mfu_probe_job *j)
{
  assert_int_equal(j->rc, MFU_OK);
  assert_int_equal(j->res.known, 1);
  assert_int_equal(j->res.width, j->size);  /* the answer is this job's */
  assert_int_equal(j->res.height, 480);
  assert_string_equal(j->res.codec, "h264");
}

static void assert_unknown(const struct mfu_probe_job *j)
{
  assert_int_equal(j->rc, MFU_OK);
  assert_int_equal(j->res.known, 0);
  assert_true(j->res.duration < 0);
}

/* More jobs than the window: answers come back in order, to their jobs. */
static void test_many_in_order(void **state)
{
  struct fixture *f = *state;
  struct mfu_probe_job jobs[50];
  const char *shas[50];

  for(int i = 0; i < 50; i++)
    shas[i] = "ok";
  jobs_for(jobs, shas, 50);
  mfu_probe_run_many(f->pool, jobs, 50, 1000);
  for(int i = 0; i < 50; i++)
    assert_known(&jobs[i]);
}

static void test_verdict_and_junk(void **state)
{
  struct fixture *f = *state;
  const char *shas[] = {"ok", "nope", "junk", "ok"};
  struct mfu_probe_job jobs[4];

  jobs_for(jobs, shas, 4);
  mfu_probe_run_many(f->pool, jobs, 4, 1000);
  assert_known(&jobs[0]);
  assert_int_equal(jobs[1].rc, MFU_E_TYPE_MISMATCH);
  assert_unknown(&jobs[2]);
  assert_known(&jobs[3]);
}

/* A worker that dies on a file costs that file, not the ones queued
 * behind it, which go to a fresh worker. */
static void test_dead_worker(void **state)
{
  struct fixture *f = *state;
  const char *shas[] = {"ok", "dead", "ok", "ok", "dead", "ok"};
  struct mfu_probe_job jobs[6];

  jobs_for(jobs, shas, 6);
  mfu_probe_run_many(f->pool, jobs, 6, 1000);
  assert_known(&jobs[0]);
  assert_unknown(&jobs[1]);
  assert_known(&jobs[2]);
  assert_known(&jobs[3]);
  assert_unknown(&jobs[4]);
  assert_known(&jobs[5]);
}

/* A stall past the timeout (plus the pool's second of slack) is
 * killed; the rest still get answers. */
static void test_slow_worker(void **state)
{
  struct fixture *f = *state;
  const char *shas[] = {"ok", "slow", "ok"};
  struct mfu_probe_job jobs[3];
  time_t t0 = time(NULL);

  jobs_for(jobs, shas, 3);
  mfu_probe_run_many(f->pool, jobs, 3, 200);
  assert_known(&jobs[0]);
  assert_unknown(&jobs[1]);
  assert_known(&jobs[2]);
  assert_true(time(NULL) - t0 < 10);
}

/* The sniffed type rides along when it is one plain token. */
static void test_type_hint(void **state)
{
  struct fixture *f = *state;
  const char *shas[] = {"ok", "ok", "ok"};
  struct mfu_probe_job jobs[3];

  jobs_for(jobs, shas, 3);
  jobs[0].type = "image/png";
  jobs[1].type = "image/png extra";
  jobs[2].type = "";
  mfu_probe_run_many(f->pool, jobs, 3, 1000);
  assert_string_equal(jobs[0].res.codec, "image/png");
  assert_known(&jobs[1]);
  assert_known(&jobs[2]);
}

/* A long batch split over both workers: each half keeps its order and
 * survives its own dead worker. */
static void test_shared_batch(void **state)
{
  struct fixture *f = *state;
  struct mfu_probe_job jobs[40];
  const char *shas[40];

  for(int i = 0; i < 40; i++)
    shas[i] = i == 3 || i == 30 ? "dead" : i == 20 ? "nope" : "ok";
  jobs_for(jobs, shas, 40);
  mfu_probe_run_many(f->pool, jobs, 40, 1000);
  for(int i = 0; i < 40; i++) {
    if(i == 3 || i == 30)
      assert_unknown(&jobs[i]);
    else if(i == 20)
      assert_int_equal(jobs[i].rc, MFU_E_TYPE_MISMATCH);
    else
      assert_known(&jobs[i]);
  }
}

static void test_run_one(void **state)
{
  struct fixture *f = *state;
  struct mfu_probe_result res;

  assert_int_equal(mfu_probe_run(f->pool, "images", "ok", 64, 1000, &res),
                   MFU_OK);
  assert_int_equal(res.known, 1);
  assert_int_equal(res.width, 64);
  assert_int_equal(mfu_probe_run(f->pool, "images", "nope", 64, 1000, &res),
                   MFU_E_TYPE_MISMATCH);
  mfu_probe_run_many(f->pool, NULL, 0, 1000);
}

/* No worker can start: every probe is unknown, none fails. */
static void test_no_worker(void **state)
{
  struct mfu_probe_pool *p;
  struct mfu_probe_job jobs[3];
  const char *shas[] = {"ok", "ok", "ok"};

  (void)state;
  assert_int_equal(mfu_probe_pool_new("/nonexistent/mfu-probe", "file://x",
                                      1, &p), MFU_OK);
  jobs_for(jobs, shas, 3);
  mfu_probe_run_many(p, jobs, 3, 100);
  for(int i = 0; i < 3; i++)
    assert_unknown(&jobs[i]);
  mfu_probe_pool_free(p);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_many_in_order, setup, teardown),
    cmocka_unit_test_setup_teardown(test_verdict_and_junk, setup, teardown),
    cmocka_unit_test_setup_teardown(test_dead_worker, setup, teardown),
    cmocka_unit_test_setup_teardown(test_slow_worker, setup, teardown),
    cmocka_unit_test_setup_teardown(test_type_hint, setup, teardown),
    cmocka_unit_test_setup_teardown(test_shared_batch, setup, teardown),
    cmocka_unit_test_setup_teardown(test_run_one, setup, teardown),
    cmocka_unit_test(test_no_worker),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
