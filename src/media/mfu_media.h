/*
 * mfu_media.h - what a file really is: its content type from its first
 * bytes (libmagic), and its duration, width, height and codec (FFmpeg's
 * libavformat).
 *
 * Clients declare a Content-Type per part and name files as they like; the
 * server believes neither.  It sniffs the first bytes of every file while
 * they stream in (mfu_media_sniff), checks the sniffed type against the
 * file's group (mfu_media_group_allows), and once the blob is stored it
 * probes it (mfu_media_probe) through a read-at-offset callback, so the
 * probe works on any store backend without a local copy.
 *
 * One struct mfu_media serves a whole server: every call on it is
 * thread-safe.  libmagic handles are not, so the struct keeps a small pool
 * of them (a handle costs 0.1-0.7 ms to open and load; a sniff of 8 KiB
 * costs 15-200 us).
 */
#ifndef MFU_MEDIA_H
#define MFU_MEDIA_H

#include <stddef.h>
#include <stdint.h>

#include "mfu_err.h"

/* How many leading bytes mfu_media_sniff wants; more are ignored. */
#define MFU_MEDIA_SNIFF_LEN 8192

/* Room for a content type such as "application/vnd.ms-asf" and a NUL. */
#define MFU_MEDIA_CTYPE_MAX 128

struct mfu_media;

/*
 * Which sniffed types each group accepts: comma-separated entries, each a
 * full type ("image/png") or a prefix ending in "/\*" ("audio/\*").  A NULL
 * member takes the default below.  The strings are copied by mfu_media_new.
 */
struct mfu_media_policy {
  const char *images;
  const char *audios;
  const char *videos;
};

/*
 * The defaults.  Images are the kinds libavcodec here decodes, so the
 * probe can check them (no AVIF or HEIC).  SVG is left out on purpose: an
 * SVG served from this origin is a document that can run script.  Audio may come in the
 * video containers (an .m4a made by many tools sniffs as video/mp4, an
 * audio-only WebM as video/webm); mfu_media_probe then insists on an audio
 * stream.
 */
#define MFU_MEDIA_IMAGES_DEFAULT \
  "image/png,image/jpeg,image/gif,image/webp,image/bmp,image/tiff," \
  "image/x-icon"
#define MFU_MEDIA_AUDIOS_DEFAULT \
  "audio/*,video/mp4,video/webm,video/ogg,video/x-matroska,application/ogg"
#define MFU_MEDIA_VIDEOS_DEFAULT "video/*,application/ogg"

/*
 * Create the media checker.  policy may be NULL (all defaults).  On success
 * *out is owned by the caller and freed with mfu_media_free().
 *
 * libavformat logs to stderr from whatever thread it runs on; a server
 * wants one log format, so the first mfu_media_probe sets
 * av_log_set_level(AV_LOG_QUIET).  That level is libav's process-wide
 * setting, not ours: a program that wants libav's messages raises it
 * again after its first probe.  A program that only sniffs (mfud) links
 * media_sniff_dep and never loads libavformat at all.
 *
 * Returns MFU_OK, MFU_E_NOMEM, MFU_E_INVAL (a policy entry that is not a
 * type or a "type/\*" prefix) or MFU_E_INTERNAL (libmagic's database does
 * not load).
 */
int mfu_media_new(const struct mfu_media_policy *policy,
                  struct mfu_media **out);

/* Free m; NULL is fine.  No call on m may be running. */
void mfu_media_free(struct mfu_media *m);

/*
 * Write the content type of a file whose first len bytes are head (pass
 * up to MFU_MEDIA_SNIFF_LEN) into ctype, a buffer of cap bytes
 * (MFU_MEDIA_CTYPE_MAX is enough).  Unknown bytes give
 * "application/octet-stream"; an empty head gives "application/x-empty".
 * A few libmagic names are mapped to the ones browsers know: audio/x-m4a
 * -> audio/mp4, audio/x-flac -> audio/flac, image/x-ms-bmp -> image/bmp,
 * audio/x-hx-aac-adts -> audio/aac, image/vnd.microsoft.icon ->
 * image/x-icon; MP3 is audio/mpeg with or without an ID3 tag.
 *
 * Returns MFU_OK, MFU_E_INVAL (cap too small, NULL argument) or
 * MFU_E_NOMEM.
 */
int mfu_media_sniff(struct mfu_media *m, const void *head, size_t len,
                    char *ctype, size_t cap);

/*
 * May a file of sniffed type ctype go into group ("images", "audios" or
 * "videos")?  Parameters after ';' in ctype are ignored, case is not.
 *
 * Returns MFU_OK; MFU_E_TYPE_FORBIDDEN (415) when ctype is of the group's
 * kind (image/... for images) but not on its list (image/svg+xml);
 * MFU_E_TYPE_MISMATCH (422) when the content is of another kind (a PNG in
 * audios, bytes libmagic does not know); MFU_E_INVAL for an unknown group.
 */
int mfu_media_group_allows(const struct mfu_media *m, const char *group,
                           const char *ctype);

/*
 * The blob to probe.  read_at reads up to cap bytes at offset off into buf
 * and sets *n (0 only at or past the end); it returns MFU_OK or an error
 * code, which the probe hands back.  Reads are mostly sequential, in
 * MFU_MEDIA_AVIO_BUF chunks, with a few seeks (an MP4 whose index sits at
 * the end, an MP3 whose duration is read from its tail), so a callback
 * over a sequential reader that reopens on a seek is fine.
 */
struct mfu_media_source {
  int (*read_at)(void *cls, uint64_t off, void *buf, size_t cap,
                 size_t *n);
  void *cls;
  uint64_t size; /* total bytes of the blob */
  /* What the first bytes were sniffed as (mfu_media_sniff), or NULL.  An
   * image of a known type opens with its own demuxer instead of probing
   * every demuxer libavformat has (most of the time of a small image); a
   * PNG or JPEG up to 16 MiB goes straight to its decoder, read whole.
   * Bytes that are not of that type then fail to open, as they should. */
  const char *type;
};

#define MFU_MEDIA_AVIO_BUF 32768

/* What the probe learnt.  Unknown fields keep the values noted. */
struct mfu_media_info {
  int known;        /* 1: the probe ran to its end; 0: it gave up (too
                       slow, an unsupported container), fields unknown */
  double duration;  /* seconds; < 0 unknown or a still image */
  unsigned width;   /* pixels of the picture stream; 0 unknown or none */
  unsigned height;
  char codec[32];   /* codec of the group's stream: "mp3", "h264",
                       "png"; "" unknown */
  char format[32];  /* the demuxer: "mp3", "mov,mp4,m4a,3gp,3g2,mj2" is
                       cut to "mov"; "" unknown */
  int has_audio;    /* the file has an audio stream */
  int has_video;    /* the file has a picture stream (cover art not
                       counted) */
};

/*
 * Probe the blob src as a member of group ("images", "audios", "videos"),
 * for at most timeout_ms milliseconds of wall time, reading at most about
 * 2 MiB for stream analysis (more when the container's index demands it)
 * with one MFU_MEDIA_AVIO_BUF buffer.  A decoder is never asked for a
 * picture over 64 megapixels.
 *
 * Returns MFU_OK with *info filled (info->known 0 when the probe ran out
 * of time or the container is one libavformat cannot finish: not an
 * error, the file is kept with unknown fields); MFU_E_TYPE_MISMATCH when
 * the bytes are no media libavformat knows, or do not fit the group: in
 * videos without a picture stream, in audios without an audio stream, in
 * images without a decodable picture; the error code of src->read_at;
 * MFU_E_NOMEM; MFU_E_INVAL for a bad argument.
 */
int mfu_media_probe(struct mfu_media *m, const char *group,
                    const struct mfu_media_source *src,
                    unsigned timeout_ms, struct mfu_media_info *info);

#endif
