/*
 * store_fs.c - the file store: content-addressed blobs in a directory.
 *
 * Layout: DIR/sha256/ab/cd/<hash> holds the finished blobs.  A put writes
 * an unnamed file (open(DIR/tmp, O_TMPFILE)) while hashing it, fdatasyncs
 * it, links it at its address (link never replaces a name), and fsyncs the
 * directory: the link decides which of two concurrent identical puts
 * creates the blob, so `created` is exact and the bytes are stored once.
 * An unnamed file takes no lock on DIR/tmp (creating and renaming names
 * there serialized every put on that one directory) and a crash leaves
 * nothing of it.  Where the file system has no O_TMPFILE, the file is
 * named in DIR/tmp/ and renamed without replacing (RENAME_NOREPLACE); it
 * is flock()ed by its put, so sweep_tmp can tell a live put (from this or
 * another process) from one a crash left behind.  The 256 sha256/ab/
 * directories are made when the store opens, so a put creates at most its
 * leaf directory.  Batches (mfu_store_batch_*) keep this order for many
 * puts with a shared syncfs in place of the per-file syncs.
 *
 * Large blobs: hashing (about 1.7 GB/s with SHA-NI) and writing on the
 * thread that receives the body would halve the upload rate, so put_write
 * only copies into a ring of a few buffers, and worker threads hash and
 * write them (one hashes, two write alternate buffers); put_write waits
 * only when the ring is full.  A blob smaller
 * than one buffer never starts a thread: it is hashed and written at
 * commit, from a small heap buffer: mapping a slot for it cost an mmap and
 * an munmap per put.  Freed slots are kept by the store (a few) for the
 * next large put.  Full buffers are written with O_DIRECT where the file system
 * allows it: buffered writes of a large file here cost seconds of
 * writeback at fsync, direct writes stream at device speed and leave no
 * dirty pages behind (see store_bench.c for the figures).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "mfu_util.h"
#include "store_fs.h"
#include "store_impl.h"

#define PATH_LEN 72 /* "ab/cd/" + 64 hex digits + NUL */
#define ALIGN 4096  /* O_DIRECT buffer, offset and length alignment */

struct fs_store {
  struct mfu_store base;
  struct store_fs_tuning tune;
  int dirfd;  /* DIR */
  int tmpfd;  /* DIR/tmp */
  int shafd;  /* DIR/sha256 */
  /* Learnt on the first put and kept (relaxed atomics: any thread may
   * learn it, all learn the same). */
  int no_tmpfile;     /* O_TMPFILE refused here: named temporary files */
  int no_empty_path;  /* linkat(AT_EMPTY_PATH) refused: /proc/self/fd */
  pthread_mutex_t mu; /* guards spare */
  unsigned nspare;
  unsigned char **spare;
  /* Shared syncfs (sync_shared), under sync_mu. */
  pthread_mutex_t sync_mu;
  pthread_cond_t sync_cv[2];    /* by the parity of the sync waited for */
  unsigned sync_waiting[2];
  uint64_t sync_started, sync_done, sync_failed;
  int sync_running, sync_err;
};

/* A writer owns slots seq, seq + nwriters, ...: its own descriptor of
 * the temporary file, so O_DIRECT can be switched per writer, and the
 * count of slots it finished. */
struct fs_writer {
  struct fs_put *p;
  int idx;
  int fd;
  int direct;           /* 1: fd has O_DIRECT; -1: it failed, never again */
  uint64_t done;        /* slots written, under the put's mutex */
};

struct fs_put {
  struct mfu_store_put base;
  struct fs_store *fs;
  int fd;               /* writer 0's, and the one that is fsynced */
  int anon;             /* 1: fd is an unnamed file (O_TMPFILE) */
  char name[32];        /* of the named temporary file in tmp/ */
  EVP_MD_CTX *md;
  uint64_t size;        /* bytes accepted by put_write */
  int failed;           /* a put_write failed: commit refuses */
  char hex[MFU_SHA256_HEX]; /* once sealed: the address */

  /* The ring.  The caller fills slot[prod % nslots]; a slot is free again
   * once both the hasher and the writer are past it.  Everything below the
   * mutex is shared with the workers and read or written under it. */
  unsigned nslots;
  unsigned char **slot;
  size_t cur;           /* bytes in the slot being filled (caller only) */
  size_t small;         /* slot[0] is a heap buffer of this many bytes
                           (0: a full slot) */
  int nthreads;         /* workers started: 0 to 3 */
  pthread_t thr[3];
  struct fs_writer w[2];
  int nwriters;         /* 1, or 2 when two writers alternate slots */
  uint64_t off;         /* where the next inline write goes */
  pthread_mutex_t mu;
  pthread_cond_t cv;
  size_t *fill;         /* bytes in each handed-over slot */
  uint64_t prod;        /* slots handed over */
  uint64_t hashed;      /* slots hashed */
  int done;             /* no more slots will come */
  int err;              /* first worker error, or abort */
};

struct fs_reader {
  struct mfu_store_reader base;
  int fd;
  uint64_t pos, end;
};

static int err_from_errno(int e)
{
  if(e == ENOSPC || e == EDQUOT)
    return MFU_E_NOSPACE;
  /* A store that cannot be written now (remounted read-only, permissions
   * changed under the server) is down, not broken: 503, retry later. */
  if(e == EROFS || e == EACCES || e == EPERM)
    return MFU_E_UNAVAILABLE;
  if(e == ENOMEM)
    return MFU_E_NOMEM;
  return MFU_E_IO;
}

static void blob_path(const char *hex, char *path)
{
  snprintf(path, PATH_LEN, "%.2s/%.2s/%s", hex, hex + 2, hex);
}

/* --- writing ----------------------------------------------------------- */

/* Write buf at off through writer w.  Every slot but the last is full, so
 * a slot's offset is its number times the slot size. */
static int write_all(struct fs_put *p, struct fs_writer *w,
                     const unsigned char *buf, size_t len, uint64_t off)
{
  int use_direct = p->fs->tune.direct && w->direct >= 0 &&
                   len % ALIGN == 0 && (uintptr_t)buf % ALIGN == 0;

  if(!len)
    return MFU_OK;
  if(use_direct != (w->direct == 1)) {
    int fl = fcntl(w->fd, F_GETFL);
    fl = use_direct ? (fl | O_DIRECT) : (fl & ~O_DIRECT);
    if(fcntl(w->fd, F_SETFL, fl) == 0)
      w->direct = use_direct;
    else if(use_direct)
      w->direct = -1;   /* the file system refuses O_DIRECT */
  }
  while(len) {
    ssize_t n = pwrite(w->fd, buf, len, (off_t)off);
    if(n < 0) {
      if(errno == EINTR)
        continue;
      if(errno == EINVAL && w->direct == 1) {
        /* Accepted by fcntl, refused by write (tmpfs, some FUSE): go
         * buffered for the rest of the file. */
        int fl = fcntl(w->fd, F_GETFL);
        if(fcntl(w->fd, F_SETFL, fl & ~O_DIRECT))
          return MFU_E_IO;
        w->direct = -1;
        continue;
      }
      return err_from_errno(errno);
    }
    buf += n;
    len -= (size_t)n;
    off += (uint64_t)n;
  }
  return MFU_OK;
}

static int hash_slot(struct fs_put *p, const unsigned char *buf, size_t len)
{
  return EVP_DigestUpdate(p->md, buf, len) == 1 ? MFU_OK : MFU_E_INTERNAL;
}

static void set_err(struct fs_put *p, int rc)
{
  pthread_mutex_lock(&p->mu);
  if(!p->err)
    p->err = rc;
  pthread_cond_broadcast(&p->cv);
  pthread_mutex_unlock(&p->mu);
}

/* Wait for slot number seq; -1 when it will never come (the blob ended
 * before it, or an error stops the put), else its ring index. */
static long next_slot(struct fs_put *p, uint64_t seq, size_t *len)
{
  long i = -1;

  pthread_mutex_lock(&p->mu);
  while(!p->err && seq >= p->prod && !p->done)
    pthread_cond_wait(&p->cv, &p->mu);
  if(!p->err && seq < p->prod) {
    i = (long)(seq % p->nslots);
    *len = p->fill[i];
  }
  pthread_mutex_unlock(&p->mu);
  return i;
}

static void slot_done(struct fs_put *p, uint64_t *counter)
{
  pthread_mutex_lock(&p->mu);
  (*counter)++;
  pthread_cond_broadcast(&p->cv);
  pthread_mutex_unlock(&p->mu);
}

/* Has slot number seq been written?  Under the mutex. */
static int slot_written(struct fs_put *p, uint64_t seq)
{
  struct fs_writer *w = &p->w[seq % (unsigned)p->nwriters];

  return w->done > seq / (unsigned)p->nwriters;
}

/* One worker that hashes and writes each slot (threads = 1). */
static void *work_both(void *arg)
{
  struct fs_put *p = arg;
  uint64_t seq = 0;
  size_t len;
  long i;

  while((i = next_slot(p, seq, &len)) >= 0) {
    size_t room = p->fs->tune.slot_size;
    int rc = hash_slot(p, p->slot[i], len);
    if(!rc)
      rc = write_all(p, &p->w[0], p->slot[i], len, seq * room);
    if(rc) {
      set_err(p, rc);
      break;
    }
    pthread_mutex_lock(&p->mu);
    seq++;
    p->hashed++;
    p->w[0].done++;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
  }
  return NULL;
}

/* threads >= 2: one worker hashes every slot... */
static void *work_hash(void *arg)
{
  struct fs_put *p = arg;
  size_t len;
  long i;

  while((i = next_slot(p, p->hashed, &len)) >= 0) {
    int rc = hash_slot(p, p->slot[i], len);
    if(rc) {
      set_err(p, rc);
      break;
    }
    slot_done(p, &p->hashed);
  }
  return NULL;
}

/* ...while one or two writers write them, taking turns by slot number:
 * two direct writes in flight go faster than one on the disks measured. */
static void *work_write(void *arg)
{
  struct fs_writer *w = arg;
  struct fs_put *p = w->p;
  size_t room = p->fs->tune.slot_size, len;
  uint64_t seq;
  long i;
  int rc;

  for(;;) {
    seq = (uint64_t)w->idx + w->done * (unsigned)p->nwriters;
    i = next_slot(p, seq, &len);
    if(i < 0)
      break;
    rc = write_all(p, w, p->slot[i], len, seq * room);
    if(rc) {
      set_err(p, rc);
      break;
    }
    slot_done(p, &w->done);
  }
  return NULL;
}

/* A second descriptor of the temporary file, or -1. */
static int reopen(struct fs_put *p)
{
  char proc[32];

  if(!p->anon)
    return openat(p->fs->tmpfd, p->name, O_WRONLY | O_CLOEXEC);
  snprintf(proc, sizeof(proc), "/proc/self/fd/%d", p->fd);
  return open(proc, O_WRONLY | O_CLOEXEC);
}

static void start_workers(struct fs_put *p)
{
  int want = p->fs->tune.threads, i;

  if(want == 1) {
    if(!pthread_create(&p->thr[0], NULL, work_both, p))
      p->nthreads = 1;
    return;
  }
  if(want == 3) {
    /* The second writer's own descriptor; without it, one writer. */
    p->w[1].fd = reopen(p);
    if(p->w[1].fd >= 0)
      p->nwriters = 2;
  }
  if(pthread_create(&p->thr[0], NULL, work_hash, p))
    return;
  p->nthreads = 1;
  for(i = 0; i < p->nwriters; i++) {
    if(pthread_create(&p->thr[1 + i], NULL, work_write, &p->w[i])) {
      set_err(p, MFU_E_NOMEM);  /* its slots would never be written */
      break;
    }
    p->nthreads++;
  }
}

static void stop_workers(struct fs_put *p)
{
  int i;

  for(i = 0; i < p->nthreads; i++)
    pthread_join(p->thr[i], NULL);
  p->nthreads = 0;
}

/* The current slot is full (or the blob ends): hand it to the workers, or
 * hash and write it here when there are none. */
static int hand_over(struct fs_put *p, int last)
{
  unsigned char *buf = p->slot[p->prod % p->nslots];
  int rc;

  if(!p->nthreads && !last && p->fs->tune.threads)
    start_workers(p);
  if(!p->nthreads) {
    rc = p->err;
    if(!rc)
      rc = hash_slot(p, buf, p->cur);
    if(!rc)
      rc = write_all(p, &p->w[0], buf, p->cur, p->off);
    p->off += p->cur;
    p->cur = 0;
    return rc;
  }
  pthread_mutex_lock(&p->mu);
  if(p->cur) {
    p->fill[p->prod % p->nslots] = p->cur;
    p->prod++;
  }
  p->done = last;
  pthread_cond_broadcast(&p->cv);
  /* The next slot to fill last held number prod - nslots. */
  while(!p->err && !last && p->prod >= p->nslots &&
        (p->hashed <= p->prod - p->nslots ||
         !slot_written(p, p->prod - p->nslots)))
    pthread_cond_wait(&p->cv, &p->mu);
  rc = p->err;
  pthread_mutex_unlock(&p->mu);
  p->cur = 0;
  return rc;
}

/* A slot: a spare one, or a new one. */
static unsigned char *slot_take(struct fs_store *fs)
{
  unsigned char *b = NULL;

  pthread_mutex_lock(&fs->mu);
  if(fs->nspare)
    b = fs->spare[--fs->nspare];
  pthread_mutex_unlock(&fs->mu);
  return b ? b : aligned_alloc(ALIGN, fs->tune.slot_size);
}

/* Keep a freed slot for the next put, up to tune.spare of them. */
static void slot_give(struct fs_store *fs, unsigned char *b)
{
  pthread_mutex_lock(&fs->mu);
  if(b && fs->nspare < fs->tune.spare) {
    fs->spare[fs->nspare++] = b;
    b = NULL;
  }
  pthread_mutex_unlock(&fs->mu);
  free(b);
}

/* What only writing needs: a sealed put waiting in a batch keeps its
 * descriptor and nothing else. */
static void release_ring(struct fs_put *p)
{
  unsigned i;

  if(p->w[1].fd >= 0)
    close(p->w[1].fd);
  p->w[1].fd = -1;
  EVP_MD_CTX_free(p->md);
  p->md = NULL;
  for(i = 0; i < p->nslots && p->slot; i++) {
    if(i == 0 && p->small)
      free(p->slot[i]);
    else
      slot_give(p->fs, p->slot[i]);
  }
  free(p->slot);
  free(p->fill);
  p->slot = NULL;
  p->fill = NULL;
}

static void put_free(struct fs_put *p)
{
  if(p->fd >= 0)
    close(p->fd);
  release_ring(p);
  pthread_cond_destroy(&p->cv);
  pthread_mutex_destroy(&p->mu);
  free(p);
}

/* An unnamed temporary file: 0, 1 when the file system has none (then
 * the caller names one), or an error. */
static int open_anon(struct fs_put *p)
{
  struct fs_store *fs = p->fs;

  if(!fs->tune.tmpfile || __atomic_load_n(&fs->no_tmpfile, __ATOMIC_RELAXED))
    return 1;
  p->fd = openat(fs->tmpfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
  if(p->fd >= 0) {
    p->anon = 1;
    p->w[0].fd = p->fd;
    return MFU_OK;
  }
  /* open(2): EISDIR from kernels without O_TMPFILE, EOPNOTSUPP from file
   * systems without it. */
  if(errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
    return err_from_errno(errno);
  __atomic_store_n(&fs->no_tmpfile, 1, __ATOMIC_RELAXED);
  return 1;
}

static int open_tmp(struct fs_put *p)
{
  unsigned char rnd[8];
  int tries, rc;

  rc = open_anon(p);
  if(rc <= 0)
    return rc;
  for(tries = 0; tries < 8; tries++) {
    if(getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
      return MFU_E_IO;
    memcpy(p->name, "put-", 4);
    mfu_hex(rnd, sizeof(rnd), p->name + 4);
    p->fd = openat(p->fs->tmpfd, p->name,
                   O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if(p->fd >= 0)
      break;
    if(errno != EEXIST)
      return err_from_errno(errno);
  }
  if(p->fd < 0)
    return MFU_E_IO;
  p->w[0].fd = p->fd;
  /* Tells sweep_tmp this file is alive; released when fd closes. */
  if(flock(p->fd, LOCK_EX | LOCK_NB))
    return MFU_E_IO;
  return MFU_OK;
}

static int fs_put_begin(struct mfu_store *s, const char *content_type,
                        struct mfu_store_put **out)
{
  struct fs_store *fs = (struct fs_store *)s;
  struct fs_put *p;
  int rc;

  (void)content_type;   /* a file has nowhere to keep it */
  p = calloc(1, sizeof(*p));
  if(!p)
    return MFU_E_NOMEM;
  p->base.store = s;
  p->fs = fs;
  p->fd = -1;
  p->w[0].p = p->w[1].p = p;
  p->w[1].idx = 1;
  p->w[1].fd = -1;
  p->nwriters = 1;
  p->nslots = fs->tune.slots;
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->cv, NULL);
  p->slot = calloc(p->nslots, sizeof(*p->slot));
  p->fill = calloc(p->nslots, sizeof(*p->fill));
  p->md = EVP_MD_CTX_new();
  if(fs->tune.first && fs->tune.first < fs->tune.slot_size) {
    p->small = fs->tune.first;
    if(p->slot)
      p->slot[0] = malloc(p->small);
  }
  if(!p->slot || !p->fill || !p->md || (p->small && !p->slot[0])) {
    put_free(p);
    return MFU_E_NOMEM;
  }
  if(EVP_DigestInit_ex(p->md, EVP_sha256(), NULL) != 1) {
    put_free(p);
    return MFU_E_INTERNAL;
  }
  rc = open_tmp(p);
  if(rc) {
    if(p->fd >= 0 && !p->anon)
      unlinkat(fs->tmpfd, p->name, 0);
    put_free(p);
    return rc;
  }
  *out = &p->base;
  return MFU_OK;
}

/* The blob outgrew its heap buffer: move what it holds to a slot. */
static int grow_first(struct fs_put *p)
{
  unsigned char *b = slot_take(p->fs);

  if(!b)
    return MFU_E_NOMEM;
  memcpy(b, p->slot[0], p->cur);
  free(p->slot[0]);
  p->slot[0] = b;
  p->small = 0;
  return MFU_OK;
}

static int fs_put_write(struct mfu_store_put *w, const void *buf, size_t len)
{
  struct fs_put *p = (struct fs_put *)w;
  const unsigned char *src = buf;
  size_t room = p->fs->tune.slot_size;

  if(p->failed)
    return p->failed;
  while(len) {
    unsigned i = (unsigned)(p->prod % p->nslots);
    size_t n;

    if(p->small && p->cur == p->small) {
      p->failed = grow_first(p);
      if(p->failed)
        return p->failed;
    }
    /* Slots are taken when first reached, so a small blob holds its heap
     * buffer only and a large one at most nslots. */
    if(!p->slot[i]) {
      p->slot[i] = slot_take(p->fs);
      if(!p->slot[i]) {
        p->failed = MFU_E_NOMEM;
        return p->failed;
      }
    }
    n = (p->small ? p->small : room) - p->cur;
    if(n > len)
      n = len;
    memcpy(p->slot[i] + p->cur, src, n);
    p->cur += n;
    p->size += n;
    src += n;
    len -= n;
    if(p->cur == room) {
      int rc = hand_over(p, 0);
      if(rc) {
        p->failed = rc;
        return rc;
      }
    }
  }
  return MFU_OK;
}

static void fs_put_abort(struct mfu_store_put *w)
{
  struct fs_put *p = (struct fs_put *)w;

  if(p->nthreads) {
    set_err(p, MFU_E_INTERNAL);
    stop_workers(p);
  }
  if(!p->anon && p->name[0])
    unlinkat(p->fs->tmpfd, p->name, 0);
  put_free(p);
}

/* mkdir name under parent, and fsync parent if it was created, so that the
 * blob's path survives a crash with the blob. */
static int mkdir_durable(int parent, const char *name)
{
  if(mkdirat(parent, name, 0755) == 0)
    return fsync(parent) ? err_from_errno(errno) : MFU_OK;
  return errno == EEXIST ? MFU_OK : err_from_errno(errno);
}

/* Open (creating) sha256/ab/cd for the blob hex.  Most puts find it:
 * one lookup, and no lock on a parent directory.  synced = 0: a leaf
 * made here is not fsynced, for a caller whose syncfs will cover it (a
 * young store makes a leaf for nearly every blob: that fsync was a third
 * of the cost of a small upload). */
static int open_leaf(struct fs_store *fs, const char *hex, int synced,
                     int *leaf)
{
  char ab[3] = {hex[0], hex[1], '\0'}, cd[3] = {hex[2], hex[3], '\0'};
  char path[6] = {hex[0], hex[1], '/', hex[2], hex[3], '\0'};
  int abfd, rc;

  *leaf = openat(fs->shafd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if(*leaf >= 0)
    return MFU_OK;
  if(errno != ENOENT)
    return err_from_errno(errno);
  abfd = openat(fs->shafd, ab, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if(abfd < 0 && errno == ENOENT) {
    /* Made at open, unless someone removed it since. */
    rc = mkdir_durable(fs->shafd, ab);
    if(rc)
      return rc;
    abfd = openat(fs->shafd, ab, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  }
  if(abfd < 0)
    return err_from_errno(errno);
  if(synced)
    rc = mkdir_durable(abfd, cd);
  else
    rc = mkdirat(abfd, cd, 0755) == 0 || errno == EEXIST
             ? MFU_OK : err_from_errno(errno);
  if(!rc) {
    *leaf = openat(abfd, cd, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if(*leaf < 0)
      rc = err_from_errno(errno);
  }
  close(abfd);
  return rc;
}

/* Link the named temporary file at its address without replacing
 * anything: 0, or -1 with errno (EEXIST when the address is taken). */
static int link_noreplace(int tmpfd, const char *name, int leaf,
                          const char *hex)
{
  if(renameat2(tmpfd, name, leaf, hex, RENAME_NOREPLACE) == 0)
    return 0;
  if(errno != EINVAL && errno != ENOSYS)
    return -1;
  /* No RENAME_NOREPLACE here: link() never replaces either. */
  if(linkat(tmpfd, name, leaf, hex, 0))
    return -1;
  unlinkat(tmpfd, name, 0);
  return 0;
}

/* Give the unnamed file its address; like link_noreplace.  AT_EMPTY_PATH
 * wants CAP_DAC_READ_SEARCH; /proc/self/fd works for any user. */
static int link_anon(struct fs_put *p, int leaf, const char *hex)
{
  struct fs_store *fs = p->fs;
  char proc[32];

  if(!__atomic_load_n(&fs->no_empty_path, __ATOMIC_RELAXED)) {
    if(linkat(p->fd, "", leaf, hex, AT_EMPTY_PATH) == 0)
      return 0;
    if(errno != ENOENT && errno != EPERM && errno != EINVAL)
      return -1;
    __atomic_store_n(&fs->no_empty_path, 1, __ATOMIC_RELAXED);
  }
  snprintf(proc, sizeof(proc), "/proc/self/fd/%d", p->fd);
  return linkat(AT_FDCWD, proc, leaf, hex, AT_SYMLINK_FOLLOW);
}

/*
 * Move the temporary file to its address unless it is taken; *created
 * says which.  A blob found there gets its mtime refreshed: gc removes
 * only unreferenced blobs older than its grace period, so a blob a put
 * has just relied on is not collected under it.  If the blob vanishes
 * between the two steps (a delete), the rename is tried again.
 */
static int place(struct fs_put *p, int leaf, const char *hex, int *created)
{
  int tmpfd = p->fs->tmpfd, tries, rc;

  for(tries = 0; tries < 4; tries++) {
    if(p->anon)
      rc = link_anon(p, leaf, hex);
    else
      rc = link_noreplace(tmpfd, p->name, leaf, hex);
    if(rc == 0) {
      *created = 1;
      return MFU_OK;
    }
    if(errno != EEXIST)
      return err_from_errno(errno);
    if(utimensat(leaf, hex, NULL, 0) == 0) {
      if(!p->anon)
        unlinkat(tmpfd, p->name, 0);
      *created = 0;
      return MFU_OK;
    }
    if(errno != ENOENT)
      return err_from_errno(errno);
  }
  return MFU_E_IO;
}

/*
 * The link raised the file's link count from 0, and that count lives in
 * its inode, not in the directory: on a file system without a journal
 * (ext4 -O ^has_journal) fsyncing the directory writes the entry, not the
 * inode, and after a crash fsck would take an entry to an inode with no
 * links for a deleted file and drop the blob.  link(2) does not mark the
 * inode dirty for fsync, so touch the mtime first (the blob's mtime is its
 * creation time anyway).  With a journal both ride in one commit.
 */
static int sync_link_count(struct fs_put *p)
{
  if(futimens(p->fd, NULL) || fsync(p->fd))
    return err_from_errno(errno);
  return MFU_OK;
}

/* Every byte hashed and written, the workers gone, the ring given back;
 * p->hex is the address. */
static int seal(struct fs_put *p)
{
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned mdlen = 0;
  int rc = p->failed;

  if(!rc)
    rc = hand_over(p, 1);
  if(p->nthreads)
    stop_workers(p);
  if(!rc)
    rc = p->err;
  if(rc)
    return rc;
  if(EVP_DigestFinal_ex(p->md, md, &mdlen) != 1 || mdlen != 32)
    return MFU_E_INTERNAL;
  mfu_hex(md, 32, p->hex);
  release_ring(p);
  return MFU_OK;
}

static int finish(struct fs_put *p, char *hex, int *created)
{
  int rc, leaf = -1;

  rc = seal(p);
  if(rc)
    return rc;
  memcpy(hex, p->hex, MFU_SHA256_HEX);
  if(fdatasync(p->fd))
    return err_from_errno(errno);
  rc = open_leaf(p->fs, hex, 1, &leaf);
  if(!rc)
    rc = place(p, leaf, hex, created);
  if(!rc && p->anon && *created)
    rc = sync_link_count(p);
  /* Also when the blob was there: a concurrent put may have renamed it
   * and not yet made the name durable, and our caller is about to point
   * a catalog row at it. */
  if(!rc && fsync(leaf))
    rc = err_from_errno(errno);
  if(leaf >= 0)
    close(leaf);
  return rc;
}

static int fs_put_commit(struct mfu_store_put *w, char *sha256_hex,
                         uint64_t *size, int *created)
{
  struct fs_put *p = (struct fs_put *)w;
  char hex[MFU_SHA256_HEX];
  int rc, made = 0;

  rc = finish(p, hex, &made);
  if(rc) {
    fs_put_abort(w);
    return rc;
  }
  memcpy(sha256_hex, hex, MFU_SHA256_HEX);
  if(size)
    *size = p->size;
  if(created)
    *created = made;
  put_free(p);
  return MFU_OK;
}

/* --- batches ------------------------------------------------------------ */

/*
 * A syncfs(2) that starts after this call.  Callers that come while one
 * runs wait for the next and share it, so N concurrent batches cost about
 * two syncs, not N.  syncfs writes back every dirty inode of the file
 * system (unnamed files too) and flushes the disk cache once; per-file
 * fsync flushes it once per file.  Its price is that it also writes what
 * others left dirty on the same file system: a store on its own file
 * system pays only for itself.
 */
static int sync_shared(struct fs_store *fs)
{
  uint64_t want, gen;
  int rc;

  pthread_mutex_lock(&fs->sync_mu);
  want = fs->sync_started + 1;  /* a running sync started too early */
  while(fs->sync_done < want) {
    if(fs->sync_running) {
      /* Only the waiters a finished sync serves are woken, and one of
       * those for the next to lead it: not all of them every time. */
      fs->sync_waiting[want & 1]++;
      pthread_cond_wait(&fs->sync_cv[want & 1], &fs->sync_mu);
      fs->sync_waiting[want & 1]--;
      continue;
    }
    fs->sync_running = 1;
    gen = ++fs->sync_started;
    pthread_mutex_unlock(&fs->sync_mu);
    rc = syncfs(fs->dirfd) ? err_from_errno(errno) : MFU_OK;
    pthread_mutex_lock(&fs->sync_mu);
    fs->sync_running = 0;
    fs->sync_done = gen;
    if(rc) {
      fs->sync_failed = gen;
      fs->sync_err = rc;
    }
    pthread_cond_broadcast(&fs->sync_cv[gen & 1]);
    if(fs->sync_waiting[(gen + 1) & 1])
      pthread_cond_signal(&fs->sync_cv[(gen + 1) & 1]);
  }
  rc = fs->sync_failed >= want ? fs->sync_err : MFU_OK;
  pthread_mutex_unlock(&fs->sync_mu);
  return rc;
}

static int fs_put_seal(struct mfu_store_put *w, char *sha256_hex,
                       uint64_t *size)
{
  struct fs_put *p = (struct fs_put *)w;
  int rc = seal(p);

  if(rc) {
    fs_put_abort(w);
    return rc;
  }
  memcpy(sha256_hex, p->hex, MFU_SHA256_HEX);
  *size = p->size;
  return MFU_OK;
}

/* Give a sealed put its address (its bytes are durable by now). */
static int link_sealed(struct fs_put *p, int *created)
{
  int leaf = -1, rc;

  rc = open_leaf(p->fs, p->hex, 0, &leaf);
  if(!rc)
    rc = place(p, leaf, p->hex, created);
  if(!rc && !p->anon)
    p->name[0] = '\0';  /* renamed, or removed as a duplicate */
  /* The new link count must reach the disk with the name: see
   * sync_link_count. */
  if(!rc && p->anon && *created && futimens(p->fd, NULL))
    rc = err_from_errno(errno);
  if(leaf >= 0)
    close(leaf);
  return rc;
}

static int fs_sync(struct mfu_store *s)
{
  return sync_shared((struct fs_store *)s);
}

/*
 * The order of put_commit, batched: every blob's bytes durable, then the
 * names, then the names durable.  An address never names bytes a crash
 * could lose, so a blob found at its address can be trusted.  A name
 * this batch found already there is made durable by the second sync as
 * well: its creator may not have synced it yet.
 */
static int fs_publish(struct mfu_store *s, struct mfu_store_put **w,
                      size_t n, int *created, unsigned flags)
{
  struct fs_store *fs = (struct fs_store *)s;
  size_t i;
  int rc;

  for(i = 0; i < n; i++)
    created[i] = 0;
  rc = sync_shared(fs);
  for(i = 0; i < n && !rc; i++)
    rc = link_sealed((struct fs_put *)w[i], &created[i]);
  if(!rc && !(flags & MFU_STORE_SYNC_LATER))
    rc = sync_shared(fs);
  for(i = 0; i < n; i++)
    fs_put_abort(w[i]);   /* linked or not, the put itself goes */
  return rc;
}

/* --- reading and managing ---------------------------------------------- */

static int fs_stat(struct mfu_store *s, const char *hex,
                   struct mfu_store_stat *st)
{
  struct fs_store *fs = (struct fs_store *)s;
  char path[PATH_LEN];
  struct stat sb;

  blob_path(hex, path);
  if(fstatat(fs->shafd, path, &sb, 0))
    return errno == ENOENT ? MFU_E_NOTFOUND : err_from_errno(errno);
  st->size = (uint64_t)sb.st_size;
  st->mtime = sb.st_mtime;
  return MFU_OK;
}

static int fs_read_open(struct mfu_store *s, const char *hex,
                        uint64_t offset, uint64_t len,
                        struct mfu_store_reader **out)
{
  struct fs_store *fs = (struct fs_store *)s;
  char path[PATH_LEN];
  struct fs_reader *r;
  struct stat sb;
  uint64_t size;

  r = calloc(1, sizeof(*r));
  if(!r)
    return MFU_E_NOMEM;
  r->base.store = s;
  blob_path(hex, path);
  r->fd = openat(fs->shafd, path, O_RDONLY | O_CLOEXEC);
  if(r->fd < 0 || fstat(r->fd, &sb)) {
    int rc = errno == ENOENT ? MFU_E_NOTFOUND : err_from_errno(errno);
    if(r->fd >= 0)
      close(r->fd);
    free(r);
    return rc;
  }
  size = (uint64_t)sb.st_size;
  r->pos = offset < size ? offset : size;
  r->end = len < size - r->pos ? r->pos + len : size;
  posix_fadvise(r->fd, (off_t)r->pos, (off_t)(r->end - r->pos),
                POSIX_FADV_SEQUENTIAL);
  *out = &r->base;
  return MFU_OK;
}

static int fs_read(struct mfu_store_reader *rd, void *buf, size_t cap,
                   size_t *n)
{
  struct fs_reader *r = (struct fs_reader *)rd;
  ssize_t got;

  if(cap > r->end - r->pos)
    cap = (size_t)(r->end - r->pos);
  if(!cap)
    return MFU_OK;
  do
    got = pread(r->fd, buf, cap, (off_t)r->pos);
  while(got < 0 && errno == EINTR);
  if(got < 0)
    return err_from_errno(errno);
  if(got == 0)
    return MFU_E_CORRUPT;   /* shorter than when it was opened */
  r->pos += (uint64_t)got;
  *n = (size_t)got;
  return MFU_OK;
}

static void fs_reader_close(struct mfu_store_reader *rd)
{
  struct fs_reader *r = (struct fs_reader *)rd;

  close(r->fd);
  free(r);
}

static int fs_del(struct mfu_store *s, const char *hex)
{
  struct fs_store *fs = (struct fs_store *)s;
  char path[PATH_LEN];

  /* The fan-out directories stay: removing one could race a put that has
   * just created it and is about to rename into it. */
  blob_path(hex, path);
  if(unlinkat(fs->shafd, path, 0) && errno != ENOENT)
    return err_from_errno(errno);
  return MFU_OK;
}

static int is_hex(const char *s, size_t n)
{
  size_t i;

  for(i = 0; i < n; i++) {
    if(!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
      return 0;
  }
  return s[n] == '\0';
}

static DIR *open_dir_at(int parent, const char *name)
{
  int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *d;

  if(fd < 0)
    return NULL;
  d = fdopendir(fd);
  if(!d)
    close(fd);
  return d;
}

struct list_ctx {
  int (*fn)(void *cls, const char *hex, const struct mfu_store_stat *st);
  void *cls;
};

/* List the blobs in one sha256/ab/cd directory. */
static int list_leaf(DIR *d, const char *ab, const char *cd,
                     struct list_ctx *lc)
{
  struct dirent *e;
  int rc = 0;

  while(!rc && (e = readdir(d))) {
    struct mfu_store_stat st;
    struct stat sb;

    if(!is_hex(e->d_name, 64) || memcmp(e->d_name, ab, 2) ||
       memcmp(e->d_name + 2, cd, 2))
      continue;
    if(fstatat(dirfd(d), e->d_name, &sb, AT_SYMLINK_NOFOLLOW) ||
       !S_ISREG(sb.st_mode))
      continue;   /* deleted meanwhile, or not ours */
    st.size = (uint64_t)sb.st_size;
    st.mtime = sb.st_mtime;
    rc = lc->fn(lc->cls, e->d_name, &st);
  }
  return rc;
}

static int fs_list(struct mfu_store *s,
                   int (*fn)(void *cls, const char *hex,
                             const struct mfu_store_stat *st),
                   void *cls)
{
  struct fs_store *fs = (struct fs_store *)s;
  struct list_ctx lc = {fn, cls};
  struct dirent *e1, *e2;
  DIR *top, *mid, *leaf;
  int rc = 0;

  top = open_dir_at(fs->shafd, ".");
  if(!top)
    return err_from_errno(errno);
  while(!rc && (e1 = readdir(top))) {
    if(!is_hex(e1->d_name, 2) || !(mid = open_dir_at(dirfd(top), e1->d_name)))
      continue;
    while(!rc && (e2 = readdir(mid))) {
      if(!is_hex(e2->d_name, 2) ||
         !(leaf = open_dir_at(dirfd(mid), e2->d_name)))
        continue;
      rc = list_leaf(leaf, e1->d_name, e2->d_name, &lc);
      closedir(leaf);
    }
    closedir(mid);
  }
  closedir(top);
  return rc;
}

static int fs_sweep_tmp(struct mfu_store *s, time_t max_age,
                        unsigned *removed)
{
  struct fs_store *fs = (struct fs_store *)s;
  time_t now = time(NULL);
  struct dirent *e;
  DIR *d;

  d = open_dir_at(fs->tmpfd, ".");
  if(!d)
    return err_from_errno(errno);
  while((e = readdir(d))) {
    struct stat sb;
    int fd;

    if(e->d_name[0] == '.')
      continue;
    fd = openat(fs->tmpfd, e->d_name,
                O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if(fd < 0)
      continue;
    /* A live put holds the lock whatever its age (a slow client). */
    if(!fstat(fd, &sb) && S_ISREG(sb.st_mode) &&
       now - sb.st_mtime >= max_age && !flock(fd, LOCK_EX | LOCK_NB) &&
       !unlinkat(fs->tmpfd, e->d_name, 0))
      (*removed)++;
    close(fd);
  }
  closedir(d);
  return MFU_OK;
}

static int fs_ping(struct mfu_store *s)
{
  struct fs_store *fs = (struct fs_store *)s;
  struct stat a, b;

  /* A directory removed under us keeps its fd but loses its links. */
  if(fstat(fs->tmpfd, &a) || fstat(fs->shafd, &b) || !a.st_nlink ||
     !b.st_nlink)
    return MFU_E_UNAVAILABLE;
  return MFU_OK;
}

static void fs_close(struct mfu_store *s)
{
  struct fs_store *fs = (struct fs_store *)s;

  while(fs->nspare)
    free(fs->spare[--fs->nspare]);
  free(fs->spare);
  pthread_mutex_destroy(&fs->mu);
  pthread_mutex_destroy(&fs->sync_mu);
  pthread_cond_destroy(&fs->sync_cv[0]);
  pthread_cond_destroy(&fs->sync_cv[1]);
  if(fs->shafd >= 0)
    close(fs->shafd);
  if(fs->tmpfd >= 0)
    close(fs->tmpfd);
  if(fs->dirfd >= 0)
    close(fs->dirfd);
  free(fs);
}

static const struct store_ops fs_ops = {
  .close = fs_close,
  .ping = fs_ping,
  .put_begin = fs_put_begin,
  .put_write = fs_put_write,
  .put_commit = fs_put_commit,
  .put_abort = fs_put_abort,
  .put_seal = fs_put_seal,
  .publish = fs_publish,
  .sync = fs_sync,
  .stat = fs_stat,
  .read_open = fs_read_open,
  .read = fs_read,
  .reader_close = fs_reader_close,
  .del = fs_del,
  .list = fs_list,
  .sweep_tmp = fs_sweep_tmp,
};

/* --- opening ----------------------------------------------------------- */

/* mkdir -p dir; each directory created is made durable in its parent. */
static int mkdir_p(const char *dir)
{
  char *path = strdup(dir);
  char *p;
  int rc = MFU_OK;

  if(!path)
    return MFU_E_NOMEM;
  for(p = path + 1; ; p++) {
    if(*p == '/' || *p == '\0') {
      char save = *p;
      *p = '\0';
      if(mkdir(path, 0755) && errno != EEXIST) {
        rc = err_from_errno(errno);
        break;
      }
      *p = save;
      if(!save)
        break;
    }
  }
  free(path);
  return rc;
}

/*
 * Measured with store_bench, 1 GiB, medians of 5 alternated rounds on the
 * 2-core reference machine, whose disk swings between 2.3 and 0.7 GB/s of
 * direct writes: hashing and buffered writing inline 2.05-3.67 s; one
 * worker, O_DIRECT, 4 x 2 MiB 1.21 s; hasher + one writer, O_DIRECT,
 * 4 x 1 MiB 0.67 s when the disk is fast (the SHA-256 rate, the bound),
 * 1.51 s when slow, where hasher + two writers made 1.38 s (two direct
 * writes in flight: dd showed 1.7 GB/s for two streams against 1.2 for
 * one); 8 x 256 KiB slots are slower (small direct writes); buffered
 * workers 1.78 s (writeback at fsync).  4 MiB of ring per large put; a
 * 1 MiB slot is an mmap'd allocation whose pages a small blob only
 * touches as far as its bytes go.
 */
void store_fs_tuning_default(struct store_fs_tuning *t)
{
  t->slots = 4;
  t->slot_size = 1024 * 1024;
  t->threads = 3;
  t->direct = 1;
  t->tmpfile = 1;
  t->first = 64 * 1024;
  t->spare = 8;
}

/* Make sha256/00 .. sha256/ff, so that a put creates at most its leaf:
 * every first-level mkdir was an fsync of sha256/ and a lock on it.  ff
 * is made last, so its presence says the rest are there; a put still
 * makes a missing one.  Failing here (a read-only store) is not fatal. */
static void make_fanout(int shafd)
{
  char ab[3];
  int i, made = 0;

  if(!faccessat(shafd, "ff", F_OK, 0))
    return;
  for(i = 0; i < 256; i++) {
    snprintf(ab, sizeof(ab), "%02x", i);
    if(mkdirat(shafd, ab, 0755) == 0)
      made = 1;
    else if(errno != EEXIST)
      return;
  }
  if(made)
    fsync(shafd);
}

int store_fs_open_tuned(const char *dir, const struct store_fs_tuning *t,
                        struct mfu_store **out)
{
  struct fs_store *fs;
  int rc;

  if(!dir || !*dir || t->slots < 2 || t->slots > 64 || !t->slot_size ||
     t->slot_size % ALIGN || t->threads < 0 || t->threads > 3 ||
     t->spare > 64)
    return MFU_E_INVAL;
  rc = mkdir_p(dir);
  if(rc)
    return rc;
  fs = calloc(1, sizeof(*fs));
  if(!fs)
    return MFU_E_NOMEM;
  fs->base.ops = &fs_ops;
  fs->tune = *t;
  fs->dirfd = fs->tmpfd = fs->shafd = -1;
  pthread_mutex_init(&fs->mu, NULL);
  pthread_mutex_init(&fs->sync_mu, NULL);
  pthread_cond_init(&fs->sync_cv[0], NULL);
  pthread_cond_init(&fs->sync_cv[1], NULL);
  fs->spare = calloc(t->spare ? t->spare : 1, sizeof(*fs->spare));
  if(!fs->spare) {
    rc = MFU_E_NOMEM;
    goto fail;
  }
  fs->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if(fs->dirfd < 0) {
    rc = err_from_errno(errno);
    goto fail;
  }
  rc = mkdir_durable(fs->dirfd, "tmp");
  if(!rc)
    rc = mkdir_durable(fs->dirfd, "sha256");
  if(rc)
    goto fail;
  fs->tmpfd = openat(fs->dirfd, "tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  fs->shafd = openat(fs->dirfd, "sha256",
                     O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if(fs->tmpfd < 0 || fs->shafd < 0) {
    rc = err_from_errno(errno);
    goto fail;
  }
  make_fanout(fs->shafd);
  *out = &fs->base;
  return MFU_OK;
fail:
  fs_close(&fs->base);
  return rc;
}

int mfu_store_fs_open(const char *rest, struct mfu_store **out)
{
  struct store_fs_tuning t;

  store_fs_tuning_default(&t);
  return store_fs_open_tuned(rest, &t, out);
}
