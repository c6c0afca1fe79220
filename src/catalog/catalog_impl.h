/*
 * catalog_impl.h - what a catalog backend provides (only catalog.c and the
 * backends include it).
 *
 * catalog.c parses the URL scheme and forwards every mfu_catalog_* call
 * through this table.  A backend embeds struct mfu_catalog as the first
 * member of its own struct.  Both backends apply the migrations of
 * migrations.h, written once in SQL both engines accept.
 */
#ifndef MFU_CATALOG_IMPL_H
#define MFU_CATALOG_IMPL_H

#include "mfu_catalog.h"

struct catalog_ops {
  void (*close)(struct mfu_catalog *c);
  int (*ping)(struct mfu_catalog *c);
  int (*schema_version)(struct mfu_catalog *c, int *version);
  int (*item_insert)(struct mfu_catalog *c, const struct mfu_item *item);
  int (*item_get)(struct mfu_catalog *c, const char *id,
                  struct mfu_item **out);
  int (*item_list)(struct mfu_catalog *c, const char *username,
                   const char *after, size_t limit, struct mfu_item ***out,
                   size_t *n);
  int (*item_delete)(struct mfu_catalog *c, const char *id, char ***orphans,
                     size_t *norphans);
  int (*blob_refs)(struct mfu_catalog *c, const char *sha256_hex,
                   uint64_t *refs);
  int (*idem_get)(struct mfu_catalog *c, const char *username,
                  const char *key, int64_t ttl, char *id);
};

struct mfu_catalog {
  const struct catalog_ops *ops;
};

/* Backends: rest is what follows "sqlite://" or "postgresql://" (for
 * PostgreSQL the whole URL is passed, as libpq takes it). */
int mfu_catalog_sqlite_open(const char *rest, struct mfu_catalog **out);
int mfu_catalog_pg_open(const char *url, struct mfu_catalog **out);

#endif
