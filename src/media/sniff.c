/*
 * sniff.c - content type from the first bytes (libmagic), and the group
 * allow-lists.
 *
 * libmagic's magic_t is not thread-safe, and opening one maps and checks
 * the compiled database (0.1-0.7 ms here), so idle handles wait in a small
 * pool guarded by a mutex: a sniff takes one, or opens one when all are
 * busy, and gives it back.
 */
#include "media_impl.h"

#include <magic.h>
#include <stdlib.h>
#include <string.h>

/* libmagic's answer -> the name browsers and players know. */
static const char *const renames[][2] = {
  {"audio/x-m4a", "audio/mp4"},
  {"audio/x-flac", "audio/flac"},
  {"audio/x-hx-aac-adts", "audio/aac"},
  {"audio/x-hx-aac-adif", "audio/aac"},
  {"audio/mpeg3", "audio/mpeg"},
  {"audio/x-mp3", "audio/mpeg"},
  {"image/x-ms-bmp", "image/bmp"},
  {"image/vnd.microsoft.icon", "image/x-icon"},
  {"video/x-m4v", "video/mp4"},
};

static const char *const group_names[MEDIA_NGROUPS] = {
  "images", "audios", "videos"
};

/* The kind a group holds: its types start with this. */
static const char *const group_kinds[MEDIA_NGROUPS] = {
  "image/", "audio/", "video/"
};

int media_group_parse(const char *group)
{
  int i;
  if(!group)
    return -1;
  for(i = 0; i < MEDIA_NGROUPS; i++) {
    if(!strcmp(group, group_names[i]))
      return i;
  }
  return -1;
}

static magic_t handle_open(void)
{
  /* Compressed files are not media; never let libmagic look inside. */
  magic_t h = magic_open(MAGIC_MIME_TYPE | MAGIC_NO_CHECK_COMPRESS |
                         MAGIC_NO_CHECK_ELF | MAGIC_NO_CHECK_TAR);
  if(!h)
    return NULL;
  if(magic_load(h, NULL)) {
    magic_close(h);
    return NULL;
  }
  return h;
}

static magic_t handle_take(struct mfu_media *m)
{
  magic_t h = NULL;
  pthread_mutex_lock(&m->lock);
  if(m->npool)
    h = m->pool[--m->npool];
  pthread_mutex_unlock(&m->lock);
  return h ? h : handle_open();
}

static void handle_give(struct mfu_media *m, magic_t h)
{
  pthread_mutex_lock(&m->lock);
  if(m->npool < MEDIA_POOL_MAX) {
    m->pool[m->npool++] = h;
    h = NULL;
  }
  pthread_mutex_unlock(&m->lock);
  if(h)
    magic_close(h);
}

static int is_token_char(int c)
{
  /* RFC 9110 section 5.6.2 tchar, less the ones no media type uses. */
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '+' || c == '.' || c == '_';
}

/* Is [s, s+len) "type/subtype" or "type/\*"?  s is lower-case. */
static int entry_valid(const char *s, size_t len)
{
  size_t i;
  const char *slash = memchr(s, '/', len);
  if(!slash || slash == s || slash == s + len - 1)
    return 0;
  for(i = 0; i < len; i++) {
    if(s + i == slash)
      continue;
    if(!is_token_char((unsigned char)s[i]))
      break;
  }
  if(i == len)
    return 1;
  /* the only other form: "type/\*" */
  return s + len - 2 == slash && s[len - 1] == '*' && i == len - 1;
}

/* A lower-cased copy of list with blanks removed, checked entry by entry;
 * NULL and *rc set on failure. */
static char *policy_copy(const char *list, int *rc)
{
  size_t i, n = 0, len = strlen(list);
  char *out = malloc(len + 1);
  char *p;

  if(!out) {
    *rc = MFU_E_NOMEM;
    return NULL;
  }
  for(i = 0; i < len; i++) {
    unsigned char c = (unsigned char)list[i];
    if(c == ' ' || c == '\t')
      continue;
    out[n++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
  }
  out[n] = '\0';
  for(p = out; *p; ) {
    size_t elen = strcspn(p, ",");
    if(!entry_valid(p, elen)) {
      free(out);
      *rc = MFU_E_INVAL;
      return NULL;
    }
    p += elen;
    if(*p == ',')
      p++;
  }
  *rc = MFU_OK;
  return out;
}

int mfu_media_new(const struct mfu_media_policy *policy,
                  struct mfu_media **out)
{
  static const char *const defaults[MEDIA_NGROUPS] = {
    MFU_MEDIA_IMAGES_DEFAULT, MFU_MEDIA_AUDIOS_DEFAULT,
    MFU_MEDIA_VIDEOS_DEFAULT
  };
  const char *lists[MEDIA_NGROUPS] = {NULL, NULL, NULL};
  struct mfu_media *m;
  magic_t h;
  int i, rc = MFU_OK;

  if(!out)
    return MFU_E_INVAL;
  *out = NULL;
  if(policy) {
    lists[MEDIA_IMAGES] = policy->images;
    lists[MEDIA_AUDIOS] = policy->audios;
    lists[MEDIA_VIDEOS] = policy->videos;
  }
  m = calloc(1, sizeof(*m));
  if(!m)
    return MFU_E_NOMEM;
  if(pthread_mutex_init(&m->lock, NULL)) {
    free(m);
    return MFU_E_NOMEM;
  }
  for(i = 0; i < MEDIA_NGROUPS && !rc; i++)
    m->allow[i] = policy_copy(lists[i] ? lists[i] : defaults[i], &rc);
  if(rc) {
    mfu_media_free(m);
    return rc;
  }
  /* Fail now, not on the first upload, when the database is missing. */
  h = handle_open();
  if(!h) {
    mfu_media_free(m);
    return MFU_E_INTERNAL;
  }
  m->pool[m->npool++] = h;
  *out = m;
  return MFU_OK;
}

void mfu_media_free(struct mfu_media *m)
{
  int i;
  if(!m)
    return;
  while(m->npool)
    magic_close(m->pool[--m->npool]);
  for(i = 0; i < MEDIA_NGROUPS; i++)
    free(m->allow[i]);
  pthread_mutex_destroy(&m->lock);
  free(m);
}

static int copy_out(const char *s, char *ctype, size_t cap)
{
  size_t i;
  for(i = 0; i < sizeof(renames) / sizeof(renames[0]); i++) {
    if(!strcmp(s, renames[i][0])) {
      s = renames[i][1];
      break;
    }
  }
  if(strlen(s) >= cap)
    return MFU_E_INVAL;
  strcpy(ctype, s);
  return MFU_OK;
}

int mfu_media_sniff(struct mfu_media *m, const void *head, size_t len,
                    char *ctype, size_t cap)
{
  magic_t h;
  const char *r;
  int rc;

  if(!m || !ctype || !cap || (!head && len))
    return MFU_E_INVAL;
  if(!len)
    return copy_out("application/x-empty", ctype, cap);
  if(len > MFU_MEDIA_SNIFF_LEN)
    len = MFU_MEDIA_SNIFF_LEN;
  h = handle_take(m);
  if(!h)
    return MFU_E_NOMEM;
  r = magic_buffer(h, head, len);
  /* r lives in h until its next call: copy before giving h back. */
  rc = copy_out(r ? r : "application/octet-stream", ctype, cap);
  handle_give(m, h);
  return rc;
}

/* Does the allow-list contain the type [t, t+tlen)? */
static int list_has(const char *list, const char *t, size_t tlen)
{
  const char *p = list;
  while(*p) {
    size_t elen = strcspn(p, ",");
    if(elen >= 2 && p[elen - 1] == '*') {
      if(tlen > elen - 1 && !strncmp(p, t, elen - 1))
        return 1;
    }
    else if(elen == tlen && !strncmp(p, t, tlen))
      return 1;
    p += elen;
    if(*p == ',')
      p++;
  }
  return 0;
}

int mfu_media_group_allows(const struct mfu_media *m, const char *group,
                           const char *ctype)
{
  char t[MFU_MEDIA_CTYPE_MAX];
  size_t i, n;
  int g = media_group_parse(group);

  if(!m || g < 0 || !ctype)
    return MFU_E_INVAL;
  n = strcspn(ctype, "; \t");
  if(n >= sizeof(t))
    return MFU_E_TYPE_MISMATCH;
  for(i = 0; i < n; i++) {
    unsigned char c = (unsigned char)ctype[i];
    t[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
  }
  t[n] = '\0';
  if(list_has(m->allow[g], t, n))
    return MFU_OK;
  if(!strncmp(t, group_kinds[g], strlen(group_kinds[g])))
    return MFU_E_TYPE_FORBIDDEN;
  return MFU_E_TYPE_MISMATCH;
}
