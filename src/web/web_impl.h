/*
 * web_impl.h - the table that embed.py generates and web.c searches.
 */
#ifndef MFU_WEB_IMPL_H
#define MFU_WEB_IMPL_H

#include <stddef.h>

struct mfu_web_file {
  const char *name;
  const unsigned char *data;
  size_t len;
  const char *content_type;
  const char *etag;
};

/* Sorted by name (strcmp order). */
extern const struct mfu_web_file mfu_web_files[];
extern const size_t mfu_web_nfiles;

#endif
