/*
 * metrics.c - GET /metrics in the Prometheus text format (version 0.0.4).
 *
 * Plain atomic counters, no allocation on the request path: the server
 * counts, the scraper reads.  Histogram buckets are cumulative, as the
 * format wants them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "http_impl.h"

static const char *const route_names[METRIC_ROUTES] = {
  "none", "upload", "item", "list", "file", "health", "metrics", "page",
  "page", "page", "static", "other"};
static const char *const class_names[METRIC_CLASSES] = {
  "1xx", "2xx", "3xx", "4xx", "5xx", "none"};
static const double bucket_le[METRIC_BUCKETS] = {
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60};

void metrics_request(struct metrics *m, const struct request *req)
{
  unsigned st = req->status;
  unsigned cls = st >= 100 && st < 600 ? st / 100 - 1 : METRIC_CLASSES - 1;
  unsigned r = (unsigned)req->route < METRIC_ROUTES ? (unsigned)req->route
                                                   : METRIC_ROUTES - 1;
  struct timespec t1;
  double secs;

  atomic_fetch_add(&m->requests[r][cls], 1);
  if(req->route != R_UPLOAD)
    return;
  clock_gettime(CLOCK_MONOTONIC, &t1);
  secs = (double)(t1.tv_sec - req->t0.tv_sec) +
         (double)(t1.tv_nsec - req->t0.tv_nsec) / 1e9;
  for(int i = 0; i < METRIC_BUCKETS; i++) {
    if(secs <= bucket_le[i])
      atomic_fetch_add(&m->upload_seconds[i], 1);
  }
  atomic_fetch_add(&m->upload_count, 1);
  atomic_fetch_add(&m->upload_micros, (uint_fast64_t)(secs * 1e6));
}

static void counter(FILE *f, const char *name, const char *help,
                    atomic_uint_fast64_t *v)
{
  fprintf(f, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help, name,
          name, (unsigned long long)atomic_load(v));
}

static void requests(FILE *f, struct metrics *m)
{
  fputs("# HELP mfu_http_requests_total Requests answered, by route and "
        "status class.\n# TYPE mfu_http_requests_total counter\n", f);
  for(int r = 0; r < METRIC_ROUTES; r++) {
    for(int c = 0; c < METRIC_CLASSES; c++) {
      unsigned long long n = atomic_load(&m->requests[r][c]);
      if(n)
        fprintf(f, "mfu_http_requests_total{route=\"%s\",status=\"%s\"} "
                   "%llu\n", route_names[r], class_names[c], n);
    }
  }
}

static void histogram(FILE *f, struct metrics *m)
{
  unsigned long long count = atomic_load(&m->upload_count);
  fputs("# HELP mfu_upload_duration_seconds Time from an upload's headers "
        "to its answer.\n# TYPE mfu_upload_duration_seconds histogram\n", f);
  for(int i = 0; i < METRIC_BUCKETS; i++)
    fprintf(f, "mfu_upload_duration_seconds_bucket{le=\"%g\"} %llu\n",
            bucket_le[i],
            (unsigned long long)atomic_load(&m->upload_seconds[i]));
  fprintf(f, "mfu_upload_duration_seconds_bucket{le=\"+Inf\"} %llu\n"
             "mfu_upload_duration_seconds_sum %.6f\n"
             "mfu_upload_duration_seconds_count %llu\n", count,
          (double)atomic_load(&m->upload_micros) / 1e6, count);
}

enum MHD_Result metrics_get(struct request *req, struct MHD_Connection *conn)
{
  struct metrics *m = &req->srv->metrics;
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  if(!f)
    return MHD_NO;
  requests(f, m);
  histogram(f, m);
  counter(f, "mfu_http_received_bytes_total", "Request body bytes.",
          &m->bytes_in);
  counter(f, "mfu_uploads_total", "Items committed.", &m->uploads_ok);
  counter(f, "mfu_uploads_failed_total", "Uploads refused or failed.",
          &m->uploads_failed);
  counter(f, "mfu_files_stored_total", "Files recorded in items.",
          &m->files_stored);
  counter(f, "mfu_stored_bytes_total", "Bytes of files recorded.",
          &m->bytes_stored);
  counter(f, "mfu_store_errors_total", "Store failures.", &m->store_errors);
  counter(f, "mfu_catalog_errors_total", "Catalog failures.",
          &m->catalog_errors);
  counter(f, "mfu_slow_clients_closed_total",
          "Connections closed for sending too slowly.",
          &req->srv->watch.closed);
  fprintf(f, "# HELP mfu_uploads_in_flight Uploads being received.\n"
             "# TYPE mfu_uploads_in_flight gauge\nmfu_uploads_in_flight "
             "%lld\n", (long long)atomic_load(&m->in_flight));
  if(fclose(f)) {
    free(text);
    return MHD_NO;
  }
  return respond_text(req, conn, 200, text, "text/plain; version=0.0.4");
}
