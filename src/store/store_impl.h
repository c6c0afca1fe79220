/*
 * store_impl.h - what a store backend provides (not part of the interface:
 * only store.c and the backends include it).
 *
 * store.c parses the URL scheme, calls the backend's open, and forwards
 * every mfu_store_* call through this table.  A backend embeds struct
 * mfu_store as the first member of its own store struct, and struct
 * mfu_store_put / mfu_store_reader likewise, so store.c can reach the ops.
 */
#ifndef MFU_STORE_IMPL_H
#define MFU_STORE_IMPL_H

#include "mfu_store.h"

/*
 * What store.c guarantees before an op runs: s, w and r are not NULL;
 * every sha256_hex is 64 lower-case hex digits (so it is safe in a path or
 * an object key); *out is NULL; put_write gets len > 0; read gets cap > 0
 * and *n = 0; sweep_tmp gets *removed = 0.  Ops may run on many threads
 * at once for one store, but one put or one reader is used by one thread
 * at a time.  Errors: MFU_E_NOSPACE for a full disk or quota,
 * MFU_E_UNAVAILABLE for a remote store that does not answer, MFU_E_NOMEM,
 * MFU_E_IO for the rest.
 */
struct store_ops {
  /* Release the store; every put and reader is already finished. */
  void (*close)(struct mfu_store *s);
  /* Cheap check that the store can be used (healthz). */
  int (*ping)(struct mfu_store *s);
  /* Allocate a put and whatever it writes to; content_type may be NULL. */
  int (*put_begin)(struct mfu_store *s, const char *content_type,
                   struct mfu_store_put **out);
  /* Take len bytes; buf is the caller's only during the call.  May return
   * an earlier asynchronous failure; after any error only put_abort
   * follows. */
  int (*put_write)(struct mfu_store_put *w, const void *buf, size_t len);
  /* Make the blob durable under its SHA-256, fill sha256_hex (65 bytes),
   * *size and *created (1 = this put stored it; 0 = the bytes were
   * already there, and they are durable too when this returns).  Frees w,
   * also on error, and then leaves nothing behind. */
  int (*put_commit)(struct mfu_store_put *w, char *sha256_hex,
                    uint64_t *size, int *created);
  /* Optional, both or neither (without them a batch commits each put
   * as it is added).  put_seal: finish the bytes and the hash, fill
   * sha256_hex and *size, keep w for publish; on error free w and leave
   * nothing.  publish: what mfu_store_batch_publish promises for n sealed
   * puts; frees every w. */
  int (*put_seal)(struct mfu_store_put *w, char *sha256_hex,
                  uint64_t *size);
  int (*publish)(struct mfu_store *s, struct mfu_store_put **w, size_t n,
                 int *created, unsigned flags);
  /* Optional: mfu_store_sync (without it, MFU_OK). */
  int (*sync)(struct mfu_store *s);
  /* Drop the put and its temporary data, also a sealed one; frees w. */
  void (*put_abort)(struct mfu_store_put *w);
  /* Size and mtime; MFU_E_NOTFOUND when absent. */
  int (*stat)(struct mfu_store *s, const char *sha256_hex,
              struct mfu_store_stat *st);
  /* Open [offset, offset + len) clipped to the blob (empty when offset is
   * past the end); MFU_E_NOTFOUND when absent. */
  int (*read_open)(struct mfu_store *s, const char *sha256_hex,
                   uint64_t offset, uint64_t len,
                   struct mfu_store_reader **out);
  /* Next bytes of the range, *n > 0, or *n = 0 at its end; a blob that
   * ends before the range does is MFU_E_CORRUPT. */
  int (*read)(struct mfu_store_reader *r, void *buf, size_t cap, size_t *n);
  void (*reader_close)(struct mfu_store_reader *r);
  /* Remove; MFU_OK also when absent. */
  int (*del)(struct mfu_store *s, const char *sha256_hex);
  /* Call fn for every blob; stop on its first non-zero return and return
   * that. */
  int (*list)(struct mfu_store *s,
              int (*fn)(void *cls, const char *sha256_hex,
                        const struct mfu_store_stat *st),
              void *cls);
  /* Remove temporary data older than max_age seconds that no live put
   * (of any process) owns; count it in *removed. */
  int (*sweep_tmp)(struct mfu_store *s, time_t max_age, unsigned *removed);
};

struct mfu_store {
  const struct store_ops *ops;
};

struct mfu_store_put {
  struct mfu_store *store;
};

struct mfu_store_reader {
  struct mfu_store *store;
};

/* Backends: rest is what follows "file://" or "s3://" in the URL. */
int mfu_store_fs_open(const char *rest, struct mfu_store **out);
int mfu_store_s3_open(const char *rest, struct mfu_store **out);

#endif
