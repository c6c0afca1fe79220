/*
 * store_fs.h - tuning of the file store, for its tests and its benchmark
 * (the server uses mfu_store_open with the defaults).
 */
#ifndef MFU_STORE_FS_H
#define MFU_STORE_FS_H

#include <stddef.h>

#include "mfu_store.h"

struct store_fs_tuning {
  unsigned slots;      /* buffers in a put's ring, 2..64 */
  size_t slot_size;    /* bytes per buffer, a multiple of 4096 */
  int threads;         /* 0: hash and write on the caller's thread;
                          1: one worker hashes and writes;
                          2: one worker hashes, another writes;
                          3: one hashes, two write alternate slots */
  int direct;          /* write full buffers with O_DIRECT when the file
                          system allows it (no page cache, no writeback
                          storm at fsync) */
  int tmpfile;         /* 1: write into an unnamed file (O_TMPFILE) and
                          link it at its address, where the file system
                          has them; 0: a named file in DIR/tmp renamed
                          into place (also the fallback) */
  size_t first;        /* a put starts in a heap buffer this large and
                          takes a slot only when the blob outgrows it;
                          0: a slot from the first byte */
  unsigned spare;      /* freed slots the store keeps for later puts,
                          0..64, so steady state maps no memory */
};

/* The defaults mfu_store_open uses. */
void store_fs_tuning_default(struct store_fs_tuning *t);

/* Open a file store at dir with explicit tuning. */
int store_fs_open_tuned(const char *dir, const struct store_fs_tuning *t,
                        struct mfu_store **out);

#endif
