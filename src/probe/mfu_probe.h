/*
 * mfu_probe.h - media probing in worker processes.
 *
 * FFmpeg's demuxers are the largest body of code that reads uploaded bytes,
 * and linking libavformat maps some 150 shared libraries (30 MiB of
 * resident pages) into a process.  So mfud does not run them: it keeps a
 * small pool of `mfu-probe` processes, each reading blobs straight from the
 * store, with memory and CPU limits, and killed when a probe overruns its
 * time.  A worker that crashes or hangs costs one probe (fields unknown),
 * never the server.
 *
 * Protocol on the worker's stdin/stdout, one line each way per probe:
 *   request:  GROUP SHA256 SIZE TIMEOUT_MS [TYPE]
 *   answer:   RC KNOWN DURATION WIDTH HEIGHT CODEC
 * RC is an mfu_err code (0, or MFU_E_TYPE_MISMATCH for a file that does not
 * play as its group), CODEC "-" when unknown.  TYPE is the sniffed content
 * type, a hint (see struct mfu_media_source).
 */
#ifndef MFU_PROBE_H
#define MFU_PROBE_H

#include <stddef.h>
#include <stdint.h>

#include "mfu_err.h"

struct mfu_probe_pool;

/* What a probe learnt; known = 0 leaves every field unknown. */
struct mfu_probe_result {
  int known;
  double duration;     /* seconds; < 0 unknown or a still image */
  unsigned width, height;
  char codec[32];
};

/*
 * A pool of up to workers processes running cmd (the mfu-probe program)
 * with `--store store_url`.  Workers start on first use.  *out is freed
 * with mfu_probe_pool_free, which stops them.
 */
int mfu_probe_pool_new(const char *cmd, const char *store_url,
                       unsigned workers, struct mfu_probe_pool **out);
void mfu_probe_pool_free(struct mfu_probe_pool *p);

/*
 * Probe the stored blob sha256 (size bytes) as a member of group.  Blocks
 * until a worker is free and answers, at most about timeout_ms after it
 * started.  Returns MFU_OK with *res filled (res->known 0 when the worker
 * ran out of time, crashed, or could not be started), MFU_E_TYPE_MISMATCH,
 * or the store's error code as the worker saw it.
 */
int mfu_probe_run(struct mfu_probe_pool *p, const char *group,
                  const char *sha256, uint64_t size, unsigned timeout_ms,
                  struct mfu_probe_result *res);

/* One probe of a batch: the request, then what came back (rc and res as
 * mfu_probe_run's return and *res). */
struct mfu_probe_job {
  const char *group;
  const char *sha256;
  uint64_t size;
  const char *type;   /* sniffed content type, or NULL */
  int rc;
  struct mfu_probe_result res;
};

/*
 * Run n probes with up to 16 requests in flight per worker, so a batch
 * costs the workers' time and not n round trips; a long batch is shared
 * with the workers that are idle.  Each job ends as
 * mfu_probe_run would have ended it: a worker that dies or overruns costs
 * the job it was on, and the ones queued behind it go to a fresh worker.
 */
void mfu_probe_run_many(struct mfu_probe_pool *p, struct mfu_probe_job *jobs,
                        size_t n, unsigned timeout_ms);

/*
 * Where the mfu-probe program is: $MFU_PROBE if set, else mfu-probe beside
 * the running program, else the build tree's ../probe/mfu-probe, else
 * libexecdir.  Writes into out (cap bytes); MFU_E_NOTFOUND if none is
 * executable.
 */
int mfu_probe_locate(const char *libexecdir, char *out, size_t cap);

#endif
