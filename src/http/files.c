/*
 * files.c - GET/HEAD /files/{sha256}{.ext}: the stored bytes.
 *
 * A file is served only while some item references it, with the type that
 * was sniffed when it was stored, never one guessed from the URL.  The
 * address is the hash, so the ETag is the hash and the bytes never change:
 * clients may cache forever.  nosniff and a sandboxing CSP keep a browser
 * from running anything that was uploaded.
 */
#include <stdlib.h>
#include <string.h>

#include "http_impl.h"
#include "mfu_range.h"

#define READ_BLOCK (64 * 1024)

static ssize_t read_cb(void *cls, uint64_t pos, char *buf, size_t max)
{
  struct mfu_store_reader *r = cls;
  size_t n = 0;
  (void)pos;                  /* the reader is sequential from its start */
  if(mfu_store_read(r, buf, max, &n))
    return MHD_CONTENT_READER_END_WITH_ERROR;
  return n ? (ssize_t)n : MHD_CONTENT_READER_END_OF_STREAM;
}

static void free_cb(void *cls)
{
  if(cls)
    mfu_store_reader_close(cls);
}

/* HEAD: libmicrohttpd sends no body but takes Content-Length from the
 * size given with the callback, which is then never called. */
static ssize_t no_body_cb(void *cls, uint64_t pos, char *buf, size_t max)
{
  (void)cls;
  (void)pos;
  (void)buf;
  (void)max;
  return MHD_CONTENT_READER_END_WITH_ERROR;
}

/* "<64 hex>" or "<64 hex>.<ext>" */
static int file_arg(const char *arg, char *sha)
{
  size_t n = strlen(arg);
  if(n < 64 || !mfu_sha256_hex_valid(arg, 64))
    return 0;
  if(n > 64) {
    if(arg[64] != '.' || n > 64 + 11)
      return 0;
    for(size_t i = 65; i < n; i++) {
      char c = arg[i];
      if(!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9')))
        return 0;
    }
  }
  memcpy(sha, arg, 64);
  sha[64] = '\0';
  return 1;
}

static void add_headers(struct MHD_Response *resp, const char *ctype,
                        const char *etag, const char *arg)
{
  char disp[128];
  snprintf(disp, sizeof(disp), "inline; filename=\"%s\"", arg);
  MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
  MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, etag);
  MHD_add_response_header(resp, MHD_HTTP_HEADER_ACCEPT_RANGES, "bytes");
  MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
                          "public, max-age=31536000, immutable");
  MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
  MHD_add_response_header(resp, "Content-Security-Policy",
                          "default-src 'none'; sandbox");
  MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_DISPOSITION, disp);
}

enum MHD_Result files_get(struct request *req, struct MHD_Connection *conn,
                          int head)
{
  struct mfu_server *srv = req->srv;
  char sha[MFU_SHA256_HEX], ctype[128], etag[80], cr[96];
  struct mfu_store_stat st;
  struct mfu_store_reader *rd = NULL;
  struct MHD_Response *resp;
  const char *inm, *range;
  uint64_t start = 0, len;
  unsigned status = 200;
  enum MHD_Result r;
  int rc;

  if(!file_arg(req->arg, sha))
    return respond_error(req, conn, MFU_E_NOTFOUND,
                         "no file %.80s: a file is named by its SHA-256",
                         req->arg);
  rc = mfu_catalog_blob_type(srv->catalog, sha, ctype, sizeof(ctype));
  if(!rc)
    rc = mfu_store_stat(srv->store, sha, &st);
  if(rc)
    return respond_error(req, conn, rc, "%s %s",
                         rc == MFU_E_NOTFOUND ? "no file" : "cannot read",
                         sha);
  snprintf(etag, sizeof(etag), "\"%s\"", sha);
  inm = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                    MHD_HTTP_HEADER_IF_NONE_MATCH);
  if(inm && (strstr(inm, etag) || !strcmp(inm, "*")))
    return respond_empty(req, conn, 304, MHD_HTTP_HEADER_ETAG, etag);
  len = st.size;
  range = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                      MHD_HTTP_HEADER_RANGE);
  rc = range ? mfu_range_parse(range, strlen(range), st.size, &start, &len)
             : 0;
  if(rc == MFU_E_RANGE) {
    snprintf(cr, sizeof(cr), "bytes */%llu", (unsigned long long)st.size);
    return respond_empty(req, conn, 416, MHD_HTTP_HEADER_CONTENT_RANGE, cr);
  }
  if(rc == 1)
    status = 206;
  if(!head && (rc = mfu_store_read_open(srv->store, sha, start, len, &rd)))
    return respond_error(req, conn, rc, "cannot read %s: %s", sha,
                         mfu_strerror(rc));
  resp = MHD_create_response_from_callback(len, READ_BLOCK,
                                           head ? no_body_cb : read_cb, rd,
                                           free_cb);
  if(!resp) {
    free_cb(rd);
    return MHD_NO;
  }
  add_headers(resp, ctype, etag, req->arg);
  if(status == 206) {
    snprintf(cr, sizeof(cr), "bytes %llu-%llu/%llu",
             (unsigned long long)start, (unsigned long long)(start + len - 1),
             (unsigned long long)st.size);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_RANGE, cr);
  }
  req->status = status;
  r = MHD_queue_response(conn, status, resp);
  MHD_destroy_response(resp);
  return r;
}
