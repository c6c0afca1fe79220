/*
 * probe.c - duration, picture size and codec of a stored blob, with
 * libavformat reading through a custom AVIOContext.
 *
 * The bytes come from a read-at-offset callback, so any store backend
 * works without a local copy.  Every file is hostile until proven
 * otherwise, so the probe is bounded:
 *  - time: a deadline checked by libav's interrupt callback and by every
 *    read;
 *  - memory: one small AVIO buffer, probesize and analyzeduration caps, a
 *    cap on streams, decoders on one thread with a pixel cap;
 *  - reach: only the demuxers of plain media files, so that playlist and
 *    concat formats cannot open other URLs or files.
 */
#include "media_impl.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/log.h>

#define PROBE_SIZE "2097152"       /* bytes read to find stream info */
#define ANALYZE_US "5000000"       /* media time analysed, microseconds */
#define MAX_STREAMS "32"
#define MAX_PIXELS 67108864        /* 64 Mpx, 256 MiB as RGBA at worst */
#define IMAGE_PACKETS 64           /* packets read to find one picture */

/* libavformat demuxer names (first of each name list is enough), per
 * group: opening runs the probe of every listed demuxer over the first
 * bytes, and a group's files can only be of its own kinds (the sniffed
 * type was checked against the group), so images try the seven picture
 * demuxers, not thirty (a fifth of the time of a small PNG). */
static const char av_demuxers[] =
  "mp3,aac,wav,w64,flac,ogg,mov,matroska,webm,aiff,caf,amr,ac3,eac3,"
  "au,wv,tta,ape,avi,mpeg,mpegts,flv,asf";
static const char image_demuxers[] =
  "png_pipe,jpeg_pipe,gif,webp_pipe,bmp_pipe,tiff_pipe,ico";

/* The demuxer of a sniffed image type, or NULL: probe them all. */
static const AVInputFormat *image_format(const char *type)
{
  static const struct {
    const char *type, *demuxer;
  } map[] = {
    {"image/png", "png_pipe"},   {"image/jpeg", "jpeg_pipe"},
    {"image/gif", "gif"},        {"image/webp", "webp_pipe"},
    {"image/bmp", "bmp_pipe"},   {"image/x-ms-bmp", "bmp_pipe"},
    {"image/tiff", "tiff_pipe"}, {"image/x-icon", "ico"},
    {"image/vnd.microsoft.icon", "ico"},
  };
  for(size_t i = 0; type && i < sizeof(map) / sizeof(map[0]); i++) {
    if(!strcmp(type, map[i].type))
      return av_find_input_format(map[i].demuxer);
  }
  return NULL;
}

struct probe {
  const struct mfu_media_source *src;
  uint64_t pos;
  struct timespec deadline;
  int timed_out;  /* the deadline passed */
  int read_rc;    /* first error of src->read_at */
};

static int past(const struct timespec *t)
{
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return now.tv_sec > t->tv_sec ||
         (now.tv_sec == t->tv_sec && now.tv_nsec >= t->tv_nsec);
}

static int on_interrupt(void *opaque)
{
  struct probe *p = opaque;
  if(!p->timed_out && past(&p->deadline))
    p->timed_out = 1;
  return p->timed_out || p->read_rc;
}

static int on_read(void *opaque, uint8_t *buf, int size)
{
  struct probe *p = opaque;
  size_t n = 0;
  int rc;

  if(on_interrupt(p))
    return AVERROR_EXIT;
  if(p->pos >= p->src->size || size <= 0)
    return AVERROR_EOF;
  rc = p->src->read_at(p->src->cls, p->pos, buf, (size_t)size, &n);
  if(rc) {
    p->read_rc = rc;
    return AVERROR(EIO);
  }
  if(!n)
    return AVERROR_EOF;
  if(n > (size_t)size)
    n = (size_t)size;
  p->pos += n;
  return (int)n;
}

static int64_t on_seek(void *opaque, int64_t off, int whence)
{
  struct probe *p = opaque;
  int64_t base;

  if(whence & AVSEEK_SIZE)
    return (int64_t)p->src->size;
  switch(whence & ~AVSEEK_FORCE) {
  case SEEK_SET:
    base = 0;
    break;
  case SEEK_CUR:
    base = (int64_t)p->pos;
    break;
  case SEEK_END:
    base = (int64_t)p->src->size;
    break;
  default:
    return AVERROR(EINVAL);
  }
  if(off < -base)
    return AVERROR(EINVAL);
  p->pos = (uint64_t)(base + off);
  return (int64_t)p->pos;
}

static void quiet_libav(void)
{
  av_log_set_level(AV_LOG_QUIET);
}

void media_probe_setup(void)
{
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, quiet_libav);
}

static void copy_name(char *dst, size_t cap, const char *name)
{
  size_t n = strcspn(name, ",");
  if(n >= cap)
    n = cap - 1;
  memcpy(dst, name, n);
  dst[n] = '\0';
}

/* Options for every stream's decoder in avformat_find_stream_info. */
static AVDictionary **stream_options(unsigned n)
{
  AVDictionary **o = av_calloc(n ? n : 1, sizeof(*o));
  unsigned i;
  if(!o)
    return NULL;
  for(i = 0; i < n; i++) {
    av_dict_set(&o[i], "threads", "1", 0);
    av_dict_set_int(&o[i], "max_pixels", MAX_PIXELS, 0);
  }
  return o;
}

static void stream_options_free(AVDictionary **o, unsigned n)
{
  unsigned i;
  for(i = 0; o && i < n; i++)
    av_dict_free(&o[i]);
  av_free(o);
}

static int is_picture(const AVStream *st)
{
  return st->codecpar->codec_type == AVMEDIA_TYPE_VIDEO &&
         !(st->disposition & AV_DISPOSITION_ATTACHED_PIC);
}

/* Decode the first picture of stream si; 1 when one came out, with its
 * size in *w, *h. */
static int decode_one(AVFormatContext *ic, int si, unsigned *w, unsigned *h)
{
  const AVCodecParameters *par = ic->streams[si]->codecpar;
  const AVCodec *dec = avcodec_find_decoder(par->codec_id);
  AVCodecContext *cc = NULL;
  AVPacket *pkt = av_packet_alloc();
  AVFrame *fr = av_frame_alloc();
  int got = 0, i, r;

  if(!dec || !pkt || !fr)
    goto out;
  cc = avcodec_alloc_context3(dec);
  if(!cc || avcodec_parameters_to_context(cc, par) < 0)
    goto out;
  cc->thread_count = 1;
  cc->max_pixels = MAX_PIXELS;
  if(avcodec_open2(cc, dec, NULL) < 0)
    goto out;
  for(i = 0; i < IMAGE_PACKETS && !got; i++) {
    r = av_read_frame(ic, pkt);
    if(r < 0) {
      avcodec_send_packet(cc, NULL); /* drain what is buffered */
      got = avcodec_receive_frame(cc, fr) == 0;
      break;
    }
    if(pkt->stream_index == si && avcodec_send_packet(cc, pkt) == 0)
      got = avcodec_receive_frame(cc, fr) == 0;
    av_packet_unref(pkt);
  }
  if(got && fr->width > 0 && fr->height > 0) {
    *w = (unsigned)fr->width;
    *h = (unsigned)fr->height;
  }
  else
    got = 0;
out:
  avcodec_free_context(&cc);
  av_frame_free(&fr);
  av_packet_free(&pkt);
  return got;
}

/*
 * A PNG or JPEG file is one picture: below DIRECT_MAX it is read whole
 * and handed to its decoder, without libavformat (opening a demuxer and
 * its packet parser was half the time of a small image).  The decoder is
 * the one the demuxer would have fed, with the same pixel cap.
 */
#define DIRECT_MAX (16u << 20)

static enum AVCodecID direct_codec(const char *type, const char **format)
{
  if(type && !strcmp(type, "image/png")) {
    *format = "png_pipe";
    return AV_CODEC_ID_PNG;
  }
  if(type && !strcmp(type, "image/jpeg")) {
    *format = "jpeg_pipe";
    return AV_CODEC_ID_MJPEG;
  }
  return AV_CODEC_ID_NONE;
}

/* The whole blob into a padded buffer; 0 or the read's error. */
static int read_whole(struct probe *p, uint8_t **out)
{
  size_t size = (size_t)p->src->size, got = 0, n;
  uint8_t *buf = av_mallocz(size + AV_INPUT_BUFFER_PADDING_SIZE);
  int rc = MFU_OK;

  if(!buf)
    return MFU_E_NOMEM;
  while(!rc && got < size) {
    n = 0;
    rc = p->src->read_at(p->src->cls, got, buf + got, size - got, &n);
    if(!rc && (!n || n > size - got))
      rc = MFU_E_CORRUPT;
    got += n;
  }
  if(rc)
    av_free(buf);
  else
    *out = buf;
  return rc;
}

static int decode_buffer(enum AVCodecID id, uint8_t *buf, size_t size,
                         unsigned *w, unsigned *h)
{
  const AVCodec *dec = avcodec_find_decoder(id);
  AVCodecContext *cc = dec ? avcodec_alloc_context3(dec) : NULL;
  AVPacket *pkt = av_packet_alloc();
  AVFrame *fr = av_frame_alloc();
  int got = 0;

  if(!cc || !pkt || !fr)
    goto out;
  cc->thread_count = 1;
  cc->max_pixels = MAX_PIXELS;
  if(avcodec_open2(cc, dec, NULL) < 0)
    goto out;
  pkt->data = buf;
  pkt->size = (int)size;
  if(avcodec_send_packet(cc, pkt) == 0) {
    got = avcodec_receive_frame(cc, fr) == 0;
    if(!got && avcodec_send_packet(cc, NULL) == 0)
      got = avcodec_receive_frame(cc, fr) == 0;
  }
  if(got && fr->width > 0 && fr->height > 0) {
    *w = (unsigned)fr->width;
    *h = (unsigned)fr->height;
  }
  else
    got = 0;
out:
  avcodec_free_context(&cc);
  av_frame_free(&fr);
  av_packet_free(&pkt);
  return got;
}

static int probe_direct(struct probe *p, enum AVCodecID id,
                        const char *format, struct mfu_media_info *info)
{
  uint8_t *buf = NULL;
  int rc = read_whole(p, &buf);

  if(rc)
    return rc;
  if(!decode_buffer(id, buf, (size_t)p->src->size, &info->width,
                    &info->height))
    rc = MFU_E_TYPE_MISMATCH;
  av_free(buf);
  if(rc)
    return rc;
  info->has_video = 1;
  copy_name(info->codec, sizeof(info->codec), avcodec_get_name(id));
  copy_name(info->format, sizeof(info->format), format);
  info->known = 1;
  return MFU_OK;
}

static double seconds(const AVFormatContext *ic, const AVStream *st)
{
  if(ic->duration != AV_NOPTS_VALUE && ic->duration > 0)
    return (double)ic->duration / AV_TIME_BASE;
  if(st && st->duration != AV_NOPTS_VALUE && st->duration > 0)
    return (double)st->duration * av_q2d(st->time_base);
  return -1;
}

/* Fill info from an opened, analysed ic; the group decides the verdict. */
static int describe(AVFormatContext *ic, int group,
                    struct mfu_media_info *info)
{
  const AVStream *main_st = NULL;
  unsigned i;
  int vi = -1, ai = -1;

  for(i = 0; i < ic->nb_streams; i++) {
    const AVStream *st = ic->streams[i];
    if(is_picture(st) && vi < 0)
      vi = (int)i;
    if(st->codecpar->codec_type == AVMEDIA_TYPE_AUDIO && ai < 0)
      ai = (int)i;
  }
  info->has_video = vi >= 0;
  info->has_audio = ai >= 0;
  if(vi >= 0) {
    info->width = (unsigned)ic->streams[vi]->codecpar->width;
    info->height = (unsigned)ic->streams[vi]->codecpar->height;
  }
  if(group == MEDIA_AUDIOS && ai >= 0)
    main_st = ic->streams[ai];
  else if(group != MEDIA_AUDIOS && vi >= 0)
    main_st = ic->streams[vi];
  if(!main_st)
    return MFU_E_TYPE_MISMATCH;
  copy_name(info->codec, sizeof(info->codec),
            avcodec_get_name(main_st->codecpar->codec_id));
  if(group == MEDIA_IMAGES) {
    /* A still has no duration; the filename prefix may give one. */
    if(!decode_one(ic, vi, &info->width, &info->height))
      return MFU_E_TYPE_MISMATCH;
  }
  else
    info->duration = seconds(ic, main_st);
  return MFU_OK;
}

static AVFormatContext *context_new(struct probe *p)
{
  AVFormatContext *ic = avformat_alloc_context();
  unsigned char *buf = av_malloc(MFU_MEDIA_AVIO_BUF);
  AVIOContext *pb = NULL;

  if(buf)
    pb = avio_alloc_context(buf, MFU_MEDIA_AVIO_BUF, 0, p, on_read, NULL,
                            on_seek);
  if(!ic || !pb) {
    av_free(buf);
    avio_context_free(&pb);
    avformat_free_context(ic);
    return NULL;
  }
  ic->pb = pb;
  ic->flags |= AVFMT_FLAG_CUSTOM_IO;
  ic->interrupt_callback.callback = on_interrupt;
  ic->interrupt_callback.opaque = p;
  return ic;
}

/* The rc for a libav failure r: ours first, then libav's.  Running out
 * of time is no verdict on the file: MFU_OK with info->known 0. */
static int failure(const struct probe *p, int r)
{
  if(p->read_rc)
    return p->read_rc;
  if(p->timed_out || r == AVERROR_EXIT)
    return MFU_OK;
  if(r == AVERROR(ENOMEM))
    return MFU_E_NOMEM;
  return MFU_E_TYPE_MISMATCH;
}

static void info_reset(struct mfu_media_info *info)
{
  memset(info, 0, sizeof(*info));
  info->duration = -1;
}

int mfu_media_probe(struct mfu_media *m, const char *group,
                    const struct mfu_media_source *src,
                    unsigned timeout_ms, struct mfu_media_info *info)
{
  struct probe p;
  AVFormatContext *ic;
  AVIOContext *pb;
  AVDictionary *opts = NULL;
  AVDictionary **sopts;
  unsigned nst;
  int g = media_group_parse(group), r, rc;

  if(!m || g < 0 || !src || !src->read_at || !info)
    return MFU_E_INVAL;
  media_probe_setup();
  info_reset(info);
  memset(&p, 0, sizeof(p));
  p.src = src;
  clock_gettime(CLOCK_MONOTONIC, &p.deadline);
  p.deadline.tv_sec += timeout_ms / 1000;
  p.deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
  if(p.deadline.tv_nsec >= 1000000000L) {
    p.deadline.tv_sec++;
    p.deadline.tv_nsec -= 1000000000L;
  }
  if(!src->size)
    return MFU_E_TYPE_MISMATCH;
  if(g == MEDIA_IMAGES && src->size <= DIRECT_MAX) {
    const char *format = NULL;
    enum AVCodecID id = direct_codec(src->type, &format);
    if(id != AV_CODEC_ID_NONE) {
      rc = probe_direct(&p, id, format, info);
      if(rc)
        info_reset(info);
      return rc;
    }
  }

  ic = context_new(&p);
  if(!ic)
    return MFU_E_NOMEM;
  pb = ic->pb;
  av_dict_set(&opts, "probesize", PROBE_SIZE, 0);
  av_dict_set(&opts, "analyzeduration", ANALYZE_US, 0);
  av_dict_set(&opts, "max_streams", MAX_STREAMS, 0);
  av_dict_set(&opts, "format_whitelist",
              g == MEDIA_IMAGES ? image_demuxers : av_demuxers, 0);
  /* Nested opens (playlists, references) go nowhere. */
  av_dict_set(&opts, "protocol_whitelist", "none", 0);
  r = avformat_open_input(&ic, NULL,
                          g == MEDIA_IMAGES ? image_format(src->type) : NULL,
                          &opts);
  av_dict_free(&opts);
  if(r < 0) {
    /* avformat_open_input freed ic but not our I/O context. */
    av_freep(&pb->buffer);
    avio_context_free(&pb);
    return failure(&p, r);
  }
  copy_name(info->format, sizeof(info->format), ic->iformat->name);

  nst = ic->nb_streams;
  sopts = stream_options(nst);
  if(!sopts)
    rc = MFU_E_NOMEM;
  else {
    /* A failure of find_stream_info still leaves what the headers said;
     * only a read error and the deadline count.  Images skip it: it would
     * decode the picture that describe() decodes anyway (twice the time:
     * 130 -> 65 ms for 12 Mpx). */
    if(g != MEDIA_IMAGES)
      avformat_find_stream_info(ic, sopts);
    rc = describe(ic, g, info);
    /* describe reads on (images): check after it. */
    if(p.read_rc || p.timed_out)
      rc = failure(&p, AVERROR_EXIT);
    else
      info->known = 1;
  }
  stream_options_free(sopts, nst);
  avformat_close_input(&ic);
  av_freep(&pb->buffer);
  avio_context_free(&pb);
  if(rc || !info->known)
    info_reset(info);
  return rc;
}
