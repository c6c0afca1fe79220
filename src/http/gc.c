/*
 * gc.c - `mfud gc`: remove what a crash left behind.
 *
 * The commit protocol stores blobs before the catalog row, so a crash can
 * leave only two kinds of garbage: temporary files of unfinished puts, and
 * blobs no row references.  Both are removed only when older than the grace
 * period, so a server that is storing a file right now - whose blob is not
 * yet in the catalog - never loses it to a gc running beside it.
 */
#include <stdio.h>
#include <time.h>

#include "http_impl.h"

struct sweep {
  struct mfu_catalog *catalog;
  struct mfu_store *store;
  time_t cutoff;
  unsigned seen, removed, kept_young;
  int rc;
};

static int visit(void *cls, const char *sha, const struct mfu_store_stat *st)
{
  struct sweep *s = cls;
  uint64_t refs = 0;
  int rc;
  s->seen++;
  if(st->mtime > s->cutoff) {
    s->kept_young++;
    return 0;
  }
  rc = mfu_catalog_blob_refs(s->catalog, sha, &refs);
  if(!rc && refs == 0) {
    rc = mfu_store_delete(s->store, sha);
    if(!rc)
      s->removed++;
  }
  if(rc)
    s->rc = rc;
  return 0;         /* one failure should not stop the sweep */
}

int mfu_gc(const struct mfu_config *cfg, FILE *out)
{
  struct sweep s = {0};
  unsigned tmp_removed = 0;
  int rc;

  if((rc = mfu_store_open(cfg->store, &s.store))) {
    fprintf(out, "mfud gc: cannot open store %s: %s\n", cfg->store,
            mfu_strerror(rc));
    return rc;
  }
  if((rc = mfu_catalog_open(cfg->catalog, &s.catalog))) {
    fprintf(out, "mfud gc: cannot open catalog %s: %s\n", cfg->catalog,
            mfu_strerror(rc));
    mfu_store_close(s.store);
    return rc;
  }
  s.cutoff = time(NULL) - (time_t)cfg->gc_grace;
  rc = mfu_store_sweep_tmp(s.store, (time_t)cfg->gc_grace, &tmp_removed);
  if(!rc)
    rc = mfu_store_list(s.store, visit, &s);
  if(!rc)
    rc = s.rc;
  fprintf(out,
          "mfud gc: %u temporary files removed; %u blobs seen, %u "
          "unreferenced removed, %u younger than %llus kept%s%s\n",
          tmp_removed, s.seen, s.removed, s.kept_young,
          (unsigned long long)cfg->gc_grace, rc ? "; error: " : "",
          rc ? mfu_strerror(rc) : "");
  mfu_catalog_close(s.catalog);
  mfu_store_close(s.store);
  return rc;
}
