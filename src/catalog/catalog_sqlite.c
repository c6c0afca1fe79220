/*
 * catalog_sqlite.c - the catalog in one SQLite file.
 *
 * WAL journal with synchronous=FULL: a committed item is on disk before
 * mfud answers 201, and readers never wait for the writer.  SQLite lets
 * one writer in at a time anyway, so all writes of a process go through
 * one connection behind a mutex (no busy-waiting on SQLite's lock inside
 * one process; busy_timeout covers other processes), while reads take any
 * of a few reader connections, so GETs proceed during uploads.  Every
 * connection keeps its prepared statements.
 *
 * Inserts commit in groups: with synchronous=FULL each COMMIT costs one
 * fdatasync of the WAL, which bounds one-item transactions to the disk's
 * flush rate.  An inserting thread queues its item; whichever waiter finds
 * no commit running becomes the leader, takes up to BATCH_MAX queued
 * items and writes them in one transaction, one SAVEPOINT each, so one
 * item's conflict rolls back that item alone.  Items queued meanwhile go
 * in the next group.  No insert returns before the COMMIT that holds it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <sqlite3.h>

#include "catalog_impl.h"
#include "migrations.h"

#define NREADERS 4
#define BUSY_TIMEOUT_MS 5000
#define BATCH_MAX 256

enum stmt_id {
  ST_BEGIN,
  ST_BEGIN_WRITE,
  ST_COMMIT,
  ST_ROLLBACK,
  ST_SAVEPOINT,
  ST_ROLLBACK_TO,
  ST_RELEASE,
  ST_VERSION,
  ST_ITEM_INSERT,
  ST_FILE_INSERT,
  ST_IDEM_INSERT,
  ST_ITEM_GET,
  ST_FILES_GET,
  ST_LIST_FIRST,
  ST_LIST_AFTER,
  ST_ITEM_HASHES,
  ST_ITEM_DELETE,
  ST_HASH_USED,
  ST_BLOB_REFS,
  ST_BLOB_TYPE,
  ST_IDEM_GET,
  ST_IDEM_EXPIRE,
  ST_MIGRATION_RECORD,
  ST_USER_ADD,
  ST_USER_LIST,
  ST_USER_EXISTS,
  ST_TOKEN_NEXT,
  ST_TOKEN_INSERT,
  ST_TOKEN_LIST_ALL,
  ST_TOKEN_LIST_USER,
  ST_TOKEN_REVOKE,
  ST_TOKEN_USER,
  ST_COUNT
};

static const char *const stmt_sql[ST_COUNT] = {
  [ST_BEGIN] = "BEGIN",
  [ST_BEGIN_WRITE] = "BEGIN IMMEDIATE",
  [ST_COMMIT] = "COMMIT",
  [ST_ROLLBACK] = "ROLLBACK",
  [ST_SAVEPOINT] = "SAVEPOINT item",
  [ST_ROLLBACK_TO] = "ROLLBACK TO item",
  [ST_RELEASE] = "RELEASE item",
  [ST_VERSION] = "SELECT COALESCE(MAX(version), 0) FROM schema_version",
  [ST_ITEM_INSERT] =
    "INSERT INTO items (id, username, text, created_at) "
    "VALUES (?1, ?2, ?3, ?4)",
  [ST_FILE_INSERT] =
    "INSERT INTO files (item_id, grp, idx, name, duration, duration_probed,"
    " width, height, codec, content_type, size, sha256, ext) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
  [ST_IDEM_INSERT] =
    "INSERT INTO idempotency (username, key, item_id, created_at) "
    "VALUES (?1, ?2, ?3, ?4)",
  [ST_ITEM_GET] =
    "SELECT id, username, text, created_at FROM items WHERE id = ?1",
  [ST_FILES_GET] =
    "SELECT grp, idx, name, duration, duration_probed, width, height, codec,"
    " content_type, size, sha256, ext FROM files WHERE item_id = ?1 "
    "ORDER BY grp, idx",
  /* Two statements, not "?2 IS NULL OR id < ?2", so that both walk the
   * (username, id) index from where the page starts. */
  [ST_LIST_FIRST] =
    "SELECT id, username, text, created_at FROM items WHERE username = ?1 "
    "ORDER BY id DESC LIMIT ?3",
  [ST_LIST_AFTER] =
    "SELECT id, username, text, created_at FROM items WHERE username = ?1 "
    "AND id < ?2 ORDER BY id DESC LIMIT ?3",
  [ST_ITEM_HASHES] = "SELECT DISTINCT sha256 FROM files WHERE item_id = ?1",
  [ST_ITEM_DELETE] = "DELETE FROM items WHERE id = ?1",
  [ST_HASH_USED] = "SELECT 1 FROM files WHERE sha256 = ?1 LIMIT 1",
  [ST_BLOB_REFS] = "SELECT COUNT(*) FROM files WHERE sha256 = ?1",
  [ST_BLOB_TYPE] =
    "SELECT content_type FROM files WHERE sha256 = ?1 LIMIT 1",
  [ST_IDEM_GET] =
    "SELECT item_id, created_at FROM idempotency "
    "WHERE username = ?1 AND key = ?2",
  [ST_IDEM_EXPIRE] = "DELETE FROM idempotency WHERE created_at < ?1",
  [ST_MIGRATION_RECORD] = MIGRATION_RECORD_SQLITE,
  [ST_USER_ADD] = "INSERT INTO users (username, created_at) VALUES (?1, ?2)",
  [ST_USER_LIST] = "SELECT username FROM users ORDER BY username",
  [ST_USER_EXISTS] = "SELECT 1 FROM users WHERE username = ?1",
  [ST_TOKEN_NEXT] = "SELECT COALESCE(MAX(id), 0) + 1 FROM tokens",
  [ST_TOKEN_INSERT] =
    "INSERT INTO tokens (id, username, hash, label, created_at) "
    "VALUES (?1, ?2, ?3, ?4, ?5)",
  [ST_TOKEN_LIST_ALL] =
    "SELECT id, username, label, created_at, revoked_at FROM tokens "
    "ORDER BY id",
  [ST_TOKEN_LIST_USER] =
    "SELECT id, username, label, created_at, revoked_at FROM tokens "
    "WHERE username = ?1 ORDER BY id",
  [ST_TOKEN_REVOKE] =
    "UPDATE tokens SET revoked_at = COALESCE(revoked_at, ?2) WHERE id = ?1",
  [ST_TOKEN_USER] =
    "SELECT username FROM tokens WHERE hash = ?1 AND revoked_at IS NULL",
};

struct conn {
  sqlite3 *db;
  sqlite3_stmt *st[ST_COUNT];
  struct conn *next;          /* in the free list of readers */
};

/* An insert waiting for its group's COMMIT; lives on the caller's stack. */
struct ins_req {
  const struct mfu_item *item;
  int rc;
  int final;                  /* rc no longer depends on the COMMIT */
  int done;                   /* rc is the answer; set under queue_mu */
  pthread_cond_t cv;          /* done, or time to lead */
  struct ins_req *next;
};

struct sq_catalog {
  struct mfu_catalog base;
  pthread_mutex_t write_mu;   /* owns writer */
  struct conn writer;
  pthread_mutex_t queue_mu;   /* owns queue, queue_tail, leading */
  struct ins_req *queue;
  struct ins_req **queue_tail;
  int leading;                /* a leader is writing a group */
  pthread_mutex_t pool_mu;    /* owns free */
  pthread_cond_t pool_cv;
  struct conn *free;
  struct conn readers[NREADERS];
};

/* --- plumbing ---------------------------------------------------------- */

static int map_rc(int src)
{
  switch(src & 0xff) {
  case SQLITE_OK:
  case SQLITE_ROW:
  case SQLITE_DONE:
    return MFU_OK;
  case SQLITE_BUSY:
  case SQLITE_LOCKED:
    return MFU_E_BUSY;
  case SQLITE_CONSTRAINT:
    return src == SQLITE_CONSTRAINT_PRIMARYKEY ||
           src == SQLITE_CONSTRAINT_UNIQUE ? MFU_E_EXISTS : MFU_E_INVAL;
  case SQLITE_FULL:
    return MFU_E_NOSPACE;
  case SQLITE_NOMEM:
    return MFU_E_NOMEM;
  case SQLITE_CANTOPEN:
    return MFU_E_UNAVAILABLE;
  default:
    return MFU_E_IO;
  }
}

/* The connection's cached statement, reset and unbound, or NULL. */
static sqlite3_stmt *stmt(struct conn *k, enum stmt_id id)
{
  if(!k->st[id] &&
     sqlite3_prepare_v3(k->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
                        &k->st[id], NULL) != SQLITE_OK)
    return NULL;
  return k->st[id];
}

static void done(sqlite3_stmt *st)
{
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
}

/* Step st; SQLITE_ROW and SQLITE_DONE are returned as they are, anything
 * else as the extended error code of the connection. */
static int step(struct conn *k, sqlite3_stmt *st)
{
  int rc = sqlite3_step(st);

  if(rc == SQLITE_ROW || rc == SQLITE_DONE)
    return rc;
  return sqlite3_extended_errcode(k->db);
}

/* Run a statement that returns no rows. */
static int run(struct conn *k, sqlite3_stmt *st)
{
  int rc;

  if(!st)
    return map_rc(sqlite3_extended_errcode(k->db));
  rc = step(k, st);
  done(st);
  return rc == SQLITE_DONE ? MFU_OK : map_rc(rc == SQLITE_ROW ? SQLITE_MISUSE
                                                              : rc);
}

static int run_id(struct conn *k, enum stmt_id id)
{
  return run(k, stmt(k, id));
}

/* End a transaction: COMMIT if rc is MFU_OK, else ROLLBACK. */
static int finish_tx(struct conn *k, int rc)
{
  if(!rc)
    rc = run_id(k, ST_COMMIT);
  if(rc && !sqlite3_get_autocommit(k->db))
    run_id(k, ST_ROLLBACK);
  return rc;
}

static struct conn *reader_get(struct sq_catalog *c)
{
  struct conn *k;

  pthread_mutex_lock(&c->pool_mu);
  while(!c->free)
    pthread_cond_wait(&c->pool_cv, &c->pool_mu);
  k = c->free;
  c->free = k->next;
  pthread_mutex_unlock(&c->pool_mu);
  return k;
}

static void reader_put(struct sq_catalog *c, struct conn *k)
{
  pthread_mutex_lock(&c->pool_mu);
  k->next = c->free;
  c->free = k;
  pthread_cond_signal(&c->pool_cv);
  pthread_mutex_unlock(&c->pool_mu);
}

static void bind_str(sqlite3_stmt *st, int i, const char *s)
{
  sqlite3_bind_text(st, i, s ? s : "", -1, SQLITE_STATIC);
}

static char *col_str(sqlite3_stmt *st, int i, int null_ok)
{
  const unsigned char *s = sqlite3_column_text(st, i);
  size_t n = (size_t)sqlite3_column_bytes(st, i);
  char *out;

  if(!s && null_ok)
    return NULL;
  out = malloc(n + 1);
  if(out) {
    if(n)
      memcpy(out, s, n);
    out[n] = '\0';
  }
  return out;
}

/* --- insert ------------------------------------------------------------ */

static int insert_file(struct conn *k, const char *id,
                       const struct mfu_file *f)
{
  sqlite3_stmt *st = stmt(k, ST_FILE_INSERT);

  if(!st)
    return map_rc(sqlite3_extended_errcode(k->db));
  sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
  sqlite3_bind_int(st, 2, (int)f->group);
  sqlite3_bind_int64(st, 3, (sqlite3_int64)f->index);
  bind_str(st, 4, f->name);
  if(f->duration >= 0)
    sqlite3_bind_int64(st, 5, f->duration);
  if(f->duration_probed >= 0)
    sqlite3_bind_double(st, 6, f->duration_probed);
  if(f->width > 0)
    sqlite3_bind_int(st, 7, f->width);
  if(f->height > 0)
    sqlite3_bind_int(st, 8, f->height);
  if(f->codec)
    bind_str(st, 9, f->codec);
  bind_str(st, 10, f->content_type);
  sqlite3_bind_int64(st, 11, (sqlite3_int64)f->size);
  bind_str(st, 12, f->sha256);
  bind_str(st, 13, f->ext);
  return run(k, st);
}

static int insert_rows(struct conn *k, const struct mfu_item *it)
{
  sqlite3_stmt *st = stmt(k, ST_ITEM_INSERT);
  size_t i;
  int rc;

  if(!st)
    return map_rc(sqlite3_extended_errcode(k->db));
  sqlite3_bind_text(st, 1, it->id, -1, SQLITE_STATIC);
  bind_str(st, 2, it->username);
  bind_str(st, 3, it->text);
  sqlite3_bind_int64(st, 4, it->created_at);
  rc = run(k, st);
  for(i = 0; !rc && i < it->nfiles; i++)
    rc = insert_file(k, it->id, &it->files[i]);
  if(!rc && it->idem_key) {
    st = stmt(k, ST_IDEM_INSERT);
    if(!st)
      return map_rc(sqlite3_extended_errcode(k->db));
    bind_str(st, 1, it->username);
    bind_str(st, 2, it->idem_key);
    sqlite3_bind_text(st, 3, it->id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, it->created_at);
    rc = run(k, st);
  }
  return rc;
}

/* Write r under its own savepoint in the open transaction.  Returns
 * MFU_OK while the transaction lives on (r->rc says how r went), else the
 * rc that ended it. */
static int insert_one(struct conn *k, struct ins_req *r)
{
  int rc = run_id(k, ST_SAVEPOINT);

  if(!rc) {
    r->rc = insert_rows(k, r->item);
    /* A full disk, an I/O error or no memory may already have rolled
     * back the whole transaction (sqlite.org/lang_transaction.html). */
    if(r->rc)
      rc = sqlite3_get_autocommit(k->db) ? r->rc : run_id(k, ST_ROLLBACK_TO);
    if(!rc)
      rc = run_id(k, ST_RELEASE);
  }
  if(rc && !r->rc)
    r->rc = rc;
  r->final = r->rc != MFU_OK;
  return rc;
}

/* One transaction over the group's items not yet final; *again is set
 * when an item ended it, so the rest must be written anew. */
static int write_once(struct conn *k, struct ins_req *group, int *again)
{
  struct ins_req *r;
  int rc = run_id(k, ST_BEGIN_WRITE);

  *again = 0;
  for(r = group; !rc && r; r = r->next) {
    if(!r->final && (rc = insert_one(k, r)))
      *again = 1;
  }
  return finish_tx(k, rc);
}

/* Each round that is ended by an item makes that item final, so this
 * loops at most once per item; the others share the COMMIT's rc. */
static void write_group(struct conn *k, struct ins_req *group)
{
  struct ins_req *r;
  int rc, again;

  do
    rc = write_once(k, group, &again);
  while(again);
  for(r = group; r; r = r->next) {
    if(!r->final)
      r->rc = rc;
  }
}

/* Detach up to BATCH_MAX requests from the queue; queue_mu held. */
static struct ins_req *take_group(struct sq_catalog *c)
{
  struct ins_req *group = c->queue, *last = group;
  size_t n = 1;

  while(last->next && n < BATCH_MAX) {
    last = last->next;
    n++;
  }
  c->queue = last->next;
  if(!c->queue)
    c->queue_tail = &c->queue;
  last->next = NULL;
  return group;
}

/* Write one group as leader; queue_mu held on entry and on return, but
 * released while writing so that the next group can gather. */
static void lead(struct sq_catalog *c)
{
  struct ins_req *group = take_group(c), *r, *next;

  c->leading = 1;
  pthread_mutex_unlock(&c->queue_mu);
  pthread_mutex_lock(&c->write_mu);
  write_group(&c->writer, group);
  pthread_mutex_unlock(&c->write_mu);
  pthread_mutex_lock(&c->queue_mu);
  for(r = group; r; r = next) {
    next = r->next;   /* r may be gone once its waiter sees done */
    r->done = 1;
    pthread_cond_signal(&r->cv);
  }
  c->leading = 0;
  /* Wake one thread, not all: the head of the queue leads the next
   * group, the others sleep until it is written. */
  if(c->queue)
    pthread_cond_signal(&c->queue->cv);
}

static int sq_item_insert(struct mfu_catalog *cat, const struct mfu_item *it)
{
  struct sq_catalog *c = (struct sq_catalog *)cat;
  struct ins_req req = {.item = it};
  size_t i;

  if(!it->username || (it->nfiles && !it->files))
    return MFU_E_INVAL;
  for(i = 0; i < it->nfiles; i++) {
    if(!it->files[i].name || (unsigned)it->files[i].group >= MFU_GROUP_COUNT)
      return MFU_E_INVAL;
  }
  pthread_cond_init(&req.cv, NULL);
  pthread_mutex_lock(&c->queue_mu);
  *c->queue_tail = &req;
  c->queue_tail = &req.next;
  /* With no leader, req is still queued: this thread leads, and again
   * if the group it took (BATCH_MAX) stopped short of req. */
  while(!req.done) {
    if(c->leading)
      pthread_cond_wait(&req.cv, &c->queue_mu);
    else
      lead(c);
  }
  pthread_mutex_unlock(&c->queue_mu);
  pthread_cond_destroy(&req.cv);
  return req.rc;
}

/* --- reading items ----------------------------------------------------- */

static int read_file_row(sqlite3_stmt *st, struct mfu_file *f)
{
  const unsigned char *sha;

  memset(f, 0, sizeof(*f));
  f->group = (enum mfu_group)sqlite3_column_int(st, 0);
  f->index = (unsigned)sqlite3_column_int64(st, 1);
  f->name = col_str(st, 2, 0);
  f->duration = sqlite3_column_type(st, 3) == SQLITE_NULL
                  ? -1 : sqlite3_column_int64(st, 3);
  f->duration_probed = sqlite3_column_type(st, 4) == SQLITE_NULL
                         ? -1.0 : sqlite3_column_double(st, 4);
  f->width = sqlite3_column_int(st, 5);
  f->height = sqlite3_column_int(st, 6);
  f->codec = col_str(st, 7, 1);
  f->content_type = col_str(st, 8, 0);
  f->size = (uint64_t)sqlite3_column_int64(st, 9);
  sha = sqlite3_column_text(st, 10);
  if(sha)
    snprintf(f->sha256, sizeof(f->sha256), "%s", (const char *)sha);
  f->ext = col_str(st, 11, 0);
  if(!f->name || !f->content_type || !f->ext ||
     (sqlite3_column_type(st, 7) != SQLITE_NULL && !f->codec))
    return MFU_E_NOMEM;
  return MFU_OK;
}

static int load_files(struct conn *k, struct mfu_item *it)
{
  sqlite3_stmt *st = stmt(k, ST_FILES_GET);
  size_t cap = 0;
  int rc = SQLITE_OK, src;

  if(!st)
    return map_rc(sqlite3_extended_errcode(k->db));
  sqlite3_bind_text(st, 1, it->id, -1, SQLITE_STATIC);
  while(!rc && (src = step(k, st)) == SQLITE_ROW) {
    if(it->nfiles == cap) {
      size_t ncap = cap ? 2 * cap : 8;
      struct mfu_file *nf = realloc(it->files, ncap * sizeof(*nf));
      if(!nf) {
        rc = MFU_E_NOMEM;
        break;
      }
      it->files = nf;
      cap = ncap;
    }
    /* Counted first, so mfu_item_free frees a half-read row too. */
    rc = read_file_row(st, &it->files[it->nfiles++]);
  }
  if(!rc && src != SQLITE_DONE)
    rc = map_rc(src);
  done(st);
  return rc;
}

/* Build an item from a row of ST_ITEM_GET or ST_LIST_*, with its files. */
static int read_item(struct conn *k, sqlite3_stmt *st, struct mfu_item **out)
{
  struct mfu_item *it = calloc(1, sizeof(*it));
  const unsigned char *id = sqlite3_column_text(st, 0);
  int rc;

  if(!it)
    return MFU_E_NOMEM;
  snprintf(it->id, sizeof(it->id), "%s", id ? (const char *)id : "");
  it->username = col_str(st, 1, 0);
  it->text = col_str(st, 2, 0);
  it->created_at = sqlite3_column_int64(st, 3);
  rc = it->username && it->text ? load_files(k, it) : MFU_E_NOMEM;
  if(rc) {
    mfu_item_free(it);
    return rc;
  }
  *out = it;
  return MFU_OK;
}

static int get_in_tx(struct conn *k, const char *id, struct mfu_item **out)
{
  sqlite3_stmt *st = stmt(k, ST_ITEM_GET);
  int src, rc;

  if(!st)
    return map_rc(sqlite3_extended_errcode(k->db));
  sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
  src = step(k, st);
  if(src == SQLITE_ROW)
    rc = read_item(k, st, out);
  else
    rc = src == SQLITE_DONE ? MFU_E_NOTFOUND : map_rc(src);
  done(st);
  return rc;
}

static int sq_item_get(struct mfu_catalog *cat, const char *id,
                       struct mfu_item **out)
{
  struct sq_catalog *c = (struct sq_catalog *)cat;
  struct conn *k = reader_get(c);
  int rc;

  /* One read transaction: the item and its files from one snapshot. */
  rc = run_id(k, ST_BEGIN);
  if(!rc)
    rc = get_in_tx(k, id, out);
  finish_tx(k, MFU_E_INTERNAL);   /* read-only: ROLLBACK is enough */
  reader_put(c, k);
  return rc;
}

static int list_in_tx(struct conn *k, const char *username,
                      const char *after, size_t limit,
                      struct mfu_item **items, size_t *n)
{
  sqlite3_stmt *st = stmt(k, after ? ST_LIST_AFTER : ST_LIST_FIRST);
  int src = SQLITE_DONE, rc = MFU_OK;

  if(!st)
    return map_rc(sqlite3_extended_errcode(k->db));
  sqlite3_bind_text(st, 1, username, -1, SQLITE_STATIC);
  if(after)
    sqlite3_bind_text(st, 2, after, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 3, (sqlite3_int64)limit);
  while(!rc && *n < limit && (src = step(k, st)) == SQLITE_ROW) {
    rc = read_item(k, st, &items[*n]);
    if(!rc)
      (*n)++;
  }
  if(!rc && src != SQLITE_ROW && src != SQLITE_DONE)
    rc = map_rc(src);
  done(st);
  return rc;
}

static int sq_item_list(struct mfu_catalog *cat, const char *username,
                        const char *after, size_t limit,
                        struct mfu_item ***out, size_t *n)
{
  struct sq_catalog *c = (struct sq_catalog *)cat;
  struct mfu_item **items;
  struct conn *k;
  int rc;

  if(!username)
    return MFU_E_INVAL;
  if(!limit)
    return MFU_OK;
  if(limit > 100000)
    limit = 100000;   /* bounds the array below; the server pages far less */
  items = calloc(limit, sizeof(*items));
  if(!items)
    return MFU_E_NOMEM;
  k = reader_get(c);
  rc = run_id(k, ST_BEGIN);
  if(!rc)
    rc = list_in_tx(k, username, after, limit, items, n);
  finish_tx(k, MFU_E_INTERNAL);
  reader_put(c, k);
  if(rc || !*n) {
    mfu_item_list_free(items, *n);
    *n = 0;
    return rc;
  }
  *out = items;
  return MFU_OK;
}

/* --- delete ------------------------------------------------------------ */

/* The item's distinct hashes into *v / *nv (malloc'd). */
static int item_hashes(struct conn *k, const char *id, char ***v, size_t *nv)
{
  sqlite3_stmt *st = stmt(k, ST_ITEM_HASHES);
  size_t cap = 0;
  int src, rc = MFU_OK;

  if(!st)
    return map_rc(sqlite3_extended_errcode(k->db));
  sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
  while(!rc && (src = step(k, st)) == SQLITE_ROW) {
    char *h = col_str(st, 0, 0);
    if(*nv == cap) {
      size_t ncap = cap ? 2 * cap : 8;
      char **nvv = realloc(*v, ncap * sizeof(*nvv));
      if(!nvv) {
        free(h);
        rc = MFU_E_NOMEM;
        break;
      }
      *v = nvv;
      cap = ncap;
    }
    if(!h)
      rc = MFU_E_NOMEM;
    else
      (*v)[(*nv)++] = h;
  }
  if(!rc && src != SQLITE_DONE)
    rc = map_rc(src);
  done(st);
  return rc;
}

/* Keep in v only the hashes no file row references any more. */
static int keep_orphans(struct conn *k, char **v, size_t *nv)
{
  sqlite3_stmt *st = stmt(k, ST_HASH_USED);
  size_t i, kept = 0;
  int src;

  if(!st)
    return map_rc(sqlite3_extended_errcode(k->db));
  for(i = 0; i < *nv; i++) {
    sqlite3_bind_text(st, 1, v[i], -1, SQLITE_STATIC);
    src = step(k, st);
    done(st);
    if(src == SQLITE_ROW) {
      free(v[i]);
    }
    else if(src == SQLITE_DONE) {
      v[kept++] = v[i];
    }
    else {
      /* v[kept..i) were freed or moved down: drop them from the count. */
      memmove(v + kept, v + i, (*nv - i) * sizeof(*v));
      *nv = kept + (*nv - i);
      return map_rc(src);
    }
  }
  *nv = kept;
  return MFU_OK;
}

static int delete_in_tx(struct conn *k, const char *id, char ***v,
                        size_t *nv)
{
  sqlite3_stmt *st;
  int rc;

  rc = item_hashes(k, id, v, nv);
  if(rc)
    return rc;
  st = stmt(k, ST_ITEM_DELETE);
  if(!st)
    return map_rc(sqlite3_extended_errcode(k->db));
  sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
  rc = run(k, st);
  if(!rc && sqlite3_changes(k->db) == 0)
    rc = MFU_E_NOTFOUND;
  if(!rc)
    rc = keep_orphans(k, *v, nv);
  return rc;
}

static int sq_item_delete(struct mfu_catalog *cat, const char *id,
                          char ***orphans, size_t *norphans)
{
  struct sq_catalog *c = (struct sq_catalog *)cat;
  char **v = NULL;
  size_t nv = 0;
  int rc;

  pthread_mutex_lock(&c->write_mu);
  rc = run_id(&c->writer, ST_BEGIN_WRITE);
  if(!rc)
    rc = delete_in_tx(&c->writer, id, &v, &nv);
  rc = finish_tx(&c->writer, rc);
  pthread_mutex_unlock(&c->write_mu);
  if(rc || !nv) {
    mfu_catalog_strings_free(v, nv);
    return rc;
  }
  *orphans = v;
  *norphans = nv;
  return MFU_OK;
}

/* --- blobs, idempotency, version ---------------------------------------- */

/* Run a one-row, one-column query with one text parameter on a reader;
 * fn reads the row.  MFU_E_NOTFOUND when there is no row. */
static int read_one(struct sq_catalog *c, enum stmt_id id, const char *arg,
                    int (*fn)(sqlite3_stmt *st, void *cls), void *cls)
{
  struct conn *k = reader_get(c);
  sqlite3_stmt *st = stmt(k, id);
  int rc, src;

  if(!st) {
    rc = map_rc(sqlite3_extended_errcode(k->db));
  }
  else {
    if(arg)
      sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
    src = step(k, st);
    if(src == SQLITE_ROW)
      rc = fn(st, cls);
    else
      rc = src == SQLITE_DONE ? MFU_E_NOTFOUND : map_rc(src);
    done(st);
  }
  reader_put(c, k);
  return rc;
}

static int get_u64(sqlite3_stmt *st, void *cls)
{
  *(uint64_t *)cls = (uint64_t)sqlite3_column_int64(st, 0);
  return MFU_OK;
}

static int get_int(sqlite3_stmt *st, void *cls)
{
  *(int *)cls = sqlite3_column_int(st, 0);
  return MFU_OK;
}

static int sq_blob_refs(struct mfu_catalog *cat, const char *hex,
                        uint64_t *refs)
{
  return read_one((struct sq_catalog *)cat, ST_BLOB_REFS, hex, get_u64,
                  refs);
}

struct strbuf {
  char *out;
  size_t cap;
};

static int get_str(sqlite3_stmt *st, void *cls)
{
  struct strbuf *b = cls;
  const unsigned char *s = sqlite3_column_text(st, 0);
  size_t n = (size_t)sqlite3_column_bytes(st, 0);

  if(n >= b->cap)
    return MFU_E_INVAL;
  if(n)
    memcpy(b->out, s, n);
  b->out[n] = '\0';
  return MFU_OK;
}

static int sq_blob_type(struct mfu_catalog *cat, const char *hex, char *out,
                        size_t cap)
{
  struct strbuf b = {out, cap};

  return read_one((struct sq_catalog *)cat, ST_BLOB_TYPE, hex, get_str, &b);
}

static int sq_schema_version(struct mfu_catalog *cat, int *version)
{
  return read_one((struct sq_catalog *)cat, ST_VERSION, NULL, get_int,
                  version);
}

static int sq_ping(struct mfu_catalog *cat)
{
  int v;

  return sq_schema_version(cat, &v);
}

static int expire_idem(struct sq_catalog *c, int64_t before)
{
  sqlite3_stmt *st;
  int rc;

  pthread_mutex_lock(&c->write_mu);
  st = stmt(&c->writer, ST_IDEM_EXPIRE);
  if(st)
    sqlite3_bind_int64(st, 1, before);
  rc = run(&c->writer, st);
  pthread_mutex_unlock(&c->write_mu);
  return rc;
}

static int sq_idem_get(struct mfu_catalog *cat, const char *username,
                       const char *key, int64_t ttl, char *id)
{
  struct sq_catalog *c = (struct sq_catalog *)cat;
  int64_t oldest = (int64_t)time(NULL) - ttl;
  struct conn *k;
  sqlite3_stmt *st;
  int rc, src, expired = 0;

  if(!username || !key)
    return MFU_E_INVAL;
  k = reader_get(c);
  st = stmt(k, ST_IDEM_GET);
  if(!st) {
    rc = map_rc(sqlite3_extended_errcode(k->db));
  }
  else {
    sqlite3_bind_text(st, 1, username, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
    src = step(k, st);
    rc = src == SQLITE_DONE ? MFU_E_NOTFOUND : map_rc(src);
    if(src == SQLITE_ROW) {
      const unsigned char *v = sqlite3_column_text(st, 0);
      expired = sqlite3_column_int64(st, 1) < oldest;
      if(expired || !v || strlen((const char *)v) >= MFU_ID_HEX)
        rc = MFU_E_NOTFOUND;
      else
        memcpy(id, v, strlen((const char *)v) + 1);
    }
    done(st);
  }
  reader_put(c, k);
  /* Forgetting is lazy: only a lookup that meets an expired key pays for
   * the write, and then clears every expired key at once. */
  if(expired) {
    int erc = expire_idem(c, oldest);
    if(erc)
      return erc;
  }
  return rc;
}

/* --- users and tokens --------------------------------------------------- */

static int sq_user_add(struct mfu_catalog *cat, const char *username)
{
  struct sq_catalog *c = (struct sq_catalog *)cat;
  sqlite3_stmt *st;
  int rc;

  pthread_mutex_lock(&c->write_mu);
  st = stmt(&c->writer, ST_USER_ADD);
  if(st) {
    bind_str(st, 1, username);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)time(NULL));
  }
  rc = run(&c->writer, st);
  pthread_mutex_unlock(&c->write_mu);
  return rc;
}

static int sq_user_list(struct mfu_catalog *cat, char ***names, size_t *n)
{
  struct sq_catalog *c = (struct sq_catalog *)cat;
  struct conn *k = reader_get(c);
  sqlite3_stmt *st = stmt(k, ST_USER_LIST);
  char **v = NULL;
  size_t nv = 0, cap = 0;
  int rc = MFU_OK, src = SQLITE_DONE;

  if(!st)
    rc = map_rc(sqlite3_extended_errcode(k->db));
  while(!rc && (src = step(k, st)) == SQLITE_ROW) {
    char *name = col_str(st, 0, 0);
    if(nv == cap) {
      size_t ncap = cap ? 2 * cap : 8;
      char **nvv = realloc(v, ncap * sizeof(*nvv));
      if(!nvv) {
        free(name);
        rc = MFU_E_NOMEM;
        break;
      }
      v = nvv;
      cap = ncap;
    }
    if(!name)
      rc = MFU_E_NOMEM;
    else
      v[nv++] = name;
  }
  if(!rc && src != SQLITE_DONE)
    rc = map_rc(src);
  if(st)
    done(st);
  reader_put(c, k);
  if(rc) {
    mfu_catalog_strings_free(v, nv);
    return rc;
  }
  *names = v;
  *n = nv;
  return MFU_OK;
}

static int token_insert_in_tx(struct conn *k, const char *username,
                              const char *hash, const char *label,
                              int64_t *id)
{
  sqlite3_stmt *st = stmt(k, ST_USER_EXISTS);
  int src;

  if(!st)
    return map_rc(sqlite3_extended_errcode(k->db));
  bind_str(st, 1, username);
  src = step(k, st);
  done(st);
  if(src != SQLITE_ROW)
    return src == SQLITE_DONE ? MFU_E_NOTFOUND : map_rc(src);
  st = stmt(k, ST_TOKEN_NEXT);
  if(!st)
    return map_rc(sqlite3_extended_errcode(k->db));
  src = step(k, st);
  if(src == SQLITE_ROW)
    *id = sqlite3_column_int64(st, 0);
  done(st);
  if(src != SQLITE_ROW)
    return map_rc(src);
  st = stmt(k, ST_TOKEN_INSERT);
  if(!st)
    return map_rc(sqlite3_extended_errcode(k->db));
  sqlite3_bind_int64(st, 1, *id);
  bind_str(st, 2, username);
  bind_str(st, 3, hash);
  bind_str(st, 4, label);
  sqlite3_bind_int64(st, 5, (sqlite3_int64)time(NULL));
  return run(k, st);
}

static int sq_token_add(struct mfu_catalog *cat, const char *username,
                        const char *hash, const char *label, int64_t *id)
{
  struct sq_catalog *c = (struct sq_catalog *)cat;
  int rc;

  pthread_mutex_lock(&c->write_mu);
  rc = run_id(&c->writer, ST_BEGIN_WRITE);
  if(!rc)
    rc = token_insert_in_tx(&c->writer, username, hash, label, id);
  rc = finish_tx(&c->writer, rc);
  pthread_mutex_unlock(&c->write_mu);
  if(rc)
    *id = 0;
  return rc;
}

static int read_token(sqlite3_stmt *st, struct mfu_token *t)
{
  t->id = sqlite3_column_int64(st, 0);
  t->username = col_str(st, 1, 0);
  t->label = col_str(st, 2, 0);
  t->created_at = sqlite3_column_int64(st, 3);
  t->revoked_at = sqlite3_column_int64(st, 4);  /* NULL reads as 0 */
  return t->username && t->label ? MFU_OK : MFU_E_NOMEM;
}

static int sq_token_list(struct mfu_catalog *cat, const char *username,
                         struct mfu_token **out, size_t *n)
{
  struct sq_catalog *c = (struct sq_catalog *)cat;
  struct conn *k = reader_get(c);
  sqlite3_stmt *st = stmt(k, username ? ST_TOKEN_LIST_USER
                                      : ST_TOKEN_LIST_ALL);
  struct mfu_token *v = NULL;
  size_t nv = 0, cap = 0;
  int rc = MFU_OK, src = SQLITE_DONE;

  if(!st)
    rc = map_rc(sqlite3_extended_errcode(k->db));
  else if(username)
    bind_str(st, 1, username);
  while(!rc && (src = step(k, st)) == SQLITE_ROW) {
    if(nv == cap) {
      size_t ncap = cap ? 2 * cap : 8;
      struct mfu_token *nvv = realloc(v, ncap * sizeof(*nvv));
      if(!nvv) {
        rc = MFU_E_NOMEM;
        break;
      }
      v = nvv;
      cap = ncap;
    }
    memset(&v[nv], 0, sizeof(v[nv]));
    rc = read_token(st, &v[nv++]);   /* counted first: freed if half read */
  }
  if(!rc && src != SQLITE_DONE)
    rc = map_rc(src);
  if(st)
    done(st);
  reader_put(c, k);
  if(rc) {
    mfu_token_list_free(v, nv);
    return rc;
  }
  *out = v;
  *n = nv;
  return MFU_OK;
}

static int sq_token_revoke(struct mfu_catalog *cat, int64_t id)
{
  struct sq_catalog *c = (struct sq_catalog *)cat;
  sqlite3_stmt *st;
  int rc;

  pthread_mutex_lock(&c->write_mu);
  st = stmt(&c->writer, ST_TOKEN_REVOKE);
  if(st) {
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)time(NULL));
  }
  rc = run(&c->writer, st);
  if(!rc && sqlite3_changes(c->writer.db) == 0)
    rc = MFU_E_NOTFOUND;
  pthread_mutex_unlock(&c->write_mu);
  return rc;
}

static int sq_token_user(struct mfu_catalog *cat, const char *hash,
                         char *out, size_t cap)
{
  struct strbuf b = {out, cap};

  return read_one((struct sq_catalog *)cat, ST_TOKEN_USER, hash, get_str,
                  &b);
}

/* --- open and close ---------------------------------------------------- */

static void conn_close(struct conn *k)
{
  int i;

  for(i = 0; i < ST_COUNT; i++)
    sqlite3_finalize(k->st[i]);
  sqlite3_close(k->db);
  memset(k, 0, sizeof(*k));
}

static void sq_close(struct mfu_catalog *cat)
{
  struct sq_catalog *c = (struct sq_catalog *)cat;
  int i;

  for(i = 0; i < NREADERS; i++)
    conn_close(&c->readers[i]);
  conn_close(&c->writer);
  pthread_mutex_destroy(&c->queue_mu);
  pthread_cond_destroy(&c->pool_cv);
  pthread_mutex_destroy(&c->pool_mu);
  pthread_mutex_destroy(&c->write_mu);
  free(c);
}

static int conn_open(struct conn *k, const char *path, int writer)
{
  static const char pragmas[] =
    "PRAGMA synchronous = FULL;"
    "PRAGMA foreign_keys = ON;";
  int src;

  src = sqlite3_open_v2(path, &k->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                          SQLITE_OPEN_NOMUTEX, NULL);
  if(src != SQLITE_OK)
    return src == SQLITE_CANTOPEN ? MFU_E_IO : map_rc(src);
  sqlite3_extended_result_codes(k->db, 1);
  sqlite3_busy_timeout(k->db, BUSY_TIMEOUT_MS);
  /* journal_mode is stored in the file; the writer sets it once. */
  if(writer)
    src = sqlite3_exec(k->db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL);
  if(src == SQLITE_OK)
    src = sqlite3_exec(k->db, pragmas, NULL, NULL, NULL);
  if(src != SQLITE_OK)
    return src == SQLITE_NOTADB ? MFU_E_IO : map_rc(src);
  return MFU_OK;
}

/* Apply the pending steps of migrations.h in one write transaction, so a
 * second server opening the same file waits and then finds them done. */
static int migrate(struct conn *k)
{
  int v = 0, i, rc, src;
  sqlite3_stmt *st;

  if(sqlite3_exec(k->db, MIGRATION_BOOTSTRAP, NULL, NULL, NULL))
    return map_rc(sqlite3_extended_errcode(k->db));
  rc = run_id(k, ST_BEGIN_WRITE);
  if(rc)
    return rc;
  st = stmt(k, ST_VERSION);
  if(!st || (src = step(k, st)) != SQLITE_ROW) {
    rc = st ? map_rc(src) : MFU_E_IO;
  }
  else {
    v = sqlite3_column_int(st, 0);
  }
  if(st)
    done(st);
  for(i = 0; !rc && i < CATALOG_NMIGRATIONS; i++) {
    if(catalog_migrations[i].version <= v)
      continue;
    if(sqlite3_exec(k->db, catalog_migrations[i].sql, NULL, NULL, NULL)) {
      rc = map_rc(sqlite3_extended_errcode(k->db));
      break;
    }
    st = stmt(k, ST_MIGRATION_RECORD);
    if(st) {
      sqlite3_bind_int(st, 1, catalog_migrations[i].version);
      sqlite3_bind_int64(st, 2, (sqlite3_int64)time(NULL));
    }
    rc = run(k, st);
  }
  return finish_tx(k, rc);
}

/* Create the directories above the database file, as the store does for
 * its own, so the defaults work in an empty working directory. */
static int make_parents(const char *path)
{
  char *dir = strdup(path);
  char *p;
  int rc = MFU_OK;

  if(!dir)
    return MFU_E_NOMEM;
  for(p = dir + 1; *p; p++) {
    if(*p != '/')
      continue;
    *p = '\0';
    if(mkdir(dir, 0755) && errno != EEXIST) {
      rc = MFU_E_IO;
      break;
    }
    *p = '/';
  }
  free(dir);
  return rc;
}

static const struct catalog_ops sqlite_ops = {
  .close = sq_close,
  .ping = sq_ping,
  .schema_version = sq_schema_version,
  .item_insert = sq_item_insert,
  .item_get = sq_item_get,
  .item_list = sq_item_list,
  .item_delete = sq_item_delete,
  .blob_refs = sq_blob_refs,
  .blob_type = sq_blob_type,
  .idem_get = sq_idem_get,
  .user_add = sq_user_add,
  .user_list = sq_user_list,
  .token_add = sq_token_add,
  .token_list = sq_token_list,
  .token_revoke = sq_token_revoke,
  .token_user = sq_token_user,
};

int mfu_catalog_sqlite_open(const char *rest, struct mfu_catalog **out)
{
  struct sq_catalog *c;
  int rc, i;

  if(!rest || !*rest)
    return MFU_E_INVAL;
  rc = make_parents(rest);
  if(rc)
    return rc;
  c = calloc(1, sizeof(*c));
  if(!c)
    return MFU_E_NOMEM;
  c->base.ops = &sqlite_ops;
  pthread_mutex_init(&c->write_mu, NULL);
  pthread_mutex_init(&c->queue_mu, NULL);
  c->queue_tail = &c->queue;
  pthread_mutex_init(&c->pool_mu, NULL);
  pthread_cond_init(&c->pool_cv, NULL);
  rc = conn_open(&c->writer, rest, 1);
  if(!rc)
    rc = migrate(&c->writer);
  for(i = 0; !rc && i < NREADERS; i++) {
    rc = conn_open(&c->readers[i], rest, 0);
    c->readers[i].next = c->free;
    c->free = &c->readers[i];
  }
  if(rc) {
    sq_close(&c->base);
    return rc;
  }
  *out = &c->base;
  return MFU_OK;
}
