/*
 * catalog_pg.c - the catalog on PostgreSQL (libpq), for several mfud nodes
 * sharing one database: "postgresql://USER@HOST:PORT/DB?...", passed to
 * libpq as it is.
 *
 * A small pool of connections serves the threads: an op takes one,
 * runs its transaction, and gives it back; a connection found broken is
 * closed and a stale one (the server restarted since it was last used) is
 * replaced once before its first statement.  Every write is one
 * transaction, so nodes writing at once need no other coordination: ids
 * are unique ObjectIds and a PRIMARY KEY conflict (SQLSTATE 23505) comes
 * back as MFU_E_EXISTS.  The migrations of migrations.h run under an
 * advisory lock, so nodes starting together apply each step once.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "catalog_impl.h"
#include "migrations.h"

#define POOL_MAX 8
#define MIGRATION_LOCK 0x6d6675 /* "mfu": the advisory lock's key */

struct pg_catalog {
  struct mfu_catalog base;
  char *url;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  PGconn *idle[POOL_MAX];
  unsigned nidle, nopen;
};

static const struct catalog_ops pg_ops;

/* --- errors ------------------------------------------------------------ */

static int map_sqlstate(const char *st)
{
  if(!st)
    return MFU_E_UNAVAILABLE; /* no answer: the connection went */
  if(!strcmp(st, "23505"))
    return MFU_E_EXISTS;
  if(!strcmp(st, "40001") || !strcmp(st, "40P01") || !strcmp(st, "55P03"))
    return MFU_E_BUSY;
  if(!strcmp(st, "53100"))
    return MFU_E_NOSPACE;
  if(!strcmp(st, "53200"))
    return MFU_E_NOMEM;
  /* class 08 connection exception, 57P0x shutdown, 53300 too many
   * connections: PostgreSQL SQLSTATE codes, Appendix A of its manual */
  if(!strncmp(st, "08", 2) || !strncmp(st, "57P", 3) ||
     !strcmp(st, "53300"))
    return MFU_E_UNAVAILABLE;
  return MFU_E_IO;
}

/* MFU_OK when res is what was wanted; otherwise an mfu code, logged. */
static int check(PGconn *k, PGresult *res, ExecStatusType want)
{
  const char *st;
  int rc;

  if(res && PQresultStatus(res) == want)
    return MFU_OK;
  if(PQstatus(k) == CONNECTION_BAD)
    rc = MFU_E_UNAVAILABLE;
  else if(!res)
    rc = MFU_E_NOMEM;
  else {
    st = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    rc = map_sqlstate(st);
  }
  if(rc != MFU_E_EXISTS)
    fprintf(stderr, "mfu: postgresql: %s",
            res ? PQresultErrorMessage(res) : PQerrorMessage(k));
  return rc;
}

static int exec(PGconn *k, const char *sql)
{
  PGresult *res = PQexec(k, sql);
  int rc = check(k, res, PGRES_COMMAND_OK);

  PQclear(res);
  return rc;
}

/* Run sql with text parameters; on MFU_OK *res holds the result. */
static int query(PGconn *k, const char *sql, int n, const char *const *v,
                 ExecStatusType want, PGresult **res)
{
  int rc;

  *res = PQexecParams(k, sql, n, NULL, v, NULL, NULL, 0);
  rc = check(k, *res, want);
  if(rc) {
    PQclear(*res);
    *res = NULL;
  }
  return rc;
}

static int command(PGconn *k, const char *sql, int n, const char *const *v)
{
  PGresult *res;
  int rc = query(k, sql, n, v, PGRES_COMMAND_OK, &res);

  PQclear(res);
  return rc;
}

/* --- the pool ---------------------------------------------------------- */

static PGconn *connect_new(const char *url)
{
  /* the URL's own settings come later and so win over these defaults */
  static const char *const keys[] = {
    "connect_timeout", "application_name", "dbname", NULL
  };
  const char *vals[] = {"10", "mfud", url, NULL};
  PGconn *k = PQconnectdbParams(keys, vals, 1);

  if(k && PQstatus(k) != CONNECTION_OK) {
    fprintf(stderr, "mfu: postgresql: %s", PQerrorMessage(k));
    PQfinish(k);
    return NULL;
  }
  if(k)
    PQclear(PQexec(k, "SET client_min_messages = warning"));
  return k;
}

/* A connection, and whether it is reused (then possibly stale). */
static PGconn *conn_get(struct pg_catalog *c, int *reused)
{
  PGconn *k = NULL;

  pthread_mutex_lock(&c->mu);
  while(!c->nidle && c->nopen >= POOL_MAX)
    pthread_cond_wait(&c->cv, &c->mu);
  if(c->nidle) {
    k = c->idle[--c->nidle];
    *reused = 1;
  }
  else {
    c->nopen++;
    *reused = 0;
  }
  pthread_mutex_unlock(&c->mu);
  if(k)
    return k;
  k = connect_new(c->url);
  if(!k) {
    pthread_mutex_lock(&c->mu);
    c->nopen--;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
  }
  return k;
}

static void conn_put(struct pg_catalog *c, PGconn *k)
{
  int bad = PQstatus(k) != CONNECTION_OK ||
            PQtransactionStatus(k) != PQTRANS_IDLE;

  if(bad)
    PQfinish(k);
  pthread_mutex_lock(&c->mu);
  if(bad)
    c->nopen--;
  else
    c->idle[c->nidle++] = k;
  pthread_cond_signal(&c->cv);
  pthread_mutex_unlock(&c->mu);
}

/*
 * Take a connection and open a transaction on it.  A reused connection
 * that fails its BEGIN has outlived its server (restart, idle timeout):
 * it is dropped and the BEGIN tried once more on a new one, which is safe
 * because nothing was sent yet.
 */
static int begin(struct pg_catalog *c, const char *sql, PGconn **out)
{
  int attempt, reused, rc = MFU_E_UNAVAILABLE;

  *out = NULL;
  for(attempt = 0; attempt < POOL_MAX + 1; attempt++) {
    PGconn *k = conn_get(c, &reused);

    if(!k)
      return MFU_E_UNAVAILABLE;
    rc = exec(k, sql);
    if(!rc) {
      *out = k;
      return MFU_OK;
    }
    conn_put(c, k);
    if(!reused || rc != MFU_E_UNAVAILABLE)
      break;
  }
  return rc;
}

/* COMMIT on success, ROLLBACK otherwise; gives the connection back. */
static int finish(struct pg_catalog *c, PGconn *k, int rc)
{
  if(!rc)
    rc = exec(k, "COMMIT");
  else if(PQstatus(k) == CONNECTION_OK)
    PQclear(PQexec(k, "ROLLBACK"));
  conn_put(c, k);
  return rc;
}

/* --- writing items ------------------------------------------------------ */

static int insert_file(PGconn *k, const char *id, const struct mfu_file *f)
{
  static const char sql[] =
    "INSERT INTO files (item_id, grp, idx, name, duration, duration_probed,"
    " width, height, codec, content_type, size, sha256, ext) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)";
  char grp[16], idx[24], dur[24], probed[40], w[16], h[16], size[24];
  const char *v[13];

  snprintf(grp, sizeof(grp), "%d", (int)f->group);
  snprintf(idx, sizeof(idx), "%u", f->index);
  snprintf(dur, sizeof(dur), "%lld", (long long)f->duration);
  snprintf(probed, sizeof(probed), "%.17g", f->duration_probed);
  snprintf(w, sizeof(w), "%d", f->width);
  snprintf(h, sizeof(h), "%d", f->height);
  snprintf(size, sizeof(size), "%llu", (unsigned long long)f->size);
  v[0] = id;
  v[1] = grp;
  v[2] = idx;
  v[3] = f->name;
  v[4] = f->duration >= 0 ? dur : NULL;
  v[5] = f->duration_probed >= 0 ? probed : NULL;
  v[6] = f->width > 0 ? w : NULL;
  v[7] = f->height > 0 ? h : NULL;
  v[8] = f->codec;
  v[9] = f->content_type ? f->content_type : "";
  v[10] = size;
  v[11] = f->sha256;
  v[12] = f->ext ? f->ext : "";
  return command(k, sql, 13, v);
}

static int insert_rows(PGconn *k, const struct mfu_item *it)
{
  char at[24];
  const char *v[4];
  size_t i;
  int rc;

  snprintf(at, sizeof(at), "%lld", (long long)it->created_at);
  v[0] = it->id;
  v[1] = it->username;
  v[2] = it->text ? it->text : "";
  v[3] = at;
  rc = command(k, "INSERT INTO items (id, username, text, created_at) "
               "VALUES ($1, $2, $3, $4)", 4, v);
  for(i = 0; !rc && i < it->nfiles; i++)
    rc = insert_file(k, it->id, &it->files[i]);
  if(!rc && it->idem_key) {
    v[0] = it->username;
    v[1] = it->idem_key;
    v[2] = it->id;
    v[3] = at;
    rc = command(k, "INSERT INTO idempotency (username, key, item_id, "
                 "created_at) VALUES ($1, $2, $3, $4)", 4, v);
  }
  return rc;
}

static int pg_item_insert(struct mfu_catalog *cat, const struct mfu_item *it)
{
  struct pg_catalog *c = (struct pg_catalog *)cat;
  PGconn *k;
  size_t i;
  int rc;

  if(!it->username || (it->nfiles && !it->files))
    return MFU_E_INVAL;
  for(i = 0; i < it->nfiles; i++) {
    if(!it->files[i].name || (unsigned)it->files[i].group >= MFU_GROUP_COUNT)
      return MFU_E_INVAL;
  }
  rc = begin(c, "BEGIN", &k);
  if(rc)
    return rc;
  return finish(c, k, insert_rows(k, it));
}

/* --- reading items ------------------------------------------------------ */

static char *col(PGresult *res, int row, int i, int *nomem)
{
  char *s;

  if(PQgetisnull(res, row, i))
    return NULL;
  s = strdup(PQgetvalue(res, row, i));
  if(!s)
    *nomem = 1;
  return s;
}

static long long col_ll(PGresult *res, int row, int i, long long null)
{
  return PQgetisnull(res, row, i) ? null :
         strtoll(PQgetvalue(res, row, i), NULL, 10);
}

static int read_files(PGresult *res, struct mfu_item *it)
{
  int n = PQntuples(res), i, nomem = 0;

  if(!n)
    return MFU_OK;
  it->files = calloc((size_t)n, sizeof(*it->files));
  if(!it->files)
    return MFU_E_NOMEM;
  for(i = 0; i < n; i++) {
    struct mfu_file *f = &it->files[i];

    it->nfiles++; /* counted first, so mfu_item_free frees a half row */
    f->group = (enum mfu_group)col_ll(res, i, 0, 0);
    f->index = (unsigned)col_ll(res, i, 1, 0);
    f->name = col(res, i, 2, &nomem);
    f->duration = col_ll(res, i, 3, -1);
    f->duration_probed = PQgetisnull(res, i, 4) ? -1.0 :
                         strtod(PQgetvalue(res, i, 4), NULL);
    f->width = (int)col_ll(res, i, 5, 0);
    f->height = (int)col_ll(res, i, 6, 0);
    f->codec = col(res, i, 7, &nomem);
    f->content_type = col(res, i, 8, &nomem);
    f->size = (uint64_t)col_ll(res, i, 9, 0);
    snprintf(f->sha256, sizeof(f->sha256), "%s", PQgetvalue(res, i, 10));
    f->ext = col(res, i, 11, &nomem);
    if(nomem || !f->name || !f->content_type || !f->ext)
      return MFU_E_NOMEM;
  }
  return MFU_OK;
}

/* The item of row `row` of an items query, with its files. */
static int read_item(PGconn *k, PGresult *items, int row,
                     struct mfu_item **out)
{
  static const char sql[] =
    "SELECT grp, idx, name, duration, duration_probed, width, height, codec,"
    " content_type, size, sha256, ext FROM files WHERE item_id = $1 "
    "ORDER BY grp, idx";
  struct mfu_item *it = calloc(1, sizeof(*it));
  const char *v[1];
  PGresult *res;
  int rc, nomem = 0;

  if(!it)
    return MFU_E_NOMEM;
  snprintf(it->id, sizeof(it->id), "%s", PQgetvalue(items, row, 0));
  it->username = col(items, row, 1, &nomem);
  it->text = col(items, row, 2, &nomem);
  it->created_at = col_ll(items, row, 3, 0);
  rc = nomem || !it->username || !it->text ? MFU_E_NOMEM : MFU_OK;
  v[0] = it->id;
  if(!rc)
    rc = query(k, sql, 1, v, PGRES_TUPLES_OK, &res);
  if(!rc) {
    rc = read_files(res, it);
    PQclear(res);
  }
  if(rc) {
    mfu_item_free(it);
    return rc;
  }
  *out = it;
  return MFU_OK;
}

/* One snapshot for an item and its files, as with SQLite's read
 * transaction. */
#define BEGIN_READ "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"

static int pg_item_get(struct mfu_catalog *cat, const char *id,
                       struct mfu_item **out)
{
  struct pg_catalog *c = (struct pg_catalog *)cat;
  const char *v[1] = {id};
  PGresult *res;
  PGconn *k;
  int rc = begin(c, BEGIN_READ, &k);

  if(rc)
    return rc;
  rc = query(k, "SELECT id, username, text, created_at FROM items "
             "WHERE id = $1", 1, v, PGRES_TUPLES_OK, &res);
  if(!rc) {
    rc = PQntuples(res) ? read_item(k, res, 0, out) : MFU_E_NOTFOUND;
    PQclear(res);
  }
  return finish(c, k, rc);
}

static int pg_item_list(struct mfu_catalog *cat, const char *username,
                        const char *after, size_t limit,
                        struct mfu_item ***out, size_t *n)
{
  struct pg_catalog *c = (struct pg_catalog *)cat;
  struct mfu_item **v = NULL;
  char lim[24];
  const char *p[3];
  PGresult *res;
  PGconn *k;
  int rc, i, rows;

  if(!username)
    return MFU_E_INVAL;
  snprintf(lim, sizeof(lim), "%zu", limit);
  p[0] = username;
  p[1] = after ? after : lim;
  p[2] = lim;
  rc = begin(c, BEGIN_READ, &k);
  if(rc)
    return rc;
  if(after)
    rc = query(k, "SELECT id, username, text, created_at FROM items "
               "WHERE username = $1 AND id < $2 ORDER BY id DESC "
               "LIMIT $3", 3, p, PGRES_TUPLES_OK, &res);
  else
    rc = query(k, "SELECT id, username, text, created_at FROM items "
               "WHERE username = $1 ORDER BY id DESC LIMIT $2::bigint", 2, p,
               PGRES_TUPLES_OK, &res);
  if(rc)
    return finish(c, k, rc);
  rows = PQntuples(res);
  if(rows) {
    v = calloc((size_t)rows, sizeof(*v));
    if(!v)
      rc = MFU_E_NOMEM;
  }
  for(i = 0; !rc && i < rows; i++)
    rc = read_item(k, res, i, &v[i]);
  PQclear(res);
  rc = finish(c, k, rc);
  if(rc) {
    mfu_item_list_free(v, (size_t)rows);
    return rc;
  }
  *out = v;
  *n = (size_t)rows;
  return MFU_OK;
}

/* --- deleting ------------------------------------------------------------ */

/* Of the item's distinct hashes, those no file row points at any more
 * once the item is gone, into a malloc'd array. */
static int delete_rows(PGconn *k, const char *id, char ***orphans,
                       size_t *norphans)
{
  const char *v[1] = {id};
  PGresult *res;
  char **out = NULL;
  size_t nout = 0;
  int rc, i, rows;

  /* FOR UPDATE: a second node deleting the same item waits for us, then
   * finds nothing */
  rc = query(k, "SELECT id FROM items WHERE id = $1 FOR UPDATE", 1, v,
             PGRES_TUPLES_OK, &res);
  if(rc)
    return rc;
  rows = PQntuples(res);
  PQclear(res);
  if(!rows)
    return MFU_E_NOTFOUND;
  rc = query(k, "DELETE FROM files WHERE item_id = $1 RETURNING sha256", 1,
             v, PGRES_TUPLES_OK, &res);
  if(!rc)
    rc = command(k, "DELETE FROM items WHERE id = $1", 1, v);
  if(rc) {
    PQclear(res);
    return rc;
  }
  rows = PQntuples(res);
  for(i = 0; !rc && i < rows; i++) {
    const char *h = PQgetvalue(res, i, 0);
    PGresult *used;
    size_t j;

    for(j = 0; j < nout && strcmp(out[j], h); j++)
      ;
    if(j < nout)
      continue; /* the same blob twice in one item */
    v[0] = h;
    rc = query(k, "SELECT 1 FROM files WHERE sha256 = $1 LIMIT 1", 1, v,
               PGRES_TUPLES_OK, &used);
    if(rc)
      break;
    if(!PQntuples(used)) {
      char **nv = realloc(out, (nout + 1) * sizeof(*out));

      if(!nv || !(nv[nout] = strdup(h))) {
        out = nv ? nv : out;
        rc = MFU_E_NOMEM;
      }
      else {
        out = nv;
        nout++;
      }
    }
    PQclear(used);
  }
  PQclear(res);
  if(rc) {
    mfu_catalog_strings_free(out, nout);
    return rc;
  }
  *orphans = out;
  *norphans = nout;
  return MFU_OK;
}

static int pg_item_delete(struct mfu_catalog *cat, const char *id,
                          char ***orphans, size_t *norphans)
{
  struct pg_catalog *c = (struct pg_catalog *)cat;
  char **v = NULL;
  size_t nv = 0;
  PGconn *k;
  int rc = begin(c, "BEGIN", &k);

  if(rc)
    return rc;
  rc = finish(c, k, delete_rows(k, id, &v, &nv));
  if(rc || !nv) {
    mfu_catalog_strings_free(v, nv);
    return rc;
  }
  *orphans = v;
  *norphans = nv;
  return MFU_OK;
}

/* --- blobs, idempotency, version ----------------------------------------- */

/* A one-row query outside any explicit transaction; *res is its result
 * (free with PQclear) or MFU_E_NOTFOUND when it has no row. */
static int one_row(struct pg_catalog *c, const char *sql, int n,
                   const char *const *v, PGresult **res)
{
  PGconn *k;
  int rc = begin(c, BEGIN_READ, &k);

  if(rc)
    return rc;
  rc = query(k, sql, n, v, PGRES_TUPLES_OK, res);
  if(!rc && !PQntuples(*res)) {
    PQclear(*res);
    *res = NULL;
    rc = MFU_E_NOTFOUND;
  }
  rc = finish(c, k, rc);
  if(rc && *res) {
    PQclear(*res);
    *res = NULL;
  }
  return rc;
}

static int pg_blob_refs(struct mfu_catalog *cat, const char *hex,
                        uint64_t *refs)
{
  const char *v[1] = {hex};
  PGresult *res = NULL;
  int rc = one_row((struct pg_catalog *)cat,
                   "SELECT COUNT(*) FROM files WHERE sha256 = $1", 1, v,
                   &res);

  if(!rc)
    *refs = (uint64_t)col_ll(res, 0, 0, 0);
  PQclear(res);
  return rc;
}

static int pg_blob_type(struct mfu_catalog *cat, const char *hex, char *out,
                        size_t cap)
{
  const char *v[1] = {hex};
  PGresult *res = NULL;
  int rc = one_row((struct pg_catalog *)cat,
                   "SELECT content_type FROM files WHERE sha256 = $1 "
                   "LIMIT 1", 1, v, &res);

  if(!rc) {
    const char *t = PQgetvalue(res, 0, 0);

    if(strlen(t) >= cap)
      rc = MFU_E_INVAL;
    else
      memcpy(out, t, strlen(t) + 1);
  }
  PQclear(res);
  return rc;
}

static int pg_schema_version(struct mfu_catalog *cat, int *version)
{
  PGresult *res = NULL;
  int rc = one_row((struct pg_catalog *)cat,
                   "SELECT COALESCE(MAX(version), 0) FROM schema_version",
                   0, NULL, &res);

  if(!rc)
    *version = (int)col_ll(res, 0, 0, 0);
  PQclear(res);
  return rc;
}

static int pg_ping(struct mfu_catalog *cat)
{
  PGresult *res = NULL;
  int rc = one_row((struct pg_catalog *)cat, "SELECT 1", 0, NULL, &res);

  PQclear(res);
  return rc;
}

static int pg_idem_get(struct mfu_catalog *cat, const char *username,
                       const char *key, int64_t ttl, char *id)
{
  struct pg_catalog *c = (struct pg_catalog *)cat;
  int64_t oldest = (int64_t)time(NULL) - ttl;
  const char *v[2] = {username, key};
  char before[24];
  PGresult *res = NULL;
  PGconn *k;
  int rc, expired = 0;

  if(!username || !key)
    return MFU_E_INVAL;
  rc = one_row(c, "SELECT item_id, created_at FROM idempotency "
               "WHERE username = $1 AND key = $2", 2, v, &res);
  if(rc)
    return rc;
  expired = col_ll(res, 0, 1, 0) < oldest;
  if(expired || strlen(PQgetvalue(res, 0, 0)) >= MFU_ID_HEX)
    rc = MFU_E_NOTFOUND;
  else
    memcpy(id, PQgetvalue(res, 0, 0), strlen(PQgetvalue(res, 0, 0)) + 1);
  PQclear(res);
  if(!expired)
    return rc;
  /* forgetting is lazy, as in the SQLite catalog: the lookup that meets
   * an expired key clears every expired key */
  snprintf(before, sizeof(before), "%lld", (long long)oldest);
  v[0] = before;
  if(begin(c, "BEGIN", &k))
    return rc;
  finish(c, k, command(k, "DELETE FROM idempotency WHERE created_at < $1",
                       1, v));
  return rc;
}

/* --- users and tokens ---------------------------------------------------- */

static int pg_user_add(struct mfu_catalog *cat, const char *username)
{
  struct pg_catalog *c = (struct pg_catalog *)cat;
  char at[24];
  const char *v[2] = {username, at};
  PGconn *k;
  int rc = begin(c, "BEGIN", &k);

  if(rc)
    return rc;
  snprintf(at, sizeof(at), "%lld", (long long)time(NULL));
  return finish(c, k, command(k, "INSERT INTO users (username, created_at) "
                              "VALUES ($1, $2)", 2, v));
}

static int pg_user_list(struct mfu_catalog *cat, char ***names, size_t *n)
{
  struct pg_catalog *c = (struct pg_catalog *)cat;
  PGresult *res = NULL;
  PGconn *k;
  char **v = NULL;
  int rc = begin(c, BEGIN_READ, &k), i, rows = 0, nomem = 0;

  if(rc)
    return rc;
  rc = query(k, "SELECT username FROM users ORDER BY username", 0, NULL,
             PGRES_TUPLES_OK, &res);
  rc = finish(c, k, rc);
  if(rc)
    return rc;
  rows = PQntuples(res);
  if(rows && !(v = calloc((size_t)rows, sizeof(*v))))
    nomem = 1;
  for(i = 0; v && i < rows; i++)
    v[i] = col(res, i, 0, &nomem);
  PQclear(res);
  if(nomem) {
    mfu_catalog_strings_free(v, (size_t)rows);
    return MFU_E_NOMEM;
  }
  *names = v;
  *n = (size_t)rows;
  return MFU_OK;
}

static int token_insert(PGconn *k, const char *username, const char *hash,
                        const char *label, int64_t *id)
{
  char at[24];
  const char *v[4] = {username, hash, label, at};
  PGresult *res;
  int rc;

  rc = query(k, "SELECT 1 FROM users WHERE username = $1", 1, v,
             PGRES_TUPLES_OK, &res);
  if(rc)
    return rc;
  rc = PQntuples(res) ? MFU_OK : MFU_E_NOTFOUND;
  PQclear(res);
  if(rc)
    return rc;
  snprintf(at, sizeof(at), "%lld", (long long)time(NULL));
  /* Two nodes adding at once may pick the same id: the loser gets
   * MFU_E_EXISTS from the PRIMARY KEY and nothing is written. */
  rc = query(k, "INSERT INTO tokens (id, username, hash, label, created_at)"
             " SELECT COALESCE(MAX(id), 0) + 1, $1, $2, $3, $4 FROM tokens"
             " RETURNING id", 4, v, PGRES_TUPLES_OK, &res);
  if(rc)
    return rc;
  *id = col_ll(res, 0, 0, 0);
  PQclear(res);
  return MFU_OK;
}

static int pg_token_add(struct mfu_catalog *cat, const char *username,
                        const char *hash, const char *label, int64_t *id)
{
  struct pg_catalog *c = (struct pg_catalog *)cat;
  PGconn *k;
  int rc = begin(c, "BEGIN", &k);

  if(rc)
    return rc;
  rc = finish(c, k, token_insert(k, username, hash, label, id));
  if(rc)
    *id = 0;
  return rc;
}

static int pg_token_list(struct mfu_catalog *cat, const char *username,
                         struct mfu_token **out, size_t *n)
{
  struct pg_catalog *c = (struct pg_catalog *)cat;
  const char *v[1] = {username};
  struct mfu_token *t = NULL;
  PGresult *res = NULL;
  PGconn *k;
  int rc = begin(c, BEGIN_READ, &k), i, rows, nomem = 0;

  if(rc)
    return rc;
  rc = query(k, username
             ? "SELECT id, username, label, created_at, revoked_at "
               "FROM tokens WHERE username = $1 ORDER BY id"
             : "SELECT id, username, label, created_at, revoked_at "
               "FROM tokens ORDER BY id", username ? 1 : 0, v,
             PGRES_TUPLES_OK, &res);
  rc = finish(c, k, rc);
  if(rc)
    return rc;
  rows = PQntuples(res);
  if(rows && !(t = calloc((size_t)rows, sizeof(*t))))
    nomem = 1;
  for(i = 0; t && i < rows; i++) {
    t[i].id = col_ll(res, i, 0, 0);
    t[i].username = col(res, i, 1, &nomem);
    t[i].label = col(res, i, 2, &nomem);
    t[i].created_at = col_ll(res, i, 3, 0);
    t[i].revoked_at = col_ll(res, i, 4, 0);
    if(!t[i].username || !t[i].label)
      nomem = 1;
  }
  PQclear(res);
  if(nomem) {
    mfu_token_list_free(t, (size_t)rows);
    return MFU_E_NOMEM;
  }
  *out = t;
  *n = (size_t)rows;
  return MFU_OK;
}

static int pg_token_revoke(struct mfu_catalog *cat, int64_t id)
{
  struct pg_catalog *c = (struct pg_catalog *)cat;
  char sid[24], at[24];
  const char *v[2] = {sid, at};
  PGresult *res;
  PGconn *k;
  int rc = begin(c, "BEGIN", &k);

  if(rc)
    return rc;
  snprintf(sid, sizeof(sid), "%lld", (long long)id);
  snprintf(at, sizeof(at), "%lld", (long long)time(NULL));
  rc = query(k, "UPDATE tokens SET revoked_at = COALESCE(revoked_at, $2) "
             "WHERE id = $1", 2, v, PGRES_COMMAND_OK, &res);
  if(!rc) {
    if(!strcmp(PQcmdTuples(res), "0"))
      rc = MFU_E_NOTFOUND;
    PQclear(res);
  }
  return finish(c, k, rc);
}

static int pg_token_user(struct mfu_catalog *cat, const char *hash,
                         char *out, size_t cap)
{
  const char *v[1] = {hash};
  PGresult *res = NULL;
  int rc = one_row((struct pg_catalog *)cat,
                   "SELECT username FROM tokens WHERE hash = $1 "
                   "AND revoked_at IS NULL", 1, v, &res);

  if(!rc) {
    const char *u = PQgetvalue(res, 0, 0);

    if(strlen(u) >= cap)
      rc = MFU_E_INVAL;
    else
      memcpy(out, u, strlen(u) + 1);
  }
  PQclear(res);
  return rc;
}

/* --- open and close ------------------------------------------------------ */

static int migrate_locked(PGconn *k)
{
  PGresult *res;
  char ver[16], at[24];
  const char *v[2] = {ver, at};
  int i, cur, rc;

  rc = exec(k, MIGRATION_BOOTSTRAP);
  if(!rc)
    rc = exec(k, "BEGIN");
  if(rc)
    return rc;
  rc = query(k, "SELECT COALESCE(MAX(version), 0) FROM schema_version", 0,
             NULL, PGRES_TUPLES_OK, &res);
  cur = rc ? 0 : (int)col_ll(res, 0, 0, 0);
  PQclear(res);
  for(i = 0; !rc && i < CATALOG_NMIGRATIONS; i++) {
    if(catalog_migrations[i].version <= cur)
      continue;
    rc = exec(k, catalog_migrations[i].sql);
    snprintf(ver, sizeof(ver), "%d", catalog_migrations[i].version);
    snprintf(at, sizeof(at), "%lld", (long long)time(NULL));
    if(!rc)
      rc = command(k, MIGRATION_RECORD_PG, 2, v);
  }
  if(!rc)
    return exec(k, "COMMIT");
  PQclear(PQexec(k, "ROLLBACK"));
  return rc;
}

/* Several nodes may start at once: the advisory lock (session level)
 * makes the others wait for the first and then find nothing to do. */
static int migrate(PGconn *k)
{
  char sql[64];
  PGresult *res;
  int rc;

  snprintf(sql, sizeof(sql), "SELECT pg_advisory_lock(%d)", MIGRATION_LOCK);
  res = PQexec(k, sql);
  rc = check(k, res, PGRES_TUPLES_OK);
  PQclear(res);
  if(rc)
    return rc;
  rc = migrate_locked(k);
  snprintf(sql, sizeof(sql), "SELECT pg_advisory_unlock(%d)",
           MIGRATION_LOCK);
  PQclear(PQexec(k, sql));
  return rc;
}

static void pg_close(struct mfu_catalog *cat)
{
  struct pg_catalog *c = (struct pg_catalog *)cat;
  unsigned i;

  for(i = 0; i < c->nidle; i++)
    PQfinish(c->idle[i]);
  pthread_cond_destroy(&c->cv);
  pthread_mutex_destroy(&c->mu);
  free(c->url);
  free(c);
}

static const struct catalog_ops pg_ops = {
  .close = pg_close,
  .ping = pg_ping,
  .schema_version = pg_schema_version,
  .item_insert = pg_item_insert,
  .item_get = pg_item_get,
  .item_list = pg_item_list,
  .item_delete = pg_item_delete,
  .blob_refs = pg_blob_refs,
  .blob_type = pg_blob_type,
  .idem_get = pg_idem_get,
  .user_add = pg_user_add,
  .user_list = pg_user_list,
  .token_add = pg_token_add,
  .token_list = pg_token_list,
  .token_revoke = pg_token_revoke,
  .token_user = pg_token_user,
};

int mfu_catalog_pg_open(const char *url, struct mfu_catalog **out)
{
  struct pg_catalog *c = calloc(1, sizeof(*c));
  PGconn *k;
  int reused, rc;

  if(!c)
    return MFU_E_NOMEM;
  c->base.ops = &pg_ops;
  c->url = strdup(url);
  if(!c->url || pthread_mutex_init(&c->mu, NULL)) {
    free(c->url);
    free(c);
    return MFU_E_NOMEM;
  }
  pthread_cond_init(&c->cv, NULL);
  k = conn_get(c, &reused);
  if(!k) {
    pg_close(&c->base);
    return MFU_E_UNAVAILABLE;
  }
  rc = migrate(k);
  conn_put(c, k);
  if(rc) {
    pg_close(&c->base);
    return rc;
  }
  *out = &c->base;
  return MFU_OK;
}
