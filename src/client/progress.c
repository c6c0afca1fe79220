/*
 * progress.c - the progress line mfu draws on a terminal: which file, its
 * percentage, the whole request's percentage and a bar, the rate and the
 * time left.  One line, redrawn in place with CR and "erase to end of line"
 * (ECMA-48 EL), at most ten times a second.
 */
#include "cli_impl.h"

#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

char *mfu_human_bytes(char *out, size_t n, double bytes)
{
  static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  size_t u = 0;

  while(bytes >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
    bytes /= 1024;
    u++;
  }
  if(u == 0)
    snprintf(out, n, "%.0f %s", bytes, units[u]);
  else
    snprintf(out, n, "%.1f %s", bytes, units[u]);
  return out;
}

/* At most max bytes of s, cut on a UTF-8 character boundary. */
static int utf8_prefix(const char *s, int max)
{
  int len = (int)strlen(s);
  if(len <= max)
    return len;
  while(max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
    max--;
  return max;
}

static int pct(uint64_t part, uint64_t whole)
{
  if(!whole)
    return 0;
  if(part >= whole)
    return 100;
  return (int)(part * 100 / whole);
}

size_t mfu_bar_format(char *out, size_t n, const struct mfu_progress *p,
                      const char *label, double rate, int width)
{
  char head[160];
  char tail[64];
  char r[24];
  char bar[128];
  int total = pct(p->sent, p->total);
  int cols;
  int fill;
  int i;

  if(p->file_count && p->file < p->file_count && p->file_name)
    snprintf(head, sizeof(head), "[%zu/%zu] %.*s %3d%% | total %3d%%",
             p->file + 1, p->file_count, utf8_prefix(p->file_name, 30),
             p->file_name, pct(p->file_sent, p->file_size), total);
  else if(label)
    snprintf(head, sizeof(head), "%.*s %3d%%", utf8_prefix(label, 40),
             label, total);
  else
    snprintf(head, sizeof(head), "total %3d%%", total);
  mfu_human_bytes(r, sizeof(r), rate);
  tail[0] = '\0';
  if(rate > 0 && p->total > p->sent) {
    unsigned long left = (unsigned long)((double)(p->total - p->sent) / rate);
    snprintf(tail, sizeof(tail), "%s/s ETA %lu:%02lu", r, left / 60,
             left % 60);
  }
  else if(rate > 0)
    snprintf(tail, sizeof(tail), "%s/s", r);
  /* The bar keeps its width while the rate and ETA come and go: room for
   * "1023.9 MiB/s ETA 99:59" is set aside.  Names may hold wide
   * characters, so this is a guess; 10 to 40 cells. */
  cols = width - (int)strlen(head) - 22 - 5;
  if(cols > 40)
    cols = 40;
  if(cols < 10)
    cols = 10;
  fill = cols * total / 100;
  for(i = 0; i < cols; i++)
    bar[i] = i < fill ? '#' : (i == fill ? '>' : ' ');
  if(fill == cols && cols)
    bar[cols - 1] = '#';
  bar[cols] = '\0';
  return (size_t)snprintf(out, n, "%s [%s] %s", head, bar, tail);
}

void mfu_bar_init(struct mfu_bar *b, int fd, const char *label)
{
  struct winsize ws;

  memset(b, 0, sizeof(*b));
  b->fd = fd;
  b->label = label;
  b->start = now();
  b->rate_at = b->start;
  b->width = 80;
  if(!ioctl(fd, TIOCGWINSZ, &ws) && ws.ws_col >= 40)
    b->width = ws.ws_col;
}

static void draw(struct mfu_bar *b, const struct mfu_progress *p)
{
  char line[512];
  size_t n = mfu_bar_format(line + 1, sizeof(line) - 5, p, b->label,
                            b->rate, b->width);
  ssize_t w;

  if(n > sizeof(line) - 5)
    n = sizeof(line) - 5;
  line[0] = '\r';
  memcpy(line + 1 + n, "\033[K", 3);
  w = write(b->fd, line, n + 4);
  (void)w;    /* a progress line that cannot be drawn is not an error */
  b->drawn = 1;
}

int mfu_bar_update(const struct mfu_progress *p, void *cls)
{
  struct mfu_bar *b = cls;
  double t = now();

  if(t - b->rate_at >= 0.5) {
    /* Rate over the last half second, smoothed so the ETA does not jump. */
    double inst = (double)(p->sent - b->rate_bytes) / (t - b->rate_at);
    if(p->sent < b->rate_bytes)
      inst = 0;    /* a retry started the body again */
    b->rate = b->rate > 0 ? 0.7 * b->rate + 0.3 * inst : inst;
    b->rate_at = t;
    b->rate_bytes = p->sent;
  }
  /* The last step is drawn at once, and only once: libcurl keeps calling
   * while the server commits. */
  if(p->total && p->sent == p->total) {
    if(b->done)
      return 0;
    b->done = 1;
  }
  else if(t - b->last_draw < 0.1)
    return 0;
  b->last_draw = t;
  draw(b, p);
  return 0;
}

void mfu_bar_finish(struct mfu_bar *b)
{
  ssize_t w;

  if(!b->drawn)
    return;
  w = write(b->fd, "\n", 1);
  (void)w;
}
