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

struct store_ops {
  void (*close)(struct mfu_store *s);
  int (*ping)(struct mfu_store *s);
  int (*put_begin)(struct mfu_store *s, const char *content_type,
                   struct mfu_store_put **out);
  int (*put_write)(struct mfu_store_put *w, const void *buf, size_t len);
  int (*put_commit)(struct mfu_store_put *w, char *sha256_hex,
                    uint64_t *size, int *created);
  void (*put_abort)(struct mfu_store_put *w);
  int (*stat)(struct mfu_store *s, const char *sha256_hex,
              struct mfu_store_stat *st);
  int (*read_open)(struct mfu_store *s, const char *sha256_hex,
                   uint64_t offset, uint64_t len,
                   struct mfu_store_reader **out);
  int (*read)(struct mfu_store_reader *r, void *buf, size_t cap, size_t *n);
  void (*reader_close)(struct mfu_store_reader *r);
  int (*del)(struct mfu_store *s, const char *sha256_hex);
  int (*list)(struct mfu_store *s,
              int (*fn)(void *cls, const char *sha256_hex,
                        const struct mfu_store_stat *st),
              void *cls);
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
