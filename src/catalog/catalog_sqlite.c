/*
 * catalog_sqlite.c - the SQLite catalog (being written).
 */
#include "catalog_impl.h"

int mfu_catalog_sqlite_open(const char *rest, struct mfu_catalog **out)
{
  (void)rest;
  *out = NULL;
  return MFU_E_UNAVAILABLE;
}
