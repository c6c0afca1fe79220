/*
 * pool.c - the server side of the probe workers (see mfu_probe.h).
 */
#include "mfu_probe.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* Requests a batch keeps in flight on one worker: the lines fit in the
 * socket's buffer one way and the pipe's the other, so neither side
 * blocks on the other. */
#define WINDOW 16
/* A batch of two or more is split over idle workers: one video can take
 * as long as a hundred small images, so the count says little. */
#define MAX_SHARE 8

struct worker {
  pid_t pid;          /* 0: not running */
  int in, out;        /* its stdin (we write), its stdout (we read) */
  int busy;
  size_t len;         /* answer bytes read and not yet taken */
  char buf[1024];
};

struct mfu_probe_pool {
  pthread_mutex_t mu;
  pthread_cond_t freed;
  char *cmd;
  char *store_url;
  unsigned n;
  struct worker w[];
};

int mfu_probe_pool_new(const char *cmd, const char *store_url,
                       unsigned workers, struct mfu_probe_pool **out)
{
  struct mfu_probe_pool *p;
  if(!workers)
    workers = 1;
  p = calloc(1, sizeof(*p) + workers * sizeof(p->w[0]));
  if(!p)
    return MFU_E_NOMEM;
  p->cmd = strdup(cmd);
  p->store_url = strdup(store_url);
  p->n = workers;
  if(!p->cmd || !p->store_url || pthread_mutex_init(&p->mu, NULL)) {
    free(p->cmd);
    free(p->store_url);
    free(p);
    return MFU_E_NOMEM;
  }
  pthread_cond_init(&p->freed, NULL);
  *out = p;
  return MFU_OK;
}

static void stop_worker(struct worker *w)
{
  if(!w->pid)
    return;
  close(w->in);
  close(w->out);
  kill(w->pid, SIGKILL);
  while(waitpid(w->pid, NULL, 0) < 0 && errno == EINTR)
    ;
  w->pid = 0;
  w->len = 0;
}

void mfu_probe_pool_free(struct mfu_probe_pool *p)
{
  if(!p)
    return;
  for(unsigned i = 0; i < p->n; i++)
    stop_worker(&p->w[i]);
  pthread_cond_destroy(&p->freed);
  pthread_mutex_destroy(&p->mu);
  free(p->cmd);
  free(p->store_url);
  free(p);
}

static int start_worker(struct mfu_probe_pool *p, struct worker *w)
{
  int to[2], from[2], rc;
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  sigset_t none;
  char *argv[] = {p->cmd, "--store", p->store_url, NULL};

  /* A socket, not a pipe, for the requests: send() with MSG_NOSIGNAL
   * to a worker that died is an error, not a SIGPIPE for the caller. */
  if(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, to))
    return MFU_E_IO;
  if(pipe2(from, O_CLOEXEC)) {
    close(to[0]);
    close(to[1]);
    return MFU_E_IO;
  }
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, to[0], 0);
  posix_spawn_file_actions_adddup2(&fa, from[1], 1);
  /* The server's threads block SIGINT/SIGTERM for its signal thread; the
   * worker must not inherit that mask. */
  sigemptyset(&none);
  posix_spawnattr_init(&attr);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
  rc = posix_spawn(&w->pid, p->cmd, &fa, &attr, argv, environ);
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&fa);
  close(to[0]);
  close(from[1]);
  if(rc) {
    close(to[1]);
    close(from[0]);
    w->pid = 0;
    return MFU_E_IO;
  }
  w->in = to[1];
  w->out = from[0];
  return MFU_OK;
}

static struct worker *take(struct mfu_probe_pool *p)
{
  struct worker *w = NULL;
  pthread_mutex_lock(&p->mu);
  for(;;) {
    for(unsigned i = 0; i < p->n && !w; i++) {
      if(!p->w[i].busy)
        w = &p->w[i];
    }
    if(w)
      break;
    pthread_cond_wait(&p->freed, &p->mu);
  }
  w->busy = 1;
  pthread_mutex_unlock(&p->mu);
  return w;
}

/* Up to max more free workers, without waiting; how many. */
static unsigned take_idle(struct mfu_probe_pool *p, struct worker **out,
                          unsigned max)
{
  unsigned k = 0;
  pthread_mutex_lock(&p->mu);
  for(unsigned i = 0; i < p->n && k < max; i++) {
    if(!p->w[i].busy) {
      p->w[i].busy = 1;
      out[k++] = &p->w[i];
    }
  }
  pthread_mutex_unlock(&p->mu);
  return k;
}

static void give_back(struct mfu_probe_pool *p, struct worker *w)
{
  pthread_mutex_lock(&p->mu);
  w->busy = 0;
  pthread_cond_signal(&p->freed);
  pthread_mutex_unlock(&p->mu);
}

static int64_t now_ms(void)
{
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

enum { ASK_OK = 0, ASK_DEAD = -1, ASK_TIMEOUT = -2 };

/* The worker's next answer line, read before the deadline. */
static int read_line(struct worker *w, char *line, size_t cap,
                     int64_t deadline)
{
  for(;;) {
    char *nl = memchr(w->buf, '\n', w->len);
    struct pollfd pfd = {w->out, POLLIN, 0};
    int64_t left;
    ssize_t n;

    if(nl) {
      size_t k = (size_t)(nl - w->buf);
      if(k >= cap)
        return ASK_DEAD;
      memcpy(line, w->buf, k);
      line[k] = '\0';
      w->len -= k + 1;
      memmove(w->buf, nl + 1, w->len);
      return ASK_OK;
    }
    if(w->len == sizeof(w->buf))
      return ASK_DEAD;
    left = deadline - now_ms();
    if(left <= 0 || poll(&pfd, 1, (int)left) == 0)
      return ASK_TIMEOUT;
    n = read(w->out, w->buf + w->len, sizeof(w->buf) - w->len);
    if(n <= 0)
      return ASK_DEAD;
    w->len += (size_t)n;
  }
}

/* A hint goes on the line only if it is one plain token. */
static int type_ok(const char *t)
{
  size_t n = t ? strlen(t) : 0;
  if(!n || n > 127)
    return 0;
  for(size_t i = 0; i < n; i++) {
    if(t[i] <= ' ' || t[i] > '~')
      return 0;
  }
  return 1;
}

static int send_job(struct mfu_probe_pool *p, struct worker *w,
                    const struct mfu_probe_job *job, unsigned timeout_ms)
{
  char req[320];
  int len = snprintf(req, sizeof(req), "%s %s %llu %u%s%s\n", job->group,
                     job->sha256, (unsigned long long)job->size,
                     timeout_ms, type_ok(job->type) ? " " : "",
                     type_ok(job->type) ? job->type : "");
  if(!w->pid && start_worker(p, w))
    return ASK_DEAD;
  if(len <= 0 || (size_t)len >= sizeof(req) ||
     send(w->in, req, (size_t)len, MSG_NOSIGNAL) != len)
    return ASK_DEAD;
  return ASK_OK;
}

/* An answer that does not parse is an unknown probe, not an error. */
static void take_answer(struct mfu_probe_job *job, const char *ans)
{
  struct mfu_probe_result *res = &job->res;
  int rc, known;
  char codec[32];

  if(sscanf(ans, "%d %d %lf %u %u %31s", &rc, &known, &res->duration,
            &res->width, &res->height, codec) != 6) {
    memset(res, 0, sizeof(*res));
    res->duration = -1;
    return;
  }
  job->rc = rc;
  if(rc)
    return;
  res->known = known;
  snprintf(res->codec, sizeof(res->codec), "%s",
           strcmp(codec, "-") ? codec : "");
}

static void job_reset(struct mfu_probe_job *job)
{
  job->rc = MFU_OK;
  memset(&job->res, 0, sizeof(job->res));
  job->res.duration = -1;
}

/* The jobs of one worker, in order. */
static void run_on(struct mfu_probe_pool *p, struct worker *w,
                   struct mfu_probe_job *jobs, size_t n, unsigned timeout_ms)
{
  size_t sent = 0, done = 0;
  int retried = 0, rc;
  char ans[160];

  while(done < n) {
    rc = ASK_OK;
    while(rc == ASK_OK && sent < n && sent - done < WINDOW)
      rc = send_job(p, w, &jobs[sent++], timeout_ms);
    /* A second of slack for the worker's own start and the store's
     * I/O; the worker takes the requests in order, so the one it answers
     * next is the one it is on. */
    if(rc == ASK_OK)
      rc = read_line(w, ans, sizeof(ans), now_ms() + timeout_ms + 1000);
    if(rc == ASK_OK) {
      take_answer(&jobs[done++], ans);
      retried = 0;
      continue;
    }
    stop_worker(w);
    sent = done;      /* what was in flight goes to a fresh worker */
    /* The worker may have died before this probe (or never started):
     * one more try on a fresh one, so that costs nothing.  Hung or
     * crashed on this very file: it stays unknown. */
    if(rc == ASK_DEAD && !retried) {
      retried = 1;
      continue;
    }
    job_reset(&jobs[done++]);
    retried = 0;
  }
}

struct share {
  struct mfu_probe_pool *p;
  struct worker *w;
  struct mfu_probe_job *jobs;
  size_t n;
  unsigned timeout_ms;
  pthread_t thr;
  int started;
};

static void *run_share(void *arg)
{
  struct share *s = arg;
  run_on(s->p, s->w, s->jobs, s->n, s->timeout_ms);
  return NULL;
}

void mfu_probe_run_many(struct mfu_probe_pool *p, struct mfu_probe_job *jobs,
                        size_t n, unsigned timeout_ms)
{
  struct worker *w[MAX_SHARE];
  struct share sh[MAX_SHARE];
  unsigned k = 1, i;
  size_t at = 0;

  for(size_t j = 0; j < n; j++)
    job_reset(&jobs[j]);
  if(!n)
    return;
  w[0] = take(p);
  /* Workers nobody else wants share a long batch; with the server busy
   * there are none, and each batch keeps to one. */
  if(n >= 2)
    k += take_idle(p, w + 1, (unsigned)(n < MAX_SHARE ? n : MAX_SHARE) - 1);
  for(i = 0; i < k; i++) {
    size_t len = n / k + (i < n % k);
    sh[i] = (struct share){p, w[i], jobs + at, len, timeout_ms, 0, 0};
    at += len;
  }
  for(i = 1; i < k; i++)
    sh[i].started = !pthread_create(&sh[i].thr, NULL, run_share, &sh[i]);
  for(i = 0; i < k; i++) {
    if(!sh[i].started)
      run_on(p, w[i], sh[i].jobs, sh[i].n, timeout_ms);
  }
  for(i = 1; i < k; i++) {
    if(sh[i].started)
      pthread_join(sh[i].thr, NULL);
  }
  for(i = 0; i < k; i++)
    give_back(p, w[i]);
}

int mfu_probe_run(struct mfu_probe_pool *p, const char *group,
                  const char *sha256, uint64_t size, unsigned timeout_ms,
                  struct mfu_probe_result *res)
{
  struct mfu_probe_job job = {group, sha256, size, NULL, 0, {0}};

  mfu_probe_run_many(p, &job, 1, timeout_ms);
  *res = job.res;
  return job.rc;
}

static int usable(const char *path)
{
  return access(path, X_OK) == 0;
}

int mfu_probe_locate(const char *libexecdir, char *out, size_t cap)
{
  char self[PATH_MAX];
  const char *env = getenv("MFU_PROBE");
  ssize_t n;
  char *slash;

  if(env && *env) {
    snprintf(out, cap, "%s", env);
    return usable(out) ? MFU_OK : MFU_E_NOTFOUND;
  }
  n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if(n > 0) {
    self[n] = '\0';
    slash = strrchr(self, '/');
    if(slash) {
      *slash = '\0';
      if(snprintf(out, cap, "%s/mfu-probe", self) < (int)cap && usable(out))
        return MFU_OK;
      if(snprintf(out, cap, "%s/../probe/mfu-probe", self) < (int)cap &&
         usable(out))
        return MFU_OK;
    }
  }
  snprintf(out, cap, "%s/mfu-probe", libexecdir);
  return usable(out) ? MFU_OK : MFU_E_NOTFOUND;
}
