/*
 * items.c - GET /v1/items/{id}, GET /v1/items?username=U, DELETE.
 *
 * With --auth token every route here acts for the token's user: an item
 * is visible and deletable to its owner only, a list holds only one's own
 * items (DESIGN.md, "Security model").
 */
#include <stdlib.h>
#include <string.h>

#include "http_impl.h"
#include "mfu_auth.h"

#define LIST_DEFAULT 20
#define LIST_MAX 100

static int id_arg(struct request *req, struct MHD_Connection *conn,
                  enum MHD_Result *r)
{
  if(mfu_oid_valid(req->arg, strlen(req->arg)))
    return 1;
  *r = respond_error(req, conn, MFU_E_NOTFOUND,
                     "no item %.40s: an item id is 24 hex digits", req->arg);
  return 0;
}

/*
 * The item of the route, if the request may see it: with --auth token
 * only its owner may, and anyone else gets the same 404 as for an id that
 * does not exist, so ids cannot be probed.  On failure the answer is
 * queued into *r and NULL returned.
 */
static struct mfu_item *item_for(struct request *req,
                                 struct MHD_Connection *conn,
                                 enum MHD_Result *r)
{
  char user[MFU_USERNAME_MAX + 1];
  struct mfu_item *item = NULL;
  struct problem p;
  int rc;

  if(!id_arg(req, conn, r))
    return NULL;
  if(req->srv->cfg->auth == MFU_AUTH_TOKEN &&
     (rc = auth_user(req, conn, &p, user, sizeof(user)))) {
    *r = respond_problem(req, conn, &p);
    return NULL;
  }
  rc = mfu_catalog_item_get(req->srv->catalog, req->arg, &item);
  if(!rc && req->srv->cfg->auth == MFU_AUTH_TOKEN &&
     strcmp(item->username, user)) {
    mfu_item_free(item);
    item = NULL;
    rc = MFU_E_NOTFOUND;
  }
  if(rc == MFU_E_NOTFOUND)
    *r = respond_error(req, conn, rc, "no item %s", req->arg);
  else if(rc)
    *r = respond_error(req, conn, rc, "the catalog cannot be read: %s",
                       mfu_strerror(rc));
  return item;
}

enum MHD_Result items_get(struct request *req, struct MHD_Connection *conn)
{
  enum MHD_Result r;
  struct mfu_item *item = item_for(req, conn, &r);
  if(!item)
    return r;
  r = respond_json(req, conn, 200, item_json(req->srv, item));
  mfu_item_free(item);
  return r;
}

static int parse_limit(const char *s, size_t *out)
{
  char *end;
  unsigned long v;
  if(!s) {
    *out = LIST_DEFAULT;
    return 1;
  }
  v = strtoul(s, &end, 10);
  if(!*s || *end || v == 0 || v > LIST_MAX || s[0] == '-' || s[0] == '+')
    return 0;
  *out = v;
  return 1;
}

enum MHD_Result items_list(struct request *req, struct MHD_Connection *conn)
{
  const char *user = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND,
                                                 "username");
  const char *after = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND,
                                                  "after");
  const char *lim = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND,
                                                "limit");
  char me[MFU_USERNAME_MAX + 1];
  struct mfu_item **items = NULL;
  struct problem p;
  size_t limit, n = 0;
  json_t *o, *arr;
  int rc;

  if(auth_request_user(req, conn, &p, user, me, sizeof(me)))
    return respond_problem(req, conn, &p);
  if(!parse_limit(lim, &limit))
    return respond_error(req, conn, MFU_E_INVAL,
                         "limit must be a whole number from 1 to %d",
                         LIST_MAX);
  if(after && !mfu_oid_valid(after, strlen(after)))
    return respond_error(req, conn, MFU_E_INVAL,
                         "after must be an item id (24 hex digits)");
  rc = mfu_catalog_item_list(req->srv->catalog, me, after, limit, &items,
                             &n);
  if(rc)
    return respond_error(req, conn, rc, "the catalog cannot be read: %s",
                         mfu_strerror(rc));
  arr = json_array();
  for(size_t i = 0; arr && i < n; i++)
    json_array_append_new(arr, item_json(req->srv, items[i]));
  o = json_pack("{s:o, s:o}", "items", arr, "next",
                n == limit ? json_string(items[n - 1]->id) : json_null());
  mfu_item_list_free(items, n);
  return respond_json(req, conn, 200, o);
}

enum MHD_Result items_delete(struct request *req, struct MHD_Connection *conn)
{
  char **orphans = NULL;
  size_t n = 0;
  enum MHD_Result r;
  struct mfu_item *item;
  int rc;

  /* Owner check first; an item's owner never changes, so the item read
   * here is the one deleted below (or already gone: 404). */
  if(!(item = item_for(req, conn, &r)))
    return r;
  mfu_item_free(item);
  rc = mfu_catalog_item_delete(req->srv->catalog, req->arg, &orphans, &n);
  if(rc == MFU_E_NOTFOUND)
    return respond_error(req, conn, rc, "no item %s", req->arg);
  if(rc)
    return respond_error(req, conn, rc, "the item cannot be deleted: %s",
                         mfu_strerror(rc));
  /* The row is gone; a blob that fails to go now is left for gc. */
  for(size_t i = 0; i < n; i++)
    blob_delete_if_unused(req->srv, orphans[i]);
  mfu_catalog_strings_free(orphans, n);
  return respond_empty(req, conn, 204, NULL, NULL);
}
