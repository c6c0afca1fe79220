/*
 * catalog_impl.h - what a catalog backend provides (only catalog.c and the
 * backends include it).
 *
 * catalog.c parses the URL scheme and forwards every mfu_catalog_* call
 * through this table.  A backend embeds struct mfu_catalog as the first
 * member of its own struct.  Both backends apply the migrations of
 * migrations.h, written once in SQL both engines accept.
 *
 * Every op may be called from many threads at once on one catalog.  Before
 * an op runs, catalog.c has cleared its out-parameters (*out = NULL,
 * *n = 0, *orphans = NULL, *norphans = 0, *refs = 0), so an op that fails
 * need not touch them.  Errors: MFU_E_BUSY for a lock held past the
 * backend's timeout, MFU_E_UNAVAILABLE when the server cannot be reached,
 * MFU_E_NOSPACE for a full disk, MFU_E_NOMEM, MFU_E_IO for the rest.
 */
#ifndef MFU_CATALOG_IMPL_H
#define MFU_CATALOG_IMPL_H

#include "mfu_catalog.h"

struct catalog_ops {
  /* Release everything; c is not NULL. */
  void (*close)(struct mfu_catalog *c);
  /* A trivial query round trip. */
  int (*ping)(struct mfu_catalog *c);
  /* MAX(version) of schema_version. */
  int (*schema_version)(struct mfu_catalog *c, int *version);
  /* items + files rows (+ idempotency row when item->idem_key) in one
   * transaction; MFU_E_EXISTS on a PRIMARY KEY conflict (id, or
   * username+key), nothing written then.  NULL text, content_type, ext
   * are stored as ""; duration < 0, duration_probed < 0, width/height 0
   * and codec NULL are stored as NULL.  MFU_E_INVAL for a NULL username
   * or file name. */
  int (*item_insert)(struct mfu_catalog *c, const struct mfu_item *item);
  /* The item and its files ordered by group, index, read in one snapshot;
   * NULL columns come back as the struct's "unknown" values.
   * MFU_E_NOTFOUND when there is no such id. */
  int (*item_get)(struct mfu_catalog *c, const char *id,
                  struct mfu_item **out);
  /* WHERE username = ? [AND id < after] ORDER BY id DESC LIMIT limit, each
   * item with its files; *out is a malloc'd array (NULL when *n is 0). */
  int (*item_list)(struct mfu_catalog *c, const char *username,
                   const char *after, size_t limit, struct mfu_item ***out,
                   size_t *n);
  /* In one transaction: remember the item's distinct sha256 values,
   * delete the item (files and idempotency rows go with it), and return
   * those no file row references any more.  MFU_E_NOTFOUND if absent. */
  int (*item_delete)(struct mfu_catalog *c, const char *id, char ***orphans,
                     size_t *norphans);
  /* COUNT(*) of file rows with this sha256. */
  int (*blob_refs)(struct mfu_catalog *c, const char *sha256_hex,
                   uint64_t *refs);
  /* content_type of any file row with this sha256, copied with its NUL
   * into out; MFU_E_NOTFOUND when none, MFU_E_INVAL if cap is short. */
  int (*blob_type)(struct mfu_catalog *c, const char *sha256_hex, char *out,
                   size_t cap);
  /* The item id of username+key if created_at >= now - ttl; an expired
   * row is deleted (with every other expired row) and MFU_E_NOTFOUND
   * returned, as when there is none. */
  int (*idem_get)(struct mfu_catalog *c, const char *username,
                  const char *key, int64_t ttl, char *id);
  /* INSERT a users row (created_at now); MFU_E_EXISTS when taken. */
  int (*user_add)(struct mfu_catalog *c, const char *username);
  /* Usernames ORDER BY username into a malloc'd array of malloc'd
   * strings (NULL when *n is 0). */
  int (*user_list)(struct mfu_catalog *c, char ***names, size_t *n);
  /* In one transaction: check the user exists (else MFU_E_NOTFOUND),
   * take id = MAX(id) + 1 and insert the row; MFU_E_EXISTS if the hash
   * (or, racing another node, the id) is taken. */
  int (*token_add)(struct mfu_catalog *c, const char *username,
                   const char *hash_hex, const char *label, int64_t *id);
  /* WHERE username = ? (all when NULL) ORDER BY id; *out malloc'd. */
  int (*token_list)(struct mfu_catalog *c, const char *username,
                    struct mfu_token **out, size_t *n);
  /* SET revoked_at = now WHERE id = ? AND revoked_at IS NULL;
   * MFU_E_NOTFOUND when no row has the id. */
  int (*token_revoke)(struct mfu_catalog *c, int64_t id);
  /* username WHERE hash = ? AND revoked_at IS NULL, copied with its NUL
   * into out; MFU_E_NOTFOUND when none, MFU_E_INVAL if cap is short. */
  int (*token_user)(struct mfu_catalog *c, const char *hash_hex, char *out,
                    size_t cap);
};

struct mfu_catalog {
  const struct catalog_ops *ops;
};

/* Backends: rest is what follows "sqlite://" or "postgresql://" (for
 * PostgreSQL the whole URL is passed, as libpq takes it). */
int mfu_catalog_sqlite_open(const char *rest, struct mfu_catalog **out);
int mfu_catalog_pg_open(const char *url, struct mfu_catalog **out);

#endif
