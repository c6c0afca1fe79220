/*
 * media_impl.h - what sniff.c and probe.c share inside src/media.
 */
#ifndef MFU_MEDIA_IMPL_H
#define MFU_MEDIA_IMPL_H

#include <pthread.h>

#include "mfu_media.h"

/* Handles kept for reuse; more are opened (and closed) when this many
 * threads sniff at once. */
#define MEDIA_POOL_MAX 8

enum media_group {
  MEDIA_IMAGES,
  MEDIA_AUDIOS,
  MEDIA_VIDEOS,
  MEDIA_NGROUPS
};

struct mfu_media {
  pthread_mutex_t lock;         /* guards pool and npool */
  void *pool[MEDIA_POOL_MAX];   /* idle magic_t handles */
  size_t npool;
  char *allow[MEDIA_NGROUPS];   /* lower-cased copies of the policy */
};

/* MEDIA_IMAGES... for "images"...; -1 for anything else. */
int media_group_parse(const char *group);

/* Quiet libav (see mfu_media_new); called by the first probe, so that a
 * program that only sniffs never links libavformat. */
void media_probe_setup(void);

#endif
