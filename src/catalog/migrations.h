/*
 * migrations.h - the catalog schema as numbered steps, written once in SQL
 * that both SQLite and PostgreSQL accept (TEXT, INTEGER, BIGINT, DOUBLE
 * PRECISION; no AUTOINCREMENT, no WITHOUT ROWID, no SERIAL).
 *
 * A backend creates the schema_version table (MIGRATION_BOOTSTRAP), reads
 * MAX(version), then runs every later step in order, each in its own
 * transaction together with the INSERT INTO schema_version that records
 * it.  Two servers opening one database at once: the PRIMARY KEY on
 * version lets only one record a step; the other rolls back and re-reads.
 *
 * To change the schema, append a step with the next number.  Never edit a
 * step that has shipped: databases out there already ran it.
 */
#ifndef MFU_CATALOG_MIGRATIONS_H
#define MFU_CATALOG_MIGRATIONS_H

#define MIGRATION_BOOTSTRAP \
  "CREATE TABLE IF NOT EXISTS schema_version (\n" \
  "  version INTEGER PRIMARY KEY,\n" \
  "  applied_at BIGINT NOT NULL\n" \
  ")"

/* Placeholders: SQLite accepts ?N, libpq wants $N; a step has none. */
#define MIGRATION_RECORD_SQLITE \
  "INSERT INTO schema_version (version, applied_at) VALUES (?1, ?2)"
#define MIGRATION_RECORD_PG \
  "INSERT INTO schema_version (version, applied_at) VALUES ($1, $2)"

struct catalog_migration {
  int version;
  const char *sql;   /* one or more statements separated by ';' */
};

static const struct catalog_migration catalog_migrations[] = {
  {1,
   /* Items: an ObjectId, so ORDER BY id is ORDER BY time. */
   "CREATE TABLE items (\n"
   "  id TEXT PRIMARY KEY,\n"
   "  username TEXT NOT NULL,\n"
   "  text TEXT NOT NULL,\n"
   "  created_at BIGINT NOT NULL\n"
   ");\n"
   "CREATE INDEX items_username_id ON items (username, id);\n"
   /* Files: NULL is unknown (duration, probe results, codec). */
   "CREATE TABLE files (\n"
   "  item_id TEXT NOT NULL REFERENCES items (id) ON DELETE CASCADE,\n"
   "  grp INTEGER NOT NULL,\n"
   "  idx INTEGER NOT NULL,\n"
   "  name TEXT NOT NULL,\n"
   "  duration BIGINT,\n"
   "  duration_probed DOUBLE PRECISION,\n"
   "  width INTEGER,\n"
   "  height INTEGER,\n"
   "  codec TEXT,\n"
   "  content_type TEXT NOT NULL,\n"
   "  size BIGINT NOT NULL,\n"
   "  sha256 TEXT NOT NULL,\n"
   "  ext TEXT NOT NULL,\n"
   "  PRIMARY KEY (item_id, grp, idx)\n"
   ");\n"
   /* Reference counts and orphans on delete look blobs up by hash. */
   "CREATE INDEX files_sha256 ON files (sha256);\n"
   /* Idempotency-Key of a POST: its retry answers the first item. */
   "CREATE TABLE idempotency (\n"
   "  username TEXT NOT NULL,\n"
   "  key TEXT NOT NULL,\n"
   "  item_id TEXT NOT NULL REFERENCES items (id) ON DELETE CASCADE,\n"
   "  created_at BIGINT NOT NULL,\n"
   "  PRIMARY KEY (username, key)\n"
   ");\n"
   "CREATE INDEX idempotency_created_at ON idempotency (created_at)"},
  {2,
   /* Users and their API tokens.  Only a token's SHA-256 (hex) is kept:
    * a copy of the database does not let anyone in.  ids are given by
    * the inserting transaction (MAX + 1): no SERIAL in SQLite. */
   "CREATE TABLE users (\n"
   "  username TEXT PRIMARY KEY,\n"
   "  created_at BIGINT NOT NULL\n"
   ");\n"
   "CREATE TABLE tokens (\n"
   "  id BIGINT PRIMARY KEY,\n"
   "  username TEXT NOT NULL REFERENCES users (username) ON DELETE CASCADE,\n"
   "  hash TEXT NOT NULL UNIQUE,\n"
   "  label TEXT NOT NULL,\n"
   "  created_at BIGINT NOT NULL,\n"
   "  revoked_at BIGINT\n"
   ");\n"
   "CREATE INDEX tokens_username ON tokens (username, id)"},
};

#define CATALOG_NMIGRATIONS \
  ((int)(sizeof(catalog_migrations) / sizeof(catalog_migrations[0])))

#endif
