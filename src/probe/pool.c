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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

struct worker {
  pid_t pid;          /* 0: not running */
  int in, out;        /* its stdin (we write), its stdout (we read) */
  int busy;
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

  if(pipe2(to, O_CLOEXEC))
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

/* Read one answer line before the deadline. */
static int read_line(int fd, char *buf, size_t cap, int64_t deadline)
{
  size_t len = 0;
  while(len + 1 < cap) {
    struct pollfd pfd = {fd, POLLIN, 0};
    int64_t left = deadline - now_ms();
    ssize_t n;
    if(left <= 0 || poll(&pfd, 1, (int)left) == 0)
      return ASK_TIMEOUT;
    n = read(fd, buf + len, cap - 1 - len);
    if(n <= 0)
      return ASK_DEAD;
    len += (size_t)n;
    if(memchr(buf, '\n', len)) {
      buf[len] = '\0';
      return ASK_OK;
    }
  }
  return ASK_DEAD;
}

static int ask(struct mfu_probe_pool *p, struct worker *w, const char *req,
               char *ans, size_t cap, unsigned timeout_ms)
{
  size_t len = strlen(req);
  if(!w->pid && start_worker(p, w))
    return ASK_DEAD;
  if(write(w->in, req, len) != (ssize_t)len)
    return ASK_DEAD;
  /* A second of slack for the worker's own start and the store's I/O. */
  return read_line(w->out, ans, cap, now_ms() + timeout_ms + 1000);
}

static int parse(const char *ans, struct mfu_probe_result *res)
{
  int rc, known;
  char codec[32];
  if(sscanf(ans, "%d %d %lf %u %u %31s", &rc, &known, &res->duration,
            &res->width, &res->height, codec) != 6)
    return MFU_E_INTERNAL;
  if(rc)
    return rc;
  res->known = known;
  snprintf(res->codec, sizeof(res->codec), "%s",
           strcmp(codec, "-") ? codec : "");
  return MFU_OK;
}

int mfu_probe_run(struct mfu_probe_pool *p, const char *group,
                  const char *sha256, uint64_t size, unsigned timeout_ms,
                  struct mfu_probe_result *res)
{
  struct worker *w;
  char req[160], ans[160];
  int rc;

  memset(res, 0, sizeof(*res));
  res->duration = -1;
  snprintf(req, sizeof(req), "%s %s %llu %u\n", group, sha256,
           (unsigned long long)size, timeout_ms);
  w = take(p);
  rc = ask(p, w, req, ans, sizeof(ans), timeout_ms);
  if(rc == ASK_DEAD) {
    /* The worker may have died before this probe (or never started):
     * one more try on a fresh one, so that costs nothing. */
    stop_worker(w);
    rc = ask(p, w, req, ans, sizeof(ans), timeout_ms);
  }
  if(rc != ASK_OK) {
    /* Hung or crashed on this file: the probe is unknown, the next one
     * gets a fresh worker. */
    stop_worker(w);
    rc = MFU_OK;
  }
  else
    rc = parse(ans, res);
  give_back(p, w);
  if(rc == MFU_E_INTERNAL) {
    memset(res, 0, sizeof(*res));
    res->duration = -1;
    rc = MFU_OK;
  }
  return rc;
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
