/*
 * mfu_catalog.h - the record of items and the files they hold.
 *
 * An item is one upload: an id, a user, a text and three ordered groups of
 * files.  A file row points at a blob by its SHA-256; many items may point
 * at one blob.  Backends: sqlite://PATH (default, WAL) and
 * postgresql://... (several servers).  Both apply the same numbered
 * migrations.  One struct mfu_catalog is shared by all threads of a server;
 * every call on it is thread-safe.
 *
 * mfu_catalog_item_insert writes an item and all its files in one
 * transaction: either everything is visible afterwards or nothing is.
 */
#ifndef MFU_CATALOG_H
#define MFU_CATALOG_H

#include <stddef.h>
#include <stdint.h>

#include "mfu_err.h"

#define MFU_ID_HEX 25 /* 24 hex digits (ObjectId) and a NUL */

enum mfu_group {
  MFU_GROUP_IMAGES = 0,
  MFU_GROUP_AUDIOS = 1,
  MFU_GROUP_VIDEOS = 2,
  MFU_GROUP_COUNT = 3
};

/* "images", "audios", "videos"; NULL for an out-of-range group. */
const char *mfu_group_name(enum mfu_group g);

/* One file of an item.  Strings are NUL-terminated UTF-8. */
struct mfu_file {
  enum mfu_group group;
  unsigned index;          /* position within its group, from 0 */
  char *name;              /* display name, duration prefix removed */
  int64_t duration;        /* seconds from the filename prefix; -1 = none */
  double duration_probed;  /* seconds the media says; < 0 = unknown */
  int width, height;       /* pixels; 0 = unknown */
  char *codec;             /* NULL = unknown */
  char *content_type;      /* sniffed type */
  uint64_t size;
  char sha256[65];
  char *ext;               /* ".png" or "" - used to build URLs */
};

/* One item; owns its strings and files. */
struct mfu_item {
  char id[MFU_ID_HEX];
  char *username;
  char *text;              /* "" when the upload had none */
  int64_t created_at;      /* Unix seconds */
  struct mfu_file *files;  /* in group order, then index order */
  size_t nfiles;
  char *idem_key;          /* Idempotency-Key on insert; NULL = none.
                              Not filled by get/list. */
};

/* Free an item filled by the catalog (and the struct itself). */
void mfu_item_free(struct mfu_item *item);

struct mfu_catalog;

/*
 * Open url ("sqlite://PATH" or "postgresql://..."), apply any pending
 * migrations.  *out is freed with mfu_catalog_close.
 * Returns MFU_OK, MFU_E_INVAL, MFU_E_IO or MFU_E_UNAVAILABLE.
 */
int mfu_catalog_open(const char *url, struct mfu_catalog **out);
void mfu_catalog_close(struct mfu_catalog *c);

/* MFU_OK when the catalog answers a trivial query. */
int mfu_catalog_ping(struct mfu_catalog *c);

/* Schema version after migrations (for tests and `mfud --version`). */
int mfu_catalog_schema_version(struct mfu_catalog *c, int *version);

/*
 * Insert item and its files (and its idempotency key, if any) in one
 * transaction.  The caller keeps ownership of item.  MFU_E_EXISTS if the
 * id, the user's idempotency key or a (group, index) pair is taken,
 * MFU_E_INVAL (NULL username or file name), MFU_E_BUSY,
 * MFU_E_UNAVAILABLE, MFU_E_NOSPACE, MFU_E_IO.
 */
int mfu_catalog_item_insert(struct mfu_catalog *c,
                            const struct mfu_item *item);

/* *out is a new item (free with mfu_item_free) or MFU_E_NOTFOUND. */
int mfu_catalog_item_get(struct mfu_catalog *c, const char *id,
                         struct mfu_item **out);

/*
 * A user's items, newest first (ids sort by time), at most limit of them,
 * only those with an id lower than after (NULL for the first page).
 * *out is an array of *n items; free with mfu_item_list_free.
 */
int mfu_catalog_item_list(struct mfu_catalog *c, const char *username,
                          const char *after, size_t limit,
                          struct mfu_item ***out, size_t *n);
void mfu_item_list_free(struct mfu_item **items, size_t n);

/*
 * Delete an item in one transaction.  *orphans receives a malloc'd array of
 * *norphans malloc'd SHA-256 strings: the blobs no item references any
 * more, which the caller may now remove from the store (free with
 * mfu_catalog_strings_free).  MFU_E_NOTFOUND if there is no such item.
 */
int mfu_catalog_item_delete(struct mfu_catalog *c, const char *id,
                            char ***orphans, size_t *norphans);
void mfu_catalog_strings_free(char **v, size_t n);

/* The content type recorded for a blob (any of the rows that point at
 * it) into out (cap bytes); MFU_E_NOTFOUND when no row does. */
int mfu_catalog_blob_type(struct mfu_catalog *c, const char *sha256_hex,
                          char *out, size_t cap);

/* *refs = number of file rows that point at the blob. */
int mfu_catalog_blob_refs(struct mfu_catalog *c, const char *sha256_hex,
                          uint64_t *refs);

/*
 * Idempotency keys (a retried POST returns the first item): sets id
 * (MFU_ID_HEX bytes) if username+key was recorded less than ttl seconds
 * ago, else returns MFU_E_NOTFOUND.  Older keys are forgotten.
 */
int mfu_catalog_idem_get(struct mfu_catalog *c, const char *username,
                         const char *key, int64_t ttl, char *id);

/*
 * Users and API tokens (mfud user/token, and every authenticated request).
 * The catalog keeps only a token's SHA-256 as 64 lower-case hex digits;
 * the token itself is shown once, when it is made.
 */
struct mfu_token {
  int64_t id;
  char *username;
  char *label;             /* "" when none */
  int64_t created_at;      /* Unix seconds */
  int64_t revoked_at;      /* Unix seconds; 0 = live */
};

/* MFU_E_EXISTS if the user is there already. */
int mfu_catalog_user_add(struct mfu_catalog *c, const char *username);

/* Every username, sorted; free with mfu_catalog_strings_free. */
int mfu_catalog_user_list(struct mfu_catalog *c, char ***names, size_t *n);

/* Record a token of username by its hash; *id is its new id.
 * MFU_E_NOTFOUND if there is no such user, MFU_E_EXISTS if the hash is
 * taken. */
int mfu_catalog_token_add(struct mfu_catalog *c, const char *username,
                          const char *hash_hex, const char *label,
                          int64_t *id);

/* Tokens of username (every token when NULL) by id; *out is a malloc'd
 * array of *n, free with mfu_token_list_free. */
int mfu_catalog_token_list(struct mfu_catalog *c, const char *username,
                           struct mfu_token **out, size_t *n);
void mfu_token_list_free(struct mfu_token *v, size_t n);

/* Revoke a token from now on; MFU_E_NOTFOUND if there is no such id
 * (revoking twice keeps the first time). */
int mfu_catalog_token_revoke(struct mfu_catalog *c, int64_t id);

/* The user a live token belongs to, by the token's hash, into username
 * (cap bytes).  MFU_E_NOTFOUND for an unknown or revoked token. */
int mfu_catalog_token_user(struct mfu_catalog *c, const char *hash_hex,
                           char *username, size_t cap);

#endif
