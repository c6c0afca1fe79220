/*
 * catalog.c - pick a catalog backend by URL scheme, forward every call to
 * it, and the helpers that free what the catalog hands out.
 *
 * PostgreSQL needs catalog_pg.c (libpq); a build without it answers
 * postgresql:// with MFU_E_INVAL and a message on stderr, so a
 * misconfigured server fails at start-up.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog_impl.h"

const char *mfu_group_name(enum mfu_group g)
{
  static const char *const names[MFU_GROUP_COUNT] = {
    "images", "audios", "videos"
  };

  if((unsigned)g >= MFU_GROUP_COUNT)
    return NULL;
  return names[g];
}

void mfu_item_free(struct mfu_item *item)
{
  size_t i;

  if(!item)
    return;
  for(i = 0; i < item->nfiles; i++) {
    free(item->files[i].name);
    free(item->files[i].codec);
    free(item->files[i].content_type);
    free(item->files[i].ext);
  }
  free(item->files);
  free(item->username);
  free(item->text);
  free(item->idem_key);
  free(item);
}

void mfu_item_list_free(struct mfu_item **items, size_t n)
{
  size_t i;

  if(!items)
    return;
  for(i = 0; i < n; i++)
    mfu_item_free(items[i]);
  free(items);
}

void mfu_catalog_strings_free(char **v, size_t n)
{
  size_t i;

  if(!v)
    return;
  for(i = 0; i < n; i++)
    free(v[i]);
  free(v);
}

int mfu_catalog_open(const char *url, struct mfu_catalog **out)
{
  *out = NULL;
  if(!url)
    return MFU_E_INVAL;
  if(!strncmp(url, "sqlite://", 9))
    return mfu_catalog_sqlite_open(url + 9, out);
  if(!strncmp(url, "postgresql://", 13) || !strncmp(url, "postgres://", 11)) {
#ifdef MFU_HAVE_PG
    return mfu_catalog_pg_open(url, out);
#else
    fprintf(stderr, "mfu: catalog: this build has no PostgreSQL support\n");
    return MFU_E_INVAL;
#endif
  }
  fprintf(stderr, "mfu: catalog %s: expected sqlite://PATH or "
          "postgresql://...\n", url);
  return MFU_E_INVAL;
}

void mfu_catalog_close(struct mfu_catalog *c)
{
  if(c)
    c->ops->close(c);
}

int mfu_catalog_ping(struct mfu_catalog *c)
{
  return c->ops->ping(c);
}

int mfu_catalog_schema_version(struct mfu_catalog *c, int *version)
{
  return c->ops->schema_version(c, version);
}

int mfu_catalog_item_insert(struct mfu_catalog *c,
                            const struct mfu_item *item)
{
  return c->ops->item_insert(c, item);
}

int mfu_catalog_item_get(struct mfu_catalog *c, const char *id,
                         struct mfu_item **out)
{
  *out = NULL;
  return c->ops->item_get(c, id, out);
}

int mfu_catalog_item_list(struct mfu_catalog *c, const char *username,
                          const char *after, size_t limit,
                          struct mfu_item ***out, size_t *n)
{
  *out = NULL;
  *n = 0;
  return c->ops->item_list(c, username, after, limit, out, n);
}

int mfu_catalog_item_delete(struct mfu_catalog *c, const char *id,
                            char ***orphans, size_t *norphans)
{
  *orphans = NULL;
  *norphans = 0;
  return c->ops->item_delete(c, id, orphans, norphans);
}

int mfu_catalog_blob_refs(struct mfu_catalog *c, const char *sha256_hex,
                          uint64_t *refs)
{
  *refs = 0;
  return c->ops->blob_refs(c, sha256_hex, refs);
}

int mfu_catalog_blob_type(struct mfu_catalog *c, const char *sha256_hex,
                          char *out, size_t cap)
{
  if(!cap)
    return MFU_E_INVAL;
  out[0] = '\0';
  return c->ops->blob_type(c, sha256_hex, out, cap);
}

int mfu_catalog_idem_get(struct mfu_catalog *c, const char *username,
                         const char *key, int64_t ttl, char *id)
{
  return c->ops->idem_get(c, username, key, ttl, id);
}

void mfu_token_list_free(struct mfu_token *v, size_t n)
{
  size_t i;

  if(!v)
    return;
  for(i = 0; i < n; i++) {
    free(v[i].username);
    free(v[i].label);
  }
  free(v);
}

int mfu_catalog_user_add(struct mfu_catalog *c, const char *username)
{
  if(!username || !*username)
    return MFU_E_INVAL;
  return c->ops->user_add(c, username);
}

int mfu_catalog_user_list(struct mfu_catalog *c, char ***names, size_t *n)
{
  *names = NULL;
  *n = 0;
  return c->ops->user_list(c, names, n);
}

int mfu_catalog_token_add(struct mfu_catalog *c, const char *username,
                          const char *hash_hex, const char *label,
                          int64_t *id)
{
  *id = 0;
  if(!username || !hash_hex)
    return MFU_E_INVAL;
  return c->ops->token_add(c, username, hash_hex, label ? label : "", id);
}

int mfu_catalog_token_list(struct mfu_catalog *c, const char *username,
                           struct mfu_token **out, size_t *n)
{
  *out = NULL;
  *n = 0;
  return c->ops->token_list(c, username, out, n);
}

int mfu_catalog_token_revoke(struct mfu_catalog *c, int64_t id)
{
  return c->ops->token_revoke(c, id);
}

int mfu_catalog_token_user(struct mfu_catalog *c, const char *hash_hex,
                           char *username, size_t cap)
{
  if(!cap || !hash_hex)
    return MFU_E_INVAL;
  username[0] = '\0';
  return c->ops->token_user(c, hash_hex, username, cap);
}
