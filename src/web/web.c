/*
 * web.c - look up an embedded web file by name.
 */
#include "mfu_web.h"

#include <stdlib.h>
#include <string.h>

#include "web_impl.h"

static int by_name(const void *key, const void *elem)
{
  const struct mfu_web_file *f = elem;
  return strcmp(key, f->name);
}

static const struct mfu_web_file *find(const char *name)
{
  return bsearch(name, mfu_web_files, mfu_web_nfiles,
                 sizeof(mfu_web_files[0]), by_name);
}

int mfu_web_asset(const char *name, const unsigned char **data, size_t *len,
                  const char **content_type)
{
  const struct mfu_web_file *f;
  if(!name || !data || !len || !content_type)
    return MFU_E_INVAL;
  f = find(name);
  if(!f)
    return MFU_E_NOTFOUND;
  *data = f->data;
  *len = f->len;
  *content_type = f->content_type;
  return MFU_OK;
}

int mfu_web_asset_etag(const char *name, const char **etag)
{
  const struct mfu_web_file *f;
  if(!name || !etag)
    return MFU_E_INVAL;
  f = find(name);
  if(!f)
    return MFU_E_NOTFOUND;
  *etag = f->etag;
  return MFU_OK;
}

size_t mfu_web_asset_count(void)
{
  return mfu_web_nfiles;
}

const char *mfu_web_asset_name(size_t i)
{
  return i < mfu_web_nfiles ? mfu_web_files[i].name : NULL;
}
