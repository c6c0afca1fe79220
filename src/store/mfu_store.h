/*
 * mfu_store.h - durable, content-addressed blob storage.
 *
 * A blob is named by the SHA-256 of its bytes (64 lower-case hex digits) and
 * lives under the key "sha256/<h[0:2]>/<h[2:4]>/<h>".  Identical bytes are
 * stored once.  Backends: file://DIR (POSIX files) and s3://BUCKET?...
 * (S3-compatible object stores).  One struct mfu_store is shared by all
 * threads of a server; every call on it is thread-safe.
 *
 * Writing is a stream: put_begin, any number of put_write, then exactly one
 * of put_commit or put_abort, which also frees the put.  The store hashes the
 * bytes as they arrive; put_commit makes the blob durable under its address
 * (file store: fdatasync an unnamed O_TMPFILE, link it to its address,
 * fsync it and the directory) before it returns.  put_abort (also the
 * path for a client that disconnects) leaves nothing behind.  A request
 * with many files uses a batch instead of put_commit (below).
 */
#ifndef MFU_STORE_H
#define MFU_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "mfu_err.h"

#define MFU_SHA256_HEX 65 /* 64 hex digits and a NUL */

struct mfu_store;
struct mfu_store_put;
struct mfu_store_reader;

/*
 * Open the store at url: "file://DIR" (DIR relative or absolute; created
 * with its tmp/ and sha256/ folders if missing) or "s3://BUCKET?endpoint=
 * URL&region=R&path_style=1".  On success *out is owned by the caller and
 * freed with mfu_store_close().
 * Returns MFU_OK, MFU_E_INVAL (bad url), MFU_E_IO or MFU_E_UNAVAILABLE.
 */
int mfu_store_open(const char *url, struct mfu_store **out);
void mfu_store_close(struct mfu_store *s);

/* Check the store answers (healthz); MFU_OK or MFU_E_UNAVAILABLE. */
int mfu_store_ping(struct mfu_store *s);

/*
 * Start writing a blob.  content_type (may be NULL) is recorded where the
 * backend can (S3 object metadata).  *out is freed by put_commit/put_abort.
 */
int mfu_store_put_begin(struct mfu_store *s, const char *content_type,
                        struct mfu_store_put **out);

/* Append len bytes.  MFU_OK, MFU_E_IO, MFU_E_NOSPACE, MFU_E_UNAVAILABLE.
 * On error the caller still calls put_abort. */
int mfu_store_put_write(struct mfu_store_put *w, const void *buf,
                        size_t len);

/*
 * Finish the blob: on MFU_OK it is durable under its address, sha256_hex
 * (MFU_SHA256_HEX bytes) holds its address, *size its length, and *created
 * is 1 if this call created it, 0 if identical bytes were already stored
 * (those are durable too, and their mtime is refreshed, so a gc that
 * spares blobs younger than a grace period spares them).
 * On error nothing is left behind.  Frees w either way.
 */
int mfu_store_put_commit(struct mfu_store_put *w, char *sha256_hex,
                         uint64_t *size, int *created);

/*
 * Batches: the same outcome as put_commit for many puts, with the syncs
 * shared.  batch_add finishes a put's bytes and hash (sha256_hex and
 * *size are known when it returns) and takes the put over; batch_publish
 * then makes every added blob durable under its address at once (file
 * store: one syncfs(2) of the data, every link, one syncfs of the names,
 * each shared with the batches of other threads), fills created[i] for
 * the i-th put added since the last publish, and empties the batch.
 * A backend without batches (S3, whose PUT is durable) commits in
 * batch_add and publish only reports.  Until publish returns MFU_OK an
 * added blob may not be at its address; afterwards the rules of
 * put_commit hold.  If publish fails, created[i] = 1 still marks the
 * blobs it linked, which the caller deletes as it would a committed
 * blob it no longer wants; nothing else is left.
 * On batch_add failure the put is freed and leaves nothing.
 * batch_abort drops what was added since the last publish and, like a
 * failed publish, fills created[i] for blobs already at their address
 * (only a backend without batches has any).  batch_free drops the rest.
 * batch_new's *out is the caller's, freed with batch_free; one thread
 * uses a batch at a time, but it may hand it to another (mfud publishes
 * on a thread of the request).
 */
struct mfu_store_batch;

int mfu_store_batch_new(struct mfu_store *s, struct mfu_store_batch **out);
int mfu_store_batch_add(struct mfu_store_batch *b, struct mfu_store_put *w,
                        char *sha256_hex, uint64_t *size);
/* Puts added and not yet published. */
size_t mfu_store_batch_count(const struct mfu_store_batch *b);
int mfu_store_batch_publish(struct mfu_store_batch *b, int *created,
                            unsigned flags);
/* A publish flag: the names may wait for mfu_store_sync.  The blobs are
 * at their addresses (readable) and their bytes durable when publish
 * returns, but a crash may still lose the names; a request with several
 * batches then pays one sync per batch plus one, not two per batch. */
#define MFU_STORE_SYNC_LATER 1u

void mfu_store_batch_abort(struct mfu_store_batch *b, int *created);
/* NULL is fine. */
void mfu_store_batch_free(struct mfu_store_batch *b);

/* Make durable every name published (or found) before this call, by any
 * thread: the sync a publish with MFU_STORE_SYNC_LATER left out.  Shared
 * with concurrent callers like the syncs of publish. */
int mfu_store_sync(struct mfu_store *s);

/* Forget the blob being written; removes its temporary data.  Frees w.
 * Safe to call with NULL. */
void mfu_store_put_abort(struct mfu_store_put *w);

/* Information about a stored blob. */
struct mfu_store_stat {
  uint64_t size;
  time_t mtime;
};

/* MFU_OK and *st filled, MFU_E_NOTFOUND, or an I/O error code. */
int mfu_store_stat(struct mfu_store *s, const char *sha256_hex,
                   struct mfu_store_stat *st);

/*
 * Open bytes [offset, offset + len) of a blob for reading; len may run past
 * the end (it is clipped).  *out is freed with mfu_store_reader_close.
 */
int mfu_store_read_open(struct mfu_store *s, const char *sha256_hex,
                        uint64_t offset, uint64_t len,
                        struct mfu_store_reader **out);

/* Read up to cap bytes into buf; *n is 0 at the end of the range. */
int mfu_store_read(struct mfu_store_reader *r, void *buf, size_t cap,
                   size_t *n);
void mfu_store_reader_close(struct mfu_store_reader *r);

/* Remove a blob; MFU_OK also when it was not there. */
int mfu_store_delete(struct mfu_store *s, const char *sha256_hex);

/*
 * Call fn for every stored blob (for gc).  fn returns 0 to go on, non-zero
 * to stop (then returned).  Blobs added during the walk may be missed.
 */
int mfu_store_list(struct mfu_store *s,
                   int (*fn)(void *cls, const char *sha256_hex,
                             const struct mfu_store_stat *st),
                   void *cls);

/*
 * Remove temporary data (unfinished puts) older than max_age seconds, left
 * by a crash.  *removed counts what went.
 */
int mfu_store_sweep_tmp(struct mfu_store *s, time_t max_age,
                        unsigned *removed);

#endif
