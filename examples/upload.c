/*
 * upload.c - the smallest libmfu program: upload a text and some files as
 * one item and print its record.
 *
 *   cc upload.c $(pkg-config --cflags --libs mfu) -o upload
 *   ./upload http://127.0.0.1:8134 user1 "some text" a.png 12:b.mp3 ...
 *
 * A file argument is an image, audio or video by its extension; a
 * "SECONDS:" prefix gives its duration.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mfu/mfu.h>

static enum mfu_group group_of(const char *path)
{
  const char *ext = strrchr(path, '.');
  if(ext && (!strcmp(ext, ".mp3") || !strcmp(ext, ".wav") ||
             !strcmp(ext, ".ogg") || !strcmp(ext, ".m4a")))
    return MFU_GROUP_AUDIOS;
  if(ext && (!strcmp(ext, ".mp4") || !strcmp(ext, ".webm") ||
             !strcmp(ext, ".mov")))
    return MFU_GROUP_VIDEOS;
  return MFU_GROUP_IMAGES;
}

int main(int argc, char **argv)
{
  struct mfu_client *c;
  struct mfu_upload *u;
  json_t *rec = NULL;
  int rc;
  int i;

  if(argc < 4) {
    fprintf(stderr, "usage: %s URL USER TEXT [[SECONDS:]FILE...]\n",
            argv[0]);
    return 2;
  }
  c = mfu_client_new(argv[1]);
  u = mfu_upload_new();
  if(!c || !u)
    return 1;
  rc = mfu_client_set_user(c, argv[2]);
  if(!rc)
    rc = mfu_upload_set_text(u, argv[3], strlen(argv[3]));
  for(i = 4; i < argc && !rc; i++) {
    char *colon = strchr(argv[i], ':');
    long long secs = MFU_DURATION_NONE;
    const char *path = argv[i];
    if(colon) {
      secs = strtoll(argv[i], NULL, 10);
      path = colon + 1;
    }
    rc = mfu_upload_add_file(u, group_of(path), path, secs, NULL);
  }
  if(!rc)
    rc = mfu_client_put(c, u, &rec);
  if(rc)
    fprintf(stderr, "upload: %s: %s\n", mfu_client_strerror(rc),
            mfu_client_err_detail(c));
  else {
    json_dumpf(rec, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    putchar('\n');
    json_decref(rec);   /* the record is ours */
  }
  mfu_upload_free(u);
  mfu_client_free(c);
  return rc ? 1 : 0;
}
