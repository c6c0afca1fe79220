/*
 * record.c - the item record as JSON (DESIGN.md "Item record").
 */
#include <stdio.h>
#include <time.h>

#include "http_impl.h"

static json_t *file_json(struct mfu_server *srv, const struct mfu_file *f)
{
  char url[sizeof(srv->file_base) + 128];
  json_t *o;

  if(srv->file_base_is_store)
    snprintf(url, sizeof(url), "%ssha256/%.2s/%.2s/%s", srv->file_base,
             f->sha256, f->sha256 + 2, f->sha256);
  else
    snprintf(url, sizeof(url), "%s%s%s", srv->file_base, f->sha256, f->ext);
  o = json_pack("{s:s, s:s, s:I, s:s, s:s}", "name", f->name,
                "content_type", f->content_type, "size", (json_int_t)f->size,
                "sha256", f->sha256, "url", url);
  if(!o)
    return NULL;
  /* DESIGN.md: duration is the filename prefix when present, else the
   * probed duration (whole seconds), else null. */
  if(f->duration >= 0)
    json_object_set_new(o, "duration", json_integer(f->duration));
  else if(f->duration_probed >= 0)
    json_object_set_new(o, "duration",
                        json_integer((json_int_t)(f->duration_probed + 0.5)));
  else
    json_object_set_new(o, "duration", json_null());
  json_object_set_new(o, "duration_probed",
                      f->duration_probed >= 0 ? json_real(f->duration_probed)
                                              : json_null());
  json_object_set_new(o, "width", f->width ? json_integer(f->width)
                                           : json_null());
  json_object_set_new(o, "height", f->height ? json_integer(f->height)
                                             : json_null());
  json_object_set_new(o, "codec", f->codec ? json_string(f->codec)
                                           : json_null());
  return o;
}

json_t *item_json(struct mfu_server *srv, const struct mfu_item *item)
{
  char when[32];
  struct tm tm;
  time_t t = (time_t)item->created_at;
  json_t *groups[MFU_GROUP_COUNT];
  json_t *o;

  gmtime_r(&t, &tm);
  strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
  o = json_pack("{s:s, s:s, s:s, s:s}", "id", item->id, "username",
                item->username, "text", item->text, "created_at", when);
  if(!o)
    return NULL;
  for(int g = 0; g < MFU_GROUP_COUNT; g++) {
    groups[g] = json_array();
    json_object_set_new(o, mfu_group_name((enum mfu_group)g), groups[g]);
  }
  for(size_t i = 0; i < item->nfiles; i++) {
    const struct mfu_file *f = &item->files[i];
    json_t *fj = file_json(srv, f);
    if(!fj || f->group >= MFU_GROUP_COUNT ||
       json_array_append_new(groups[f->group], fj)) {
      json_decref(o);
      return NULL;
    }
  }
  return o;
}
