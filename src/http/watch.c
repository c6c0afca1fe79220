/*
 * watch.c - closes connections that send too slowly (slowloris).
 *
 * libmicrohttpd's --timeout counts idle time: a client that sends one
 * byte just before each timeout keeps a connection (and with one thread
 * per connection, a thread) for ever.  So a watcher thread looks at every
 * connection a few times a second:
 *
 *   - waiting for request headers (a new connection, or a kept-alive one
 *     between requests): the whole header block must arrive within
 *     --timeout seconds;
 *   - receiving a body: every --timeout seconds must bring at least
 *     --min-rate bytes per second.  Time the server itself spends on a
 *     chunk (store writes, probing) is not the client's: the window
 *     restarts after it;
 *   - anything else (answering, sending a file to a slow reader) is left
 *     to libmicrohttpd's idle timeout.
 *
 * A connection is closed with shutdown(2) on a dup of its socket, taken
 * when the connection starts and closed when libmicrohttpd reports it
 * closed: the dup keeps the socket alive, so the number can never name a
 * newer connection's socket.  libmicrohttpd's thread then sees the peer
 * gone and ends the request as aborted, which rolls an upload back.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http_impl.h"

#define TICK_MS 250

struct watch_conn {
  struct watch_conn *next;
  struct watch_conn *prev;
  int fd;                       /* our dup of the socket; -1 if none */
  enum watch_phase phase;
  struct timespec since;        /* start of the phase or of the window */
  uint64_t mark;                /* bytes at since */
  atomic_uint_fast64_t bytes;   /* body bytes received so far */
  atomic_int busy;              /* the server is handling a chunk */
};

static double secs_since(const struct timespec *t0,
                         const struct timespec *now)
{
  return (double)(now->tv_sec - t0->tv_sec) +
         (double)(now->tv_nsec - t0->tv_nsec) / 1e9;
}

/* Whether wc has been too slow; called under w->mu. */
static int too_slow(struct watch *w, struct watch_conn *wc,
                    const struct timespec *now)
{
  double el = secs_since(&wc->since, now);
  uint64_t got;

  switch(wc->phase) {
  case W_HEADERS:
    return el >= (double)w->timeout;
  case W_BODY:
    if(atomic_load(&wc->busy)) {
      wc->since = *now;
      wc->mark = atomic_load(&wc->bytes);
      return 0;
    }
    if(!w->min_rate || el < (double)w->timeout)
      return 0;
    got = atomic_load(&wc->bytes) - wc->mark;
    if((double)got < (double)w->min_rate * el)
      return 1;
    wc->since = *now;
    wc->mark += got;
    return 0;
  default:
    return 0;
  }
}

static void *run(void *cls)
{
  struct watch *w = cls;
  struct timespec now, until;

  pthread_mutex_lock(&w->mu);
  while(!w->stop) {
    clock_gettime(CLOCK_MONOTONIC, &now);
    for(struct watch_conn *wc = w->head; wc; wc = wc->next) {
      if(wc->phase != W_DEAD && wc->fd >= 0 && too_slow(w, wc, &now)) {
        shutdown(wc->fd, SHUT_RDWR);
        wc->phase = W_DEAD;
        atomic_fetch_add(&w->closed, 1);
      }
    }
    until = now;
    until.tv_nsec += TICK_MS * 1000000L;
    if(until.tv_nsec >= 1000000000L) {
      until.tv_sec++;
      until.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&w->cv, &w->mu, &until);
  }
  pthread_mutex_unlock(&w->mu);
  return NULL;
}

int watch_start(struct watch *w, unsigned timeout, uint64_t min_rate)
{
  pthread_condattr_t ca;

  w->head = NULL;
  w->stop = 0;
  w->timeout = timeout ? timeout : 1;
  w->min_rate = min_rate;
  atomic_init(&w->closed, 0);
  if(pthread_mutex_init(&w->mu, NULL))
    return MFU_E_INTERNAL;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  if(pthread_cond_init(&w->cv, &ca)) {
    pthread_condattr_destroy(&ca);
    pthread_mutex_destroy(&w->mu);
    return MFU_E_INTERNAL;
  }
  pthread_condattr_destroy(&ca);
  if(pthread_create(&w->thread, NULL, run, w)) {
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    return MFU_E_INTERNAL;
  }
  return MFU_OK;
}

void watch_stop(struct watch *w)
{
  pthread_mutex_lock(&w->mu);
  w->stop = 1;
  pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->mu);
  pthread_join(w->thread, NULL);
  while(w->head) {               /* none once the daemon has stopped */
    struct watch_conn *wc = w->head;
    w->head = wc->next;
    if(wc->fd >= 0)
      close(wc->fd);
    free(wc);
  }
  pthread_cond_destroy(&w->cv);
  pthread_mutex_destroy(&w->mu);
}

void watch_notify(void *cls, struct MHD_Connection *conn, void **ctx,
                  enum MHD_ConnectionNotificationCode code)
{
  struct watch *w = &((struct mfu_server *)cls)->watch;
  struct watch_conn *wc = *ctx;
  const union MHD_ConnectionInfo *ci;

  if(code == MHD_CONNECTION_NOTIFY_STARTED) {
    wc = calloc(1, sizeof(*wc));
    if(!wc)
      return;                   /* unwatched: the idle timeout still holds */
    ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    wc->fd = ci ? fcntl(ci->connect_fd, F_DUPFD_CLOEXEC, 0) : -1;
    wc->phase = W_HEADERS;
    clock_gettime(CLOCK_MONOTONIC, &wc->since);
    pthread_mutex_lock(&w->mu);
    wc->next = w->head;
    if(w->head)
      w->head->prev = wc;
    w->head = wc;
    pthread_mutex_unlock(&w->mu);
    *ctx = wc;
    return;
  }
  if(!wc)
    return;
  pthread_mutex_lock(&w->mu);
  if(wc->prev)
    wc->prev->next = wc->next;
  else
    w->head = wc->next;
  if(wc->next)
    wc->next->prev = wc->prev;
  pthread_mutex_unlock(&w->mu);
  if(wc->fd >= 0)
    close(wc->fd);
  free(wc);
  *ctx = NULL;
}

struct watch_conn *watch_of(struct MHD_Connection *conn)
{
  const union MHD_ConnectionInfo *ci =
    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
  return ci ? ci->socket_context : NULL;
}

void watch_phase(struct watch *w, struct watch_conn *wc,
                 enum watch_phase phase)
{
  if(!wc)
    return;
  pthread_mutex_lock(&w->mu);
  if(wc->phase != W_DEAD && wc->phase != phase) {
    wc->phase = phase;
    clock_gettime(CLOCK_MONOTONIC, &wc->since);
    wc->mark = atomic_load(&wc->bytes);
  }
  pthread_mutex_unlock(&w->mu);
}

void watch_busy(struct watch_conn *wc, int busy, uint64_t bytes)
{
  if(!wc)
    return;
  atomic_fetch_add(&wc->bytes, bytes);
  atomic_store(&wc->busy, busy);
}
