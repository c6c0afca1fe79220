/*
 * pending.c - blobs stored by uploads in flight, and the one place that
 * deletes blobs on the server's behalf.
 *
 * Content addressing means two requests can share a blob: request A
 * finds B's bytes already stored (created = 0) while B is still running.
 * If B then fails and removes "its" blob, A would record a row pointing at
 * nothing.  So every stored blob is registered here until its request has
 * committed or rolled back, and a blob is deleted only when it is neither
 * pending nor referenced by a catalog row, checked under one mutex.
 * The list is short: it holds the files of the uploads in flight.
 */
#include <stdlib.h>
#include <string.h>

#include "http_impl.h"

struct pending_entry {
  struct pending_entry *next;
  unsigned count;
  char sha256[MFU_SHA256_HEX];
};

int pending_init(struct pending *p)
{
  p->head = NULL;
  return pthread_mutex_init(&p->mu, NULL) ? MFU_E_INTERNAL : MFU_OK;
}

void pending_destroy(struct pending *p)
{
  while(p->head) {
    struct pending_entry *e = p->head;
    p->head = e->next;
    free(e);
  }
  pthread_mutex_destroy(&p->mu);
}

static struct pending_entry **find(struct pending *p, const char *sha)
{
  struct pending_entry **e;
  for(e = &p->head; *e; e = &(*e)->next) {
    if(!strcmp((*e)->sha256, sha))
      break;
  }
  return e;
}

int pending_add(struct pending *p, const char *sha)
{
  struct pending_entry **e;
  int rc = MFU_OK;
  pthread_mutex_lock(&p->mu);
  e = find(p, sha);
  if(*e)
    (*e)->count++;
  else {
    struct pending_entry *n = calloc(1, sizeof(*n));
    if(!n)
      rc = MFU_E_NOMEM;
    else {
      memcpy(n->sha256, sha, MFU_SHA256_HEX);
      n->count = 1;
      n->next = p->head;
      p->head = n;
    }
  }
  pthread_mutex_unlock(&p->mu);
  return rc;
}

void pending_release(struct pending *p, const char *sha)
{
  struct pending_entry **e;
  pthread_mutex_lock(&p->mu);
  e = find(p, sha);
  if(*e && --(*e)->count == 0) {
    struct pending_entry *dead = *e;
    *e = dead->next;
    free(dead);
  }
  pthread_mutex_unlock(&p->mu);
}

int blob_delete_if_unused(struct mfu_server *srv, const char *sha)
{
  struct pending *p = &srv->pending;
  uint64_t refs = 0;
  int rc;
  /* A shared catalog means other nodes, whose uploads in flight this set
   * cannot see: one may have found these bytes stored and be about to
   * record them.  Only time tells there - the store refreshes a blob it
   * deduplicates onto, and gc takes unreferenced blobs past its grace. */
  if(srv->shared_catalog)
    return MFU_OK;
  pthread_mutex_lock(&p->mu);
  if(*find(p, sha))
    rc = MFU_OK;
  else {
    rc = mfu_catalog_blob_refs(srv->catalog, sha, &refs);
    if(!rc && refs == 0)
      rc = mfu_store_delete(srv->store, sha);
  }
  pthread_mutex_unlock(&p->mu);
  return rc;
}
